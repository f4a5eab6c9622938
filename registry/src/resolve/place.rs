//! npm-style placement: each dependency resolves to the first `node_modules/<name>` found walking up from
//! its dependent; a new package goes as high as it can without shadowing a copy someone else relies on,
//! so there is one copy per name@version unless ranges conflict.

use std::collections::BTreeSet;

use nodejs_semver::Version;

use super::packuments::Packuments;
use super::tree::{accepts, Node, Pending, Tree};
use crate::lockfile::parent_key;
pub(crate) use crate::lockfile::{chain, child_key};
use crate::spec::DepSpec;

/// Where a new package goes.
pub(crate) enum Placement {
    /// Into `<dir>/node_modules/`.
    Place(String),
    /// Instead of the copy at this key.
    Replace(String),
}

pub(crate) fn in_subtree(key: &str, dir: &str) -> bool {
    dir.is_empty()
        || key == dir
        || key
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with("/node_modules/"))
}

impl Tree {
    /// npm's walk: from the dependent upwards, each directory without a copy is a candidate unless it would
    /// shadow a copy someone below relies on; the first directory holding a copy stops the walk — there the
    /// new version may replace the copy when it is not older and satisfies all its dependents. The highest
    /// candidate wins.
    pub(crate) fn placement(
        &self,
        dep: &Pending,
        node: &Node,
        packuments: &Packuments<'_>,
    ) -> Option<Placement> {
        let mut best = None;
        for dir in chain(&dep.from) {
            let key = child_key(dir, &dep.spec.alias);
            match self.nodes.get(&key) {
                None if self.can_place(dir, &dep.spec, &node.version, packuments) => {
                    best = Some(Placement::Place(dir.to_string()));
                }
                None => break,
                Some(current) => {
                    if self.can_replace(&key, current, node, packuments) {
                        best = Some(Placement::Replace(key));
                    }
                    break;
                }
            }
        }
        best
    }

    fn can_replace(
        &self,
        key: &str,
        current: &Node,
        node: &Node,
        packuments: &Packuments<'_>,
    ) -> bool {
        current.package == node.package
            && node.version >= current.version
            && self.edges.iter().filter(|e| e.to == key).all(|e| {
                let packument = packuments.get(&e.spec.package).and_then(Result::ok);
                e.spec.package == node.package
                    && accepts(&e.spec, &node.version, packument.as_deref())
            })
    }

    /// Drops packages no longer reachable from the root (left behind by replacements).
    pub(crate) fn prune(&mut self) {
        let mut reachable = BTreeSet::new();
        let mut queue = vec![String::new()];
        while let Some(from) = queue.pop() {
            for edge in self.edges.iter().filter(|e| e.from == from) {
                if reachable.insert(edge.to.clone()) {
                    queue.push(edge.to.clone());
                }
            }
        }
        self.nodes.retain(|key, _| reachable.contains(key));
        self.edges
            .retain(|e| e.from.is_empty() || reachable.contains(&e.from));
    }

    /// Placing `spec`'s package at `dir` must not change what already-resolved dependents below `dir` get,
    /// unless the new version satisfies them too.
    fn can_place(
        &self,
        dir: &str,
        spec: &DepSpec,
        version: &Version,
        packuments: &Packuments<'_>,
    ) -> bool {
        self.edges
            .iter()
            .filter(|e| e.spec.alias == spec.alias && in_subtree(&e.from, dir))
            .filter(|e| !in_subtree(parent_key(&e.to), dir))
            .all(|e| {
                let packument = packuments.get(&e.spec.package).and_then(Result::ok);
                e.spec.package == spec.package && accepts(&e.spec, version, packument.as_deref())
            })
    }

    /// Dependents below `dir` that resolved `alias` above it now see the new copy at `key`.
    pub(crate) fn repoint(&mut self, dir: &str, alias: &str, key: &str) {
        for edge in self.edges.iter_mut() {
            if edge.spec.alias == alias
                && in_subtree(&edge.from, dir)
                && !in_subtree(parent_key(&edge.to), dir)
            {
                edge.to = key.to_string();
            }
        }
    }
}
