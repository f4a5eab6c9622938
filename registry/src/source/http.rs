//! `HttpSource`: npm registries over HTTP(S) with rustls (system roots plus npm's `cafile`) — abbreviated
//! packuments with conditional requests, tarballs by URL. Retries and limits live in `transport`.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt as _;
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use reqwest::{Client, StatusCode};
use tokio::sync::Semaphore;
use url::Url;

use super::transport::{status_error, BodyLimit, Transport};
use super::{PackageSource, PackumentFetch, Validators};
use crate::config::RegistryConfig;
use crate::Error;

const PACKUMENT_ACCEPT: &str =
    "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

/// Packuments of very popular packages are a few MiB; this only guards against a runaway server.
const PACKUMENT_BYTES_MAX: u64 = 256 << 20;

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
    transport: Transport,
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
        let permits = Arc::new(Semaphore::new(options.concurrency_max.max(1)));
        let transport = Transport {
            config: Arc::new(config),
            client,
            permits,
            options,
        };
        Ok(HttpSource { transport })
    }

    /// The configuration this source uses.
    pub fn config(&self) -> &RegistryConfig {
        &self.transport.config
    }

    fn packument_url(&self, package: &str) -> Result<Url, Error> {
        let encoded = package.replacen('/', "%2f", 1);
        self.config()
            .registry_for(package)
            .join(&encoded)
            .map_err(|e| Error::InvalidSpec {
                package: package.to_string(),
                spec: String::new(),
                reason: format!("cannot form a registry URL: {e}"),
            })
    }
}

impl PackageSource for HttpSource {
    fn origin_of(&self, package: &str) -> String {
        self.config().registry_for(package).to_string()
    }

    fn packument<'a>(
        &'a self,
        package: &'a str,
        validators: Option<&'a Validators>,
    ) -> BoxFuture<'a, Result<PackumentFetch, Error>> {
        async move {
            let url = self.packument_url(package)?;
            let mut headers = HeaderMap::new();
            headers.insert(ACCEPT, HeaderValue::from_static(PACKUMENT_ACCEPT));
            if let Some(v) = validators {
                if let Some(etag) = v.etag.as_deref().and_then(|e| e.parse().ok()) {
                    headers.insert(IF_NONE_MATCH, etag);
                }
                if let Some(date) = v.last_modified.as_deref().and_then(|d| d.parse().ok()) {
                    headers.insert(IF_MODIFIED_SINCE, date);
                }
            }
            let limit = BodyLimit {
                name: "packument_bytes_max",
                bytes_max: PACKUMENT_BYTES_MAX,
            };
            let (status, headers, body) = self.transport.get(&url, headers, package, limit).await?;
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
                    wanted: String::new(),
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
                .or_else(|_| self.config().registry_for(package).join(url))
                .map_err(|e| Error::BadIntegrity {
                    package: package.to_string(),
                    reason: format!("tarball URL {url:?} is invalid: {e}"),
                })?;
            let limit = BodyLimit {
                name: "tarball_bytes_max",
                bytes_max,
            };
            let (status, _, body) = self
                .transport
                .get(&parsed, HeaderMap::new(), package, limit)
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
