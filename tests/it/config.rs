//! Configuration precedence of `actionflow serve`, observed in its startup line: flags win over
//! `ACTIONFLOW_*` variables, which win over the `--config` file, which wins over the defaults.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// The first stdout line of a server started with these flags and variables (then killed).
async fn startup_line(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_actionflow"));
    command
        .arg("serve")
        .args(args)
        .env("ACTIONFLOW_ADMIN_TOKEN", crate::support::ADMIN_TOKEN)
        .env_remove("ACTIONFLOW_DATA_DIR")
        .env_remove("ACTIONFLOW_LISTEN")
        .env_remove("ACTIONFLOW_DATABASE_URL")
        .env_remove("ACTIONFLOW_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().unwrap_or_default();
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    line
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_over_env_over_file_over_defaults() {
    let root = tempfile::tempdir().unwrap();
    let dir = |name: &str| root.path().join(name).display().to_string();
    let file = root.path().join("actionflow.toml");
    std::fs::write(
        &file,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n",
            dir("from-file")
        ),
    )
    .unwrap();
    let config = file.display().to_string();
    let env_dir = dir("from-env");
    let flag_dir = dir("from-flag");

    let line = startup_line(&["--config", &config], &[]).await;
    assert!(line.contains("from-file/actionflow.db"), "{line}");
    let line = startup_line(&["--config", &config], &[("ACTIONFLOW_DATA_DIR", &env_dir)]).await;
    assert!(line.contains("from-env/actionflow.db"), "{line}");
    let line = startup_line(
        &["--config", &config, "--data-dir", &flag_dir],
        &[("ACTIONFLOW_DATA_DIR", &env_dir)],
    )
    .await;
    assert!(line.contains("from-flag/actionflow.db"), "{line}");
    // The config file may also come from the environment; a flag still wins over it.
    let line = startup_line(
        &["--listen", "127.0.0.1:0"],
        &[("ACTIONFLOW_CONFIG", &config)],
    )
    .await;
    assert!(line.contains("from-file/actionflow.db"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_file_is_one_line_and_exit_2() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("bad.toml");
    std::fs::write(&file, "lissen = \"127.0.0.1:0\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_actionflow"))
        .args(["serve", "--config"])
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("lissen"), "{stderr}");
}
