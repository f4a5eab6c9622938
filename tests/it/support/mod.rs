//! Test support: the real `actionflow serve` binary spawned on 127.0.0.1:0 over a fresh SQLite
//! data dir or a fresh PostgreSQL database, an HTTP client that records every response body, and
//! a local npm registry.

pub mod registry;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Executor};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

pub const ADMIN_TOKEN: &str = "af_test_admin_token_for_the_integration_suite";

/// Declares, for each story `async fn name(db: Db)`, a module `name` with the tests `sqlite`
/// and `postgres`.
macro_rules! on_both_backends {
    ($($story:ident),+ $(,)?) => {$(
        mod $story {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$story($crate::support::Db::sqlite()).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = $crate::support::Db::postgres().await {
                    super::$story(db).await
                }
            }
        }
    )+};
}

/// Where a server keeps its state: a data dir, and a PostgreSQL database when `url` is set
/// (dropped with the `Db`).
pub struct Db {
    pub dir: tempfile::TempDir,
    pub url: Option<String>,
    pg_admin: Option<(PgConnectOptions, String)>,
}

impl Db {
    pub fn sqlite() -> Db {
        Db {
            dir: tempfile::tempdir().unwrap(),
            url: None,
            pg_admin: None,
        }
    }

    /// A new database on `ACTIONFLOW_TEST_DATABASE_URL`. Without it: `None` with a note, or a
    /// failure when `CI` is set (PostgreSQL is not skippable there).
    pub async fn postgres() -> Option<Db> {
        let admin_url = match std::env::var("ACTIONFLOW_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var_os("CI").is_some() => {
                panic!("ACTIONFLOW_TEST_DATABASE_URL must be set in CI: PostgreSQL tests are not skippable")
            }
            _ => {
                eprintln!("note: ACTIONFLOW_TEST_DATABASE_URL is not set; PostgreSQL run skipped");
                return None;
            }
        };
        let options = PgConnectOptions::from_str(&admin_url).unwrap();
        let mut admin = PgConnection::connect_with(&options).await.unwrap();
        let name = format!("af_it_{}", uuid::Uuid::now_v7().simple());
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let url = options.clone().database(&name).to_url_lossy().to_string();
        Some(Db {
            dir: tempfile::tempdir().unwrap(),
            url: Some(url),
            pg_admin: Some((options, name)),
        })
    }

    /// The store the server uses, opened directly (for what the API does not offer yet, e.g. bindings).
    pub async fn open_store(&self) -> Arc<dyn actionflow_store::Store> {
        let location = match &self.url {
            Some(url) => url.clone(),
            None => self.dir.path().join("actionflow.db").display().to_string(),
        };
        actionflow_store::open(&location).await.unwrap()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let Some((options, name)) = self.pg_admin.take() else {
            return;
        };
        // Drop runs outside async context guarantees: use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut admin) = PgConnection::connect_with(&options).await {
                    let _ = admin
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}

/// A running `actionflow serve` process; killed when dropped.
pub struct Server {
    pub url: String,
    child: Child,
    output: Arc<Mutex<String>>,
}

/// Options of one server start.
#[derive(Default, Clone)]
pub struct Start {
    pub registry: Option<String>,
    pub deploy_ms_max: Option<u64>,
    pub master_key: Option<String>,
    /// More `actionflow serve` flags.
    pub args: Vec<String>,
    /// Leave `ACTIONFLOW_ADMIN_TOKEN` unset: the server generates one (or uses the stored one).
    pub generated_admin_token: bool,
}

impl Server {
    pub async fn start(db: &Db) -> Server {
        Self::start_with(db, Start::default()).await
    }

    /// The `actionflow serve` command for `db` with the options of `start`.
    fn command(db: &Db, start: Start) -> Command {
        let dir = db.dir.path();
        let mut command = Command::new(env!("CARGO_BIN_EXE_actionflow"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .current_dir(dir)
            .env("HOME", dir)
            .env("ACTIONFLOW_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "info")
            .env_remove("ACTIONFLOW_DATABASE_URL")
            .env_remove("ACTIONFLOW_MASTER_KEY")
            .env_remove("ACTIONFLOW_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(url) = &db.url {
            command.args(["--database-url", url]);
        }
        // Without a registry of its own, the server's would be the public one: point it nowhere.
        let registry = start
            .registry
            .unwrap_or_else(|| "http://127.0.0.1:9/".to_owned());
        command.args(["--registry", &registry]);
        if let Some(ms) = start.deploy_ms_max {
            command.args(["--deploy-ms-max", &ms.to_string()]);
        }
        if let Some(key) = &start.master_key {
            command.env("ACTIONFLOW_MASTER_KEY", key);
        }
        command.args(&start.args);
        if start.generated_admin_token {
            command.env_remove("ACTIONFLOW_ADMIN_TOKEN");
        }
        command
    }

    /// Starts a server that must refuse to start: its exit status and everything it printed.
    pub async fn start_failing(db: &Db, start: Start) -> (std::process::ExitStatus, String) {
        let mut command = Self::command(db, start);
        command.stdin(Stdio::null());
        let output = tokio::time::timeout(std::time::Duration::from_secs(60), command.output())
            .await
            .expect("the server did not stop")
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status, text)
    }

    pub async fn start_with(db: &Db, start: Start) -> Server {
        let mut command = Self::command(db, start);
        let mut child = command.spawn().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        // The startup message ends with the "authenticate with" line.
        let mut url = None;
        while url.is_none() || !output.lock().unwrap().contains("authenticate with") {
            let Some(line) = stdout.next_line().await.unwrap() else {
                let status = child.wait().await.unwrap();
                panic!(
                    "the server exited ({status}) before listening; output:\n{}",
                    drain(child.stderr.take()).await
                );
            };
            output.lock().unwrap().push_str(&format!("{line}\n"));
            if let Some(rest) = line.strip_prefix("actionflow listening on ") {
                url = rest.split_whitespace().next().map(str::to_owned);
            }
        }
        let url = url.unwrap();
        collect(stdout.into_inner(), Arc::clone(&output));
        collect(
            BufReader::new(child.stderr.take().unwrap()),
            Arc::clone(&output),
        );
        Server { url, child, output }
    }

    /// Everything the server printed so far (stdout and stderr).
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// SIGKILL, and wait for the process to be gone.
    pub async fn kill_9(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }

    pub fn admin(&self) -> Api {
        Api::new(&self.url, ADMIN_TOKEN)
    }

    /// A new tenant and a token of it with `scopes`.
    pub async fn tenant(&self, name: &str, scopes: &[&str]) -> (String, Api) {
        let admin = self.admin();
        let (status, tenant) = admin.post("/v1/tenants", json!({"name": name})).await;
        assert_eq!(status, 201, "{tenant}");
        let id = tenant["id"].as_str().unwrap().to_owned();
        let (status, token) = admin
            .post(
                &format!("/v1/tenants/{id}/tokens"),
                json!({"scopes": scopes}),
            )
            .await;
        assert_eq!(status, 201, "{token}");
        (id, Api::new(&self.url, token["token"].as_str().unwrap()))
    }
}

async fn drain(stream: Option<impl AsyncRead + Unpin>) -> String {
    let mut text = String::new();
    if let Some(mut stream) = stream {
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut text).await;
    }
    text
}

fn collect(reader: impl AsyncRead + Unpin + Send + 'static, into: Arc<Mutex<String>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            into.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
}

/// An HTTP client with one bearer token; every response body is kept for leak checks.
#[derive(Clone)]
pub struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Api {
        Api {
            base: base.to_owned(),
            token: token.to_owned(),
            http: reqwest::Client::new(),
            seen: Arc::default(),
        }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn with_token(&self, token: &str) -> Api {
        Api {
            token: token.to_owned(),
            ..self.clone()
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.finish(request).await
    }

    /// Sends a prepared request (raw bodies, headers) and parses the answer.
    pub async fn finish(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        self.seen.lock().unwrap().push(text.clone());
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub fn raw(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Every response body received so far, concatenated.
    pub fn all_responses(&self) -> String {
        self.seen.lock().unwrap().join("\n")
    }
}

/// Asserts an error response: status, code and field.
#[track_caller]
pub fn assert_error(got: &(u16, Value), status: u16, code: &str, field: &str) {
    let (got_status, body) = got;
    assert_eq!(*got_status, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["field"], field, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// All files under `dir`, read as bytes (to look for plaintext at rest).
pub fn read_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(read_tree(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}
