//! The master key is checked against the database at every start: a node whose key is not the one
//! the database was written with (another `ACTIONFLOW_MASTER_KEY`, or a key file it just made for
//! itself) refuses to start with one line saying how to fix it, and nothing stored is lost.

use serde_json::json;

use crate::support::{Api, Db, Server, Start};

const CODE: &str = r#"exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim("secret_ok", event.secrets.K === "the value");
};"#;

fn with_key(key: Option<&str>) -> Start {
    Start {
        master_key: key.map(str::to_owned),
        ..Start::default()
    }
}

/// The one `error:` line of a refused start.
#[track_caller]
fn refusal(status: std::process::ExitStatus, output: &str) -> String {
    assert!(!status.success(), "the server started: {output}");
    let errors: Vec<&str> = output
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{output}");
    errors[0].to_owned()
}

async fn secret_opens(api: &Api, id: &str) {
    let (status, run) = api
        .post(&format!("/v1/actions/{id}/test"), json!({"event": {}}))
        .await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(
        run["api_calls"][0]["args"],
        json!(["secret_ok", true]),
        "{run}"
    );
}

async fn a_node_with_another_key_refuses_to_start(db: Db) {
    let key_a = "11".repeat(32);
    let key_b = "22".repeat(32);
    let server = Server::start_with(&db, with_key(Some(&key_a))).await;
    let (_, api) = server
        .tenant("acme", &["actions:read", "actions:write"])
        .await;
    let body = json!({"name": "a", "supported_triggers": [{"id": "post-login"}], "code": CODE,
        "secrets": [{"name": "K", "value": "the value"}]});
    let (status, action) = api.post("/v1/actions", body).await;
    assert_eq!(status, 201, "{action}");
    let id = action["id"].as_str().unwrap().to_owned();
    secret_opens(&api, &id).await;
    server.kill_9().await;

    let (status, output) = Server::start_failing(&db, with_key(Some(&key_b))).await;
    let line = refusal(status, &output);
    assert!(
        line.contains("the master key does not match the one this database was written with")
            && line.contains("set ACTIONFLOW_MASTER_KEY"),
        "{line}"
    );
    assert!(
        !output.contains(&key_a) && !output.contains(&key_b),
        "{output}"
    );

    // Without the variable the node makes a key file of its own: refused as well, and that new,
    // unused key is not kept for the next start.
    let key_file = db.dir.path().join("master.key");
    assert!(!key_file.exists());
    let (status, output) = Server::start_failing(&db, with_key(None)).await;
    assert_eq!(refusal(status, &output), line);
    assert!(!key_file.exists(), "the unused new key file was kept");

    // With the right key again, everything is there.
    let server = Server::start_with(&db, with_key(Some(&key_a))).await;
    let api = Api::new(&server.url, api.token());
    secret_opens(&api, &id).await;
    let (_, list) = api.get(&format!("/v1/actions/{id}/secrets")).await;
    assert_eq!(list["secrets"][0]["name"], "K", "{list}");
}

/// A first start with a key file writes the canary with that key; a later start with the same file
/// passes the check.
async fn the_key_file_passes_its_own_check(db: Db) {
    let server = Server::start(&db).await;
    drop(server);
    assert!(db.dir.path().join("master.key").exists());
    let server = Server::start(&db).await;
    let (_, api) = server.tenant("acme", &["actions:read"]).await;
    assert_eq!(api.get("/v1/actions").await.0, 200);
}

on_both_backends!(
    a_node_with_another_key_refuses_to_start,
    the_key_file_passes_its_own_check
);
