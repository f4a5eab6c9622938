//! A small npm registry served by the test on 127.0.0.1:0 (packuments with sha512 integrity and
//! gzipped tarballs built in memory), whose tarball downloads can be held to freeze a deploy
//! mid-build. Adapted from `registry/tests/it/support/`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use serde_json::json;
use sha2::Digest as _;
use tokio::sync::{watch, Notify};

/// Package name → version → the `index.js` it ships.
#[derive(Default)]
pub struct Registry {
    packages: BTreeMap<String, BTreeMap<String, String>>,
}

struct Shared {
    packuments: BTreeMap<String, Vec<u8>>,
    tarballs: BTreeMap<String, Vec<u8>>,
    hold: watch::Receiver<bool>,
    tarball_requested: Notify,
}

/// A running registry; `url` ends with `/`.
pub struct Served {
    pub url: String,
    shared: Arc<Shared>,
    hold: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Registry {
    pub fn publish(&mut self, name: &str, version: &str, index_js: &str) -> &mut Self {
        self.packages
            .entry(name.to_owned())
            .or_default()
            .insert(version.to_owned(), index_js.to_owned());
        self
    }

    pub async fn serve(&self) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let mut packuments = BTreeMap::new();
        let mut tarballs = BTreeMap::new();
        for (name, versions) in &self.packages {
            let mut doc = json!({"name": name, "dist-tags": {}, "versions": {}});
            for (version, index_js) in versions {
                let bytes = tgz(name, version, index_js);
                let path = format!("tarballs/{name}-{version}.tgz");
                let b64 = base64::engine::general_purpose::STANDARD;
                let integrity = format!("sha512-{}", b64.encode(sha2::Sha512::digest(&bytes)));
                doc["versions"][version] = json!({
                    "name": name, "version": version, "dependencies": {},
                    "dist": {"tarball": format!("{url}{path}"), "integrity": integrity},
                });
                doc["dist-tags"]["latest"] = json!(version);
                tarballs.insert(format!("/{path}"), bytes);
            }
            packuments.insert(format!("/{name}"), serde_json::to_vec(&doc).unwrap());
        }
        let (hold, hold_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            packuments,
            tarballs,
            hold: hold_rx,
            tarball_requested: Notify::new(),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Served {
            url,
            shared,
            hold,
            task,
        }
    }
}

impl Served {
    /// Tarball downloads wait (without answering) until `release`.
    pub fn hold_tarballs(&self) {
        self.hold.send_replace(true);
    }

    pub fn release(&self) {
        self.hold.send_replace(false);
    }

    /// Resolves when a tarball has been asked for (the build is in its download step).
    pub async fn tarball_requested(&self) {
        self.shared.tarball_requested.notified().await;
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if let Some(bytes) = shared.tarballs.get(&path) {
        shared.tarball_requested.notify_one();
        let mut hold = shared.hold.clone();
        let _ = hold.wait_for(|held| !held).await;
        return (StatusCode::OK, bytes.clone()).into_response();
    }
    match shared.packuments.get(&path) {
        Some(body) => ([(header::CONTENT_TYPE, "application/json")], body.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, "{\"error\":\"Not found\"}").into_response(),
    }
}

/// `package/package.json` and `package/index.js`, gzipped.
fn tgz(name: &str, version: &str, index_js: &str) -> Vec<u8> {
    let manifest = json!({"name": name, "version": version, "main": "index.js"}).to_string();
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in [
        ("package/package.json", manifest.as_bytes()),
        ("package/index.js", index_js.as_bytes()),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_size(data.len() as u64);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_path(path).unwrap();
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}
