//! Test support: a server over a fresh SQLite data dir or a fresh PostgreSQL database — built in
//! this process from `actionflow_server` and called through its router (`oneshot`, no socket), or
//! the real `actionflow serve` binary spawned on 127.0.0.1:0 for what needs a process (kill -9,
//! restarts, its output, its flags) — an API client that records every response body, and a local
//! npm registry.

pub mod marketplace;
pub mod registry;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use actionflow_server::Settings;
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Executor};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

pub const ADMIN_TOKEN: &str = "af_test_admin_token_for_the_integration_suite";

/// The scopes of a tenant who writes, binds and dispatches actions and reads executions.
pub const TENANT_SCOPES: &[&str] = &[
    "actions:read",
    "actions:write",
    "bindings:read",
    "bindings:write",
    "dispatch",
    "executions:read",
];

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

/// A running server; a process is killed and an in-process one stopped when dropped.
pub struct Server {
    pub url: String,
    kind: Kind,
    output: Arc<Mutex<String>>,
}

enum Kind {
    Process(Child),
    /// Called through `router`; also listening on `url` (for the CLI and streams).
    InProcess {
        router: axum::Router,
        serving: tokio::task::JoinHandle<()>,
    },
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Kind::InProcess { serving, .. } = &self.kind {
            serving.abort();
        }
    }
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
    /// The real binary with default flags.
    pub async fn start(db: &Db) -> Server {
        Self::start_with(db, Start::default()).await
    }

    /// A server in this process, with the test defaults (the admin token, no npm registry)
    /// changed by `change`.
    pub async fn in_process(db: &Db, change: impl FnOnce(&mut Settings)) -> Server {
        let mut settings = Settings::defaults(db.dir.path().to_path_buf(), db.url.clone());
        settings.admin_token = Some(ADMIN_TOKEN.to_owned());
        // Without a registry of its own, the server's would be the public one: point it nowhere.
        settings.npm_discovery.registry_flag = Some("http://127.0.0.1:9/".to_owned());
        change(&mut settings);
        let (state, _) = actionflow_server::build_state(settings).await.unwrap();
        let router = actionflow_server::app(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let serving = tokio::spawn(async move {
            actionflow_server::run(listener, state).await.unwrap();
        });
        Server {
            url,
            kind: Kind::InProcess { router, serving },
            output: Arc::default(),
        }
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
        Server {
            url,
            kind: Kind::Process(child),
            output,
        }
    }

    /// Everything the server process printed so far (stdout and stderr).
    pub fn output(&self) -> String {
        assert!(
            matches!(self.kind, Kind::Process(_)),
            "only a server process has an output"
        );
        self.output.lock().unwrap().clone()
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        match &self.kind {
            Kind::Process(child) => child.id().expect("the server process has exited"),
            Kind::InProcess { .. } => std::process::id(),
        }
    }

    /// Whether the server process is still running (an in-process one always is).
    pub fn is_running(&mut self) -> bool {
        match &mut self.kind {
            Kind::Process(child) => child.try_wait().unwrap().is_none(),
            Kind::InProcess { .. } => true,
        }
    }

    /// SIGTERM (a clean shutdown), and wait for the process to be gone.
    pub async fn terminate(mut self) {
        let Kind::Process(child) = &mut self.kind else {
            panic!("only a server process can be terminated");
        };
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
            .await
            .expect("the server did not stop on SIGTERM")
            .unwrap();
        assert!(status.success(), "{status}");
    }

    /// SIGKILL, and wait for the process to be gone.
    pub async fn kill_9(mut self) {
        let Kind::Process(child) = &mut self.kind else {
            panic!("only a server process can be killed");
        };
        child.start_kill().unwrap();
        child.wait().await.unwrap();
    }

    /// A client of this server with `token`: through the router for an in-process server.
    pub fn api(&self, token: &str) -> Api {
        let mut api = Api::new(&self.url, token);
        if let Kind::InProcess { router, .. } = &self.kind {
            api.router = Some(router.clone());
        }
        api
    }

    pub fn admin(&self) -> Api {
        self.api(ADMIN_TOKEN)
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
        (id, self.api(token["token"].as_str().unwrap()))
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

/// An API client with one bearer token; every response body is kept for leak checks. Requests go
/// over HTTP, or straight into an in-process server's router.
#[derive(Clone)]
pub struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
    router: Option<axum::Router>,
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Api {
        Api {
            base: base.to_owned(),
            token: token.to_owned(),
            http: reqwest::Client::new(),
            router: None,
            seen: Arc::default(),
        }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// The same client against another server (at `base`).
    pub fn with_base(&self, base: &str) -> Api {
        Api {
            base: base.to_owned(),
            ..self.clone()
        }
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
        let (status, text) = match &self.router {
            None => {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                (status, response.text().await.unwrap())
            }
            Some(router) => oneshot(router, request).await,
        };
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

/// Calls `router` with `request` as a client would send it (method, URI, headers, body).
async fn oneshot(router: &axum::Router, request: reqwest::RequestBuilder) -> (u16, String) {
    use tower::ServiceExt as _;
    let request = request.build().unwrap();
    let mut builder = axum::http::Request::builder()
        .method(request.method().as_str())
        .uri(request.url().as_str());
    for (name, value) in request.headers() {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    let body = request
        .body()
        .and_then(|b| b.as_bytes())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let request = builder.body(axum::body::Body::from(body)).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
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
