//! The host's own AWS identity is never used: the test runs itself again as a child process whose
//! environment holds AWS credentials (valid at the server, allowed nothing) and moto as the default
//! endpoint, and checks that actions only ever sign with the keys they pass.

use super::moto::{Keys, Moto};
use super::{error_of, request, run, runtime};
use actionflow_runtime::{Limits, Status};

/// Set in the child: `URL KEY SECRET` of the server and of the tenant's allowed key.
const CHILD: &str = "ACTIONFLOW_SES_TEST_HOST_ENV_CHILD";
const TEST: &str = "host_env::the_hosts_aws_environment_is_never_used";

const SEND: &str = r#"const ses = require("actionflow:ses");
exports.onExecutePostUserRegistration = async (event) => {
  const client = ses.createClient({
    key: event.secrets.AWS_SES_KEY,
    secret: event.secrets.AWS_SES_SECRET,
    endpoint: ENDPOINT,
  });
  const { messageId } = await client.sendEmail({
    to: "owner@example.test", from: "welcome@actionflow.test", subject: "Hi", altText: "x",
  });
  console.log(typeof messageId);
};"#;

#[tokio::test]
async fn the_hosts_aws_environment_is_never_used() {
    if let Ok(args) = std::env::var(CHILD) {
        return in_child(&args).await;
    }
    let Some(moto) = Moto::start().await else {
        return;
    };
    let exe = std::env::current_exe().unwrap();
    let child = tokio::process::Command::new(exe)
        .args([TEST, "--exact", "--test-threads=1", "--nocapture"])
        .env(
            CHILD,
            format!("{} {} {}", moto.url, moto.tenant.key, moto.tenant.secret),
        )
        .env("AWS_ACCESS_KEY_ID", &moto.host.key)
        .env("AWS_SECRET_ACCESS_KEY", &moto.host.secret)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ENDPOINT_URL_SESV2", &moto.url)
        .output()
        .await
        .unwrap();
    assert!(
        child.status.success(),
        "the child run failed: {}\n{}\n{}",
        child.status,
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
    // Only the send signed with the tenant's key to moto's URL went through.
    assert_eq!(moto.sent().await.len(), 1);
    // The host's key is valid at the server but allowed nothing: had it been used, sends would fail
    // with AccessDenied. Show that it is what the child's environment held.
    let host = moto.ses(&moto.host);
    let denied = host
        .create_email_identity()
        .email_identity("x@actionflow.test")
        .send()
        .await
        .unwrap_err();
    assert!(format!("{denied:?}").contains("AccessDenied"), "{denied:?}");
}

async fn in_child(args: &str) {
    let parts: Vec<&str> = args.split(' ').collect();
    let (url, tenant) = (
        parts[0],
        Keys {
            key: parts[1].to_owned(),
            secret: parts[2].to_owned(),
        },
    );
    assert!(std::env::var("AWS_ACCESS_KEY_ID").is_ok());
    let rt = runtime();
    // The action's own key: sent, although the environment's key may not send.
    let outcome = run(&rt, request(SEND, Some(&tenant), url)).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:?}");
    assert_eq!(outcome.logs[0].message, "string");
    // A wrong key is refused, not replaced by the environment's.
    let wrong = Keys {
        key: "AKIANOTAKEY".to_owned(),
        secret: tenant.secret.clone(),
    };
    let outcome = run(&rt, request(SEND, Some(&wrong), url)).await;
    assert!(
        error_of(&outcome).starts_with("InvalidClientTokenId: "),
        "{outcome:?}"
    );
    // No endpoint: Amazon's, never the environment's AWS_ENDPOINT_URL (which points at moto here).
    let mut amazon = request(&SEND.replace("endpoint: ENDPOINT,", ""), Some(&tenant), url);
    amazon.limits = Limits {
        wall_ms_max: 1500,
        ..Limits::default()
    };
    let outcome = run(&rt, amazon).await;
    assert_ne!(outcome.status, Status::Completed, "{outcome:?}");
    // No key at all is a TypeError, not a fall back to the environment.
    let outcome = run(&rt, request(SEND, None, url)).await;
    assert!(
        error_of(&outcome).starts_with("TypeError: actionflow:ses createClient: `key` is missing")
    );
}
