//! Failures an action author must be able to understand: wrong credentials, a missing secret or field
//! (a TypeError before any request), an unreachable or forbidden endpoint, and the time limit.

use super::moto::{Keys, Moto};
use super::{error_of, request, run, runtime};
use actionflow_runtime::{Limits, PoolConfig, Runtime, Status};
use actionflow_ses::SesModule;
use std::sync::Arc;
use std::time::Instant;

/// Sends one plain email with the `AWS_SES_*` secrets to `ENDPOINT`, awaiting it.
const SEND: &str = r#"const ses = require("actionflow:ses");
exports.onExecutePostUserRegistration = async (event) => {
  const client = ses.createClient({
    key: event.secrets.AWS_SES_KEY,
    secret: event.secrets.AWS_SES_SECRET,
    endpoint: ENDPOINT,
  });
  await client.sendEmail({ to: "owner@example.test", from: "welcome@actionflow.test", subject: "Hi", altText: "x" });
};"#;

/// Well-formed credentials that no server knows.
const KEY: &str = "AKIAEXAMPLEKEY000001";
const SECRET: &str = "example-secret-access-key";

fn keys(key: &str, secret: &str) -> Keys {
    Keys {
        key: key.to_owned(),
        secret: secret.to_owned(),
    }
}

/// A port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn wrong_credentials_are_named_without_the_secret() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let rt = runtime();
    let wrong_key = keys("AKIAWRONGKEY", &moto.tenant.secret);
    let outcome = run(&rt, request(SEND, Some(&wrong_key), &moto.url)).await;
    assert_eq!(outcome.status, Status::Threw, "{outcome:?}");
    assert_eq!(
        error_of(&outcome),
        "InvalidClientTokenId: SES did not accept the credentials of access key AKIA…GKEY: \
         The security token included in the request is invalid."
    );
    let wrong_secret = keys(&moto.tenant.key, "not-the-secret-0123456789");
    let outcome = run(&rt, request(SEND, Some(&wrong_secret), &moto.url)).await;
    let error = error_of(&outcome);
    assert!(
        error.starts_with(&format!(
            "SignatureDoesNotMatch: SES did not accept the credentials of access key {}…",
            &moto.tenant.key[..4]
        )),
        "{error}"
    );
    assert!(!error.contains("not-the-secret"), "{error}");
    assert!(moto.sent().await.is_empty());
}

#[tokio::test]
async fn a_missing_secret_or_field_is_a_type_error_before_any_request() {
    let rt = runtime();
    // Nothing listens at this endpoint: a request would be a NetworkError, not a TypeError.
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let outcome = run(&rt, request(SEND, None, &endpoint)).await;
    assert_eq!(outcome.status, Status::Threw);
    assert_eq!(
        error_of(&outcome),
        "TypeError: actionflow:ses createClient: `key` is missing; pass your AWS access key id, \
         e.g. event.secrets.AWS_SES_KEY"
    );
    let only_key = SEND.replace(
        "event.secrets.AWS_SES_SECRET",
        "event.secrets.AWS_SES_SECRT",
    );
    let outcome = run(&rt, request(&only_key, Some(&keys(KEY, SECRET)), &endpoint)).await;
    assert_eq!(
        error_of(&outcome),
        "TypeError: actionflow:ses createClient: `secret` is missing; pass your AWS secret access \
         key, e.g. event.secrets.AWS_SES_SECRET"
    );
    for (field, expected) in [
        ("to: \"owner@example.test\", ", "`to` is missing"),
        ("from: \"welcome@actionflow.test\", ", "`from` is missing"),
        ("subject: \"Hi\", ", "`subject` is missing"),
    ] {
        let code = SEND.replace(field, "");
        let outcome = run(&rt, request(&code, Some(&keys(KEY, SECRET)), &endpoint)).await;
        let error = error_of(&outcome);
        assert!(
            error.starts_with("TypeError: actionflow:ses sendEmail: "),
            "{error}"
        );
        assert!(error.contains(expected), "{error}");
    }
}

#[tokio::test]
async fn an_unreachable_or_forbidden_endpoint_is_a_clear_error() {
    let rt = runtime();
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let outcome = run(&rt, request(SEND, Some(&keys(KEY, SECRET)), &endpoint)).await;
    let error = error_of(&outcome);
    assert!(
        error.starts_with(&format!("NetworkError: cannot reach SES at {endpoint}: ")),
        "{error}"
    );
    // The default configuration keeps actions off the host's loopback and private networks.
    let strict =
        Runtime::with_host_modules(PoolConfig::default(), vec![Arc::new(SesModule::default())])
            .unwrap();
    let outcome = run(&strict, request(SEND, Some(&keys(KEY, SECRET)), &endpoint)).await;
    assert_eq!(
        error_of(&outcome),
        "TypeError: actionflow:ses createClient: `endpoint` must be https://"
    );
    let https = format!("https://127.0.0.1:{}", closed_port());
    let outcome = run(&strict, request(SEND, Some(&keys(KEY, SECRET)), &https)).await;
    assert!(error_of(&outcome).contains("loopback or private address"));
}

#[tokio::test]
async fn a_send_is_bounded_by_the_time_limit() {
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let rt = runtime();
    let mut req = request(SEND, Some(&keys(KEY, SECRET)), &endpoint);
    req.limits = Limits {
        wall_ms_max: 800,
        ..Limits::default()
    };
    let started = Instant::now();
    let outcome = run(&rt, req).await;
    assert!(started.elapsed().as_millis() < 3000, "{outcome:?}");
    assert_ne!(outcome.status, Status::Completed);
    let error = error_of(&outcome);
    assert!(
        error.starts_with("TimeoutError: SES did not answer") || error.contains("time limit"),
        "{error}"
    );
    held.abort();
}
