//! `actionflow-registry` owns npm-compatible dependency handling for actions: registry configuration
//! (`.npmrc`, environment, flag), resolution with npm's range semantics and dedupe, the lockfile, and an
//! integrity-checked, content-addressed package cache laid out as an [`InstalledTree`].
//!
//! It must not know about V8, module loading, tenants or the database: the runtime reads files from the
//! directories of an [`InstalledTree`]; the binary decides where the cache lives and persists lockfiles.
//! It never reads the process environment or names a registry host: callers pass [`DiscoveryInputs`].
//!
//! Typical use: [`discover`] → [`HttpSource::new`] → [`install`] (resolve, download, lay out) at deploy
//! time; [`layout()`] alone (no network) at execution time.

pub mod cache;
pub mod config;
mod error;
pub mod fetch;
pub mod integrity;
pub mod layout;
pub mod lockfile;
pub mod packument;
pub mod resolve;
pub mod source;
pub mod spec;
pub mod unpack;

use std::collections::{BTreeMap, BTreeSet};

pub use cache::Cache;
pub use config::discover::{discover, DiscoveryInputs};
pub use config::{Credential, RegistryConfig};
pub use error::Error;
pub use fetch::{ensure_cached, FetchStats};
pub use layout::{layout, InstalledPackage, InstalledTree};
pub use lockfile::{LockEntry, Lockfile};
pub use resolve::{resolve, NetworkMode, PeerReport, Resolution, ResolveOptions};
pub use source::{HttpOptions, HttpSource, MemorySource, PackageSource};

/// The result of [`install`].
#[derive(Debug, Clone)]
pub struct Installation {
    pub resolution: Resolution,
    pub fetch: FetchStats,
    pub tree: InstalledTree,
}

/// Resolves `dependencies`, makes every package present in the cache, and lays the tree out. A package
/// present only through optional dependencies that fails to download or verify is dropped, with a warning.
pub async fn install(
    source: &dyn PackageSource,
    cache: &Cache,
    dependencies: &BTreeMap<String, String>,
    options: &ResolveOptions,
) -> Result<Installation, Error> {
    let mut resolution = resolve(source, cache, dependencies, options).await?;
    let (fetch, skipped) = fetch::fetch(source, cache, &resolution.lockfile, options, true).await?;
    if !skipped.is_empty() {
        // Like npm, an optional package that cannot be installed leaves the tree (with what only it needed).
        let removed: BTreeSet<String> = skipped
            .iter()
            .flat_map(|s| s.keys.iter().cloned())
            .collect();
        resolution.lockfile = resolution.lockfile.without(&removed);
        resolution
            .warnings
            .extend(skipped.into_iter().map(|s| s.message));
    }
    let tree = layout(&resolution.lockfile, cache)?;
    Ok(Installation {
        resolution,
        fetch,
        tree,
    })
}

/// Installs exactly what a lockfile says (no resolution): downloads missing packages, then lays out.
pub async fn install_lockfile(
    source: &dyn PackageSource,
    cache: &Cache,
    lockfile: &Lockfile,
    options: &ResolveOptions,
) -> Result<InstalledTree, Error> {
    ensure_cached(source, cache, lockfile, options).await?;
    layout(lockfile, cache)
}

/// Splits a command-line dependency `name@spec` (`lodash@^4`, `@scope/pkg@1.2.3`, `ms` = any version).
pub fn parse_dependency_arg(arg: &str) -> Result<(String, String), Error> {
    let arg = arg.trim();
    let (name, spec) = match arg.get(1..).and_then(|rest| rest.find('@')) {
        Some(i) => (&arg[..i + 1], &arg[i + 2..]),
        None => (arg, ""),
    };
    let spec = if spec.is_empty() { "*" } else { spec };
    spec::DepSpec::parse(name, spec)?;
    Ok((name.to_string(), spec.to_string()))
}
