//! Deprecation above the store: a deprecated version (by the API, then by the partner's CLI) keeps
//! running in the tenants that installed it, who see `deprecated: true`; it takes no new install,
//! and the catalog's detail still shows it, marked.

use super::{market_server, partner_and_reviewer, publish};
use crate::cli::Cli;
use crate::flows::ALL_SCOPES;
use crate::support::marketplace::{greeter, install_greeter, login, GREETER_CODE};
use crate::support::{assert_error, Db};
use serde_json::json;

async fn deprecated_versions_keep_running_and_take_no_new_installs(db: Db) {
    let (server, _registry) = market_server(&db).await;
    let (_, partner, reviewer) = partner_and_reviewer(&server).await;
    let v1 = publish(&partner, &reviewer, &greeter(|_| {}, GREETER_CODE)).await;
    let (_, acme) = server.tenant("acme", ALL_SCOPES).await;
    let installed = install_greeter(&acme, "1.0.0").await;
    assert_eq!(installed["deprecated"], false, "{installed}");
    let path = format!(
        "/v1/integrations/installed/{}",
        installed["id"].as_str().unwrap()
    );

    // Deprecated through the API.
    let (status, flagged) = partner
        .post(
            &format!("/v1/marketplace/submissions/{v1}/flags"),
            json!({"deprecated": true}),
        )
        .await;
    assert_eq!(status, 200, "{flagged}");
    assert_eq!(
        (flagged["deprecated"].as_bool(), flagged["yanked"].as_bool()),
        (Some(true), Some(false)),
        "{flagged}"
    );

    // The installed copy shows it, and keeps running.
    let (_, seen) = acme.get(&path).await;
    assert_eq!(
        (seen["deprecated"].as_bool(), seen["yanked"].as_bool()),
        (Some(true), Some(false)),
        "{seen}"
    );
    let (_, list) = acme.get("/v1/integrations/installed").await;
    assert_eq!(list["installed"][0]["deprecated"], true, "{list}");
    let flow = login(&acme, "u1").await;
    assert_eq!(flow["status"], "completed", "{flow}");
    assert_eq!(
        flow["effects"][0]["args"],
        json!(["greeting", "hello 8"]),
        "{flow}"
    );

    // No new install of that version, by any tenant.
    let (_, other) = server.tenant("other", ALL_SCOPES).await;
    let refused = other
        .post(
            "/v1/integrations/installed",
            json!({"integration": "greeter", "version": "1.0.0",
                   "secrets": {"API_KEY": "k"}, "configuration": {}}),
        )
        .await;
    assert_error(&refused, 422, "invalid_value", "version");
    assert!(refused.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("deprecated"));

    // The catalog's detail still shows the integration, its version marked; the list, which
    // offers what can be installed, no longer does.
    let (status, detail) = other.get("/v1/marketplace/integrations/greeter").await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["versions"].as_array().unwrap().len(), 1, "{detail}");
    assert_eq!(
        (
            detail["versions"][0]["version"].as_str(),
            detail["versions"][0]["deprecated"].as_bool(),
            detail["versions"][0]["yanked"].as_bool()
        ),
        (Some("1.0.0"), Some(true), Some(false)),
        "{detail}"
    );
    let (_, catalog) = other.get("/v1/marketplace/integrations").await;
    assert_eq!(catalog["integrations"], json!([]), "{catalog}");

    // 1.1.0, deprecated with the partner's CLI.
    let v2 = publish(
        &partner,
        &reviewer,
        &greeter(|m| m["version"] = json!("1.1.0"), GREETER_CODE),
    )
    .await;
    let (_, detail) = other.get("/v1/marketplace/integrations/greeter").await;
    assert_eq!(detail["version"], "1.1.0", "{detail}");
    let cli = Cli {
        url: server.url.clone(),
        token: partner.token().to_owned(),
        dir: db.dir.path().to_path_buf(),
    };
    let id = v2.clone();
    let deprecated =
        tokio::task::spawn_blocking(move || cli.json(&["integration", "deprecate", &id]))
            .await
            .unwrap();
    assert_eq!(
        (
            deprecated["id"].as_str(),
            deprecated["deprecated"].as_bool()
        ),
        (Some(v2.as_str()), Some(true)),
        "{deprecated}"
    );
    let refused = other
        .post(
            "/v1/integrations/installed",
            json!({"integration": "greeter", "version": "1.1.0",
                   "secrets": {"API_KEY": "k"}, "configuration": {}}),
        )
        .await;
    assert_error(&refused, 422, "invalid_value", "version");
    // Without a version: nothing is left to install.
    let refused = other
        .post(
            "/v1/integrations/installed",
            json!({"integration": "greeter", "secrets": {"API_KEY": "k"}, "configuration": {}}),
        )
        .await;
    assert_error(&refused, 422, "invalid_value", "integration");
    let (_, detail) = other.get("/v1/marketplace/integrations/greeter").await;
    let flags: Vec<(&str, bool)> = detail["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_str().unwrap(), v["deprecated"] == true))
        .collect();
    assert_eq!(flags, [("1.1.0", true), ("1.0.0", true)], "{detail}");
    // The installed copy, still on 1.0.0, still runs.
    let flow = login(&acme, "u2").await;
    assert_eq!(flow["status"], "completed", "{flow}");
}

on_both_backends!(deprecated_versions_keep_running_and_take_no_new_installs);
