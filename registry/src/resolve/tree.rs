//! The tree being resolved: placed packages keyed by lockfile path, resolved edges, and the resolution of
//! one dependency (reuse what is visible if it satisfies, otherwise pick a version and place it).

use std::collections::BTreeMap;
use std::sync::Arc;

use nodejs_semver::Version;

use super::packuments::Packuments;
use super::place::{chain, child_key, Placement};
use super::ResolveOptions;
use crate::integrity::Integrity;
use crate::packument::{Manifest, Packument};
use crate::spec::{DepSpec, Wanted};
use crate::Error;

/// A placed package.
#[derive(Debug)]
pub(crate) struct Node {
    pub package: String,
    pub version: Version,
    pub version_text: String,
    pub manifest: Manifest,
    /// The SRI recorded in the lockfile (`dist.integrity`, or the sha1 `shasum` in SRI form).
    pub integrity: String,
}

/// A dependency to resolve from the package at `from` (`""` for the root).
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub from: String,
    pub spec: DepSpec,
    pub optional: bool,
}

/// A resolved dependency: `from` uses the package at `to`.
#[derive(Debug)]
pub(crate) struct Edge {
    pub from: String,
    pub spec: DepSpec,
    pub optional: bool,
    pub to: String,
}

#[derive(Debug, Default)]
pub(crate) struct Tree {
    pub nodes: BTreeMap<String, Node>,
    pub edges: Vec<Edge>,
    pub warnings: Vec<String>,
    pub(crate) unpacked_declared_bytes: u64,
}

pub(crate) fn accepts(spec: &DepSpec, version: &Version, packument: Option<&Packument>) -> bool {
    let tagged = match &spec.wanted {
        Wanted::Tag(tag) => packument
            .and_then(|p| p.dist_tags.get(tag))
            .map(String::as_str),
        Wanted::Range(_) => None,
    };
    spec.accepts(version, tagged)
}

impl Tree {
    /// The key `name` resolves to from `from`, walking up; `None` if no directory above has it.
    pub(crate) fn lookup(&self, from: &str, name: &str) -> Option<String> {
        chain(from)
            .into_iter()
            .map(|dir| child_key(dir, name))
            .find(|key| self.nodes.contains_key(key))
    }

    /// Resolves one dependency: reuse what is visible if it satisfies, else pick a version and place it.
    /// Returns the key of a newly placed package (whose own dependencies then need resolving).
    pub(crate) fn resolve(
        &mut self,
        packuments: &mut Packuments<'_>,
        dep: Pending,
        options: &ResolveOptions,
    ) -> Result<Option<String>, Error> {
        let label = format!(
            "{}@{} (dependency of {})",
            dep.spec.package,
            dep.spec.text,
            describe(&dep.from)
        );
        let loaded = packuments
            .get(&dep.spec.package)
            .map(|r| r.map_err(|e| e.to_string()));
        let packument = match loaded {
            Some(Ok(p)) => p,
            Some(Err(error)) if dep.optional => return self.skip(&label, &error),
            _ => return Err(self.load_error(packuments, &dep)),
        };
        if let Some(key) = self.lookup(&dep.from, &dep.spec.alias) {
            let node = &self.nodes[&key];
            if node.package == dep.spec.package
                && accepts(&dep.spec, &node.version, Some(&packument))
            {
                self.edges.push(Edge {
                    from: dep.from,
                    spec: dep.spec,
                    optional: dep.optional,
                    to: key,
                });
                return Ok(None);
            }
        }
        let node = match make_node(&dep.spec, &packument) {
            Ok(node) if dep.optional && !node.manifest.supports_platform() => {
                return self.skip(&label, "its os/cpu do not include this platform")
            }
            Ok(node) => node,
            Err(error) if dep.optional => return self.skip(&label, &error.to_string()),
            Err(error) => return Err(error),
        };
        self.insert(node, dep, packuments, options).map(Some)
    }

    /// Places a new package (see `placement`) and records the edge to it.
    fn insert(
        &mut self,
        node: Node,
        dep: Pending,
        packuments: &Packuments<'_>,
        options: &ResolveOptions,
    ) -> Result<String, Error> {
        let placement =
            self.placement(&dep, &node, packuments)
                .ok_or_else(|| Error::InvalidSpec {
                    package: dep.spec.package.clone(),
                    spec: dep.spec.text.clone(),
                    reason: format!("no place in the tree for it under {}", describe(&dep.from)),
                })?;
        let key = match placement {
            Placement::Place(dir) => {
                self.check_limits(&node, None, options)?;
                let key = child_key(&dir, &dep.spec.alias);
                self.repoint(&dir, &dep.spec.alias, &key);
                key
            }
            Placement::Replace(key) => {
                let replaced = self
                    .nodes
                    .get(&key)
                    .map(|n| n.manifest.dist.unpacked_size.unwrap_or(0));
                self.check_limits(&node, Some(replaced.unwrap_or(0)), options)?;
                // The replaced copy's own dependencies no longer count; the new one's get resolved anew.
                self.edges.retain(|e| e.from != key);
                key
            }
        };
        self.nodes.insert(key.clone(), node);
        self.edges.push(Edge {
            from: dep.from,
            spec: dep.spec,
            optional: dep.optional,
            to: key.clone(),
        });
        Ok(key)
    }

    /// The error that stopped loading a required dependency's packument, saying who wanted it.
    fn load_error(&self, packuments: &mut Packuments<'_>, dep: &Pending) -> Error {
        let package = dep.spec.package.clone();
        match packuments.take_error(&package) {
            Some(Error::UnknownPackage { package, url, .. }) => Error::UnknownPackage {
                package,
                url,
                wanted: format!(
                    " (wanted as {:?} by {})",
                    dep.spec.text,
                    describe(&dep.from)
                ),
            },
            Some(other) => other,
            None => Error::NotCachedOffline { package },
        }
    }

    fn skip(&mut self, label: &str, why: &str) -> Result<Option<String>, Error> {
        let warning = format!("skipped optional dependency {label}: {why}");
        tracing::warn!("{warning}");
        self.warnings.push(warning);
        Ok(None)
    }

    /// `replaced` is the declared unpacked size of the copy being replaced, `None` for a new placement.
    fn check_limits(
        &mut self,
        node: &Node,
        replaced: Option<u64>,
        options: &ResolveOptions,
    ) -> Result<(), Error> {
        let label = format!("{}@{}", node.package, node.version_text);
        let count = self.nodes.len() as u64 + u64::from(replaced.is_none());
        self.unpacked_declared_bytes = self
            .unpacked_declared_bytes
            .saturating_sub(replaced.unwrap_or(0));
        if count > options.packages_max as u64 {
            return Err(Error::LimitExceeded {
                package: label,
                limit: "packages_max",
                value: count,
                max: options.packages_max as u64,
            });
        }
        self.unpacked_declared_bytes += node.manifest.dist.unpacked_size.unwrap_or(0);
        if self.unpacked_declared_bytes > options.unpacked_bytes_max {
            return Err(Error::LimitExceeded {
                package: label,
                limit: "unpacked_bytes_max",
                value: self.unpacked_declared_bytes,
                max: options.unpacked_bytes_max,
            });
        }
        Ok(())
    }
}

fn make_node(spec: &DepSpec, packument: &Arc<Packument>) -> Result<Node, Error> {
    let version_text = spec.pick(packument)?.to_string();
    let manifest = packument.manifest(&version_text)?;
    let label = format!("{}@{version_text}", spec.package);
    let dist = &manifest.dist;
    let parsed = Integrity::from_dist(&label, dist.integrity.as_deref(), dist.shasum.as_deref())?;
    let integrity = match dist.integrity.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(sri) => sri.trim().to_string(),
        None => parsed.to_sri(),
    };
    let version = packument
        .versions
        .iter()
        .find(|(_, key)| *key == version_text)
        .map(|(v, _)| v.clone())
        .ok_or_else(|| Error::InvalidPackument {
            package: label,
            message: "picked version vanished".into(),
        })?;
    Ok(Node {
        package: spec.package.clone(),
        version,
        version_text,
        manifest,
        integrity,
    })
}

fn describe(from: &str) -> String {
    if from.is_empty() {
        "the root".to_string()
    } else {
        from.to_string()
    }
}
