//! Sending: what an action sends arrives at the server exactly as sent, the tutorial's un-awaited send
//! still delivers, and an unverified sender ends the execution with SES's own error.

use super::moto::{Moto, SENDER};
use super::{error_of, event, request, run, runtime};
use actionflow_runtime::{Event, Status};
use serde_json::json;

const AWAITED: &str = r#"import { createClient } from "actionflow:ses";
export async function onExecutePostUserRegistration(event) {
  const client = createClient({
    key: event.secrets.AWS_SES_KEY,
    secret: event.secrets.AWS_SES_SECRET,
    region: "us-east-1",
    endpoint: ENDPOINT,
  });
  const { username, email } = event.user;
  const sent = await client.sendEmail({
    to: ["owner@example.test", "second@example.test"],
    cc: "cc@example.test",
    bcc: ["audit@example.test"],
    replyTo: "support@example.test",
    from: "welcome@actionflow.test",
    subject: "New registration",
    message: `<p>Hi, ${username} (${email}) registered your app.</p>`,
    altText: `Hi, ${username} (${email}) registered your app.`,
  });
  console.log("sent", typeof sent.messageId, sent.messageId.length > 0);
}"#;

#[tokio::test]
async fn an_action_sends_one_email_that_arrives_as_sent() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let rt = runtime();
    let outcome = run(&rt, request(AWAITED, Some(&moto.tenant), &moto.url)).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:?}");
    assert_eq!(outcome.logs[0].message, "sent string true");
    let sent = moto.sent().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let mail = &sent[0];
    assert_eq!(mail["source"], SENDER);
    assert_eq!(mail["subject"], "New registration");
    assert_eq!(
        mail["body"],
        "<p>Hi, ada (ada@example.test) registered your app.</p>"
    );
    assert_eq!(
        mail["destinations"],
        json!({
            "ToAddresses": ["owner@example.test", "second@example.test"],
            "CcAddresses": ["cc@example.test"],
            "BccAddresses": ["audit@example.test"],
        })
    );
}

/// The shape of Auth0's node-ses tutorial: `require`, and `sendEmail` neither awaited nor returned.
const TUTORIAL: &str = r#"const ses = require("actionflow:ses");
exports.onExecutePostUserRegistration = async (event) => {
  const client = ses.createClient({
    key: event.secrets.AWS_SES_KEY,
    secret: event.secrets.AWS_SES_SECRET,
    endpoint: ENDPOINT,
  });
  client.sendEmail({
    to: "owner@example.test",
    from: event.secrets.SES_FROM || "welcome@actionflow.test",
    subject: "New user",
    altText: `Hi, ${event.user.username} (${event.user.email}) registered your app.`,
  }, (err, data) => console.log(err ? `failed ${err.name}` : `sent ${typeof data.messageId}`));
};"#;

#[tokio::test]
async fn the_tutorials_unawaited_send_still_delivers() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let rt = runtime();
    let outcome = run(&rt, request(TUTORIAL, Some(&moto.tenant), &moto.url)).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:?}");
    assert_eq!(outcome.logs[0].message, "sent string");
    let sent = moto.sent().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0]["body"],
        "Hi, ada (ada@example.test) registered your app."
    );
    assert_eq!(
        sent[0]["destinations"]["ToAddresses"],
        json!(["owner@example.test"])
    );
}

#[tokio::test]
async fn an_unverified_sender_ends_the_execution_with_the_ses_error() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let rt = runtime();
    let awaited = AWAITED.replace(SENDER, "stranger@elsewhere.test");
    let outcome = run(&rt, request(&awaited, Some(&moto.tenant), &moto.url)).await;
    assert_eq!(outcome.status, Status::Threw, "{outcome:?}");
    assert_eq!(
        error_of(&outcome),
        "MessageRejected: Email address not verified stranger@elsewhere.test"
    );
    // Not awaited, no callback: the handler had answered, so the execution keeps its answer and the
    // rejection is an error line of its log (as for any error in work left running).
    let unawaited = TUTORIAL
        .replace("event.secrets.SES_FROM || \"welcome@actionflow.test\"", "\"stranger@elsewhere.test\"")
        .replace(", (err, data) => console.log(err ? `failed ${err.name}` : `sent ${typeof data.messageId}`)", "");
    assert!(!unawaited.contains("console.log"));
    let outcome = run(&rt, request(&unawaited, Some(&moto.tenant), &moto.url)).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:?}");
    assert!(
        outcome
            .logs
            .iter()
            .any(|l| l.level == actionflow_runtime::LogLevel::Error
                && l.message
                    .contains("MessageRejected: Email address not verified")),
        "{outcome:?}"
    );
    assert!(moto.sent().await.is_empty());
}

/// `examples/ses-welcome-email` as its README runs it: its action and event, the keys as secrets and a
/// local server's URL as `AWS_SES_ENDPOINT`.
#[tokio::test]
async fn the_sample_action_sends_its_welcome_email() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/ses-welcome-email"
    );
    let code = std::fs::read_to_string(format!("{sample}/action.js")).unwrap();
    let sample_event = std::fs::read_to_string(format!("{sample}/event.json")).unwrap();
    moto.verify("welcome@yourdomain.example").await;
    let mut req = request(&code, Some(&moto.tenant), &moto.url);
    req.event = Event::from_json(&sample_event).unwrap();
    req.secrets
        .0
        .insert("AWS_SES_ENDPOINT".to_owned(), moto.url.clone());
    assert_ne!(req.event, Event::new(&event()).unwrap());
    let outcome = run(&runtime(), req).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:?}");
    let sent = moto.sent().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["source"], "welcome@yourdomain.example");
    assert_eq!(
        sent[0]["destinations"],
        json!({ "ToAddresses": ["owner@yourdomain.example"] })
    );
    assert_eq!(sent[0]["subject"], "New registration: ada");
    assert_eq!(
        sent[0]["body"],
        "<p>Hi, <b>ada (ada@example.com)</b> registered your app.</p>"
    );
    let log = &outcome.logs[0].message;
    assert!(
        log.starts_with("welcome email sent for auth0|6650b1f2e4d3c2a1b0f9e8d7: "),
        "{log}"
    );
}
