//! Registry configuration: which registry serves which package, and which credential goes to which host.
//!
//! The settings come from `.npmrc` text ([`npmrc`]) and the precedence rules in [`discover`]; nothing in this
//! crate names a registry host.

pub mod discover;
pub mod npmrc;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use url::Url;

use crate::Error;

/// A credential for one registry path, matched by npm's "nerf dart" key (`//host[:port]/path/`).
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// `//host/:_authToken=TOKEN`, sent as `Authorization: Bearer TOKEN`.
    Bearer(String),
    /// `//host/:_auth=BASE64(user:pass)`, sent as `Authorization: Basic BASE64`.
    Basic(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Credential::Basic(_) => f.write_str("Basic(<redacted>)"),
        }
    }
}

impl Credential {
    /// The value of the `Authorization` header.
    pub fn header_value(&self) -> String {
        match self {
            Credential::Bearer(token) => format!("Bearer {token}"),
            Credential::Basic(b64) => format!("Basic {b64}"),
        }
    }
}

/// The resolved registry settings: a default registry, per-scope registries and credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Registry for unscoped packages and scopes without their own entry. Always ends with `/`.
    pub registry: Url,
    /// `@scope` (with the `@`) to registry URL.
    pub scopes: BTreeMap<String, Url>,
    /// Nerf-dart key (`//host[:port]/path/`) to credential.
    pub credentials: BTreeMap<String, Credential>,
    /// Where the default registry came from (for messages): "--registry", "NPM_CONFIG_REGISTRY", a path…
    pub origin: String,
    /// PEM bundle of extra certificate authorities (npm's `cafile`); the system store is always trusted.
    pub ca_file: Option<PathBuf>,
}

impl RegistryConfig {
    /// A configuration with only a default registry.
    pub fn new(registry: &str, origin: &str) -> Result<Self, Error> {
        Ok(RegistryConfig {
            registry: parse_registry_url(registry, origin)?,
            scopes: BTreeMap::new(),
            credentials: BTreeMap::new(),
            origin: origin.to_string(),
            ca_file: None,
        })
    }

    /// The registry that serves `package` (its scope's registry if configured).
    pub fn registry_for(&self, package: &str) -> &Url {
        package
            .strip_prefix('@')
            .and_then(|rest| rest.split_once('/'))
            .and_then(|(scope, _)| self.scopes.get(&format!("@{scope}")))
            .unwrap_or(&self.registry)
    }

    /// The credential for a request URL: the longest configured nerf-dart key that prefixes it.
    /// A URL on a host with no key gets none, so a token never leaks to another registry.
    pub fn credential_for(&self, url: &Url) -> Option<&Credential> {
        let dart = nerf_dart_of(url)?;
        self.credentials
            .iter()
            .filter(|(key, _)| dart.starts_with(key.as_str()))
            .max_by_key(|(key, _)| key.len())
            .map(|(_, credential)| credential)
    }
}

/// `//host[:port]/path/` of a URL, the way npm keys credentials (scheme dropped, path up to the last `/`).
pub fn nerf_dart_of(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = url.path();
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let dir = if dir.is_empty() { "/" } else { dir };
    Some(format!("//{host}{port}{dir}"))
}

/// Parses and normalises a registry URL (absolute http/https, trailing `/`).
pub fn parse_registry_url(value: &str, origin: &str) -> Result<Url, Error> {
    let bad = |reason: &str| Error::InvalidRegistryUrl {
        origin: origin.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = value.trim();
    let with_slash = if trimmed.ends_with('/') {
        trimmed.to_string()
    } else {
        format!("{trimmed}/")
    };
    let url = Url::parse(&with_slash).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(bad("the scheme must be http or https"));
    }
    if url.host_str().is_none() {
        return Err(bad("the URL has no host"));
    }
    Ok(url)
}
