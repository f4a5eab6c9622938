//! The SES welcome email from the partner's folder to one email at the local SES server.

use super::{pack_with_cli, partner_and_reviewer, register_once, PACKAGE};
use crate::cli::Cli;
use crate::flows::{start, ALL_SCOPES};
use crate::moto::Moto;
use crate::support::{assert_error, Db};
use serde_json::json;

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
    let sent = register_once(&acme, PACKAGE, &moto).await;
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
