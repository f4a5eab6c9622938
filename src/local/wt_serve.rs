//! `actionflow wt serve FILE`: one webtask served locally on the same runtime as `actionflow serve`
//! (in this process, its storage in a temporary SQLite database), at
//! `http://127.0.0.1:PORT/run/local/NAME`. For development: loopback is allowed to extensions.

use crate::BadInput;
use actionflow_server::Settings;
use actionflow_webtasks::PutExtension;
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

/// What `wt serve` was asked for.
pub struct ServeWebtask<'a> {
    pub file: &'a Path,
    pub name: String,
    pub port: u16,
    pub secrets: BTreeMap<String, String>,
    pub meta: Option<BTreeMap<String, String>>,
}

pub fn main(args: ServeWebtask<'_>) -> anyhow::Result<ExitCode> {
    crate::serve::init_tracing();
    let code = std::fs::read_to_string(args.file)
        .map_err(|e| BadInput(format!("reading {}: {e}", args.file.display())))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(args, code))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: ServeWebtask<'_>, code: String) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("making a temporary data dir")?;
    let mut settings = Settings::defaults(dir.path().to_path_buf(), None);
    settings.allow_private_network = true;
    settings.host_modules = crate::integrations::host_modules(true);
    settings.admin_token = Some(actionflow_server::auth::new_token());
    let (state, _) = actionflow_server::build_state(settings).await?;
    let tenant = state.store.create_tenant("local").await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| format!("listening on 127.0.0.1:{}", args.port))?;
    let address = listener.local_addr()?;
    state.webtasks.set_base_url(&format!("http://{address}"));
    let put = PutExtension {
        code,
        secrets: args.secrets,
        meta: args.meta,
        dependencies: None,
    };
    let view = state
        .webtasks
        .put(&tenant.id, "local", &args.name, put)
        .await
        .map_err(|e| BadInput(format!("{}: {e}", args.file.display())))?;
    println!("webtask {} listening at {}", args.name, view.webtask_url);
    actionflow_server::run(listener, state)
        .await
        .context("serving HTTP")
}
