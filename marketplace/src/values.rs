//! The values of an installed copy, as plain functions: configuration checked against a version's
//! manifest (types, unknown names, required ones, defaults, kept values), secrets likewise, and
//! the manifest's parts as the lifecycle takes them.

use std::collections::BTreeMap;

use actionflow_actions::SecretInput;
use actionflow_store::{Dependency, Submission};

use crate::error::{Error, Result};
use crate::install::CONFIG_VALUE_CHARS_MAX;
use crate::manifest::Manifest;

pub(crate) fn manifest_of(submission: &Submission) -> Result<Manifest> {
    serde_json::from_value(submission.manifest.clone()).map_err(|_| {
        Error::Lifecycle(actionflow_actions::Error::Internal(
            "a stored manifest is unreadable".to_owned(),
        ))
    })
}

pub(crate) fn dependencies(manifest: &Manifest) -> Vec<Dependency> {
    manifest
        .dependencies
        .iter()
        .map(|d| Dependency {
            name: d.name.clone(),
            version: d.version.clone(),
        })
        .collect()
}

pub(crate) fn secret_inputs(secrets: &BTreeMap<String, String>) -> Vec<SecretInput> {
    secrets
        .iter()
        .map(|(name, value)| SecretInput {
            name: name.clone(),
            value: value.clone(),
        })
        .collect()
}

/// The configuration to run with: `kept` values overlaid by `given`, defaults for the rest;
/// unknown names, wrong types and missing required values are refused, naming them.
pub(crate) fn values(
    manifest: &Manifest,
    kept: &BTreeMap<String, String>,
    given: &BTreeMap<String, String>,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    for (name, value) in given {
        let field = format!("configuration.{name}");
        let Some(spec) = manifest.config(name) else {
            if manifest.secret(name).is_some() {
                return Err(Error::invalid(
                    &field,
                    format!("{name} is a secret: give it under secrets"),
                ));
            }
            return Err(Error::invalid(
                &field,
                format!("the integration has no configuration {name}"),
            ));
        };
        if value.chars().count() > CONFIG_VALUE_CHARS_MAX {
            return Err(Error::invalid(
                &field,
                format!("longer than {CONFIG_VALUE_CHARS_MAX} characters"),
            ));
        }
        if !value.is_empty() {
            spec.accepts(value).map_err(|m| Error::invalid(&field, m))?;
        }
    }
    let mut out = serde_json::Map::new();
    let mut missing = Vec::new();
    for spec in &manifest.configuration {
        let value = given
            .get(&spec.name)
            .or_else(|| kept.get(&spec.name))
            .filter(|v| !v.is_empty())
            .cloned()
            .or_else(|| spec.default_value.clone());
        match value {
            Some(v) => {
                out.insert(spec.name.clone(), serde_json::Value::String(v));
            }
            None if spec.required => missing.push(format!("configuration.{}", spec.name)),
            None => {}
        }
    }
    if let Some(first) = missing.first() {
        let message = format!("required values missing: {}", missing.join(", "));
        return Err(Error::invalid(first, message));
    }
    Ok(out)
}

/// Unknown secrets are refused; every required one must be given or already stored.
pub(crate) fn check_secrets(
    manifest: &Manifest,
    stored: &[String],
    given: &BTreeMap<String, String>,
) -> Result<()> {
    for name in given.keys() {
        if manifest.secret(name).is_none() {
            let field = format!("secrets.{name}");
            return Err(Error::invalid(
                &field,
                format!("the integration declares no secret {name}"),
            ));
        }
    }
    let missing: Vec<String> = manifest
        .secrets
        .iter()
        .filter(|s| s.required)
        .filter(|s| given.get(&s.name).is_none_or(|v| v.is_empty()) && !stored.contains(&s.name))
        .map(|s| format!("secrets.{}", s.name))
        .collect();
    if let Some(first) = missing.first() {
        let message = format!("required values missing: {}", missing.join(", "));
        return Err(Error::invalid(first, message));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_reaches_the_code_as_text_whatever_its_type() {
        let manifest: Manifest = serde_json::from_value(serde_json::json!({
            "name": "n", "slug": "typed", "version": "1.0.0", "publisher": "acme",
            "description": "d", "short_description": "s", "supported_triggers": ["post-login"],
            "configuration": [
                {"name": "PORT", "label": "Port", "type": "number", "required": true},
                {"name": "VERBOSE", "label": "Verbose", "type": "boolean", "default_value": "false"},
            ],
        }))
        .unwrap();
        let given = BTreeMap::from([("PORT".to_owned(), "8080".to_owned())]);
        let configuration = values(&manifest, &BTreeMap::new(), &given).unwrap();
        assert_eq!(
            serde_json::Value::Object(configuration),
            serde_json::json!({"PORT": "8080", "VERBOSE": "false"})
        );
        let wrong = BTreeMap::from([("PORT".to_owned(), "eighty".to_owned())]);
        assert!(values(&manifest, &BTreeMap::new(), &wrong).is_err());
    }

    #[test]
    fn a_secret_takes_no_default_value() {
        let field = serde_json::json!({"name": "API_KEY", "label": "Key", "default_value": "x"});
        let error = serde_json::from_value::<crate::manifest::SecretField>(field)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("unknown field `default_value`"), "{error}");
    }
}
