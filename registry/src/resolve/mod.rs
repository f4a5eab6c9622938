//! Resolution: from declared dependencies to a complete, deduplicated [`Lockfile`]. Packuments are
//! prefetched level by level (concurrently); placement then follows npm's algorithm, sequentially and
//! deterministically.
//!
//! Peer dependencies are reported, not installed: a package's peers must be provided by the action's own
//! dependencies (npm 7+ would auto-install missing ones; we prefer an explicit, reviewable list).

mod packuments;
mod place;
mod tree;

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use crate::cache::Cache;
use crate::lockfile::{LockEntry, Lockfile};
use crate::source::PackageSource;
use crate::spec::DepSpec;
use crate::Error;
use packuments::Packuments;
use tree::{Pending, Tree};

/// When the network may be used for packuments (tarballs are always taken from the cache when present).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    /// Use cached packuments younger than `packument_max_age_ms`; revalidate older ones.
    Online,
    /// Use any cached packument; go to the network only for missing ones.
    PreferOffline,
    /// Never use the network; anything missing from the cache is an error.
    Offline,
}

/// Limits and policies of one resolution / installation.
#[derive(Debug, Clone)]
pub struct ResolveOptions {
    /// Packages in the resolved tree.
    pub packages_max: usize,
    /// Total unpacked size of all packages.
    pub unpacked_bytes_max: u64,
    /// Size of one downloaded tarball.
    pub tarball_bytes_max: u64,
    /// Size of one file inside a tarball.
    pub entry_bytes_max: u64,
    /// Entries in one tarball.
    pub tarball_entries_max: u64,
    /// Tarball downloads and unpackings in flight.
    pub concurrency_max: usize,
    pub network: NetworkMode,
    /// Age under which a cached packument is used without asking the registry (npm uses 5 minutes).
    pub packument_max_age_ms: u64,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            packages_max: 1000,
            unpacked_bytes_max: 512 << 20,
            tarball_bytes_max: 64 << 20,
            entry_bytes_max: 64 << 20,
            tarball_entries_max: 50_000,
            concurrency_max: 16,
            network: NetworkMode::Online,
            packument_max_age_ms: 5 * 60 * 1000,
        }
    }
}

/// A peer dependency of a resolved package and what the tree provides for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerReport {
    /// Lockfile key of the package declaring the peer.
    pub dependent: String,
    pub peer: String,
    pub range: String,
    pub optional: bool,
    /// Version visible from the dependent, if any.
    pub found: Option<String>,
    pub satisfied: bool,
}

/// The outcome of [`resolve`].
#[derive(Debug, Clone)]
pub struct Resolution {
    pub lockfile: Lockfile,
    /// Skipped optional dependencies, unmet peer dependencies.
    pub warnings: Vec<String>,
    pub peers: Vec<PeerReport>,
    /// Packument requests that went to the source (0 when everything came from the cache).
    pub packument_requests: usize,
}

/// Resolves `dependencies` (install name → spec, e.g. `"lodash" → "^4"`) into a lockfile.
pub async fn resolve(
    source: &dyn PackageSource,
    cache: &Cache,
    dependencies: &BTreeMap<String, String>,
    options: &ResolveOptions,
) -> Result<Resolution, Error> {
    let mut root = Vec::new();
    for (name, spec) in dependencies {
        let spec = DepSpec::parse(name, spec)?;
        root.push(Pending {
            from: String::new(),
            spec,
            optional: false,
        });
    }
    let mut packuments = Packuments::new(source, cache, options);
    prefetch(&mut packuments, &root).await;
    // npm's order: shallowest location first, then by path; each package's dependencies by name.
    let mut tree = Tree::default();
    let mut queue: BTreeSet<(usize, String)> = BTreeSet::from([(0, String::new())]);
    while let Some((_, key)) = queue.pop_first() {
        let pending = if key.is_empty() {
            root.clone()
        } else {
            pending_of(&mut tree, &key)?
        };
        for dep in pending {
            if let Some(placed) = tree.resolve(&mut packuments, dep, options)? {
                queue.insert((placed.matches("node_modules/").count(), placed));
            }
        }
    }
    tree.prune();
    let peers = peer_reports(&tree);
    let mut warnings = std::mem::take(&mut tree.warnings);
    warnings.extend(
        peers
            .iter()
            .filter(|p| !p.satisfied && (!p.optional || p.found.is_some()))
            .map(|p| {
                format!(
                    "{} wants peer {}@{} but {}",
                    p.dependent,
                    p.peer,
                    p.range,
                    p.found
                        .as_ref()
                        .map_or("none is installed".to_string(), |v| format!(
                            "{v} is visible"
                        ))
                )
            }),
    );
    Ok(Resolution {
        lockfile: to_lockfile(&tree, dependencies),
        warnings,
        peers,
        packument_requests: packuments.network_requests,
    })
}

/// Loads, level by level and concurrently, the packuments of every package the resolution can reach
/// (following the version each range picks), so placement afterwards never waits on the network.
/// Failures are left for placement to report (or skip, for optional dependencies).
async fn prefetch(packuments: &mut Packuments<'_>, root: &[Pending]) {
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut frontier: Vec<DepSpec> = root.iter().map(|p| p.spec.clone()).collect();
    while !frontier.is_empty() {
        packuments
            .load_all(frontier.iter().map(|s| s.package.clone()).collect())
            .await;
        let mut next = Vec::new();
        for spec in frontier {
            let Some(Ok(packument)) = packuments.get(&spec.package) else {
                continue;
            };
            let Ok(manifest) = spec.pick(&packument).and_then(|v| packument.manifest(v)) else {
                continue;
            };
            for (name, text) in manifest
                .dependencies
                .iter()
                .chain(&manifest.optional_dependencies)
            {
                if let Ok(dep) = DepSpec::parse(name, text) {
                    if seen.insert((dep.package.clone(), dep.text.clone())) {
                        next.push(dep);
                    }
                }
            }
        }
        frontier = next;
    }
}

/// The dependencies of a placed package still to resolve (see `Manifest::dependencies_to_resolve`).
fn pending_of(tree: &mut Tree, key: &str) -> Result<Vec<Pending>, Error> {
    let Some(node) = tree.nodes.get(key) else {
        return Ok(Vec::new());
    };
    let label = format!("{}@{}", node.package, node.version_text);
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (name, spec, optional) in node.manifest.dependencies_to_resolve() {
        match DepSpec::parse(name, spec) {
            Ok(spec) => out.push(Pending {
                from: key.to_string(),
                spec,
                optional,
            }),
            Err(error) if optional => skipped.push(format!(
                "skipped optional dependency {name} of {label}: {error}"
            )),
            Err(error) => return Err(error),
        }
    }
    tree.warnings.extend(skipped);
    Ok(out)
}

fn peer_reports(tree: &Tree) -> Vec<PeerReport> {
    let mut reports = Vec::new();
    for (key, node) in &tree.nodes {
        for (peer, range) in &node.manifest.peer_dependencies {
            let optional = node
                .manifest
                .peer_dependencies_meta
                .get(peer)
                .is_some_and(|m| m.optional);
            let found = tree.lookup(key, peer).and_then(|k| tree.nodes.get(&k));
            let satisfied = match (found, nodejs_semver::Range::parse(range)) {
                (Some(found), Ok(r)) => r.satisfies(&found.version),
                _ => false,
            };
            reports.push(PeerReport {
                dependent: key.clone(),
                peer: peer.clone(),
                range: range.clone(),
                optional,
                found: found.map(|n| n.version_text.clone()),
                satisfied,
            });
        }
    }
    reports
}

/// Keys reachable from the root through non-optional edges only; the others are `optional`.
fn required_keys(tree: &Tree) -> BTreeSet<String> {
    let mut required = BTreeSet::new();
    let mut queue: VecDeque<&str> = VecDeque::from([""]);
    while let Some(from) = queue.pop_front() {
        for edge in tree.edges.iter().filter(|e| e.from == from && !e.optional) {
            if required.insert(edge.to.clone()) {
                queue.push_back(&edge.to);
            }
        }
    }
    required
}

fn to_lockfile(tree: &Tree, dependencies: &BTreeMap<String, String>) -> Lockfile {
    let mut lockfile = Lockfile::new(dependencies.clone());
    let required = required_keys(tree);
    for (key, node) in &tree.nodes {
        let alias = crate::lockfile::install_name(key).unwrap_or(&node.package);
        let manifest = &node.manifest;
        lockfile.packages.insert(
            key.clone(),
            LockEntry {
                name: (alias != node.package).then(|| node.package.clone()),
                version: Some(node.version_text.clone()),
                resolved: Some(manifest.dist.tarball.clone()),
                integrity: Some(node.integrity.clone()),
                dependencies: manifest.dependencies.clone(),
                optional_dependencies: manifest.optional_dependencies.clone(),
                peer_dependencies: manifest.peer_dependencies.clone(),
                optional: !required.contains(key),
            },
        );
    }
    lockfile
}
