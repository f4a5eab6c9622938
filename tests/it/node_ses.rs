//! Auth0's SES integration tutorial as a new user follows it: its action, verbatim but for
//! node-ses's own endpoint option (`amazon`) pointing at a real SES-compatible server (moto), with the
//! dependency `node-ses@3.0.3` from the npm registry, deployed, bound to post-user-registration and
//! dispatched: one email arrives, and only one. node-ses reaches moto through Node's `http`, `stream`,
//! `crypto` and `querystring` built-ins, in a sandbox process.
//!
//! moto runs without IAM here: it refuses node-ses's signatures (see `Moto::start_without_iam`), as it
//! does when node-ses runs on Node.js. The tutorial calls `sendEmail` without a callback, so node-ses
//! throws `callback is not a function` once SES has answered: work the handler left running, logged,
//! the execution staying completed — and not retried, which would send the email again.

use crate::flows::{start_with, wait_for, ALL_SCOPES};
use crate::moto::Moto;
use crate::support::{Db, Start};
use serde_json::json;

const TUTORIAL: &str = r#"/**
* Handler that will be called during the execution of a PostUserRegistration flow.
*
* @param {Event} event - Details about the context and user that has registered.
*/
exports.onExecutePostUserRegistration = async (event) => {
const ses = require('node-ses');
const client = ses.createClient({key: event.secrets.AWS_SES_KEY, secret: event.secrets.AWS_SES_SECRET, amazon: event.secrets.AWS_SES_ENDPOINT});
// Give SES the details and let it construct the message for you.
client.sendEmail({
to: 'tolga@example.com',
from: 'info@example.com',
subject: 'New user has registered in your app',
message: `Hi, ${event.user.username} (${event.user.email}) registered your app.`,
altText: 'plain text'
});
};
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tutorial_action_sends_one_email_with_node_ses() {
    if std::env::var_os("ACTIONFLOW_TEST_NPM_REGISTRY").is_none() {
        eprintln!(
            "note: set ACTIONFLOW_TEST_NPM_REGISTRY=1 to install node-ses from the npm registry"
        );
        return;
    }
    let Some(moto) = Moto::start_without_iam().await else {
        return;
    };
    moto.verify("info@example.com").await;
    let db = Db::sqlite();
    let server = start_with(
        &db,
        Start {
            registry: Some("https://registry.npmjs.org/".to_owned()),
            ..Start::default()
        },
        &["--sandboxes", "1"],
    )
    .await;
    let (_, api) = server.tenant("acme", ALL_SCOPES).await;
    let (status, action) = api
        .post(
            "/v1/actions",
            json!({"name": "ses", "code": TUTORIAL,
                   "supported_triggers": [{"id": "post-user-registration"}],
                   "dependencies": [{"name": "node-ses", "version": "3.0.3"}]}),
        )
        .await;
    assert_eq!(status, 201, "{action}");
    let id = action["id"].as_str().unwrap();
    for (name, value) in [
        ("AWS_SES_KEY", &moto.tenant.key),
        ("AWS_SES_SECRET", &moto.tenant.secret),
        ("AWS_SES_ENDPOINT", &moto.url),
    ] {
        let (status, body) = api
            .put(
                &format!("/v1/actions/{id}/secrets/{name}"),
                json!({ "value": value }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, version) = api
        .post(&format!("/v1/actions/{id}/deploy"), json!({}))
        .await;
    assert_eq!(status, 201, "{version}");
    let (status, flow) = api
        .patch(
            "/v1/triggers/post-user-registration/bindings",
            json!({"bindings": [{"ref": {"type": "action_id", "value": id}}]}),
        )
        .await;
    assert_eq!(status, 200, "{flow}");
    let (status, queued) = api
        .post(
            "/v1/triggers/post-user-registration/dispatch",
            json!({"event": {"user": {"user_id": "auth0|1", "username": "ada", "email": "ada@example.com"}}}),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    let done = wait_for(&api, queued["execution_id"].as_str().unwrap(), "final").await;
    assert_eq!(done["results"][0]["status"], "completed", "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    let logs = done["results"][0]["logs"].to_string();
    assert!(
        logs.contains("left running") && logs.contains("callback is not a function"),
        "{done}"
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let sent = loop {
        let sent = moto.sent().await;
        if !sent.is_empty() || tokio::time::Instant::now() > deadline {
            break sent;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(sent.len(), 1, "{sent:?} {done}");
    assert_eq!(
        sent[0]["destinations"]["ToAddresses"][0], "tolga@example.com",
        "{sent:?}"
    );
    assert_eq!(
        sent[0]["subject"], "New user has registered in your app",
        "{sent:?}"
    );
}
