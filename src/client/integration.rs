//! `actionflow integration init|test|pack|submit|status|list|withdraw|deprecate|yank`: the
//! partner's side of the marketplace. `init`, `test` and `pack` work on a package folder without
//! a server (`test` runs the server's checks with the limits of a server with default settings, in
//! the same runtime, its tests' fixtures served; only the checks against the versions already
//! submitted and published need the server); the others call the API with a publisher token
//! (scope `integrations:submit`).

use super::{run, Client, Connection};
use crate::BadInput;
use actionflow_marketplace::{check_package, History, MarketplaceLimits, Package, Severity};
use base64::Engine as _;
use reqwest::Method;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct IntegrationArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: IntegrationCommand,
}

#[derive(clap::Subcommand)]
enum IntegrationCommand {
    /// Write a package for one trigger that passes its own checks, into DIR (new or empty).
    Init {
        dir: PathBuf,
        #[arg(long)]
        trigger: String,
        /// Lowercase letters, digits and dashes; DIR's name by default.
        #[arg(long)]
        slug: Option<String>,
        #[arg(long, default_value = "my-company")]
        publisher: String,
    },
    /// Run the server's checks and the package's tests locally, with a default server's limits:
    /// exit 2 on any error, with the report. The version is checked against the versions already
    /// submitted and published (reused, lower, a breaking change) on the server only.
    Test {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The npm registry for the dependencies (default: from your npm configuration).
        #[arg(long)]
        registry: Option<String>,
        /// Where packages are cached (default: ~/.cache/actionflow/npm).
        #[arg(long)]
        cache_dir: Option<PathBuf>,
    },
    /// Pack the folder into a deterministic .tgz; prints its path and sha256.
    Pack {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Default: <slug>-<version>.tgz beside the folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Submit a package (.tgz, or a folder packed on the fly), then wait for its checks (run by
    /// the server in the background); prints the state and the report, exit 2 when they failed.
    Submit {
        package: PathBuf,
        /// Answer as soon as the server stored it (`checking`); `status` tells the rest.
        #[arg(long)]
        no_wait: bool,
    },
    /// A submission: state, check report, every transition with reviewers' comments.
    Status { id: String },
    /// Your submissions, newest first.
    List {
        #[arg(long)]
        state: Option<String>,
    },
    /// Withdraw a submission before publication.
    Withdraw {
        id: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Deprecate a published version: no new installs, installed copies keep running.
    Deprecate { id: String },
    /// Yank a published version: no new installs, installed copies are flagged.
    Yank { id: String },
}

pub fn main(args: IntegrationArgs) -> anyhow::Result<ExitCode> {
    // What a server with default settings checks with (a server's own flags may change them).
    let limits = MarketplaceLimits::for_actions(&actionflow_actions::ActionLimits::default());
    let (method, path, body) = match args.command {
        IntegrationCommand::Init {
            dir,
            trigger,
            slug,
            publisher,
        } => return init(&dir, &trigger, slug, &publisher),
        IntegrationCommand::Test {
            dir,
            registry,
            cache_dir,
        } => return test(&dir, &limits, registry, cache_dir),
        IntegrationCommand::Pack { dir, out } => return pack(&dir, out, &limits),
        IntegrationCommand::Submit { package, no_wait } => {
            let bytes = package_bytes(&package, &limits)?;
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            let client = Client::new(&args.connection)?;
            return submit(client, json!({ "package": encoded }), !no_wait);
        }
        IntegrationCommand::Status { id } => (
            Method::GET,
            format!("/v1/marketplace/submissions/{id}"),
            None,
        ),
        IntegrationCommand::List { state } => {
            let query = state.map(|s| format!("?state={s}")).unwrap_or_default();
            (
                Method::GET,
                format!("/v1/marketplace/submissions{query}"),
                None,
            )
        }
        IntegrationCommand::Withdraw { id, reason } => (
            Method::POST,
            format!("/v1/marketplace/submissions/{id}/withdraw"),
            Some(json!({ "reason": reason })),
        ),
        IntegrationCommand::Deprecate { id } => (
            Method::POST,
            format!("/v1/marketplace/submissions/{id}/flags"),
            Some(json!({"deprecated": true})),
        ),
        IntegrationCommand::Yank { id } => (
            Method::POST,
            format!("/v1/marketplace/submissions/{id}/flags"),
            Some(json!({"yanked": true})),
        ),
    };
    let client = Client::new(&args.connection)?;
    run(async move { client.call(method, &path, body).await })
}

/// Longest `submit` waits for the checks before pointing at `status`.
const CHECKS_WAIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Submits, then (with `wait`) reads the submission every second until its checks ended.
fn submit(client: Client, body: serde_json::Value, wait: bool) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let view = rt.block_on(async {
        let mut view = client
            .call(Method::POST, "/v1/marketplace/submissions", Some(body))
            .await?;
        let id = view["id"].as_str().unwrap_or_default().to_owned();
        let started = std::time::Instant::now();
        while wait && matches!(view["state"].as_str(), Some("submitted" | "checking")) {
            if started.elapsed() > CHECKS_WAIT {
                let message = format!(
                    "submission {id} is still being checked after {} s; see `actionflow integration status {id}`",
                    CHECKS_WAIT.as_secs()
                );
                return Err(anyhow::anyhow!(message));
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            let path = format!("/v1/marketplace/submissions/{id}");
            view = client.call(Method::GET, &path, None).await?;
        }
        Ok(view)
    })?;
    println!("{}", serde_json::to_string_pretty(&view)?);
    if view["state"] == "checks_failed" {
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

fn read_package(dir: &Path, limits: &MarketplaceLimits) -> anyhow::Result<Package> {
    Package::from_dir(dir, &limits.package)
        .map_err(|f| BadInput(format!("{}: {}: {}", dir.display(), f.code, f.message)).into())
}

/// A `.tgz` as is, or a folder packed.
fn package_bytes(path: &Path, limits: &MarketplaceLimits) -> anyhow::Result<Vec<u8>> {
    if path.is_dir() {
        return Ok(read_package(path, limits)?.pack());
    }
    std::fs::read(path)
        .map_err(|e| BadInput(format!("{}: cannot read it: {e}", path.display())).into())
}

fn init(
    dir: &Path,
    trigger: &str,
    slug: Option<String>,
    publisher: &str,
) -> anyhow::Result<ExitCode> {
    let slug = slug.unwrap_or_else(|| {
        dir.file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default()
    });
    if !actionflow_marketplace::manifest::valid_slug(&slug) {
        let message = format!("--slug {slug:?}: use 3 to 64 lowercase letters, digits and dashes");
        return Err(BadInput(message).into());
    }
    let package = actionflow_marketplace::scaffold::scaffold(trigger, &slug, publisher)
        .ok_or_else(|| {
            BadInput(format!(
                "--trigger {trigger:?}: not a trigger (see `actionflow triggers`)"
            ))
        })?;
    let occupied = std::fs::read_dir(dir)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    if occupied {
        return Err(BadInput(format!("{}: the folder is not empty", dir.display())).into());
    }
    for (path, bytes) in &package.files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, bytes)?;
    }
    println!(
        "wrote {} ({} files); next: actionflow integration test {}",
        dir.display(),
        package.files.len(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn test(
    dir: &Path,
    limits: &MarketplaceLimits,
    registry: Option<String>,
    cache_dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let package = read_package(dir, limits)?;
    let cache_dir = cache_dir.unwrap_or_else(crate::config::default_cache_dir);
    let packages =
        actionflow_actions::Packages::open(&cache_dir, crate::config::npm_discovery(registry))
            .map_err(|e| {
                anyhow::anyhow!("opening the package cache at {}: {e}", cache_dir.display())
            })?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let runtime = actionflow_runtime::Runtime::new(actionflow_runtime::PoolConfig::default())?;
    // The versions of the slug already submitted and published are the server's to know.
    let report = rt.block_on(check_package(
        &runtime,
        &package,
        &limits.package,
        &History::default(),
        &limits.execution,
        Some(&packages),
    ));
    print!("{}", report.to_text());
    let errors = report.errors().count();
    let warnings = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    if errors > 0 {
        return Err(BadInput(format!(
            "{errors} errors, {warnings} warnings: fix the errors and test again"
        ))
        .into());
    }
    println!(
        "ok: every check passed ({warnings} warnings for the reviewer); the server also checks the \
         version against those already submitted and published"
    );
    Ok(ExitCode::SUCCESS)
}

fn pack(dir: &Path, out: Option<PathBuf>, limits: &MarketplaceLimits) -> anyhow::Result<ExitCode> {
    let package = read_package(dir, limits)?;
    let manifest = package
        .file(actionflow_marketplace::manifest::MANIFEST_FILE)
        .and_then(|b| actionflow_marketplace::Manifest::parse(b).ok())
        .ok_or_else(|| {
            BadInput(format!(
                "{}: integration.json is missing or invalid: run `actionflow integration test`",
                dir.display()
            ))
        })?;
    let out = out.unwrap_or_else(|| {
        let name = format!("{}-{}.tgz", manifest.slug, manifest.version);
        dir.parent()
            .map_or_else(|| PathBuf::from(&name), |p| p.join(&name))
    });
    let bytes = package.pack();
    std::fs::write(&out, &bytes)
        .map_err(|e| BadInput(format!("--out {}: cannot write it: {e}", out.display())))?;
    let summary = json!({
        "file": out.display().to_string(),
        "sha256": actionflow_marketplace::digest(&bytes),
        "bytes": bytes.len(),
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(ExitCode::SUCCESS)
}
