//! `.npmrc` parsing: `registry=`, `@scope:registry=`, `//host/path/:_authToken=` / `:_auth=`, `cafile=`,
//! `${ENV}` expansion.
//!
//! Other keys are accepted and ignored (they configure npm features this crate does not have).

use std::collections::BTreeMap;

use super::Credential;
use crate::Error;

/// The registry-related settings of one `.npmrc` file, values already `${ENV}`-expanded.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Npmrc {
    /// `registry=URL`.
    pub registry: Option<String>,
    /// `@scope:registry=URL`, keyed by `@scope`.
    pub scopes: BTreeMap<String, String>,
    /// `//host/path/:_authToken=…` or `:_auth=…`, keyed by `//host/path/`.
    pub credentials: BTreeMap<String, Credential>,
    /// `cafile=PATH`: extra certificate authorities (PEM) to trust.
    pub cafile: Option<String>,
}

/// Parses `.npmrc` text. `origin` names the file in errors; `env` serves `${VAR}` (and `${VAR?}`, which is
/// empty when unset — npm's syntax for optional variables).
pub fn parse(text: &str, origin: &str, env: &BTreeMap<String, String>) -> Result<Npmrc, Error> {
    let mut rc = Npmrc::default();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty()
            || line.starts_with('#')
            || line.starts_with(';')
            || line.starts_with('[')
        {
            continue;
        }
        let fail = |message: String| Error::Npmrc {
            path: origin.to_string(),
            line: index + 1,
            message,
        };
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| fail(format!("expected `key=value`, found {line:?}")))?;
        let key = expand(key.trim(), env).map_err(&fail)?;
        let value = expand(unquote(value.trim()), env).map_err(&fail)?;
        apply(&mut rc, &key, value).map_err(fail)?;
    }
    Ok(rc)
}

fn apply(rc: &mut Npmrc, key: &str, value: String) -> Result<(), String> {
    if key == "registry" {
        rc.registry = Some(value);
    } else if key == "cafile" {
        rc.cafile = Some(value);
    } else if let Some(scope) = key.strip_suffix(":registry") {
        if !scope.starts_with('@') || scope.len() < 2 || scope.contains('/') {
            return Err(format!(
                "invalid scope {scope:?} in `{key}` (expected `@scope:registry=URL`)"
            ));
        }
        rc.scopes.insert(scope.to_string(), value);
    } else if let Some(dart) = key.strip_suffix(":_authToken") {
        rc.credentials
            .insert(dart_key(dart)?, Credential::Bearer(value));
    } else if let Some(dart) = key.strip_suffix(":_auth") {
        rc.credentials
            .insert(dart_key(dart)?, Credential::Basic(value));
    }
    Ok(())
}

/// Normalises `//host/path` to `//host/path/` and refuses keys that are not nerf darts.
fn dart_key(dart: &str) -> Result<String, String> {
    if !dart.starts_with("//") || dart.len() < 3 {
        return Err(format!(
            "credential key {dart:?} must look like `//host/path/` (scheme omitted)"
        ));
    }
    Ok(if dart.ends_with('/') {
        dart.to_string()
    } else {
        format!("{dart}/")
    })
}

fn unquote(value: &str) -> &str {
    let quoted = value.len() >= 2
        && ((value.starts_with('"') && value.ends_with('"'))
            || (value.starts_with('\'') && value.ends_with('\'')));
    if quoted {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

/// Replaces `${VAR}` with its value (an error if unset) and `${VAR?}` with its value or nothing.
fn expand(text: &str, env: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        // `\${` is a literal in npm's config syntax.
        if rest[..start].ends_with('\\') {
            out.push_str(&rest[..start - 1]);
            out.push_str("${");
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unterminated `${{` in {text:?}"))?;
        let name = &after[..end];
        match (name.strip_suffix('?'), env.get(name.trim_end_matches('?'))) {
            (_, Some(value)) => out.push_str(value),
            (Some(_), None) => {}
            (None, None) => {
                return Err(format!(
                    "environment variable {name} is not set (used as ${{{name}}}; write ${{{name}?}} if optional)"
                ))
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
