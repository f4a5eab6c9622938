//! `fetch` for actions: one HTTP client shared by every isolate, running on its own small tokio runtime
//! (isolate threads block between executions, so connections must not live on their runtimes).
//! Loopback, private, link-local and other non-public addresses are refused unless the embedder allows
//! them — checked at DNS resolution, for IP literals, and on every redirect. The one exception is
//! an endpoint the embedder vouches for in the execution's limits (`Limits::private_urls`: its own
//! webtask storage API, say), reached on its own client without redirects.

mod hosts;
mod policy;

pub(crate) use hosts::{restrict, HostList};

use crate::host::{HostError, HostFuture};
pub use policy::is_public;
use policy::{literal_ip, PublicOnly};
use reqwest::redirect::Policy;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use thiserror::Error;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FetchRequest {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub redirect: String,
    pub has_body: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FetchResponse {
    pub status: u16,
    pub status_text: String,
    pub headers: Vec<(String, String)>,
    pub url: String,
    pub redirected: bool,
    pub body: deno_core::ToJsBuffer,
}

#[derive(Debug, Error)]
pub(crate) enum FetchError {
    #[error("fetch failed: invalid URL {0:?}")]
    InvalidUrl(String),
    #[error("fetch failed: only http: and https: URLs are supported, got {0}")]
    Scheme(String),
    #[error("fetch failed: invalid method {0:?}")]
    Method(String),
    #[error("fetch failed: invalid header {0:?}")]
    Header(String),
    #[error("fetch to {0} refused: loopback and private addresses are not reachable from actions")]
    PrivateAddress(String),
    #[error("fetch failed: the action's time limit was reached")]
    TimeLimit,
    #[error("fetch failed: the response body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("fetch failed: the execution's responses are larger than {0} bytes in total")]
    TotalTooLarge(usize),
    #[error("fetch to {0} refused: not one of the hosts this code may reach ({1})")]
    NotListed(String, String),
    #[error("fetch failed: redirect mode is \"error\" and {0} answered with a redirect")]
    Redirected(String),
    #[error("fetch failed: {0}")]
    Transport(String),
}

/// How much body one response, and all of an execution's responses together, may bring in.
pub(crate) struct BodyLimits {
    pub each: usize,
    /// What the execution may still receive; shared by its concurrent requests.
    pub total: Arc<AtomicUsize>,
    pub total_max: usize,
}

/// Takes `bytes` from what an execution may still receive (`fetch` bodies and Node sockets share
/// it); `false`, taking nothing, when that is less.
pub(crate) fn take_budget(left: &AtomicUsize, bytes: usize) -> bool {
    left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
        left.checked_sub(bytes)
    })
    .is_ok()
}

pub(crate) struct Net {
    runtime: Option<tokio::runtime::Runtime>,
    follow: reqwest::Client,
    no_follow: reqwest::Client,
    /// For the endpoints the embedder vouches for: any address, no redirects.
    vouched: reqwest::Client,
    allow_private: bool,
}

impl Drop for Net {
    fn drop(&mut self) {
        // Dropping a runtime inside another runtime's async context panics; let it wind down alone.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Net {
    /// Whether non-public addresses may be reached (the Node layer's sockets follow the same rule).
    pub fn allow_private(&self) -> bool {
        self.allow_private
    }

    pub fn new(allow_private: bool) -> Result<Arc<Net>, std::io::Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("af-net")
            .enable_all()
            .build()?;
        let build = |policy: Policy| {
            let mut b = reqwest::Client::builder()
                .no_proxy()
                .redirect(policy)
                .user_agent("actionflow");
            if !allow_private {
                b = b.dns_resolver(Arc::new(PublicOnly));
            }
            b.build().map_err(std::io::Error::other)
        };
        let follow = build(Policy::custom(move |attempt| {
            if let Err(refused) = reachable_literal(allow_private, attempt.url()) {
                attempt.error(refused)
            } else if attempt.previous().len() >= REDIRECTS_MAX {
                attempt.error(FetchError::Transport("too many redirects".into()))
            } else {
                attempt.follow()
            }
        }))?;
        let no_follow = build(Policy::none())?;
        let vouched = reqwest::Client::builder()
            .no_proxy()
            .redirect(Policy::none())
            .user_agent("actionflow")
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Arc::new(Net {
            runtime: Some(runtime),
            follow,
            no_follow,
            vouched,
            allow_private,
        }))
    }

    /// Runs one request on the network runtime, bounded by `deadline` and `body_bytes_max`.
    /// With `hosts`, the request and every redirect it follows must stay on them (redirects are then
    /// followed here, one checked hop at a time). A URL of `vouched` (the execution's
    /// `Limits::private_urls`) may be on any address and is sent without following redirects.
    pub async fn fetch(
        self: &Arc<Self>,
        mut req: FetchRequest,
        body: Vec<u8>,
        deadline: Instant,
        limits: BodyLimits,
        hosts: Option<Arc<HostList>>,
        vouched: &[String],
    ) -> Result<FetchResponse, FetchError> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(FetchError::TimeLimit);
        }
        let vouched = vouched.iter().any(|u| same_endpoint(u, &req.url));
        let follow_here = hosts.is_some() && req.redirect == "follow";
        if follow_here || vouched {
            req.redirect = "manual".to_owned();
        }
        let request = self.build(req, body, vouched)?;
        if let Some(hosts) = &hosts {
            listed(hosts, request.0.url())?;
        }
        let net = self.clone();
        let task = async move {
            let work = async {
                match hosts.filter(|_| follow_here) {
                    _ if vouched => net.send_on(&net.vouched, request.0, limits).await,
                    Some(hosts) => net.send_following(request, limits, &hosts).await,
                    None => net.send(request, limits).await,
                }
            };
            tokio::time::timeout(remaining, work)
                .await
                .unwrap_or(Err(FetchError::TimeLimit))
        };
        match &self.runtime {
            Some(rt) => rt
                .spawn(task)
                .await
                .unwrap_or_else(|e| Err(FetchError::Transport(e.to_string()))),
            None => Err(FetchError::Transport(
                "the network runtime is shut down".into(),
            )),
        }
    }

    /// Runs an embedder's future (a host module call) on the network runtime, bounded by `deadline`.
    pub async fn run(
        self: &Arc<Self>,
        work: HostFuture,
        deadline: Instant,
    ) -> Result<serde_json::Value, HostError> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let timed_out = || HostError::new("TimeoutError", "the action's time limit was reached");
        if remaining.is_zero() {
            return Err(timed_out());
        }
        let task = async move {
            tokio::time::timeout(remaining, work)
                .await
                .unwrap_or_else(|_| Err(timed_out()))
        };
        match &self.runtime {
            Some(rt) => rt
                .spawn(task)
                .await
                .unwrap_or_else(|e| Err(HostError::new("Error", e.to_string()))),
            None => Err(HostError::new("Error", "the network runtime is shut down")),
        }
    }

    fn build(
        &self,
        req: FetchRequest,
        body: Vec<u8>,
        vouched: bool,
    ) -> Result<(reqwest::Request, String), FetchError> {
        let url =
            reqwest::Url::parse(&req.url).map_err(|_| FetchError::InvalidUrl(req.url.clone()))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(FetchError::Scheme(url.scheme().to_owned()));
        }
        reachable_literal(self.allow_private || vouched, &url)?;
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| FetchError::Method(req.method.clone()))?;
        let client = if req.redirect == "follow" {
            &self.follow
        } else {
            &self.no_follow
        };
        let mut builder = client.request(method, url);
        for (name, value) in &req.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| FetchError::Header(name.clone()))?;
            let value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| FetchError::Header(name.to_string()))?;
            builder = builder.header(name, value);
        }
        if req.has_body {
            builder = builder.body(body);
        }
        let request = builder
            .build()
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        Ok((request, req.redirect))
    }

    /// Follows redirects like the follow client, each hop checked against `hosts` and the address
    /// policy (fetch's rules: 303, and 301/302 after a POST, become a GET without a body).
    async fn send_following(
        &self,
        (mut request, _): (reqwest::Request, String),
        limits: BodyLimits,
        hosts: &HostList,
    ) -> Result<FetchResponse, FetchError> {
        let first_url = request.url().clone();
        for _ in 0..=REDIRECTS_MAX {
            let location = {
                let res = self.no_follow.execute(request.try_clone().ok_or_else(|| {
                    FetchError::Transport("the request body cannot be sent again".into())
                })?);
                let res = res.await.map_err(transport)?;
                let status = res.status();
                let location = res
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| request.url().join(l).ok());
                match location.filter(|_| status.is_redirection()) {
                    Some(next) => (status, next),
                    None => {
                        let mut out = self.read(res, limits).await?;
                        out.redirected = out.url != first_url.as_str();
                        return Ok(out);
                    }
                }
            };
            let (status, next) = location;
            listed(hosts, &next)?;
            reachable_literal(self.allow_private, &next)?;
            let to_get = status == reqwest::StatusCode::SEE_OTHER
                || (matches!(status.as_u16(), 301 | 302)
                    && request.method() == reqwest::Method::POST);
            let mut next_request = reqwest::Request::new(
                if to_get {
                    reqwest::Method::GET
                } else {
                    request.method().clone()
                },
                next,
            );
            *next_request.headers_mut() = request.headers().clone();
            if to_get {
                for name in [
                    reqwest::header::CONTENT_TYPE,
                    reqwest::header::CONTENT_LENGTH,
                ] {
                    next_request.headers_mut().remove(name);
                }
            } else {
                // The same body again: bytes, as `build` made it, so taking it never fails.
                *next_request.body_mut() = request.body_mut().take();
            }
            request = next_request;
        }
        Err(FetchError::Transport("too many redirects".into()))
    }

    /// One request on `client`, redirects not followed.
    async fn send_on(
        &self,
        client: &reqwest::Client,
        request: reqwest::Request,
        limits: BodyLimits,
    ) -> Result<FetchResponse, FetchError> {
        let res = client.execute(request).await.map_err(transport)?;
        self.read(res, limits).await
    }

    async fn send(
        &self,
        (request, redirect): (reqwest::Request, String),
        limits: BodyLimits,
    ) -> Result<FetchResponse, FetchError> {
        let first_url = request.url().clone();
        let client = if redirect == "follow" {
            &self.follow
        } else {
            &self.no_follow
        };
        let res = client.execute(request).await.map_err(transport)?;
        if redirect == "error" && res.status().is_redirection() {
            return Err(FetchError::Redirected(first_url.to_string()));
        }
        let mut out = self.read(res, limits).await?;
        out.redirected = out.url != first_url.as_str();
        Ok(out)
    }

    /// A response's status, headers and body, within `limits`.
    async fn read(
        &self,
        mut res: reqwest::Response,
        limits: BodyLimits,
    ) -> Result<FetchResponse, FetchError> {
        let status = res.status();
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let url = res.url().to_string();
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > limits.each {
                return Err(FetchError::TooLarge(limits.each));
            }
            if !take_budget(&limits.total, chunk.len()) {
                return Err(FetchError::TotalTooLarge(limits.total_max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchResponse {
            status: status.as_u16(),
            status_text: status.canonical_reason().unwrap_or_default().to_owned(),
            headers,
            redirected: false,
            url,
            body: body.into(),
        })
    }
}

/// Whether `url` is the endpoint `vouched`: the same scheme, host, port and path (the query and
/// fragment may differ; no user information).
fn same_endpoint(vouched: &str, url: &str) -> bool {
    let (Ok(a), Ok(b)) = (reqwest::Url::parse(vouched), reqwest::Url::parse(url)) else {
        return false;
    };
    b.username().is_empty()
        && b.password().is_none()
        && a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
        && a.path() == b.path()
}

/// Redirects a request may follow (the follow client's policy and `send_following` alike).
const REDIRECTS_MAX: usize = 10;

/// An IP literal in `url` must be public unless private addresses are allowed (names are checked
/// when they resolve, by `PublicOnly`).
fn reachable_literal(allow_private: bool, url: &reqwest::Url) -> Result<(), FetchError> {
    if !allow_private && literal_ip(url).is_some_and(|ip| !is_public(ip)) {
        return Err(FetchError::PrivateAddress(
            url.host_str().unwrap_or_default().to_owned(),
        ));
    }
    Ok(())
}

fn listed(hosts: &HostList, url: &reqwest::Url) -> Result<(), FetchError> {
    let host = url.host_str().unwrap_or_default();
    if hosts.allows(host) {
        Ok(())
    } else {
        Err(FetchError::NotListed(
            host.to_owned(),
            hosts.patterns().join(", "),
        ))
    }
}

/// Surfaces our own refusal (raised inside the resolver or redirect policy) instead of reqwest's wrapper.
fn transport(e: reqwest::Error) -> FetchError {
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    while let Some(err) = source {
        if let Some(FetchError::PrivateAddress(host)) = err.downcast_ref::<FetchError>() {
            return FetchError::PrivateAddress(host.clone());
        }
        source = err.source();
    }
    FetchError::Transport(if e.is_timeout() {
        "timed out".into()
    } else {
        e.without_url().to_string()
    })
}
