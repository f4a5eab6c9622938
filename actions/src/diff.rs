//! What changed from one snapshot of an action to another (a version or the draft): a unified diff
//! of the code, and the dependencies, secret names, runtime and triggers added, removed or changed.
//! [`diff`] is a plain function over two [`Snapshot`]s.

use actionflow_store::{Action, ActionVersion, Dependency};
use std::collections::{BTreeMap, BTreeSet};

/// One side of a diff.
pub struct Snapshot {
    pub label: String,
    pub code: String,
    pub dependencies: Vec<Dependency>,
    pub secret_names: Vec<String>,
    pub runtime: String,
    pub supported_triggers: Vec<String>,
}

impl From<ActionVersion> for Snapshot {
    fn from(v: ActionVersion) -> Self {
        Snapshot {
            label: format!("v{}", v.number),
            code: v.code,
            dependencies: v.dependencies,
            secret_names: v.secret_names,
            runtime: v.runtime,
            supported_triggers: v.supported_triggers,
        }
    }
}

impl From<Action> for Snapshot {
    fn from(a: Action) -> Self {
        Snapshot {
            label: "draft".to_owned(),
            code: a.code,
            dependencies: a.dependencies,
            secret_names: a.secret_names,
            runtime: a.runtime,
            supported_triggers: a.supported_triggers,
        }
    }
}

#[derive(PartialEq, Eq, Debug)]
pub struct ChangedDependency {
    pub name: String,
    pub from: String,
    pub to: String,
}

#[derive(PartialEq, Eq, Debug, Default)]
pub struct DependencyChanges {
    pub added: Vec<Dependency>,
    pub removed: Vec<Dependency>,
    pub changed: Vec<ChangedDependency>,
}

#[derive(PartialEq, Eq, Debug, Default)]
pub struct NameChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

#[derive(PartialEq, Eq, Debug)]
pub struct Diff {
    pub from: String,
    pub to: String,
    /// Unified diff of the code (empty when equal).
    pub code: String,
    pub dependencies: DependencyChanges,
    pub secrets: NameChanges,
    pub supported_triggers: NameChanges,
    /// `[from, to]` when the runtime changed.
    pub runtime: Option<[String; 2]>,
}

fn names(list: &[String]) -> BTreeSet<&str> {
    list.iter().map(String::as_str).collect()
}

fn name_changes(from: &[String], to: &[String]) -> NameChanges {
    let (from, to) = (names(from), names(to));
    NameChanges {
        added: to.difference(&from).map(|s| s.to_string()).collect(),
        removed: from.difference(&to).map(|s| s.to_string()).collect(),
    }
}

fn dependency_changes(from: &[Dependency], to: &[Dependency]) -> DependencyChanges {
    let map = |deps: &[Dependency]| -> BTreeMap<String, String> {
        deps.iter()
            .map(|d| (d.name.clone(), d.version.clone()))
            .collect()
    };
    let (from, to) = (map(from), map(to));
    let mut changes = DependencyChanges::default();
    for (name, version) in &to {
        match from.get(name) {
            None => changes.added.push(Dependency {
                name: name.clone(),
                version: version.clone(),
            }),
            Some(old) if old != version => changes.changed.push(ChangedDependency {
                name: name.clone(),
                from: old.clone(),
                to: version.clone(),
            }),
            Some(_) => {}
        }
    }
    for (name, version) in &from {
        if !to.contains_key(name) {
            changes.removed.push(Dependency {
                name: name.clone(),
                version: version.clone(),
            });
        }
    }
    changes
}

/// What changed from `from` to `to`.
pub fn diff(from: Snapshot, to: Snapshot) -> Diff {
    let code = if from.code == to.code {
        String::new()
    } else {
        // Myers' algorithm can spin on large, wholly different inputs: past the deadline `similar`
        // settles for a coarser (still correct) diff.
        similar::TextDiff::configure()
            .timeout(std::time::Duration::from_millis(500))
            .diff_lines(&from.code, &to.code)
            .unified_diff()
            .context_radius(3)
            .header(&from.label, &to.label)
            .to_string()
    };
    Diff {
        code,
        dependencies: dependency_changes(&from.dependencies, &to.dependencies),
        secrets: name_changes(&from.secret_names, &to.secret_names),
        supported_triggers: name_changes(&from.supported_triggers, &to.supported_triggers),
        runtime: (from.runtime != to.runtime).then_some([from.runtime, to.runtime]),
        from: from.label,
        to: to.label,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(label: &str, code: &str, deps: &[(&str, &str)], secrets: &[&str]) -> Snapshot {
        Snapshot {
            label: label.to_owned(),
            code: code.to_owned(),
            dependencies: deps
                .iter()
                .map(|(n, v)| Dependency {
                    name: n.to_string(),
                    version: v.to_string(),
                })
                .collect(),
            secret_names: secrets.iter().map(|s| s.to_string()).collect(),
            runtime: "node22".to_owned(),
            supported_triggers: vec!["post-login".to_owned()],
        }
    }

    #[test]
    fn diff_lists_code_dependency_and_secret_changes() {
        let a = snap(
            "v1",
            "a\nb\nc\n",
            &[("x", "^1"), ("y", "^2")],
            &["K1", "K2"],
        );
        let b = snap(
            "v2",
            "a\nB\nc\n",
            &[("x", "^1.5"), ("z", "3")],
            &["K2", "K3"],
        );
        let d = diff(a, b);
        assert_eq!(d.code, "--- v1\n+++ v2\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
        assert_eq!(d.dependencies.added[0].name, "z");
        assert_eq!(d.dependencies.removed[0].name, "y");
        assert_eq!(d.dependencies.changed[0].to, "^1.5");
        assert_eq!(
            (d.secrets.added.clone(), d.secrets.removed.clone()),
            (vec!["K3".to_owned()], vec!["K1".to_owned()])
        );
        assert_eq!(d.runtime, None);
    }

    #[test]
    fn equal_snapshots_have_an_empty_diff() {
        let d = diff(snap("v1", "x", &[], &[]), snap("v3", "x", &[], &[]));
        assert_eq!(d.code, "");
        assert_eq!(d.dependencies, DependencyChanges::default());
    }
}
