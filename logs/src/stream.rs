//! A stream's settings and their rules, as plain data and functions: the sink (endpoint, content
//! format, custom headers; the authorization header is a secret kept apart), the filters, batching
//! and concurrency, and how a request to create or change a stream is checked.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::codes::{self, LEVEL_MAX};
use crate::{Error, Result};

/// Events per batch, at most (and the default).
pub const BATCH_SIZE_MAX: u32 = 100;
/// Requests in flight per stream when events are sent one by one.
pub const CONCURRENCY_MAX: u32 = 20;
pub const CONCURRENCY_DEFAULT: u32 = 5;
pub const CUSTOM_HEADERS_MAX: usize = 20;
pub const NAME_CHARS_MAX: usize = 128;
pub const ENDPOINT_CHARS_MAX: usize = 2048;
/// Headers a user may not set: they are the transport's or the signature's.
const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "content-length",
    "host",
    "transfer-encoding",
    "connection",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

/// How a batch is written in the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContentFormat {
    /// One JSON record per line (`application/x-ndjson`).
    #[default]
    Jsonlines,
    /// A JSON array of records.
    Jsonarray,
    /// `{"logs": [records]}`.
    Jsonobject,
}

/// Where and how a stream sends (no secret here: this is stored as plain JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sink {
    pub endpoint: String,
    pub content_format: ContentFormat,
    pub custom_headers: BTreeMap<String, String>,
}

/// Which events a stream receives.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Filters {
    /// Codes (all when empty).
    pub types: Vec<String>,
    pub min_level: u8,
}

impl Filters {
    pub fn store_filter(&self) -> actionflow_store::LogFilter {
        actionflow_store::LogFilter {
            types: self.types.clone(),
            min_level: i64::from(self.min_level),
        }
    }
}

/// A stream's settings as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamConfig {
    pub sink: Sink,
    pub filters: Filters,
    pub batch_size: u32,
    /// One request per batch; otherwise one request per event, `concurrency` at a time.
    pub send_as_batch: bool,
    pub concurrency: u32,
}

/// The sink as a user sends it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkInput {
    pub endpoint: String,
    pub content_format: Option<ContentFormat>,
    /// Write-only: kept sealed, never shown.
    pub authorization: Option<String>,
    pub custom_headers: Option<BTreeMap<String, String>>,
}

/// The settings a user may give at creation or change (each `None` keeps or defaults).
#[derive(Debug, Clone, Default)]
pub struct SettingsInput {
    pub sink: Option<SinkInput>,
    pub filters: Option<Filters>,
    pub batch_size: Option<u32>,
    pub send_as_batch: Option<bool>,
    pub concurrency: Option<u32>,
}

/// Checks a stream's name.
pub fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_CHARS_MAX {
        return Err(Error::invalid(
            "name",
            format!("must be 1 to {NAME_CHARS_MAX} characters"),
        ));
    }
    Ok(name.to_owned())
}

/// Checks an endpoint: an absolute http(s) URL without credentials; a non-public IP literal
/// only when the embedder allows private networks (names are judged when resolved).
pub fn check_endpoint(endpoint: &str, allow_private: bool) -> Result<url::Url> {
    let field = "sink.endpoint";
    if endpoint.len() > ENDPOINT_CHARS_MAX {
        return Err(Error::invalid(
            field,
            format!("longer than {ENDPOINT_CHARS_MAX} characters"),
        ));
    }
    let url = url::Url::parse(endpoint)
        .map_err(|_| Error::invalid(field, format!("{endpoint:?} is not an absolute URL")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid(
            field,
            "only http: and https: endpoints are supported",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(
            field,
            "put credentials in sink.authorization, not in the URL",
        ));
    }
    if url.host().is_none() {
        return Err(Error::invalid(field, "the URL has no host"));
    }
    if actionflow_netpolicy::refuses_literal(&url, allow_private) {
        return Err(Error::invalid(
            field,
            "loopback and private addresses are not reachable",
        ));
    }
    Ok(url)
}

fn check_headers(headers: &BTreeMap<String, String>) -> Result<()> {
    if headers.len() > CUSTOM_HEADERS_MAX {
        return Err(Error::invalid(
            "sink.custom_headers",
            format!("at most {CUSTOM_HEADERS_MAX}"),
        ));
    }
    for (name, value) in headers {
        let field = format!("sink.custom_headers.{name}");
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(Error::invalid(field, "not a valid header name"));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(Error::invalid(field, "this header is set by Actionflow"));
        }
        if reqwest::header::HeaderValue::from_str(value).is_err() || value.len() > 1024 {
            return Err(Error::invalid(
                field,
                "not a valid header value (visible ASCII, ≤ 1024)",
            ));
        }
    }
    Ok(())
}

/// Checks the authorization header value (write-only secret).
pub fn check_authorization(value: &str) -> Result<()> {
    if value.is_empty()
        || value.len() > 4096
        || reqwest::header::HeaderValue::from_str(value).is_err()
    {
        return Err(Error::invalid(
            "sink.authorization",
            "not a valid header value (1 to 4096 visible ASCII characters)",
        ));
    }
    Ok(())
}

fn check_filters(filters: &Filters) -> Result<()> {
    if filters.min_level > LEVEL_MAX {
        return Err(Error::invalid(
            "filters.min_level",
            "levels are 0 (debug) to 4 (critical)",
        ));
    }
    for (i, code) in filters.types.iter().enumerate() {
        if codes::lookup(code).is_none() && !codes::is_custom(code) {
            return Err(Error::invalid(
                format!("filters.types[{i}]"),
                format!("unknown log type code {code:?}"),
            ));
        }
    }
    Ok(())
}

/// Applies `input` over `current` (or the defaults, for a new stream) and checks the result.
pub fn settle(
    current: Option<&StreamConfig>,
    input: SettingsInput,
    allow_private: bool,
) -> Result<StreamConfig> {
    let sink = match (input.sink, current) {
        (Some(sink), _) => {
            check_endpoint(&sink.endpoint, allow_private)?;
            let custom_headers = sink.custom_headers.unwrap_or_default();
            check_headers(&custom_headers)?;
            if let Some(auth) = &sink.authorization {
                check_authorization(auth)?;
            }
            Sink {
                endpoint: sink.endpoint,
                content_format: sink.content_format.unwrap_or_default(),
                custom_headers,
            }
        }
        (None, Some(current)) => current.sink.clone(),
        (None, None) => return Err(Error::invalid("sink", "a stream needs a sink")),
    };
    let filters = input
        .filters
        .or_else(|| current.map(|c| c.filters.clone()))
        .unwrap_or_default();
    check_filters(&filters)?;
    let batch_size = input
        .batch_size
        .or(current.map(|c| c.batch_size))
        .unwrap_or(BATCH_SIZE_MAX);
    if !(1..=BATCH_SIZE_MAX).contains(&batch_size) {
        return Err(Error::invalid(
            "batch_size",
            format!("must be 1 to {BATCH_SIZE_MAX}"),
        ));
    }
    let concurrency = input
        .concurrency
        .or(current.map(|c| c.concurrency))
        .unwrap_or(CONCURRENCY_DEFAULT);
    if !(1..=CONCURRENCY_MAX).contains(&concurrency) {
        return Err(Error::invalid(
            "concurrency",
            format!("must be 1 to {CONCURRENCY_MAX}"),
        ));
    }
    Ok(StreamConfig {
        sink,
        filters,
        batch_size,
        send_as_batch: input
            .send_as_batch
            .or(current.map(|c| c.send_as_batch))
            .unwrap_or(true),
        concurrency,
    })
}

/// The status a user may set.
pub fn check_status(status: &str) -> Result<&'static str> {
    match status {
        "active" => Ok("active"),
        "paused" => Ok("paused"),
        _ => Err(Error::invalid(
            "status",
            "set active or paused (a stream is suspended only by its failures)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink(endpoint: &str) -> SinkInput {
        SinkInput {
            endpoint: endpoint.to_owned(),
            ..SinkInput::default()
        }
    }

    #[test]
    fn defaults_limits_and_the_address_policy() {
        let input = SettingsInput {
            sink: Some(sink("https://logs.example.com/in")),
            ..SettingsInput::default()
        };
        let config = settle(None, input, false).ok();
        let config = config.as_ref();
        assert_eq!(
            config.map(|c| (c.batch_size, c.concurrency, c.send_as_batch)),
            Some((100, 5, true))
        );
        for private in [
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://169.254.169.254/",
            "http://10.0.0.1/",
        ] {
            let refused = settle(
                None,
                SettingsInput {
                    sink: Some(sink(private)),
                    ..SettingsInput::default()
                },
                false,
            );
            assert!(
                matches!(refused, Err(Error::Invalid { ref field, .. }) if field == "sink.endpoint"),
                "{private}"
            );
            assert!(settle(
                None,
                SettingsInput {
                    sink: Some(sink(private)),
                    ..SettingsInput::default()
                },
                true
            )
            .is_ok());
        }
        for bad in ["ftp://x.example/", "not a url", "https://u:p@x.example/"] {
            assert!(check_endpoint(bad, true).is_err(), "{bad}");
        }
        let big = SettingsInput {
            sink: Some(sink("https://x.example/")),
            batch_size: Some(101),
            ..SettingsInput::default()
        };
        assert!(settle(None, big, false).is_err());
        let filters = Filters {
            types: vec!["s".into(), "nope".into()],
            min_level: 3,
        };
        let bad = SettingsInput {
            sink: Some(sink("https://x.example/")),
            filters: Some(filters),
            ..SettingsInput::default()
        };
        assert!(
            matches!(settle(None, bad, false), Err(Error::Invalid { ref field, .. }) if field == "filters.types[1]")
        );
        let mut headers = BTreeMap::new();
        headers.insert("webhook-id".to_owned(), "x".to_owned());
        let reserved = SinkInput {
            custom_headers: Some(headers),
            ..sink("https://x.example/")
        };
        assert!(settle(
            None,
            SettingsInput {
                sink: Some(reserved),
                ..SettingsInput::default()
            },
            false
        )
        .is_err());
        assert!(check_status("suspended").is_err());
    }
}
