//! `integration.json`: what a package declares (name, slug, version, publisher, triggers, the
//! secrets and configuration a tenant supplies, pinned dependencies, the hosts its code may reach,
//! links) and the schema checks over it, each a [`Finding`] naming the field.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::report::Finding;

pub const MANIFEST_FILE: &str = "integration.json";

/// A semantic version `major.minor.patch` (no pre-release: a listing version is a release).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl Version {
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = text.split('.');
        let mut next = || -> Option<u64> {
            let part = parts.next()?;
            let leading_zero = part.len() > 1 && part.starts_with('0');
            if part.is_empty() || leading_zero || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let version = Version {
            major: next()?,
            minor: next()?,
            patch: next()?,
        };
        parts.next().is_none().then_some(version)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A secret the tenant supplies; the code reads it as `event.secrets.NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretField {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub required: bool,
}

/// The type of a configuration value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    String,
    Number,
    Boolean,
    Url,
    Enum,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumOption {
    pub value: String,
    pub label: String,
}

/// A plain-text value the tenant supplies; the code reads it as `event.configuration.NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigField {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub required: bool,
    #[serde(rename = "type", default = "string_type")]
    pub kind: FieldType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<EnumOption>,
}

fn string_type() -> FieldType {
    FieldType::String
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// `integration.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub slug: String,
    pub version: String,
    pub publisher: String,
    pub description: String,
    pub short_description: String,
    #[serde(default)]
    pub categories: Vec<String>,
    pub supported_triggers: Vec<String>,
    #[serde(default)]
    pub secrets: Vec<SecretField>,
    #[serde(default)]
    pub configuration: Vec<ConfigField>,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    #[serde(default)]
    pub network: Network,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_url: Option<String>,
}

/// Words that make a configuration name look like a secret (configuration is plain text).
const SECRET_WORDS: &[&str] = &["KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL"];

impl Manifest {
    /// Parses the file; a syntax or shape error is one `manifest_invalid` finding with its line.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, Finding> {
        serde_json::from_slice(bytes).map_err(|e| {
            let finding = Finding::error("manifest_invalid", format!("integration.json: {e}"))
                .in_file(MANIFEST_FILE);
            match u32::try_from(e.line()) {
                Ok(line) if line > 0 => finding.at_line(line),
                _ => finding,
            }
        })
    }

    /// The version, when it is `x.y.z`.
    pub fn semver(&self) -> Option<Version> {
        Version::parse(&self.version)
    }

    /// The schema's rules beyond its shape: each problem a finding naming the field.
    pub fn check(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut bad = |field: &str, message: String| {
            out.push(
                Finding::error("manifest_invalid", format!("{field}: {message}"))
                    .in_file(MANIFEST_FILE),
            )
        };
        if !valid_slug(&self.slug) {
            bad(
                "slug",
                "use 3 to 64 lowercase letters, digits and dashes, starting with a letter".into(),
            );
        }
        if self.semver().is_none() {
            bad(
                "version",
                format!("{:?} is not a version x.y.z", self.version),
            );
        }
        if !valid_slug(&self.publisher) {
            bad(
                "publisher",
                "not a publisher name (lowercase, digits, dashes)".into(),
            );
        }
        for (field, text, max) in [
            ("name", &self.name, 100),
            ("short_description", &self.short_description, 200),
            ("description", &self.description, 10_000),
        ] {
            if text.trim().is_empty() || text.chars().count() > max {
                bad(field, format!("give 1 to {max} characters"));
            }
        }
        if self.supported_triggers.is_empty() {
            bad("supported_triggers", "name at least one trigger".into());
        }
        for (i, trigger) in self.supported_triggers.iter().enumerate() {
            if !actionflow_runtime::TRIGGERS.iter().any(|t| t.id == trigger) {
                bad(
                    &format!("supported_triggers[{i}]"),
                    format!("unknown trigger {trigger:?}"),
                );
            }
        }
        let mut names = BTreeSet::new();
        for (i, s) in self.secrets.iter().enumerate() {
            let field = format!("secrets[{i}].name");
            if !valid_name(&s.name) {
                bad(&field, format!("{:?} is not ALL_CAPS_SNAKE_CASE", s.name));
            }
            if !names.insert(s.name.clone()) {
                bad(&field, format!("{:?} is declared twice", s.name));
            }
        }
        for (i, c) in self.configuration.iter().enumerate() {
            let field = format!("configuration[{i}]");
            if !valid_name(&c.name) {
                bad(
                    &format!("{field}.name"),
                    format!("{:?} is not ALL_CAPS_SNAKE_CASE", c.name),
                );
            }
            if !names.insert(c.name.clone()) {
                bad(
                    &format!("{field}.name"),
                    format!("{:?} is declared twice", c.name),
                );
            }
            if c.kind == FieldType::Enum && c.options.is_empty() {
                bad(&format!("{field}.options"), "an enum needs options".into());
            }
            if let Some(default) = &c.default_value {
                if let Err(message) = c.accepts(default) {
                    bad(&format!("{field}.default_value"), message);
                }
            }
        }
        for (i, d) in self.dependencies.iter().enumerate() {
            if Version::parse(&d.version).is_none() {
                bad(
                    &format!("dependencies[{i}].version"),
                    format!(
                        "pin {} to an exact version x.y.z, not {:?}",
                        d.name, d.version
                    ),
                );
            }
        }
        for (i, host) in self.network.hosts.iter().enumerate() {
            if !valid_host(host) {
                bad(
                    &format!("network.hosts[{i}]"),
                    format!("{host:?} is not a host name"),
                );
            }
        }
        for (field, url) in [
            ("terms_url", &self.terms_url),
            ("privacy_url", &self.privacy_url),
            ("support_url", &self.support_url),
        ] {
            if url.as_deref().is_some_and(|u| !u.starts_with("https://")) {
                bad(field, "give an https:// link".into());
            }
        }
        for (i, c) in self.configuration.iter().enumerate() {
            if looks_secret(&c.name) {
                out.push(
                    Finding::error(
                        "configuration_looks_secret",
                        format!(
                            "configuration[{i}] {:?} is named like a secret; configuration is plain \
                             text: declare it under secrets",
                            c.name
                        ),
                    )
                    .in_file(MANIFEST_FILE),
                );
            }
        }
        out
    }

    pub fn secret(&self, name: &str) -> Option<&SecretField> {
        self.secrets.iter().find(|s| s.name == name)
    }

    pub fn config(&self, name: &str) -> Option<&ConfigField> {
        self.configuration.iter().find(|c| c.name == name)
    }
}

impl ConfigField {
    /// Whether `value` (as text) is acceptable for this field's type.
    pub fn accepts(&self, value: &str) -> Result<(), String> {
        match self.kind {
            FieldType::String => Ok(()),
            FieldType::Number => value
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(|_| ())
                .ok_or_else(|| format!("{value:?} is not a number")),
            FieldType::Boolean => match value {
                "true" | "false" => Ok(()),
                _ => Err(format!("{value:?} is not true or false")),
            },
            FieldType::Url => {
                let ok = value.starts_with("https://") || value.starts_with("http://");
                if ok && value.len() > 8 {
                    Ok(())
                } else {
                    Err(format!("{value:?} is not an http(s) URL"))
                }
            }
            FieldType::Enum => {
                if self.options.iter().any(|o| o.value == value) {
                    Ok(())
                } else {
                    let allowed: Vec<&str> =
                        self.options.iter().map(|o| o.value.as_str()).collect();
                    Err(format!("{value:?} is not one of {}", allowed.join(", ")))
                }
            }
        }
    }
}

/// Lowercase letters, digits and dashes, starting with a letter, 3 to 64 long.
pub fn valid_slug(text: &str) -> bool {
    (3..=64).contains(&text.len())
        && text.starts_with(|c: char| c.is_ascii_lowercase())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// ALL_CAPS_SNAKE_CASE, starting with a letter, at most 64 long.
pub fn valid_name(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text.starts_with(|c: char| c.is_ascii_uppercase())
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

fn valid_host(text: &str) -> bool {
    let text = text.strip_prefix("*.").unwrap_or(text);
    !text.is_empty()
        && text.len() <= 253
        && text.contains('.')
        && text
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// A name whose words include KEY, SECRET, TOKEN, PASSWORD, …
pub fn looks_secret(name: &str) -> bool {
    // Whole words (`API_KEY`), and glued ones (`APIKEY`, `CLIENTSECRET`) except for KEY, which
    // too many plain words end with (MONKEY).
    name.split('_').any(|word| {
        SECRET_WORDS.contains(&word)
            || SECRET_WORDS
                .iter()
                .filter(|w| **w != "KEY")
                .any(|w| word.contains(w))
            || word.ends_with("APIKEY")
    })
}

/// Whether `host` is allowed by `patterns` (`api.example.com`, or `*.example.com` for subdomains).
pub fn host_allowed(patterns: &[String], host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    patterns.iter().any(|p| {
        let p = p.to_ascii_lowercase();
        match p.strip_prefix("*.") {
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => host == p,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_strictly_and_order_numerically() {
        assert_eq!(Version::parse("1.10.0").map(|v| v.minor), Some(10));
        assert!(Version::parse("1.2").is_none());
        assert!(Version::parse("1.2.3-beta").is_none());
        assert!(Version::parse("01.2.3").is_none());
        assert!(Version::parse("1.10.0") > Version::parse("1.9.9"));
    }

    #[test]
    fn secret_like_names_and_hosts() {
        assert!(looks_secret("API_KEY"));
        assert!(looks_secret("CLIENT_SECRET"));
        assert!(!looks_secret("MONKEY_NAME"));
        assert!(looks_secret("APIKEY"));
        assert!(looks_secret("CLIENTSECRET"));
        assert!(looks_secret("DB_PASSWORD_2"));
        assert!(host_allowed(&["*.example.com".into()], "api.example.com"));
        assert!(!host_allowed(
            &["*.example.com".into()],
            "example.com.evil.net"
        ));
        assert!(host_allowed(&["api.example.com".into()], "API.example.com"));
    }
}
