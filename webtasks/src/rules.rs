//! Every rule on what an extension may hold, as plain functions naming the field: names, metadata,
//! the compiler and middleware chosen by metadata, secrets, dependencies, code size.

use crate::error::{Error, Result};
use crate::WebtaskLimits;
use std::collections::BTreeMap;

/// `meta['wt-compiler']` of the Extend generic compiler.
pub const GENERIC_COMPILER: &str = "auth0-ext-compilers/generic";
/// The secret (and meta key) whose value a generic-compiler extension's callers send as bearer.
pub const EXTENSION_SECRET: &str = "auth0-extension-secret";
/// `meta['wt-middleware']` of the built-in bearer middleware, and the secret it checks.
pub const BEARER_MIDDLEWARE: &str = "@webtask/bearer-auth-middleware";
pub const AUTH_SECRET: &str = "wt-auth-secret";
pub const META_COMPILER: &str = "wt-compiler";
pub const META_MIDDLEWARE: &str = "wt-middleware";
pub const META_DEPENDENCIES: &str = "wt-node-dependencies";

/// What runs around the extension's code, from its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pipeline {
    /// The generic compiler: bearer `auth0-extension-secret` (when set) and its envelope.
    pub generic: bool,
    /// The bearer middleware: `wt-auth-secret` required.
    pub bearer: bool,
}

/// A container or extension name: 1 to 128 of `[A-Za-z0-9_.-]`, not `.` or `..`.
pub fn name(field: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value != "."
        && value != ".."
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("{field} must be 1 to 128 letters, digits, '-', '_' or '.', got {value:?}"),
        ))
    }
}

/// The code: not empty, within the limit.
pub fn code(value: &str, limits: &WebtaskLimits) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid("code", "code must not be empty"));
    }
    if value.len() > limits.code_bytes_max {
        return Err(Error::too_large(
            "code",
            format!(
                "code is {} bytes, more than the limit of {} bytes",
                value.len(),
                limits.code_bytes_max
            ),
        ));
    }
    Ok(())
}

/// Metadata: string values, bounded; the compiler and middleware it names must be known.
pub fn meta(meta: &BTreeMap<String, String>, limits: &WebtaskLimits) -> Result<Pipeline> {
    if meta.len() > limits.meta_entries_max {
        return Err(Error::invalid(
            "meta",
            format!("at most {} meta entries", limits.meta_entries_max),
        ));
    }
    for (key, value) in meta {
        if key.is_empty() || key.len() > 128 {
            return Err(Error::invalid(
                "meta",
                format!("meta keys are 1 to 128 characters, got {key:?}"),
            ));
        }
        if value.len() > limits.meta_value_bytes_max {
            return Err(Error::too_large(
                &format!("meta.{key}"),
                format!(
                    "meta.{key} is longer than {} bytes",
                    limits.meta_value_bytes_max
                ),
            ));
        }
    }
    pipeline(meta)
}

/// The compiler and middleware of `meta`; an unknown one is refused naming its meta key.
pub fn pipeline(meta: &BTreeMap<String, String>) -> Result<Pipeline> {
    let mut pipeline = Pipeline::default();
    if let Some(compiler) = meta.get(META_COMPILER).map(|c| c.trim()) {
        if compiler != GENERIC_COMPILER {
            return Err(Error::invalid(
                &format!("meta.{META_COMPILER}"),
                format!("unknown compiler {compiler:?}; the known one is {GENERIC_COMPILER}"),
            ));
        }
        pipeline.generic = true;
    }
    if let Some(list) = meta.get(META_MIDDLEWARE) {
        for middleware in list.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            if middleware != BEARER_MIDDLEWARE {
                return Err(Error::invalid(
                    &format!("meta.{META_MIDDLEWARE}"),
                    format!(
                        "unknown middleware {middleware:?}; the known one is {BEARER_MIDDLEWARE}"
                    ),
                ));
            }
            pipeline.bearer = true;
        }
    }
    Ok(pipeline)
}

/// Secret names and values: bounded like actions' secrets.
pub fn secrets(secrets: &BTreeMap<String, String>, limits: &WebtaskLimits) -> Result<()> {
    if secrets.len() > limits.secrets_max {
        return Err(Error::invalid(
            "secrets",
            format!("at most {} secrets", limits.secrets_max),
        ));
    }
    for (key, value) in secrets {
        if key.is_empty() || key.len() > 128 || key.contains('\0') {
            return Err(Error::invalid(
                "secrets",
                format!("secret names are 1 to 128 characters, got {key:?}"),
            ));
        }
        if value.len() > limits.secret_value_bytes_max {
            return Err(Error::too_large(
                &format!("secrets.{key}"),
                format!(
                    "secrets.{key} is longer than {} bytes",
                    limits.secret_value_bytes_max
                ),
            ));
        }
    }
    Ok(())
}

/// The dependencies: the `dependencies` field, else `meta['wt-node-dependencies']` (JSON text
/// `{name: version}`); each a valid npm name and range.
pub fn dependencies(
    field: Option<&BTreeMap<String, String>>,
    meta: &BTreeMap<String, String>,
    limits: &WebtaskLimits,
) -> Result<BTreeMap<String, String>> {
    let (deps, at) = match (field, meta.get(META_DEPENDENCIES)) {
        (Some(deps), _) => (deps.clone(), "dependencies".to_owned()),
        (None, Some(text)) => {
            let at = format!("meta.{META_DEPENDENCIES}");
            let deps: BTreeMap<String, String> = serde_json::from_str(text).map_err(|e| {
                Error::invalid(
                    &at,
                    format!("{at} must be JSON {{\"name\": \"version\"}}: {e}"),
                )
            })?;
            (deps, at)
        }
        (None, None) => return Ok(BTreeMap::new()),
    };
    if deps.len() > limits.dependencies_max {
        return Err(Error::invalid(
            &at,
            format!("at most {} dependencies", limits.dependencies_max),
        ));
    }
    for (name, range) in &deps {
        if let Err(error) = actionflow_registry::spec::DepSpec::parse(name, range) {
            return Err(Error::invalid(&at, format!("{name}@{range}: {error}")));
        }
    }
    Ok(deps)
}

/// Which metadata pairs a discovery asks for: `key:value`, split at the first colon.
pub fn meta_filter(filters: &[String]) -> Result<Vec<(String, String)>> {
    filters
        .iter()
        .map(|f| {
            f.split_once(':')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| {
                    Error::invalid("meta", format!("meta filters are key:value, got {f:?}"))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_compilers_and_middleware_name_their_key() {
        let mut meta = BTreeMap::new();
        meta.insert(META_COMPILER.to_owned(), GENERIC_COMPILER.to_owned());
        assert_eq!(pipeline(&meta).map(|p| p.generic).ok(), Some(true));
        meta.insert(META_COMPILER.to_owned(), "webtask-tools/express".to_owned());
        assert_eq!(
            pipeline(&meta)
                .err()
                .and_then(|e| e.field().map(str::to_owned)),
            Some("meta.wt-compiler".to_owned())
        );
        meta.remove(META_COMPILER);
        meta.insert(
            META_MIDDLEWARE.to_owned(),
            "x,@webtask/bearer-auth-middleware".to_owned(),
        );
        assert_eq!(
            pipeline(&meta)
                .err()
                .and_then(|e| e.field().map(str::to_owned)),
            Some("meta.wt-middleware".to_owned())
        );
        assert!(name("name", "on-new-lead").is_ok());
        assert!(name("name", "..").is_err());
        assert!(name("name", "a/b").is_err());
    }
}
