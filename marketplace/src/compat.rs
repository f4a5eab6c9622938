//! Versions against history: a version higher than every one of the slug ever submitted, and the
//! changes since the latest published version a tenant's installed copy could break on (a new
//! required field, a removed field or trigger), allowed only with a new major version.

use crate::checks::History;
use crate::manifest::{Manifest, Version, MANIFEST_FILE};
use crate::report::Finding;

pub(crate) fn version_findings(version: Version, history: &History) -> Vec<Finding> {
    let highest = history.versions.iter().max();
    match highest {
        Some(h) if history.versions.contains(&version) => vec![Finding::error(
            "version_reused",
            format!("version {version} was already submitted; versions are never reused (the highest is {h})"),
        )
        .in_file(MANIFEST_FILE)],
        Some(h) if *h > version => vec![Finding::error(
            "version_not_higher",
            format!("version {version} is not higher than {h}, already submitted"),
        )
        .in_file(MANIFEST_FILE)],
        _ => Vec::new(),
    }
}

/// Each change a tenant's installed copy could break on, listed for the reviewer.
pub fn breaking_changes(previous: &Manifest, next: &Manifest) -> Vec<String> {
    let mut out = Vec::new();
    for trigger in &previous.supported_triggers {
        if !next.supported_triggers.contains(trigger) {
            out.push(format!("trigger {trigger} removed"));
        }
    }
    let fields = |m: &Manifest| -> Vec<(String, &'static str, bool)> {
        let secrets = m
            .secrets
            .iter()
            .map(|s| (s.name.clone(), "secret", s.required));
        let config = m.configuration.iter().map(|c| {
            (
                c.name.clone(),
                "configuration",
                c.required && c.default_value.is_none(),
            )
        });
        secrets.chain(config).collect()
    };
    let (old, new) = (fields(previous), fields(next));
    for (name, kind, _) in &old {
        if !new.iter().any(|(n, k, _)| n == name && k == kind) {
            out.push(format!("{kind} {name} removed"));
        }
    }
    for (name, kind, required) in &new {
        let before = old.iter().find(|(n, k, _)| n == name && k == kind);
        match before {
            None if *required => out.push(format!("new required {kind} {name}")),
            Some((_, _, false)) if *required => out.push(format!("{kind} {name} became required")),
            _ => {}
        }
    }
    out
}

pub(crate) fn breaking_findings(
    previous: &Manifest,
    next: &Manifest,
    version: Version,
) -> Vec<Finding> {
    let Some(before) = previous.semver() else {
        return Vec::new();
    };
    if version.major > before.major {
        return Vec::new();
    }
    breaking_changes(previous, next)
        .into_iter()
        .map(|change| {
            let message =
                format!("{change} since {before}: a breaking change needs a new major version");
            Finding::error("breaking_change", message).in_file(MANIFEST_FILE)
        })
        .collect()
}
