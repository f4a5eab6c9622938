//! From a lockfile and a cache to the installed tree the runtime reads: no network, and a clear error for
//! anything missing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::cache::Cache;
use crate::integrity::Integrity;
use crate::lockfile::{install_name, Lockfile};
use crate::Error;

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledPackage {
    /// Registry name (for an `npm:` alias this differs from the last segment of the key).
    pub name: String,
    pub version: String,
    /// The unpacked files (the tarball's top folder stripped) in the cache. Read-only by convention.
    pub dir: PathBuf,
}

/// The `node_modules` tree of an action, as lockfile keys pointing into the cache.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstalledTree {
    /// Root dependency name → lockfile key (`lodash` → `node_modules/lodash`).
    pub root_dependencies: BTreeMap<String, String>,
    /// Lockfile key (`node_modules/a/node_modules/b`) → package.
    pub packages: BTreeMap<String, InstalledPackage>,
}

/// Lays out `lockfile` over `cache` without touching the network; fails naming the first missing package.
pub fn layout(lockfile: &Lockfile, cache: &Cache) -> Result<InstalledTree, Error> {
    lockfile.validate()?;
    let mut tree = InstalledTree::default();
    for (key, entry) in lockfile.packages.iter().filter(|(k, _)| !k.is_empty()) {
        let install = install_name(key).map_err(Error::Lockfile)?;
        let name = entry.name.clone().unwrap_or_else(|| install.to_string());
        let version = entry.version.clone().unwrap_or_default();
        let integrity = entry
            .integrity
            .as_deref()
            .and_then(Integrity::parse)
            .ok_or_else(|| Error::Lockfile(format!("packages[{key:?}]: unusable integrity")))?;
        if cache.package_meta(&integrity).is_none() {
            return Err(Error::NotCached {
                key: key.clone(),
                package: name,
                version,
            });
        }
        let dir = cache.package_dir(&integrity);
        tree.packages
            .insert(key.clone(), InstalledPackage { name, version, dir });
    }
    for name in lockfile.root_dependencies().keys() {
        let key = format!("node_modules/{name}");
        if !tree.packages.contains_key(&key) {
            return Err(Error::Lockfile(format!(
                "root dependency {name} has no entry {key:?}"
            )));
        }
        tree.root_dependencies.insert(name.clone(), key);
    }
    Ok(tree)
}
