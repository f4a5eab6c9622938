//! The bridge between the registry crate (npm resolution, cache) and the runtime (files an action
//! loads): the package cache, the registry found from the npm configuration the embedder hands over,
//! and how an installed tree is mounted under `/node_modules` for the isolate.

use actionflow_registry::{
    self as registry, Cache, DiscoveryInputs, HttpOptions, HttpSource, InstalledTree, Lockfile,
    ResolveOptions,
};
use actionflow_runtime::{ModuleFiles, NoFiles, PackageMounts};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The package cache and the registry, found from the npm configuration on first use.
pub struct Packages {
    cache: Cache,
    discovery: DiscoveryInputs,
    source: OnceLock<Arc<HttpSource>>,
    pub options: ResolveOptions,
}

impl Packages {
    /// `discovery` is what the embedder read of the user's npm configuration (flag, environment,
    /// project and home directories); the registry is found from it on first use.
    pub fn open(cache_dir: &Path, discovery: DiscoveryInputs) -> Result<Packages, registry::Error> {
        Ok(Packages {
            cache: Cache::open(cache_dir)?,
            discovery,
            source: OnceLock::new(),
            options: ResolveOptions::default(),
        })
    }

    /// The registry named by the flag, `NPM_CONFIG_REGISTRY`, `.npmrc` (project, then user) or npm.
    fn source(&self) -> Result<Arc<HttpSource>, registry::Error> {
        if let Some(source) = self.source.get() {
            return Ok(source.clone());
        }
        let config = registry::discover(&self.discovery)?;
        let source = Arc::new(HttpSource::new(config, HttpOptions::default())?);
        Ok(self.source.get_or_init(|| source).clone())
    }

    /// Resolves `dependencies` (name → npm range), downloads what the cache lacks, and returns the
    /// lockfile with the installed tree.
    pub async fn install(
        &self,
        dependencies: &BTreeMap<String, String>,
    ) -> Result<(Lockfile, InstalledTree), registry::Error> {
        let source = self.source()?;
        let installed =
            registry::install(source.as_ref(), &self.cache, dependencies, &self.options).await?;
        Ok((installed.resolution.lockfile, installed.tree))
    }

    /// The installed tree of a frozen lockfile: from the cache, else downloaded exactly as locked
    /// (a node whose cache never saw this version), integrity-checked, without resolving anything.
    pub async fn layout_or_fetch(
        &self,
        lockfile: &Lockfile,
    ) -> Result<InstalledTree, registry::Error> {
        if let Ok(tree) = registry::layout(lockfile, &self.cache) {
            return Ok(tree);
        }
        let source = self.source()?;
        registry::install_lockfile(source.as_ref(), &self.cache, lockfile, &self.options).await
    }
}

/// Mounts every package of `tree` at `/<lockfile key>` for the isolate.
pub fn module_files(tree: &InstalledTree) -> Arc<dyn ModuleFiles> {
    if tree.packages.is_empty() {
        return Arc::new(NoFiles);
    }
    let mounts = tree
        .packages
        .iter()
        .map(|(key, pkg)| (format!("/{key}"), pkg.dir.clone()))
        .collect();
    Arc::new(PackageMounts::new(mounts))
}

/// What a tenant may read of a failed installation. Errors about the packages they asked for keep
/// their message; anything about the server's side (registry configuration, network, credentials,
/// files) is logged in full and reported as the registry being unavailable, without paths or hosts.
pub fn tenant_safe_message(error: &registry::Error, action_id: &str) -> String {
    use registry::Error as E;
    match error {
        E::UnknownPackage {
            package, wanted, ..
        } => format!("package {package} was not found in the registry{wanted}"),
        E::InvalidSpec { .. }
        | E::NoMatchingVersion { .. }
        | E::IntegrityMismatch { .. }
        | E::BadIntegrity { .. }
        | E::UnsafeTarball { .. }
        | E::CorruptTarball { .. }
        | E::LimitExceeded { .. }
        | E::InvalidPackument { .. } => with_causes(error),
        _ => {
            tracing::error!(%error, %action_id, "installing dependencies failed");
            "the package registry could not be reached; try again later".to_owned()
        }
    }
}

/// The error and its causes, as `error: cause: cause`.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}
