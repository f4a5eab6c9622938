//! The welcome-email use case end to end: `actionflow serve` with the sample action
//! (`examples/ses-welcome-email`) deployed with its AWS keys as secrets and bound to
//! post-user-registration; dispatching a registration over HTTP makes it send exactly one email to a
//! real SES v2-compatible server (moto), and a rejected send fails the execution, which the async
//! delivery retries until it is dead-lettered.

use crate::flows::{start, wait_for, ALL_SCOPES};
use crate::moto::Moto;
use crate::support::{Api, Db};
use serde_json::{json, Value};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/ses-welcome-email");

fn sample(file: &str) -> String {
    std::fs::read_to_string(format!("{SAMPLE}/{file}")).unwrap()
}

/// Creates the action with its secrets, deploys it and binds it to post-user-registration.
async fn deploy_and_bind(api: &Api, code: &str, moto: &Moto) {
    let (status, action) = api
        .post(
            "/v1/actions",
            json!({"name": "welcome-email", "code": code,
                   "supported_triggers": [{"id": "post-user-registration"}]}),
        )
        .await;
    assert_eq!(status, 201, "{action}");
    let id = action["id"].as_str().unwrap();
    for (name, value) in [
        ("AWS_SES_KEY", &moto.tenant.key),
        ("AWS_SES_SECRET", &moto.tenant.secret),
        ("AWS_SES_ENDPOINT", &moto.url),
    ] {
        let path = format!("/v1/actions/{id}/secrets/{name}");
        let (status, body) = api.put(&path, json!({ "value": value })).await;
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
}

async fn dispatch_registration(api: &Api) -> String {
    let event: Value = serde_json::from_str(&sample("event.json")).unwrap();
    let (status, queued) = api
        .post(
            "/v1/triggers/post-user-registration/dispatch",
            json!({ "event": event }),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    queued["execution_id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_sends_exactly_one_welcome_email() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    moto.verify("welcome@yourdomain.example").await;
    let db = Db::sqlite();
    let server = start(&db, &[]).await;
    let (_, api) = server.tenant("acme", ALL_SCOPES).await;
    deploy_and_bind(&api, &sample("action.js"), &moto).await;

    let id = dispatch_registration(&api).await;
    let done = wait_for(&api, &id, "final").await;
    assert_eq!(done["attempts"], 1, "{done}");
    let result = &done["results"][0];
    assert_eq!(result["status"], "completed", "{done}");
    let sent = moto.sent().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let mail = &sent[0];
    assert_eq!(mail["source"], "welcome@yourdomain.example");
    assert_eq!(
        mail["destinations"],
        json!({"ToAddresses": ["owner@yourdomain.example"]})
    );
    assert_eq!(mail["subject"], "New registration: ada");
    assert_eq!(
        mail["body"],
        "<p>Hi, <b>ada (ada@example.com)</b> registered your app.</p>"
    );
    assert_eq!(
        result["logs"][0]["message"],
        format!(
            "welcome email sent for auth0|6650b1f2e4d3c2a1b0f9e8d7: {}",
            mail["id"].as_str().unwrap()
        )
    );
    // The keys never leave the server in the clear.
    assert!(!server.output().contains(&moto.tenant.secret));
    assert!(!api.all_responses().contains(&moto.tenant.secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_send_fails_the_execution_and_is_retried_until_dead() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let db = Db::sqlite();
    let server = start(&db, &["--attempts-max", "3"]).await;
    let (_, api) = server.tenant("acme", ALL_SCOPES).await;
    // The sample as written, but welcome@yourdomain.example was never verified on this server.
    deploy_and_bind(&api, &sample("action.js"), &moto).await;

    let id = dispatch_registration(&api).await;
    let dead = wait_for(&api, &id, "dead").await;
    assert_eq!(dead["attempts"], 3, "{dead}");
    assert_eq!(
        dead["last_error"],
        "action `welcome-email` threw: MessageRejected: Email address not verified \
         welcome@yourdomain.example"
    );
    assert_eq!(dead["results"][0]["status"], "threw", "{dead}");
    assert!(moto.sent().await.is_empty());
}
