//! The lockfile, modelled on npm's `package-lock.json` v3: `packages` keyed by install path
//! (`""` for the root, `node_modules/a/node_modules/b` for a nested copy), in sorted order.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::integrity::Integrity;
use crate::spec::validate_name;
use crate::Error;

/// The lockfile format version written and read.
pub const LOCKFILE_VERSION: u32 = 3;

/// A whole lockfile. Serialises deterministically (sorted keys) and round-trips.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockfile {
    #[serde(rename = "lockfileVersion")]
    pub lockfile_version: u32,
    pub packages: BTreeMap<String, LockEntry>,
}

/// One entry of `packages`. The root (`""`) carries only `dependencies`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockEntry {
    /// The registry name, only when it differs from the install name (an `npm:` alias).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dependencies: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub optional_dependencies: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub peer_dependencies: BTreeMap<String, String>,
    /// Present only through optional dependencies.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

impl Lockfile {
    /// An empty lockfile whose root declares `dependencies`.
    pub fn new(dependencies: BTreeMap<String, String>) -> Lockfile {
        let root = LockEntry {
            dependencies,
            ..LockEntry::default()
        };
        Lockfile {
            lockfile_version: LOCKFILE_VERSION,
            packages: BTreeMap::from([(String::new(), root)]),
        }
    }

    /// The root's declared dependencies (name → spec).
    pub fn root_dependencies(&self) -> BTreeMap<String, String> {
        self.packages
            .get("")
            .map(|r| r.dependencies.clone())
            .unwrap_or_default()
    }

    /// Whether this lockfile was resolved for exactly these declared dependencies (so it can be reused).
    pub fn matches(&self, dependencies: &BTreeMap<String, String>) -> bool {
        self.root_dependencies() == *dependencies
    }

    /// This lockfile without `removed` keys and without what only they made reachable (Node's lookup:
    /// a dependency resolves to the first `node_modules/<name>` walking up from its dependent).
    pub fn without(&self, removed: &BTreeSet<String>) -> Lockfile {
        let mut kept = self.clone();
        kept.packages.retain(|key, _| !removed.contains(key));
        let mut reachable = BTreeSet::from([String::new()]);
        let mut queue = vec![String::new()];
        while let Some(from) = queue.pop() {
            let Some(entry) = kept.packages.get(&from) else {
                continue;
            };
            for name in entry
                .dependencies
                .keys()
                .chain(entry.optional_dependencies.keys())
            {
                let found = chain(&from)
                    .into_iter()
                    .map(|dir| child_key(dir, name))
                    .find(|key| kept.packages.contains_key(key));
                if let Some(key) = found.filter(|key| reachable.insert(key.clone())) {
                    queue.push(key);
                }
            }
        }
        kept.packages.retain(|key, _| reachable.contains(key));
        kept
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Parses and validates lockfile JSON.
    pub fn from_json(text: &str) -> Result<Lockfile, Error> {
        let lockfile: Lockfile =
            serde_json::from_str(text).map_err(|e| Error::Lockfile(e.to_string()))?;
        lockfile.validate()?;
        Ok(lockfile)
    }

    /// Checks the version, the root entry, every key's shape and every package's version/resolved/integrity.
    pub fn validate(&self) -> Result<(), Error> {
        if self.lockfile_version != LOCKFILE_VERSION {
            return Err(Error::Lockfile(format!(
                "lockfileVersion {} is not supported (expected {LOCKFILE_VERSION})",
                self.lockfile_version
            )));
        }
        if !self.packages.contains_key("") {
            return Err(Error::Lockfile("the root entry \"\" is missing".into()));
        }
        for (key, entry) in self.packages.iter().filter(|(k, _)| !k.is_empty()) {
            let bad = |what: String| Err(Error::Lockfile(format!("packages[{key:?}]: {what}")));
            if let Err(reason) = install_name(key) {
                return bad(reason);
            }
            if entry.version.as_deref().is_none_or(str::is_empty) {
                return bad("missing version".into());
            }
            if entry.resolved.as_deref().is_none_or(str::is_empty) {
                return bad("missing resolved".into());
            }
            let usable = entry.integrity.as_deref().and_then(Integrity::parse);
            if usable.is_none() {
                return bad("missing or unusable integrity".into());
            }
        }
        Ok(())
    }
}

/// The name a key installs under (`node_modules/a/node_modules/@s/b` → `@s/b`), validating every segment.
pub fn install_name(key: &str) -> Result<&str, String> {
    let mut rest = key;
    let mut last = "";
    while !rest.is_empty() {
        let after = rest
            .strip_prefix("node_modules/")
            .ok_or_else(|| format!("key {key:?} must be a chain of `node_modules/<name>`"))?;
        let name_len = if after.starts_with('@') {
            after
                .match_indices('/')
                .nth(1)
                .map_or(after.len(), |(i, _)| i)
        } else {
            after.find('/').unwrap_or(after.len())
        };
        last = &after[..name_len];
        validate_name(last)?;
        rest = after[name_len..]
            .strip_prefix('/')
            .unwrap_or(&after[name_len..]);
        if rest.is_empty() && after[name_len..].starts_with('/') {
            return Err(format!("key {key:?} ends with `/`"));
        }
    }
    Ok(last)
}

/// The key of the directory that contains `key`'s `node_modules` parent: `node_modules/a/node_modules/b` →
/// `node_modules/a`; a top-level key → `""`.
pub fn parent_key(key: &str) -> &str {
    key.rfind("/node_modules/").map_or("", |i| &key[..i])
}

/// `dir/node_modules/name` (`node_modules/name` at the root).
pub fn child_key(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        format!("node_modules/{name}")
    } else {
        format!("{dir}/node_modules/{name}")
    }
}

/// `key` and each directory above it, deepest first, ending with the root `""`.
pub fn chain(key: &str) -> Vec<&str> {
    let mut out = vec![key];
    let mut current = key;
    while !current.is_empty() {
        current = parent_key(current);
        out.push(current);
    }
    out
}
