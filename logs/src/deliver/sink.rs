//! One request to a stream's endpoint: the body in the stream's content format, the Standard
//! Webhooks headers, the authorization and custom headers, under the shared address policy, with
//! no redirects followed. Only 2xx is success; `Retry-After` and a body excerpt are kept.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use serde_json::{json, Value};

use crate::sign::{signature_header, SigningKey};
use crate::stream::{ContentFormat, Sink};

/// Characters of an endpoint's answer kept for the health view.
pub const EXCERPT_CHARS_MAX: usize = 512;

/// What went wrong with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    pub status: Option<u16>,
    pub excerpt: String,
    pub retry_after: Option<Duration>,
}

/// The HTTP client for sinks: the shared address policy unless private networks are allowed.
pub fn client(allow_private: bool, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .user_agent("actionflow-log-streams");
    if !allow_private {
        builder = builder.dns_resolver(std::sync::Arc::new(actionflow_netpolicy::PublicOnly));
    }
    builder.build()
}

/// The body of a request holding `records` (`{log_id, data}` each) and its content type.
pub fn body(format: ContentFormat, records: &[Value]) -> (Vec<u8>, &'static str) {
    match format {
        ContentFormat::Jsonlines => {
            let mut out = Vec::with_capacity(records.len() * 256);
            for record in records {
                if serde_json::to_writer(&mut out, record).is_ok() {
                    out.push(b'\n');
                }
            }
            (out, "application/x-ndjson")
        }
        ContentFormat::Jsonarray => (json!(records).to_string().into_bytes(), "application/json"),
        ContentFormat::Jsonobject => (
            json!({ "logs": records }).to_string().into_bytes(),
            "application/json",
        ),
    }
}

/// What a request carries besides its body.
pub struct Envelope<'a> {
    pub sink: &'a Sink,
    pub authorization: Option<&'a str>,
    pub keys: &'a [SigningKey],
    pub allow_private: bool,
}

fn failure(status: Option<u16>, excerpt: impl Into<String>) -> SendFailure {
    let mut excerpt: String = excerpt.into();
    if excerpt.chars().count() > EXCERPT_CHARS_MAX {
        excerpt = excerpt.chars().take(EXCERPT_CHARS_MAX).collect();
    }
    SendFailure {
        status,
        excerpt,
        retry_after: None,
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
}

/// Sends one request; `Ok` only for a 2xx answer.
pub async fn send(
    client: &reqwest::Client,
    envelope: &Envelope<'_>,
    id: &str,
    body: Vec<u8>,
    content_type: &'static str,
) -> Result<(), SendFailure> {
    let url = reqwest::Url::parse(&envelope.sink.endpoint)
        .map_err(|_| failure(None, "the endpoint is not a URL"))?;
    if actionflow_netpolicy::refuses_literal(&url, envelope.allow_private) {
        return Err(failure(
            None,
            "the endpoint is a loopback or private address",
        ));
    }
    let timestamp = chrono::Utc::now().timestamp();
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in &envelope.sink.custom_headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    if let Some(auth) = envelope.authorization {
        let value = HeaderValue::from_str(auth)
            .map_err(|_| failure(None, "the stored authorization is not a header value"))?;
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    let signature = signature_header(envelope.keys, id, timestamp, &body);
    let signed = [
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ];
    for (name, value) in signed {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    let response = client
        .post(url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(|error| failure(None, transport(&error)))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let after = retry_after(response.headers());
    let text = match response.bytes().await {
        Ok(bytes) => {
            String::from_utf8_lossy(&bytes[..bytes.len().min(4 * EXCERPT_CHARS_MAX)]).into_owned()
        }
        Err(_) => String::new(),
    };
    let mut failed = failure(Some(status.as_u16()), text);
    failed.retry_after = after;
    Err(failed)
}

/// A transport error in a line, with its causes (the address policy's refusal among them).
fn transport(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "the endpoint did not answer in time".to_owned()
    } else {
        "the endpoint could not be reached".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
