//! The rules an action's fields must meet, as plain functions over plain values: each error names
//! the field (`supported_triggers[1].id`, `secrets[0].value`). Also whether a draft equals a version
//! (their fingerprints).

use crate::error::{Error, Result};
use crate::ActionLimits;
use actionflow_runtime::trigger;
use actionflow_store::{Action, ActionVersion, Dependency};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// Runtimes an action may declare.
pub const RUNTIMES: &[&str] = &["node22", "node18"];

/// A trigger an action supports, e.g. `{"id": "post-login", "version": "v3"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerRef {
    pub id: String,
    /// The catalog's version of the trigger; optional in requests.
    pub version: Option<String>,
}

impl TriggerRef {
    pub fn of(id: &str) -> TriggerRef {
        TriggerRef {
            id: id.to_owned(),
            version: trigger::find(id).map(|t| t.version.to_owned()),
        }
    }
}

/// A secret to store: write-only.
#[derive(Clone)]
pub struct SecretInput {
    /// Letters, digits and `_`, not starting with a digit; at most 128 characters.
    pub name: String,
    /// At most 4 KiB.
    pub value: String,
}

impl std::fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SecretInput {{ name: {:?}, value: <redacted> }}",
            self.name
        )
    }
}

/// An action's name: 1 to `name_chars_max` characters once trimmed, none of them a control or
/// bidirectional control character.
pub fn name(name: &str, limits: &ActionLimits) -> Result<String> {
    display_name("name", name, limits.name_chars_max)
}

/// A name people read (an action's, a tenant's): trimmed, 1 to `max` characters, no control or
/// bidirectional control character (see `actionflow_triggers::unsafe_char`).
pub fn display_name(field: &str, name: &str, max: usize) -> Result<String> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("{field} must be 1 to {max} characters"),
        ));
    }
    if let Some(message) = actionflow_triggers::unsafe_char_message(field, trimmed) {
        return Err(Error::invalid(field, message));
    }
    Ok(trimmed.to_owned())
}

pub fn triggers(refs: &[TriggerRef]) -> Result<Vec<String>> {
    if refs.is_empty() {
        return Err(Error::invalid(
            "supported_triggers",
            "give at least one trigger",
        ));
    }
    let mut ids = Vec::new();
    for (i, r) in refs.iter().enumerate() {
        let Some(found) = trigger::find(&r.id) else {
            return Err(Error::invalid(
                &format!("supported_triggers[{i}].id"),
                format!(
                    "unknown trigger {:?} (known: {})",
                    r.id,
                    trigger::ids().join(", ")
                ),
            ));
        };
        if let Some(version) = r.version.as_deref().filter(|v| *v != found.version) {
            return Err(Error::invalid(
                &format!("supported_triggers[{i}].version"),
                format!(
                    "{} is at version {}, not {version:?}",
                    found.id, found.version
                ),
            ));
        }
        if ids.contains(&r.id) {
            return Err(Error::invalid(
                &format!("supported_triggers[{i}].id"),
                format!("{} is listed twice", r.id),
            ));
        }
        ids.push(r.id.clone());
    }
    Ok(ids)
}

pub fn code(code: &str, limits: &ActionLimits) -> Result<String> {
    if code.len() > limits.code_bytes_max {
        return Err(Error::too_large(
            "code",
            format!(
                "code is {} bytes, more than the limit of {} bytes",
                code.len(),
                limits.code_bytes_max
            ),
        ));
    }
    Ok(code.to_owned())
}

pub fn dependencies(deps: &[Dependency], limits: &ActionLimits) -> Result<Vec<Dependency>> {
    if deps.len() > limits.dependencies_max {
        return Err(Error::invalid(
            "dependencies",
            format!("at most {} dependencies", limits.dependencies_max),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, d) in deps.iter().enumerate() {
        let name = d.name.trim();
        let range = d.version.trim();
        if let Err(error) = actionflow_registry::spec::DepSpec::parse(name, range) {
            return Err(Error::invalid(
                &format!("dependencies[{i}]"),
                format!("{name}@{range}: {error}"),
            ));
        }
        if !seen.insert(name.to_owned()) {
            return Err(Error::invalid(
                &format!("dependencies[{i}].name"),
                format!("{name} is listed twice"),
            ));
        }
        out.push(Dependency {
            name: name.to_owned(),
            version: range.to_owned(),
        });
    }
    Ok(out)
}

pub fn runtime(runtime: Option<&str>) -> Result<String> {
    let runtime = runtime.unwrap_or(RUNTIMES[0]);
    if !RUNTIMES.contains(&runtime) {
        return Err(Error::invalid(
            "runtime",
            format!(
                "unknown runtime {runtime:?} (known: {})",
                RUNTIMES.join(", ")
            ),
        ));
    }
    Ok(runtime.to_owned())
}

/// Checks one secret name.
pub fn secret_name(field: &str, name: &str, limits: &ActionLimits) -> Result<()> {
    let valid_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if name.is_empty() || name.chars().count() > limits.secret_name_chars_max || !valid_chars {
        return Err(Error::invalid(
            field,
            format!(
                "a secret name is 1 to {} letters, digits or _, not starting with a digit",
                limits.secret_name_chars_max
            ),
        ));
    }
    Ok(())
}

/// Checks one secret value's size.
pub fn secret_value(field: &str, value: &str, limits: &ActionLimits) -> Result<()> {
    if value.len() > limits.secret_value_bytes_max {
        return Err(Error::too_large(
            field,
            format!(
                "a secret value is at most {} bytes",
                limits.secret_value_bytes_max
            ),
        ));
    }
    Ok(())
}

/// Checks a list of secrets (names, sizes, duplicates, count) and returns the names, sorted.
pub fn secrets(secrets: &[SecretInput], limits: &ActionLimits) -> Result<Vec<String>> {
    let max = usize::try_from(limits.secrets_per_action_max).unwrap_or(usize::MAX);
    if secrets.len() > max {
        return Err(Error::invalid(
            "secrets",
            format!("at most {max} secrets per action"),
        ));
    }
    let mut names = BTreeSet::new();
    for (i, s) in secrets.iter().enumerate() {
        secret_name(&format!("secrets[{i}].name"), &s.name, limits)?;
        secret_value(&format!("secrets[{i}].value"), &s.value, limits)?;
        if !names.insert(s.name.clone()) {
            return Err(Error::invalid(
                &format!("secrets[{i}].name"),
                format!("{} is listed twice", s.name),
            ));
        }
    }
    Ok(names.into_iter().collect())
}

/// A digest of what a deploy snapshots: code, dependencies, runtime, triggers and the set of
/// secret names. A draft and a version with the same fingerprint hold the same thing.
fn fingerprint(
    code: &str,
    dependencies: &[Dependency],
    runtime: &str,
    triggers: &[String],
    secret_names: &[String],
) -> [u8; 32] {
    let names: BTreeSet<&String> = secret_names.iter().collect();
    let deps: Vec<(&str, &str)> = dependencies
        .iter()
        .map(|d| (d.name.as_str(), d.version.as_str()))
        .collect();
    let canonical = serde_json::json!([code, deps, runtime, triggers, names]).to_string();
    Sha256::digest(canonical.as_bytes()).into()
}

pub fn fingerprint_of_draft(a: &Action) -> [u8; 32] {
    fingerprint(
        &a.code,
        &a.dependencies,
        &a.runtime,
        &a.supported_triggers,
        &a.secret_names,
    )
}

pub fn fingerprint_of_version(v: &ActionVersion) -> [u8; 32] {
    fingerprint(
        &v.code,
        &v.dependencies,
        &v.runtime,
        &v.supported_triggers,
        &v.secret_names,
    )
}
