//! A server started in this process for one benchmark run: a fresh data dir (and database),
//! default settings but what the benchmark changes, served on 127.0.0.1:0.

use actionflow_server::{AdminToken, AppState, Settings};
use anyhow::bail;

/// The `actionflow` binary: `given`, or the one next to this benchmark's binary.
pub fn actionflow_program(
    given: Option<&std::path::PathBuf>,
) -> anyhow::Result<std::path::PathBuf> {
    let program = match given {
        Some(path) => path.clone(),
        None => std::env::current_exe()?
            .parent()
            .ok_or_else(|| anyhow::anyhow!("this benchmark's binary has no directory"))?
            .join("actionflow"),
    };
    anyhow::ensure!(
        program.is_file(),
        "{} not found: build it (`cargo build --release --bin actionflow`) or pass --actionflow",
        program.display()
    );
    Ok(program)
}

/// A running server: its state, address and admin token. Stops when dropped.
pub struct Running {
    pub state: AppState,
    pub base: String,
    pub admin_token: String,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

/// Starts a server on SQLite in a temporary dir, or on `database_url`; `change` adjusts the
/// default settings.
pub async fn start(
    database_url: Option<String>,
    change: impl FnOnce(&mut Settings),
) -> anyhow::Result<Running> {
    let dir = tempfile::tempdir()?;
    let mut settings = Settings::defaults(dir.path().to_path_buf(), database_url);
    change(&mut settings);
    let (state, admin) = actionflow_server::build_state(settings).await?;
    let AdminToken::Generated(admin_token) = admin else {
        bail!("a fresh data dir holds no admin token: one should have been generated");
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = actionflow_server::app(state.clone());
    let serving = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Running {
        state,
        base,
        admin_token,
        serving,
        _dir: dir,
    })
}
