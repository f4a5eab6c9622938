//! The binary's bridge between the registry crate (npm resolution, cache) and the runtime (files an
//! action loads): where the cache lives, which registry the user's npm configuration names, and how an
//! installed tree is mounted under `/node_modules` for the isolate.

use actionflow_registry::{
    self as registry, Cache, DiscoveryInputs, HttpOptions, HttpSource, InstalledTree, Lockfile,
    ResolveOptions,
};
use actionflow_runtime::{ModuleFiles, NoFiles, PackageMounts};
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The package cache and the registry, found from the user's npm configuration on first use.
pub struct Packages {
    cache: Cache,
    registry_flag: Option<String>,
    source: OnceLock<Arc<HttpSource>>,
    pub options: ResolveOptions,
}

/// `$XDG_CACHE_HOME/actionflow/npm`, else `~/.cache/actionflow/npm`.
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("actionflow").join("npm")
}

impl Packages {
    pub fn open(cache_dir: &Path, registry_flag: Option<String>) -> anyhow::Result<Packages> {
        let cache = Cache::open(cache_dir)
            .with_context(|| format!("opening the package cache at {}", cache_dir.display()))?;
        Ok(Packages {
            cache,
            registry_flag,
            source: OnceLock::new(),
            options: ResolveOptions::default(),
        })
    }

    /// The registry named by `--registry`, `NPM_CONFIG_REGISTRY`, `.npmrc` (project, then user) or npm.
    fn source(&self) -> anyhow::Result<Arc<HttpSource>> {
        if let Some(source) = self.source.get() {
            return Ok(source.clone());
        }
        let inputs = DiscoveryInputs {
            registry_flag: self.registry_flag.clone(),
            env: std::env::vars().collect(),
            project_dir: std::env::current_dir().ok(),
            home_dir: std::env::var_os("HOME").map(PathBuf::from),
            npm_program: None,
        };
        let config = registry::discover(&inputs)?;
        let source = Arc::new(HttpSource::new(config, HttpOptions::default())?);
        Ok(self.source.get_or_init(|| source).clone())
    }

    /// Resolves `dependencies` (name → npm range), downloads what the cache lacks, and returns the
    /// lockfile with the installed tree.
    pub async fn install(
        &self,
        dependencies: &BTreeMap<String, String>,
    ) -> anyhow::Result<(Lockfile, InstalledTree)> {
        let source = self.source()?;
        let installed =
            registry::install(source.as_ref(), &self.cache, dependencies, &self.options).await?;
        Ok((installed.resolution.lockfile, installed.tree))
    }

    /// The installed tree of a frozen lockfile, from the cache only (execution never uses the network).
    pub fn layout(&self, lockfile: &Lockfile) -> anyhow::Result<InstalledTree> {
        Ok(registry::layout(lockfile, &self.cache)?)
    }

    /// The installed tree of a frozen lockfile: from the cache, else downloaded exactly as locked
    /// (a node whose cache never saw this version), integrity-checked, without resolving anything.
    pub async fn layout_or_fetch(&self, lockfile: &Lockfile) -> anyhow::Result<InstalledTree> {
        if let Ok(tree) = self.layout(lockfile) {
            return Ok(tree);
        }
        let source = self.source()?;
        Ok(
            registry::install_lockfile(source.as_ref(), &self.cache, lockfile, &self.options)
                .await?,
        )
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

/// Parses `--dep name@range` arguments into the dependency map.
pub fn parse_dependency_args(args: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut deps = BTreeMap::new();
    for arg in args {
        let (name, range) = registry::parse_dependency_arg(arg)
            .map_err(|e| crate::BadInput(format!("--dep {arg:?}: {e}")))?;
        deps.insert(name, range);
    }
    Ok(deps)
}
