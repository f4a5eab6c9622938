//! `HttpSource`: npm registries over HTTP(S) with rustls — abbreviated packuments, per-registry
//! credentials, retries with exponential backoff on transient failures, and a bound on concurrent requests.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt as _;
use reqwest::header::{
    HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED,
};
use reqwest::{Client, StatusCode};
use tokio::sync::Semaphore;
use url::Url;

use super::{PackageSource, PackumentFetch, Validators};
use crate::config::RegistryConfig;
use crate::Error;

const PACKUMENT_ACCEPT: &str =
    "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

/// Transport settings.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Requests in flight at once.
    pub concurrency_max: usize,
    /// Extra attempts after a transient failure (5xx, 429, connect error, timeout).
    pub retries_max: u32,
    /// First backoff; doubled on each retry.
    pub retry_backoff_ms: u64,
    pub connect_timeout_ms: u64,
    /// Whole-request timeout (headers and body).
    pub request_timeout_ms: u64,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            concurrency_max: 16,
            retries_max: 2,
            retry_backoff_ms: 250,
            connect_timeout_ms: 10_000,
            request_timeout_ms: 120_000,
        }
    }
}

/// An npm registry client for the registries of one [`RegistryConfig`].
#[derive(Debug, Clone)]
pub struct HttpSource {
    config: Arc<RegistryConfig>,
    client: Client,
    permits: Arc<Semaphore>,
    options: HttpOptions,
}

/// What one attempt produced: a response to use, or a failure and whether it is worth retrying.
enum Attempt {
    Done(StatusCode, HeaderMap, Vec<u8>),
    Failed { transient: bool, error: Error },
}

impl HttpSource {
    pub fn new(config: RegistryConfig, options: HttpOptions) -> Result<HttpSource, Error> {
        let mut builder = Client::builder().use_rustls_tls();
        if let Some(path) = &config.ca_file {
            for certificate in read_ca_file(path)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder
            .connect_timeout(Duration::from_millis(options.connect_timeout_ms))
            .timeout(Duration::from_millis(options.request_timeout_ms))
            .user_agent(concat!("actionflow-registry/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Network {
                url: config.registry.to_string(),
                attempts: 0,
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(HttpSource {
            config: Arc::new(config),
            client,
            permits: Arc::new(Semaphore::new(options.concurrency_max.max(1))),
            options,
        })
    }

    /// The configuration this source uses.
    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    fn packument_url(&self, package: &str) -> Result<Url, Error> {
        let encoded = package.replacen('/', "%2f", 1);
        self.config
            .registry_for(package)
            .join(&encoded)
            .map_err(|e| Error::InvalidSpec {
                package: package.to_string(),
                spec: String::new(),
                reason: format!("cannot form a registry URL: {e}"),
            })
    }

    /// Sends a GET (with retries), reading at most `bytes_max` bytes of body.
    async fn get(
        &self,
        url: &Url,
        headers: HeaderMap,
        package: &str,
        bytes_max: u64,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), Error> {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let outcome = {
                let _permit = self.permits.acquire().await;
                self.attempt(url, headers.clone(), package, bytes_max, attempt)
                    .await
            };
            match outcome {
                Attempt::Done(status, headers, body) => return Ok((status, headers, body)),
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
        bytes_max: u64,
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
        let mut response = match self.client.get(url.clone()).headers(headers).send().await {
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
        let too_big = |value: u64| Attempt::Failed {
            transient: false,
            error: Error::LimitExceeded {
                package: package.to_string(),
                limit: "tarball_bytes_max",
                value,
                max: bytes_max,
            },
        };
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if let Some(length) = declared.filter(|l| *l > bytes_max) {
            return too_big(length);
        }
        let headers = response.headers().clone();
        let mut body = Vec::with_capacity(declared.unwrap_or(0).min(bytes_max) as usize);
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if body.len() as u64 > bytes_max {
                        return too_big(body.len() as u64);
                    }
                }
                Ok(None) => return Attempt::Done(status, headers, body),
                Err(e) => return network(e),
            }
        }
    }
}

impl PackageSource for HttpSource {
    fn origin_of(&self, package: &str) -> String {
        self.config.registry_for(package).to_string()
    }

    fn packument<'a>(
        &'a self,
        package: &'a str,
        validators: Option<&'a Validators>,
    ) -> BoxFuture<'a, Result<PackumentFetch, Error>> {
        async move {
            let url = self.packument_url(package)?;
            let mut headers = HeaderMap::new();
            headers.insert(
                ACCEPT,
                reqwest::header::HeaderValue::from_static(PACKUMENT_ACCEPT),
            );
            if let Some(v) = validators {
                if let Some(etag) = v.etag.as_deref().and_then(|e| e.parse().ok()) {
                    headers.insert(IF_NONE_MATCH, etag);
                }
                if let Some(date) = v.last_modified.as_deref().and_then(|d| d.parse().ok()) {
                    headers.insert(IF_MODIFIED_SINCE, date);
                }
            }
            // Packuments of very popular packages are a few MiB; 256 MiB only guards against a runaway server.
            let (status, headers, body) = self.get(&url, headers, package, 256 << 20).await?;
            match status {
                StatusCode::OK => Ok(PackumentFetch::Modified {
                    body,
                    validators: Validators {
                        etag: header_string(&headers, ETAG),
                        last_modified: header_string(&headers, LAST_MODIFIED),
                    },
                }),
                StatusCode::NOT_MODIFIED if validators.is_some() => Ok(PackumentFetch::NotModified),
                StatusCode::NOT_FOUND => Err(Error::UnknownPackage {
                    package: package.to_string(),
                    url: url.to_string(),
                }),
                other => Err(status_error(&url, other)),
            }
        }
        .boxed()
    }

    fn tarball<'a>(
        &'a self,
        package: &'a str,
        url: &'a str,
        bytes_max: u64,
    ) -> BoxFuture<'a, Result<Vec<u8>, Error>> {
        async move {
            let parsed = Url::parse(url)
                .or_else(|_| self.config.registry_for(package).join(url))
                .map_err(|e| Error::BadIntegrity {
                    package: package.to_string(),
                    reason: format!("tarball URL {url:?} is invalid: {e}"),
                })?;
            let (status, _, body) = self
                .get(&parsed, HeaderMap::new(), package, bytes_max)
                .await?;
            if status != StatusCode::OK {
                return Err(status_error(&parsed, status));
            }
            Ok(body)
        }
        .boxed()
    }
}

fn header_string(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
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

fn read_ca_file(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, Error> {
    let fail = |message: String| Error::CaFile {
        path: path.to_path_buf(),
        message,
    };
    let pem = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let certificates =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| fail(e.to_string()))?;
    if certificates.is_empty() {
        return Err(fail("no PEM certificate in the file".into()));
    }
    Ok(certificates)
}

fn status_error(url: &Url, status: StatusCode) -> Error {
    let (url, status) = (url.to_string(), status.as_u16());
    match status {
        401 | 403 => Error::Unauthorized { url, status },
        _ => Error::HttpStatus { url, status },
    }
}
