//! `sendEmail`: one SES v2 SendEmail (Simple content) within the action's remaining time, and the
//! translation of every way it can fail into a [`SesError`].

use crate::clients::Clients;
use crate::email::{self, Email};
use crate::errors::SesError;
use aws_sdk_sesv2::config::timeout::TimeoutConfig;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Establishing a connection never waits longer than this, even when the action has more time.
const CONNECT_MS_MAX: u64 = 10_000;

/// Error codes meaning SES did not accept the access key or the signature made with its secret.
const CREDENTIAL_CODES: &[&str] = &[
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "ExpiredToken",
    "ExpiredTokenException",
];

pub async fn send_email(
    clients: &Clients,
    args: Value,
    deadline: Instant,
) -> Result<Value, SesError> {
    let (options, email) = email::parse(&args)?;
    let ready = clients.get(&options)?;
    let remaining = deadline.saturating_duration_since(Instant::now());
    let ms = remaining.as_millis();
    if remaining.is_zero() {
        return Err(SesError::Timeout { ms });
    }
    let timeouts = TimeoutConfig::builder()
        .operation_timeout(remaining)
        .connect_timeout(remaining.min(Duration::from_millis(CONNECT_MS_MAX)))
        .build();
    let request = request(&ready.client, email)?
        .customize()
        .config_override(aws_sdk_sesv2::Config::builder().timeout_config(timeouts));
    // The SDK's operation timeout bounds retries too; this outer bound also covers its own bookkeeping.
    match tokio::time::timeout(remaining, request.send()).await {
        Err(_) => Err(SesError::Timeout { ms }),
        Ok(Ok(sent)) => Ok(json!({ "messageId": sent.message_id() })),
        Ok(Err(error)) => Err(failure(error, &options.key, &ready.endpoint, ms)),
    }
}

fn content(data: String) -> Result<Content, SesError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| SesError::Service {
            code: "InvalidParameterValue".to_owned(),
            message: e.to_string(),
        })
}

fn request(
    client: &aws_sdk_sesv2::Client,
    email: Email,
) -> Result<aws_sdk_sesv2::operation::send_email::builders::SendEmailFluentBuilder, SesError> {
    let mut body = Body::builder();
    if let Some(html) = email.html {
        body = body.html(content(html)?);
    }
    if let Some(text) = email.text {
        body = body.text(content(text)?);
    }
    let message = Message::builder()
        .subject(content(email.subject)?)
        .body(body.build())
        .build();
    let destination = Destination::builder()
        .set_to_addresses(Some(email.to))
        .set_cc_addresses(non_empty(email.cc))
        .set_bcc_addresses(non_empty(email.bcc))
        .build();
    Ok(client
        .send_email()
        .from_email_address(email.from)
        .destination(destination)
        .set_reply_to_addresses(non_empty(email.reply_to))
        .content(EmailContent::builder().simple(message).build()))
}

fn non_empty(list: Vec<String>) -> Option<Vec<String>> {
    (!list.is_empty()).then_some(list)
}

type SendError = SdkError<SendEmailError, aws_sdk_sesv2::config::http::HttpResponse>;

fn failure(error: SendError, key: &str, endpoint: &str, ms: u128) -> SesError {
    match &error {
        SdkError::TimeoutError(_) => SesError::Timeout { ms },
        SdkError::DispatchFailure(failure) => match failure.as_connector_error() {
            Some(connector) if connector.is_timeout() => SesError::Timeout { ms },
            Some(connector) => SesError::Unreachable {
                endpoint: endpoint.to_owned(),
                cause: causes(connector),
            },
            None => SesError::Unreachable {
                endpoint: endpoint.to_owned(),
                cause: causes(&error),
            },
        },
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => answered(&error, &masked(key)),
        _ => SesError::Service {
            code: "SESError".to_owned(),
            message: causes(&error),
        },
    }
}

/// SES answered with an error. Its code and message come from the parsed error when the SDK could read
/// it, else from the raw body (authentication failures may arrive as an XML `ErrorResponse`).
fn answered(error: &SendError, key: &str) -> SesError {
    let raw = error.raw_response();
    let body = raw
        .and_then(|r| r.body().bytes())
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let status = raw.map(|r| r.status().as_u16()).unwrap_or(0);
    let code = error
        .code()
        .map(str::to_owned)
        .or_else(|| xml_field(&body, "Code"))
        .unwrap_or_else(|| match status {
            401 | 403 => "UnrecognizedClientException".to_owned(),
            _ => "SESError".to_owned(),
        });
    let message = error
        .message()
        .map(str::to_owned)
        .or_else(|| xml_field(&body, "Message"))
        .unwrap_or_else(|| format!("SES answered HTTP {status}"));
    if CREDENTIAL_CODES.contains(&code.as_str()) {
        SesError::Credentials {
            code,
            key: key.to_owned(),
            message,
        }
    } else {
        SesError::Service { code, message }
    }
}

/// An error and its sources, `outer: inner: …` (Display only, without the Debug dump).
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// The access key id as AWS consoles show it (`AKIA…WXYZ`): enough to tell keys apart, and readable
/// even where the runtime redacts the whole key because the action passed it as a secret.
fn masked(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 12 {
        return "…".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

fn xml_field(body: &str, tag: &str) -> Option<String> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + body[start..].find(&format!("</{tag}>"))?;
    Some(body[start..end].trim().to_owned()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::{masked, xml_field};

    #[test]
    fn keys_are_shown_masked() {
        assert_eq!(masked("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
        assert_eq!(masked("short"), "…");
    }

    #[test]
    fn reads_an_xml_error_response() {
        let body = "<ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code>\
                    <Message>The security token included in the request is invalid.</Message>\
                    </Error></Errors></ErrorResponse>";
        assert_eq!(
            xml_field(body, "Code").as_deref(),
            Some("InvalidClientTokenId")
        );
        assert_eq!(
            xml_field(body, "Message").as_deref(),
            Some("The security token included in the request is invalid.")
        );
        assert_eq!(xml_field("{}", "Code"), None);
    }
}
