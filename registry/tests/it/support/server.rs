//! A small npm registry (packuments with ETags, tarballs) served by axum on 127.0.0.1:0, recording requests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use nodejs_semver::Version;
use serde_json::{json, Value};
use sha1::Digest as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::tgz::default_package;

/// How a published version's `dist` describes its tarball.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integrity {
    /// `integrity: sha512-…` and `shasum` (like the real registry).
    Sha512,
    /// A sha512 that belongs to other bytes.
    Wrong,
    /// Only `shasum` (old packages).
    ShasumOnly,
    /// Neither.
    Missing,
    /// Several hashes: a wrong sha512, the right sha512, and a sha1.
    Multi,
}

/// One version to publish.
#[derive(Debug, Clone)]
pub struct Publish {
    pub name: String,
    pub version: String,
    deps: BTreeMap<String, String>,
    optional: BTreeMap<String, String>,
    peer: BTreeMap<String, String>,
    tarball: Option<Vec<u8>>,
    integrity: Integrity,
    top: String,
    extra: serde_json::Map<String, Value>,
}

impl Publish {
    pub fn dep(&mut self, name: &str, range: &str) -> &mut Self {
        self.deps.insert(name.into(), range.into());
        self
    }
    pub fn optional_dep(&mut self, name: &str, range: &str) -> &mut Self {
        self.optional.insert(name.into(), range.into());
        self
    }
    pub fn peer_dep(&mut self, name: &str, range: &str) -> &mut Self {
        self.peer.insert(name.into(), range.into());
        self
    }
    pub fn tarball(&mut self, bytes: Vec<u8>) -> &mut Self {
        self.tarball = Some(bytes);
        self
    }
    pub fn integrity(&mut self, mode: Integrity) -> &mut Self {
        self.integrity = mode;
        self
    }
    pub fn top(&mut self, folder: &str) -> &mut Self {
        self.top = folder.into();
        self
    }
    /// Any other manifest field (`deprecated`, `bundleDependencies`, `os`…).
    pub fn field(&mut self, key: &str, value: Value) -> &mut Self {
        self.extra.insert(key.into(), value);
        self
    }
}

/// The packages a test registry serves.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    packages: Vec<Publish>,
    tags: BTreeMap<(String, String), String>,
    required_authorization: Option<String>,
}

/// What the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub authorization: Option<String>,
    pub accept: Option<String>,
    pub if_none_match: Option<String>,
}

struct Shared {
    packuments: BTreeMap<String, Vec<u8>>,
    tarballs: BTreeMap<String, Vec<u8>>,
    seen: Mutex<Vec<Seen>>,
    fail_next: AtomicUsize,
    required_authorization: Option<String>,
}

/// A running registry. `url` ends with `/`.
pub struct Server {
    pub url: String,
    pub port: u16,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn publish(&mut self, name: &str, version: &str) -> &mut Publish {
        self.packages.push(Publish {
            name: name.into(),
            version: version.into(),
            deps: BTreeMap::new(),
            optional: BTreeMap::new(),
            peer: BTreeMap::new(),
            tarball: None,
            integrity: Integrity::Sha512,
            top: "package".into(),
            extra: serde_json::Map::new(),
        });
        self.packages.last_mut().unwrap()
    }

    /// Answer 401 to requests without exactly this `Authorization` header.
    pub fn require_authorization(&mut self, value: &str) -> &mut Self {
        self.required_authorization = Some(value.into());
        self
    }

    pub fn tag(&mut self, name: &str, tag: &str, version: &str) -> &mut Self {
        self.tags.insert((name.into(), tag.into()), version.into());
        self
    }

    /// Binds 127.0.0.1:0 and serves the packuments and tarballs.
    pub async fn serve(&self) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}/");
        let (packuments, tarballs) = self.render(&url);
        let shared = Arc::new(Shared {
            packuments,
            tarballs,
            seen: Mutex::new(Vec::new()),
            fail_next: AtomicUsize::new(0),
            required_authorization: self.required_authorization.clone(),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Server {
            url,
            port,
            shared,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    fn render(&self, url: &str) -> (BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<u8>>) {
        let mut docs: BTreeMap<String, Value> = BTreeMap::new();
        let mut tarballs = BTreeMap::new();
        for p in &self.packages {
            let bytes = p
                .tarball
                .clone()
                .unwrap_or_else(|| default_package(&p.name, &p.version, &p.top));
            let path = format!("/tarballs/{}-{}.tgz", p.name.replace('/', "__"), p.version);
            let dist = dist(&bytes, p.integrity, &format!("{}{}", url, &path[1..]));
            tarballs.insert(path, bytes);
            let doc = docs
                .entry(p.name.clone())
                .or_insert_with(|| json!({"name": p.name, "dist-tags": {}, "versions": {}}));
            doc["versions"][&p.version] = json!({
                "name": p.name, "version": p.version, "dependencies": p.deps,
                "optionalDependencies": p.optional, "peerDependencies": p.peer, "dist": dist,
            });
            for (key, value) in &p.extra {
                doc["versions"][&p.version][key] = value.clone();
            }
        }
        let mut packuments = BTreeMap::new();
        for (name, mut doc) in docs {
            let mut versions: Vec<Version> = doc["versions"]
                .as_object()
                .unwrap()
                .keys()
                .map(|v| Version::parse(v).unwrap())
                .collect();
            versions.sort();
            if let Some(latest) = versions
                .iter()
                .rev()
                .find(|v| !v.is_prerelease())
                .or(versions.last())
            {
                doc["dist-tags"]["latest"] = json!(latest.to_string());
            }
            for ((tag_name, tag), version) in &self.tags {
                if *tag_name == name {
                    doc["dist-tags"][tag] = json!(version);
                }
            }
            packuments.insert(
                name.replacen('/', "%2f", 1),
                serde_json::to_vec(&doc).unwrap(),
            );
        }
        (packuments, tarballs)
    }
}

fn dist(bytes: &[u8], mode: Integrity, tarball: &str) -> Value {
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let sha512 = format!("sha512-{}", b64(&sha2::Sha512::digest(bytes)));
    let wrong = format!("sha512-{}", b64(&sha2::Sha512::digest(b"other bytes")));
    let sha1 = sha1::Sha1::digest(bytes);
    let shasum: String = sha1.iter().map(|b| format!("{b:02x}")).collect();
    match mode {
        Integrity::Sha512 => json!({"tarball": tarball, "integrity": sha512, "shasum": shasum}),
        Integrity::Wrong => json!({"tarball": tarball, "integrity": wrong, "shasum": shasum}),
        Integrity::ShasumOnly => json!({"tarball": tarball, "shasum": shasum}),
        Integrity::Missing => json!({"tarball": tarball}),
        Integrity::Multi => {
            json!({"tarball": tarball, "integrity": format!("{wrong} {sha512} sha1-{}", b64(&sha1))})
        }
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let header_of = |name: header::HeaderName| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let path = request.uri().path().replace("%2F", "%2f");
    let if_none_match = header_of(header::IF_NONE_MATCH);
    shared.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        authorization: header_of(header::AUTHORIZATION),
        accept: header_of(header::ACCEPT),
        if_none_match: if_none_match.clone(),
    });
    let failing = shared
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if let Some(required) = &shared.required_authorization {
        if header_of(header::AUTHORIZATION).as_ref() != Some(required) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
    }
    if let Some(bytes) = shared.tarballs.get(&path) {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            bytes.clone(),
        )
            .into_response();
    }
    let Some(body) = shared.packuments.get(path.trim_start_matches('/')) else {
        return (StatusCode::NOT_FOUND, "{\"error\":\"Not found\"}").into_response();
    };
    let etag = format!("\"{}\"", body.len());
    if if_none_match.as_deref() == Some(etag.as_str()) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    Response::builder()
        .header(header::CONTENT_TYPE, "application/vnd.npm.install-v1+json")
        .header(header::ETAG, etag)
        .body(Body::from(body.clone()))
        .unwrap()
}

impl Server {
    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.shared.seen.lock().unwrap().len()
    }

    /// Answer the next `n` requests with 503.
    pub fn fail_next(&self, n: usize) {
        self.shared.fail_next.store(n, Ordering::SeqCst);
    }

    /// Stops accepting and closes connections; afterwards connecting is refused.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
