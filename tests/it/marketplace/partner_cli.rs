//! The partner's CLI on a folder, without a server: `integration init` writes a package that
//! passes `integration test`; a read of an undeclared secret then fails it (exit 2) with a line
//! naming the finding's code, file and line.

use crate::cli::Cli;

#[test]
fn init_passes_its_test_and_an_undeclared_read_fails_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli {
        // No server is called.
        url: "http://127.0.0.1:9".to_owned(),
        token: String::new(),
        dir: dir.path().to_path_buf(),
    };
    let init = cli.run(
        &["integration", "init", "greeter", "--trigger", "post-login"],
        None,
    );
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let cache = dir.path().join("npm-cache");
    let test = || {
        let out = cli.run(
            &[
                "integration",
                "test",
                "greeter",
                "--cache-dir",
                cache.to_str().unwrap(),
            ],
            None,
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), stdout, stderr)
    };
    let (code, stdout, stderr) = test();
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("ok: every check passed"), "{stdout}");

    let file = dir.path().join("greeter/integration.action.js");
    let source = std::fs::read_to_string(&file).unwrap();
    let edited = source.replacen(
        "console.log(",
        "console.log(event.secrets.NOPE);\n  console.log(",
        1,
    );
    assert_ne!(edited, source, "the scaffold logs: {source}");
    std::fs::write(&file, &edited).unwrap();
    let line = edited.lines().position(|l| l.contains("NOPE")).unwrap() + 1;
    let (code, stdout, stderr) = test();
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    let finding = stdout
        .lines()
        .find(|l| l.contains("secret_not_declared"))
        .unwrap_or_else(|| panic!("no finding: {stdout}{stderr}"));
    assert!(
        finding.starts_with(&format!(
            "error secret_not_declared integration.action.js:{line}: "
        )) && finding.contains("event.secrets.NOPE"),
        "{finding}"
    );
    assert!(
        stderr.contains("1 errors, 0 warnings: fix the errors and test again"),
        "{stderr}"
    );
}
