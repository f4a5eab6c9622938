//! Abbreviated packuments (`application/vnd.npm.install-v1+json`) and the manifest of one version.
//!
//! Only the version list and dist-tags are decoded up front; a version's manifest is decoded when it is
//! picked, so a packument with thousands of versions costs little.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use nodejs_semver::Version;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::Error;

/// A decoded packument: the versions (sorted ascending), dist-tags, and each version's raw manifest.
#[derive(Debug)]
pub struct Packument {
    /// Package name as requested.
    pub name: String,
    /// `dist-tags`, e.g. `latest -> 4.17.21`.
    pub dist_tags: BTreeMap<String, String>,
    /// Parseable versions, ascending. Versions that are not valid semver are left out (npm ignores them too).
    /// Each paired with its key in `versions` (the text may differ from the parsed form, e.g. a `v` prefix).
    pub versions: Vec<(Version, String)>,
    /// The packument text; each version's manifest is a byte range of it (no copy per version).
    body: String,
    manifests: HashMap<String, Range<usize>>,
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(rename = "dist-tags", default)]
    dist_tags: BTreeMap<String, serde_json::Value>,
    #[serde(default, borrow)]
    versions: BTreeMap<Cow<'a, str>, &'a RawValue>,
}

/// One version's manifest, as far as installation needs it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub version: String,
    #[serde(default, deserialize_with = "string_map")]
    pub dependencies: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "string_map")]
    pub optional_dependencies: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "string_map")]
    pub peer_dependencies: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "peer_meta_map")]
    pub peer_dependencies_meta: BTreeMap<String, PeerMeta>,
    /// `bundleDependencies` (or `bundledDependencies`): names shipped inside the tarball, or `true` for all.
    #[serde(default, alias = "bundledDependencies")]
    pub bundle_dependencies: Option<serde_json::Value>,
    #[serde(default)]
    pub os: Option<serde_json::Value>,
    #[serde(default)]
    pub cpu: Option<serde_json::Value>,
    pub dist: Dist,
}

/// `peerDependenciesMeta.<name>`.
#[derive(Debug, Clone, Default)]
pub struct PeerMeta {
    pub optional: bool,
}

/// `dist` of a version.
#[derive(Debug, Clone, Deserialize)]
pub struct Dist {
    pub tarball: String,
    #[serde(default)]
    pub integrity: Option<String>,
    #[serde(default)]
    pub shasum: Option<String>,
    #[serde(rename = "unpackedSize", default)]
    pub unpacked_size: Option<u64>,
}

impl Packument {
    /// Decodes packument JSON for `name`.
    pub fn parse(name: &str, body: &[u8]) -> Result<Packument, Error> {
        let invalid = |message: String| Error::InvalidPackument {
            package: name.to_string(),
            message,
        };
        let body = std::str::from_utf8(body)
            .map_err(|e| invalid(e.to_string()))?
            .to_string();
        let wire: Wire<'_> = serde_json::from_str(&body).map_err(|e| invalid(e.to_string()))?;
        let start = body.as_ptr() as usize;
        let mut versions = Vec::with_capacity(wire.versions.len());
        let mut manifests = HashMap::with_capacity(wire.versions.len());
        for (key, raw) in &wire.versions {
            // `raw` borrows from `body`: its position there is the manifest's range.
            let offset = raw.get().as_ptr() as usize - start;
            manifests.insert(key.to_string(), offset..offset + raw.get().len());
            if let Ok(parsed) = Version::parse(key) {
                versions.push((parsed, key.to_string()));
            }
        }
        versions.sort_by(|a, b| a.0.cmp(&b.0));
        let dist_tags = wire
            .dist_tags
            .into_iter()
            .filter_map(|(tag, v)| v.as_str().map(|v| (tag, v.to_string())))
            .collect();
        Ok(Packument {
            name: name.to_string(),
            dist_tags,
            versions,
            body,
            manifests,
        })
    }

    fn raw_manifest(&self, version: &str) -> Option<&str> {
        self.manifests
            .get(version)
            .and_then(|range| self.body.get(range.clone()))
    }

    /// The manifest of `version` (a key of `versions`).
    pub fn manifest(&self, version: &str) -> Result<Manifest, Error> {
        let raw = self
            .raw_manifest(version)
            .ok_or_else(|| Error::InvalidPackument {
                package: self.name.clone(),
                message: format!("version {version} is listed but has no manifest"),
            })?;
        serde_json::from_str(raw).map_err(|e| Error::InvalidPackument {
            package: format!("{}@{version}", self.name),
            message: e.to_string(),
        })
    }

    /// Whether `version` is deprecated (a non-empty `deprecated` message; npm avoids such versions).
    pub fn is_deprecated(&self, version: &str) -> bool {
        #[derive(Deserialize)]
        struct Deprecation {
            #[serde(default)]
            deprecated: serde_json::Value,
        }
        let Some(raw) = self.raw_manifest(version) else {
            return false;
        };
        match serde_json::from_str::<Deprecation>(raw).map(|d| d.deprecated) {
            Ok(serde_json::Value::String(message)) => !message.is_empty(),
            Ok(serde_json::Value::Bool(flag)) => flag,
            _ => false,
        }
    }

    /// The `latest` dist-tag, or "none" (for messages).
    pub fn latest(&self) -> &str {
        self.dist_tags.get("latest").map_or("none", String::as_str)
    }
}

impl Manifest {
    /// Dependencies to resolve, `(name, spec, optional)` by name: optional ones override regular ones of the
    /// same name (as in npm) and bundled ones are left out (their files come inside the tarball).
    pub fn dependencies_to_resolve(&self) -> Vec<(&String, &String, bool)> {
        let bundled: Vec<&str> = match &self.bundle_dependencies {
            Some(serde_json::Value::Array(names)) => {
                names.iter().filter_map(|n| n.as_str()).collect()
            }
            Some(serde_json::Value::Bool(true)) => {
                self.dependencies.keys().map(String::as_str).collect()
            }
            _ => Vec::new(),
        };
        let mut all: BTreeMap<&String, (&String, bool)> = BTreeMap::new();
        for (name, spec) in &self.dependencies {
            all.insert(name, (spec, false));
        }
        for (name, spec) in &self.optional_dependencies {
            all.insert(name, (spec, true));
        }
        all.into_iter()
            .filter(|(name, _)| !bundled.contains(&name.as_str()))
            .map(|(name, (spec, optional))| (name, spec, optional))
            .collect()
    }

    /// Whether `os` / `cpu` allow this machine (npm's rules: `!x` excludes, a plain list includes).
    pub fn supports_platform(&self) -> bool {
        let os = match std::env::consts::OS {
            "macos" => "darwin",
            "windows" => "win32",
            other => other,
        };
        let cpu = match std::env::consts::ARCH {
            "x86_64" => "x64",
            "aarch64" => "arm64",
            "x86" => "ia32",
            other => other,
        };
        allows(self.os.as_ref(), os) && allows(self.cpu.as_ref(), cpu)
    }
}

fn allows(list: Option<&serde_json::Value>, current: &str) -> bool {
    let items: Vec<&str> = match list {
        Some(serde_json::Value::Array(items)) => items.iter().filter_map(|v| v.as_str()).collect(),
        Some(serde_json::Value::String(one)) => vec![one.as_str()],
        _ => return true,
    };
    if items.is_empty() {
        return true;
    }
    if items.iter().any(|i| i.strip_prefix('!') == Some(current)) {
        return false;
    }
    let includes: Vec<&&str> = items.iter().filter(|i| !i.starts_with('!')).collect();
    includes.is_empty() || includes.iter().any(|i| **i == current)
}

/// Old manifests sometimes hold `[]`, `null` or non-string values in dependency maps; npm ignores those.
fn string_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    let serde_json::Value::Object(map) = value else {
        return Ok(BTreeMap::new());
    };
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_string())))
        .collect())
}

fn peer_meta_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, PeerMeta>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    let serde_json::Value::Object(map) = value else {
        return Ok(BTreeMap::new());
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let optional = v
                .get("optional")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false);
            (k, PeerMeta { optional })
        })
        .collect())
}
