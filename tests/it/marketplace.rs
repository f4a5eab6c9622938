//! The marketplace end to end: the SES welcome email package packed with the CLI, submitted with
//! a publisher token, checked, approved by a reviewer, installed by a tenant with its AWS values
//! and bound to post-user-registration; a registration then sends one email to the local SES
//! server (moto). Around it: what a partner, a tenant and another tenant are refused.

use crate::cli::Cli;
use crate::flows::{start, wait_for, ALL_SCOPES};
use crate::moto::Moto;
use crate::support::{assert_error, Api, Db, Server, ADMIN_TOKEN};
use serde_json::{json, Value};

const PACKAGE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/integrations/packages/ses-welcome-email"
);

/// A tenant whose token submits for the publisher `actionflow`, and a reviewer's token.
async fn partner_and_reviewer(server: &Server) -> (String, Api, Api) {
    let (partner_id, partner) = server.tenant("partner", &["integrations:submit"]).await;
    let (_, reviewer) = server.tenant("reviewers", &["marketplace:review"]).await;
    let (status, publisher) = server
        .admin()
        .post(
            "/v1/marketplace/publishers",
            json!({"name": "actionflow", "tenant_id": partner_id}),
        )
        .await;
    assert_eq!(status, 201, "{publisher}");
    (partner_id, partner, reviewer)
}

/// Packs the folder with `actionflow integration pack`; the package's bytes and sha256.
fn pack_with_cli(server: &Server, dir: &std::path::Path) -> (Vec<u8>, String) {
    let out = dir.join("ses-welcome-email.tgz");
    let cli = Cli {
        url: server.url.clone(),
        token: ADMIN_TOKEN.to_owned(),
        dir: dir.to_path_buf(),
    };
    let out_text = out.to_str().unwrap();
    let packed = cli.json(&["integration", "pack", PACKAGE, "--out", out_text]);
    let again = cli.json(&["integration", "pack", PACKAGE, "--out", out_text]);
    assert_eq!(
        packed["sha256"], again["sha256"],
        "packing is deterministic"
    );
    let bytes = std::fs::read(&out).unwrap();
    (bytes, packed["sha256"].as_str().unwrap().to_owned())
}

fn submit_body(bytes: &[u8]) -> Value {
    use base64::Engine as _;
    json!({"package": base64::engine::general_purpose::STANDARD.encode(bytes)})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ses_welcome_email_goes_from_partner_to_a_sent_email() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    moto.verify("welcome@yourdomain.example").await;
    let db = Db::sqlite();
    let server = start(&db, &[]).await;
    let (_, partner, reviewer) = partner_and_reviewer(&server).await;
    let (bytes, sha256) = pack_with_cli(&server, db.dir.path());

    // Submitted with the CLI and the publisher token: checked at once, then in review.
    let cli = Cli {
        url: server.url.clone(),
        token: partner.token().to_owned(),
        dir: db.dir.path().to_path_buf(),
    };
    let tgz = db.dir.path().join("ses-welcome-email.tgz");
    let submitted = cli.json(&["integration", "submit", tgz.to_str().unwrap()]);
    assert_eq!(submitted["state"], "in_review", "{submitted}");
    assert_eq!(submitted["sha256"], sha256);
    let id = submitted["id"].as_str().unwrap().to_owned();
    let states: Vec<&str> = submitted["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["submitted", "checking", "in_review"]);

    // Not published yet: a tenant does not see it.
    let (_, acme) = server.tenant("acme", ALL_SCOPES).await;
    let (status, catalog) = acme.get("/v1/marketplace/integrations").await;
    assert_eq!(
        (status, catalog["integrations"].as_array().unwrap().len()),
        (200, 0)
    );

    // The reviewer reads the code and approves: published.
    let (status, material) = reviewer
        .get(&format!("/v1/marketplace/submissions/{id}/review"))
        .await;
    assert_eq!(status, 200, "{material}");
    assert!(material["code"]
        .as_str()
        .unwrap()
        .contains("onExecutePostUserRegistration"));
    let (status, published) = reviewer
        .post(
            &format!("/v1/marketplace/submissions/{id}/review"),
            json!({"decision": "approve", "comment": "reviewed the SES calls"}),
        )
        .await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["state"], "published");
    let status_line = cli.json(&["integration", "status", &id]);
    let last = status_line["transitions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["to"], "published");

    // The tenant finds it, installs it with its AWS values and binds it.
    let (status, catalog) = acme
        .get("/v1/marketplace/integrations?trigger=post-user-registration&q=welcome")
        .await;
    assert_eq!(status, 200, "{catalog}");
    assert_eq!(catalog["integrations"][0]["slug"], "ses-welcome-email");
    let (status, detail) = acme
        .get("/v1/marketplace/integrations/ses-welcome-email")
        .await;
    assert_eq!(status, 200, "{detail}");
    assert!(detail["installation_guide"]
        .as_str()
        .unwrap()
        .contains("SES console"));
    assert_eq!(detail["versions"][0]["sha256"], sha256);

    let missing = json!({
        "integration": "ses-welcome-email",
        "secrets": {"AWS_SES_KEY": moto.tenant.key, "AWS_SES_SECRET": moto.tenant.secret},
        "configuration": {"FROM_ADDRESS": "welcome@yourdomain.example"},
    });
    let refused = acme.post("/v1/integrations/installed", missing).await;
    assert_error(&refused, 422, "invalid_value", "configuration.TO_ADDRESS");
    // Installed with the CLI, as a tenant would.
    let tenant_cli = Cli {
        url: server.url.clone(),
        token: acme.token().to_owned(),
        dir: db.dir.path().to_path_buf(),
    };
    let secret_key = format!("AWS_SES_KEY={}", moto.tenant.key);
    let secret = format!("AWS_SES_SECRET={}", moto.tenant.secret);
    let endpoint = format!("SES_ENDPOINT={}", moto.url);
    let installed = tenant_cli.json(&[
        "marketplace",
        "install",
        "ses-welcome-email",
        "--bind",
        "post-user-registration",
        "--secret",
        &secret_key,
        "--secret",
        &secret,
        "--config",
        "FROM_ADDRESS=welcome@yourdomain.example",
        "--config",
        "TO_ADDRESS=owner@yourdomain.example",
        "--config",
        &endpoint,
    ]);
    assert_eq!(installed["version"], "1.0.0");
    assert_eq!(
        installed["secret_names"],
        json!(["AWS_SES_KEY", "AWS_SES_SECRET"])
    );
    let (_, flow) = acme
        .get("/v1/triggers/post-user-registration/bindings")
        .await;
    assert_eq!(
        flow["bindings"][0]["action_id"], installed["action_id"],
        "{flow}"
    );
    let action_id = installed["action_id"].as_str().unwrap().to_owned();

    // A registration: one email at the SES server, as the tenant configured it.
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{PACKAGE}/tests/sends-welcome-email.json")).unwrap(),
    )
    .unwrap();
    let (status, queued) = acme
        .post(
            "/v1/triggers/post-user-registration/dispatch",
            json!({"event": event["event"]}),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    let done = wait_for(&acme, queued["execution_id"].as_str().unwrap(), "final").await;
    assert_eq!(done["results"][0]["status"], "completed", "{done}");
    let sent = moto.sent().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["source"], "welcome@yourdomain.example");
    assert_eq!(
        sent[0]["destinations"],
        json!({"ToAddresses": ["owner@yourdomain.example"]})
    );
    assert_eq!(sent[0]["subject"], "New registration: ada");

    // The action says where it comes from; its code is read-only to the tenant.
    let (_, action) = acme.get(&format!("/v1/actions/{action_id}")).await;
    assert_eq!(
        action["installed_from"],
        json!({"integration": "ses-welcome-email", "version": "1.0.0",
               "installed_id": installed["id"]})
    );
    let refused = acme
        .patch(
            &format!("/v1/actions/{action_id}"),
            json!({"code": "exports.x = 1;"}),
        )
        .await;
    assert_error(&refused, 409, "conflict", "code");
    assert!(refused.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("read-only"));

    // Another tenant sees neither the copy nor its values.
    let (_, other) = server.tenant("other", ALL_SCOPES).await;
    let installed_id = installed["id"].as_str().unwrap();
    let (status, list) = other.get("/v1/integrations/installed").await;
    assert_eq!(
        (status, list["installed"].as_array().unwrap().len()),
        (200, 0)
    );
    let hidden = other
        .get(&format!("/v1/integrations/installed/{installed_id}"))
        .await;
    assert_error(&hidden, 404, "not_found", "id");

    // Uninstall: out of the flow (a new revision), and gone.
    let (status, _) = acme
        .delete(&format!("/v1/integrations/installed/{installed_id}"))
        .await;
    assert_eq!(status, 204);
    let (_, flow) = acme
        .get("/v1/triggers/post-user-registration/bindings")
        .await;
    assert_eq!(flow["bindings"], json!([]), "{flow}");
    let (status, _) = acme.get(&format!("/v1/actions/{action_id}")).await;
    assert_eq!(status, 404);
    assert!(!acme.all_responses().contains(&moto.tenant.secret));
    let _ = bytes;
}

/// A `.tgz` of one regular file whose raw name we choose (the tar builder refuses `..`).
fn raw_tgz(name: &[u8], data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, data).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&builder.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

/// Edits the reference package's manifest and code, and packs it.
fn variant(edit: impl FnOnce(&mut Value), code: impl FnOnce(String) -> String) -> Vec<u8> {
    let limits = actionflow_marketplace::PackageLimits::default();
    let mut package =
        actionflow_marketplace::Package::from_dir(std::path::Path::new(PACKAGE), &limits).unwrap();
    let mut manifest: Value =
        serde_json::from_slice(package.file("integration.json").unwrap()).unwrap();
    edit(&mut manifest);
    package.files.insert(
        "integration.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    );
    let text = package.text("integration.action.js").unwrap().to_owned();
    package
        .files
        .insert("integration.action.js".into(), code(text).into_bytes());
    package.pack()
}

async fn refusals(db: Db) {
    let mut registry = crate::support::registry::Registry::default();
    registry.publish(
        "greeting",
        "1.2.3",
        "exports.greet = (who) => `hello ${who}`;",
    );
    let registry = registry.serve().await;
    // The package requires `actionflow:ses`, as the binary gives it to every runtime.
    let registry_url = registry.url.clone();
    let server = Server::in_process(&db, |s| {
        let ses = actionflow_ses::SesModule::new(actionflow_ses::SesConfig::default());
        s.host_modules = vec![std::sync::Arc::new(ses)];
        s.npm_discovery.registry_flag = Some(registry_url);
    })
    .await;
    let (partner_id, partner, reviewer) = partner_and_reviewer(&server).await;
    let (status, _) = server
        .admin()
        .post(
            "/v1/marketplace/publishers",
            json!({"name": "someone-else", "tenant_id": partner_id}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, intruder) = server.tenant("intruder", &["integrations:submit"]).await;

    // Under another publisher's name: refused.
    let v1 = variant(|_| {}, |c| c);
    let refused = intruder
        .post("/v1/marketplace/submissions", submit_body(&v1))
        .await;
    assert_error(&refused, 403, "forbidden", "authorization");

    // An undeclared secret read: stored, checks_failed, with the line.
    let sneaky = variant(
        |m| m["version"] = json!("0.9.0"),
        |c| {
            c.replace(
                "event.secrets.AWS_SES_SECRET,",
                "event.secrets.AWS_SES_SECRET + (event.secrets.OTHER ?? \"\"),",
            )
        },
    );
    let (status, failed) = partner
        .post("/v1/marketplace/submissions", submit_body(&sneaky))
        .await;
    assert_eq!(status, 201, "{failed}");
    assert_eq!(failed["state"], "checks_failed", "{failed}");
    let finding = failed["report"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "secret_not_declared")
        .cloned()
        .unwrap();
    assert_eq!(
        (finding["file"].as_str(), finding["line"].as_u64()),
        (Some("integration.action.js"), Some(11))
    );
    // A failed submission is never reviewable.
    let id = failed["id"].as_str().unwrap();
    let refused = reviewer
        .post(
            &format!("/v1/marketplace/submissions/{id}/review"),
            json!({"decision": "approve"}),
        )
        .await;
    assert_error(&refused, 409, "conflict", "decision");
    // Another tenant's publisher token does not see it.
    let hidden = intruder
        .get(&format!("/v1/marketplace/submissions/{id}"))
        .await;
    assert_error(&hidden, 404, "not_found", "id");

    // Dependencies: resolved from the registry and locked; the tests run with them.
    let with_dependency = |version: &str, dependency: &str| {
        let (version, dependency) = (version.to_owned(), dependency.to_owned());
        variant(
            move |m| {
                m["version"] = json!(version);
                m["dependencies"] = json!([{"name": dependency, "version": "1.2.3"}]);
            },
            |c| {
                c.replace(
                    "const ses = require(\"actionflow:ses\");",
                    "const ses = require(\"actionflow:ses\");\nconst { greet } = require(\"greeting\");",
                )
                .replace("console.log(`welcome", "console.log(greet(\"x\"), `welcome")
            },
        )
    };
    let (_, missing) = partner
        .post(
            "/v1/marketplace/submissions",
            submit_body(&with_dependency("0.9.1", "no-such-package")),
        )
        .await;
    assert_eq!(missing["state"], "checks_failed", "{missing}");
    assert!(
        missing["report"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "dependency_unresolvable"),
        "{missing}"
    );
    let (_, resolved) = partner
        .post(
            "/v1/marketplace/submissions",
            submit_body(&with_dependency("0.9.2", "greeting")),
        )
        .await;
    assert_eq!(resolved["state"], "in_review", "{resolved}");

    // A reviewer sends it back with a comment the partner sees; the partner withdraws it.
    let resolved_id = resolved["id"].as_str().unwrap();
    let review_path = format!("/v1/marketplace/submissions/{resolved_id}/review");
    let refused = reviewer
        .post(&review_path, json!({"decision": "request_changes"}))
        .await;
    assert_error(&refused, 422, "invalid_value", "comment");
    let (status, sent_back) = reviewer
        .post(
            &review_path,
            json!({"decision": "request_changes", "comment": "pin greeting to 1.2.4"}),
        )
        .await;
    assert_eq!(
        (status, sent_back["state"].as_str()),
        (200, Some("changes_requested"))
    );
    let (_, seen) = partner
        .get(&format!("/v1/marketplace/submissions/{resolved_id}"))
        .await;
    let last = seen["transitions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["to"].as_str(), last["reason"].as_str()),
        (Some("changes_requested"), Some("pin greeting to 1.2.4"))
    );
    let (status, withdrawn) = partner
        .post(
            &format!("/v1/marketplace/submissions/{resolved_id}/withdraw"),
            json!({"reason": "replaced"}),
        )
        .await;
    assert_eq!(
        (status, withdrawn["state"].as_str()),
        (200, Some("withdrawn"))
    );
    let refused = reviewer
        .post(&review_path, json!({"decision": "approve"}))
        .await;
    assert_error(&refused, 409, "conflict", "decision");

    // Archives that would escape or explode are refused before anything is stored.
    for (name, data, code) in [
        (&b"../../etc/cron.d/evil"[..], vec![b'x'], "path_traversal"),
        (
            &b"tests/huge.json"[..],
            vec![0u8; 64 * 1024 * 1024],
            "decompression_limit",
        ),
    ] {
        let refused = partner
            .post(
                "/v1/marketplace/submissions",
                submit_body(&raw_tgz(name, &data)),
            )
            .await;
        assert_error(&refused, 422, "invalid_value", "package");
        let message = refused.1["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(code), "{message}");
    }

    // Warnings need the reviewer's acknowledgement, kept in the transition.
    let unused = variant(
        |m| {
            m["version"] = json!("0.9.3");
            m["configuration"].as_array_mut().unwrap().push(json!({
                "name": "UNUSED_OPTION", "label": "Unused", "required": false, "type": "string"}));
        },
        |c| c,
    );
    let (_, warned) = partner
        .post("/v1/marketplace/submissions", submit_body(&unused))
        .await;
    assert_eq!(warned["state"], "in_review", "{warned}");
    let warned_path = format!(
        "/v1/marketplace/submissions/{}/review",
        warned["id"].as_str().unwrap()
    );
    let refused = reviewer
        .post(&warned_path, json!({"decision": "approve"}))
        .await;
    assert_error(&refused, 422, "invalid_value", "acknowledge_warnings");
    assert!(refused.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("configuration_not_read"));
    let (status, approved) = reviewer
        .post(
            &warned_path,
            json!({"decision": "approve", "acknowledge_warnings": true}),
        )
        .await;
    assert_eq!(
        (status, approved["state"].as_str()),
        (200, Some("published")),
        "{approved}"
    );
    let reasons: Vec<&str> = approved["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["reason"].as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("warnings acknowledged: configuration_not_read")),
        "{reasons:?}"
    );

    // 1.0.0 passes and is published; reusing it or going lower is refused.
    let (status, ok) = partner
        .post("/v1/marketplace/submissions", submit_body(&v1))
        .await;
    assert_eq!(
        (status, ok["state"].as_str()),
        (201, Some("in_review")),
        "{ok}"
    );
    let ok_id = ok["id"].as_str().unwrap();
    let (status, _) = reviewer
        .post(
            &format!("/v1/marketplace/submissions/{ok_id}/review"),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(status, 200);
    let reused = partner
        .post("/v1/marketplace/submissions", submit_body(&v1))
        .await;
    assert_error(&reused, 422, "invalid_value", "package");
    assert!(reused.1["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("version_reused"));

    // A new required value without a major bump: checks_failed, breaking_change.
    let breaking = variant(
        |m| {
            m["version"] = json!("1.1.0");
            m["configuration"].as_array_mut().unwrap().push(json!({
                "name": "REPLY_TO", "label": "Reply to", "required": true, "type": "string"}));
        },
        |c| {
            c.replace(
                "to: event.configuration.TO_ADDRESS,",
                "to: event.configuration.TO_ADDRESS, replyTo: event.configuration.REPLY_TO,",
            )
        },
    );
    let (_, failed) = partner
        .post("/v1/marketplace/submissions", submit_body(&breaking))
        .await;
    assert_eq!(failed["state"], "checks_failed", "{failed}");
    assert!(failed["report"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "breaking_change"));

    // The same as 2.0.0 passes; a tenant on 1.0.0 upgrading must give REPLY_TO (422 naming it).
    let major = variant(
        |m| {
            m["version"] = json!("2.0.0");
            m["configuration"].as_array_mut().unwrap().push(json!({
                "name": "REPLY_TO", "label": "Reply to", "required": true, "type": "string"}));
        },
        |c| {
            c.replace(
                "to: event.configuration.TO_ADDRESS,",
                "to: event.configuration.TO_ADDRESS, replyTo: event.configuration.REPLY_TO,",
            )
        },
    );
    let (_, v2) = partner
        .post("/v1/marketplace/submissions", submit_body(&major))
        .await;
    assert_eq!(v2["state"], "in_review", "{v2}");
    let v2_id = v2["id"].as_str().unwrap();
    let (status, material) = reviewer
        .get(&format!("/v1/marketplace/submissions/{v2_id}/review"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        material["breaking_changes"],
        json!(["new required configuration REPLY_TO"])
    );
    assert!(material["code_diff"]
        .as_str()
        .unwrap()
        .contains("+    to: event.configuration.TO_ADDRESS, replyTo"));
    reviewer
        .post(
            &format!("/v1/marketplace/submissions/{v2_id}/review"),
            json!({"decision": "approve"}),
        )
        .await;

    let (_, acme) = server.tenant("acme", ALL_SCOPES).await;
    let install = json!({
        "integration": "ses-welcome-email", "version": "1.0.0",
        "secrets": {"AWS_SES_KEY": "AKIAEXAMPLE", "AWS_SES_SECRET": "s3cr3t-value"},
        "configuration": {"FROM_ADDRESS": "a@example.com", "TO_ADDRESS": "b@example.com"},
    });
    let (status, installed) = acme.post("/v1/integrations/installed", install).await;
    assert_eq!(status, 201, "{installed}");
    let path = format!(
        "/v1/integrations/installed/{}",
        installed["id"].as_str().unwrap()
    );
    let refused = acme.patch(&path, json!({"version": "2.0.0"})).await;
    assert_error(&refused, 422, "invalid_value", "configuration.REPLY_TO");
    let (status, upgraded) = acme
        .patch(
            &path,
            json!({"version": "2.0.0", "configuration": {"REPLY_TO": "c@example.com"}}),
        )
        .await;
    assert_eq!(status, 200, "{upgraded}");
    assert_eq!(upgraded["version"], "2.0.0");
    assert_eq!(
        upgraded["configuration"]["FROM_ADDRESS"], "a@example.com",
        "values are kept"
    );
    let action = upgraded["action_id"].as_str().unwrap();
    let (_, versions) = acme.get(&format!("/v1/actions/{action}/versions")).await;
    assert_eq!(
        versions["total"], 2,
        "every upgrade is a new action version: {versions}"
    );
    assert_eq!(upgraded["running_version"], "2.0.0");
    // Rolled back like any action: the copy says it runs 1.0.0 again; forward to 2.0.0 again.
    for (number, running) in [(1, "1.0.0"), (2, "2.0.0")] {
        let rollback = format!("/v1/actions/{action}/versions/{number}/deploy");
        let (status, rolled) = acme.post(&rollback, json!({})).await;
        assert_eq!(status, 201, "{rolled}");
        let (_, now) = acme.get(&path).await;
        assert_eq!(
            (now["version"].as_str(), now["running_version"].as_str()),
            (Some("2.0.0"), Some(running))
        );
    }

    // Yanked: no new installs, the installed copy is flagged.
    let (status, _) = partner
        .post(
            &format!("/v1/marketplace/submissions/{v2_id}/flags"),
            json!({"yanked": true}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, flagged) = acme.get(&path).await;
    assert_eq!(flagged["yanked"], true, "{flagged}");
    let refused = acme
        .post(
            "/v1/integrations/installed",
            json!({"integration": "ses-welcome-email", "version": "2.0.0", "name": "again"}),
        )
        .await;
    assert_error(&refused, 422, "invalid_value", "version");
    assert!(!acme.all_responses().contains("s3cr3t-value"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_submissions_upgrades_and_flags_on_sqlite() {
    refusals(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_submissions_upgrades_and_flags_on_postgres() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    refusals(db).await;
}
