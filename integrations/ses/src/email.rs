//! The arguments of a `sendEmail` call, read from the JSON the JavaScript side passed and checked again
//! here (the JS face already throws a TypeError for them; this side never trusts it).

use crate::errors::SesError;
use serde_json::{Map, Value};

/// SES accepts at most 50 recipients (to, cc and bcc together) per message.
pub const RECIPIENTS_MAX: usize = 50;
/// Subject and bodies together; SES's own limit on a whole message is 40 MB.
pub const EMAIL_BYTES_MAX: usize = 10 * 1024 * 1024;

/// What `createClient` was given. `Debug` never prints the secret.
#[derive(Clone)]
pub struct ClientOptions {
    pub key: String,
    pub secret: String,
    pub region: Option<String>,
    pub endpoint: Option<String>,
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("key", &self.key)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// One email as the action described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub reply_to: Vec<String>,
    pub from: String,
    pub subject: String,
    /// The HTML body (node-ses `message`).
    pub html: Option<String>,
    /// The plain-text body (node-ses `altText`).
    pub text: Option<String>,
}

/// Splits `{ client, email }` into checked options and email.
pub fn parse(args: &Value) -> Result<(ClientOptions, Email), SesError> {
    let client = object(args, "client", "createClient")?;
    let email = object(args, "email", "sendEmail")?;
    let options = ClientOptions {
        key: required(client, "key", "createClient")?,
        secret: required(client, "secret", "createClient")?,
        region: optional(client, "region", "createClient")?,
        endpoint: optional(client, "endpoint", "createClient")?,
    };
    let email = Email {
        to: recipients(email, "to", true)?,
        cc: recipients(email, "cc", false)?,
        bcc: recipients(email, "bcc", false)?,
        reply_to: recipients(email, "replyTo", false)?,
        from: required(email, "from", "sendEmail")?,
        subject: required(email, "subject", "sendEmail")?,
        html: optional(email, "message", "sendEmail")?,
        text: optional(email, "altText", "sendEmail")?,
    };
    check_sizes(&email)?;
    if email.html.is_none() && email.text.is_none() {
        return Err(invalid(
            "sendEmail",
            "message",
            "give `message` (HTML) or `altText` (plain text)",
        ));
    }
    Ok((options, email))
}

fn check_sizes(email: &Email) -> Result<(), SesError> {
    let recipients = email.to.len() + email.cc.len() + email.bcc.len();
    if recipients > RECIPIENTS_MAX {
        let problem = format!(
            "with cc and bcc makes {recipients} recipients; SES takes at most {RECIPIENTS_MAX}"
        );
        return Err(invalid("sendEmail", "to", &problem));
    }
    let bytes = email.subject.len()
        + email.html.as_ref().map_or(0, String::len)
        + email.text.as_ref().map_or(0, String::len);
    if bytes > EMAIL_BYTES_MAX {
        let problem = format!(
            "with subject and altText is {bytes} bytes, more than the limit of {EMAIL_BYTES_MAX} bytes"
        );
        return Err(invalid("sendEmail", "message", &problem));
    }
    Ok(())
}

fn invalid(call: &'static str, field: &str, problem: &str) -> SesError {
    SesError::InvalidArgument {
        call,
        field: field.to_owned(),
        problem: problem.to_owned(),
    }
}

fn object<'a>(
    args: &'a Value,
    field: &str,
    call: &'static str,
) -> Result<&'a Map<String, Value>, SesError> {
    args.get(field)
        .and_then(Value::as_object)
        .ok_or_else(|| invalid(call, field, "expected an object"))
}

fn optional(
    object: &Map<String, Value>,
    field: &str,
    call: &'static str,
) -> Result<Option<String>, SesError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(call, field, "must be a string")),
    }
}

fn required(
    object: &Map<String, Value>,
    field: &str,
    call: &'static str,
) -> Result<String, SesError> {
    match optional(object, field, call)? {
        Some(s) if !s.is_empty() => Ok(s),
        Some(_) => Err(invalid(call, field, "is empty")),
        None => Err(invalid(call, field, "is missing")),
    }
}

fn recipients(
    object: &Map<String, Value>,
    field: &str,
    needed: bool,
) -> Result<Vec<String>, SesError> {
    let list = match object.get(field) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![Value::String(s.clone())],
        Some(Value::Array(items)) => items.clone(),
        Some(_) => {
            return Err(invalid(
                "sendEmail",
                field,
                "must be an address or an array of addresses",
            ))
        }
    };
    let mut addresses = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        match item.as_str() {
            Some(s) if !s.is_empty() => addresses.push(s.to_owned()),
            _ => {
                let at = format!("{field}[{i}]");
                return Err(invalid(
                    "sendEmail",
                    &at,
                    "must be a non-empty string address",
                ));
            }
        }
    }
    if needed && addresses.is_empty() {
        return Err(invalid(
            "sendEmail",
            field,
            "is missing; give at least one address",
        ));
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn args(email: Value) -> Value {
        json!({ "client": { "key": "AKIA1", "secret": "s3cr3t" }, "email": email })
    }

    #[test]
    fn strings_and_arrays_are_recipients() {
        let (options, email) = parse(&args(json!({
            "to": "a@x.test", "cc": ["b@x.test", "c@x.test"], "from": "f@x.test",
            "subject": "Hi", "altText": "hello"
        })))
        .unwrap();
        assert_eq!(options.key, "AKIA1");
        assert_eq!(email.to, ["a@x.test"]);
        assert_eq!(email.cc, ["b@x.test", "c@x.test"]);
        assert!(email.bcc.is_empty() && email.html.is_none());
        assert!(!format!("{options:?}").contains("s3cr3t"));
    }

    #[test]
    fn missing_fields_are_named() {
        let cases = [
            (
                json!({ "from": "f@x.test", "subject": "s", "altText": "t" }),
                "`to` is missing",
            ),
            (
                json!({ "to": ["a@x.test", 3], "from": "f@x.test", "subject": "s", "altText": "t" }),
                "`to[1]`",
            ),
            (
                json!({ "to": "a@x.test", "subject": "s", "altText": "t" }),
                "`from` is missing",
            ),
            (
                json!({ "to": "a@x.test", "from": "f@x.test", "subject": "", "altText": "t" }),
                "`subject` is empty",
            ),
            (
                json!({ "to": "a@x.test", "from": "f@x.test", "subject": "s" }),
                "`message`",
            ),
        ];
        for (email, expected) in cases {
            let error = parse(&args(email)).unwrap_err().to_string();
            assert!(
                error.contains(expected),
                "{error} should contain {expected}"
            );
        }
        let many: Vec<String> = (0..51).map(|i| format!("u{i}@x.test")).collect();
        let crowd = json!({ "to": many, "from": "f@x.test", "subject": "s", "altText": "t" });
        let error = parse(&args(crowd)).unwrap_err().to_string();
        assert!(
            error.contains("51 recipients; SES takes at most 50"),
            "{error}"
        );
        let huge = "x".repeat(EMAIL_BYTES_MAX);
        let big = json!({ "to": "a@x.test", "from": "f@x.test", "subject": "s", "message": huge });
        let error = parse(&args(big)).unwrap_err().to_string();
        assert!(
            error.contains("more than the limit of 10485760 bytes"),
            "{error}"
        );
        let no_secret = json!({ "client": { "key": "k" }, "email": {} });
        assert!(parse(&no_secret)
            .unwrap_err()
            .to_string()
            .contains("`secret` is missing"));
    }
}
