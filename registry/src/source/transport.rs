//! One registry GET: credentials for the URL, a bound on requests in flight, retries with exponential
//! backoff on transient failures (5xx, 429, connect errors, timeouts), and a cap on the body size.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_LENGTH};
use reqwest::{Client, Response, StatusCode};
use tokio::sync::Semaphore;
use url::Url;

use super::HttpOptions;
use crate::config::RegistryConfig;
use crate::Error;

/// A body-size cap and the name of the limit reported when it is exceeded.
#[derive(Debug, Clone, Copy)]
pub(super) struct BodyLimit {
    pub name: &'static str,
    pub bytes_max: u64,
}

/// A successful response: status, headers, whole body.
pub(super) type Fetched = (StatusCode, HeaderMap, Vec<u8>);

#[derive(Debug, Clone)]
pub(super) struct Transport {
    pub config: Arc<RegistryConfig>,
    pub client: Client,
    pub permits: Arc<Semaphore>,
    pub options: HttpOptions,
}

/// What one attempt produced: a response to use, or a failure and whether it is worth retrying.
enum Attempt {
    Done(Fetched),
    Failed { transient: bool, error: Error },
}

impl Transport {
    /// Sends a GET, retrying transient failures; `package` names the package in limit errors.
    pub(super) async fn get(
        &self,
        url: &Url,
        headers: HeaderMap,
        package: &str,
        limit: BodyLimit,
    ) -> Result<Fetched, Error> {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let outcome = {
                let _permit = self.permits.acquire().await;
                self.attempt(url, headers.clone(), package, limit, attempt)
                    .await
            };
            match outcome {
                Attempt::Done(fetched) => return Ok(fetched),
                Attempt::Failed { transient, error }
                    if !transient || attempt > self.options.retries_max =>
                {
                    return Err(error)
                }
                Attempt::Failed { error, .. } => {
                    let backoff = self
                        .options
                        .retry_backoff_ms
                        .saturating_mul(1 << (attempt - 1).min(10));
                    tracing::warn!(%url, attempt, %error, backoff_ms = backoff, "retrying registry request");
                    tokio::time::sleep(Duration::from_millis(backoff)).await;
                }
            }
        }
    }

    async fn attempt(
        &self,
        url: &Url,
        mut headers: HeaderMap,
        package: &str,
        limit: BodyLimit,
        attempt: u32,
    ) -> Attempt {
        if let Some(credential) = self.config.credential_for(url) {
            if let Ok(value) = credential.header_value().parse() {
                headers.insert(AUTHORIZATION, value);
            }
        }
        let network = |e: reqwest::Error| Attempt::Failed {
            transient: e.is_connect() || e.is_timeout() || e.is_request() || e.is_body(),
            error: Error::Network {
                url: url.to_string(),
                attempts: attempt,
                message: error_chain(&e),
            },
        };
        let response = match self.client.get(url.clone()).headers(headers).send().await {
            Ok(response) => response,
            Err(e) => return network(e),
        };
        let status = response.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            let error = Error::HttpStatus {
                url: url.to_string(),
                status: status.as_u16(),
            };
            return Attempt::Failed {
                transient: true,
                error,
            };
        }
        let headers = response.headers().clone();
        match read_body(response, package, limit).await {
            Ok(body) => Attempt::Done((status, headers, body)),
            Err(BodyError::TooBig(error)) => Attempt::Failed {
                transient: false,
                error,
            },
            Err(BodyError::Network(e)) => network(e),
        }
    }
}

enum BodyError {
    TooBig(Error),
    Network(reqwest::Error),
}

/// Reads the body, refusing it as soon as it (or its declared length) exceeds the limit.
async fn read_body(
    mut response: Response,
    package: &str,
    limit: BodyLimit,
) -> Result<Vec<u8>, BodyError> {
    let too_big = |value: u64| {
        BodyError::TooBig(Error::LimitExceeded {
            package: package.to_string(),
            limit: limit.name,
            value,
            max: limit.bytes_max,
        })
    };
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let Some(length) = declared.filter(|l| *l > limit.bytes_max) {
        return Err(too_big(length));
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(limit.bytes_max) as usize);
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Network)? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > limit.bytes_max {
            return Err(too_big(body.len() as u64));
        }
    }
    Ok(body)
}

/// An error and its causes on one line ("error sending request: connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The error for an unexpected final status (401/403 point at the credentials).
pub(super) fn status_error(url: &Url, status: StatusCode) -> Error {
    let (url, status) = (url.to_string(), status.as_u16());
    match status {
        401 | 403 => Error::Unauthorized { url, status },
        _ => Error::HttpStatus { url, status },
    }
}
