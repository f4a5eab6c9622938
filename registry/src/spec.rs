//! Dependency specifications (`range`, `tag`, `npm:real@range`) and npm's version choice.

use nodejs_semver::{Range, Version};

use crate::packument::Packument;
use crate::Error;

/// What a dependency asks for.
#[derive(Debug, Clone)]
pub enum Wanted {
    /// A semver range in npm's grammar (a bare `1.2.3` is exact, `""`/`*` is any).
    Range(Range),
    /// A dist-tag such as `latest` or `next`.
    Tag(String),
}

/// A parsed dependency: the name it is installed under, the package fetched, and what version it wants.
#[derive(Debug, Clone)]
pub struct DepSpec {
    /// Directory name under `node_modules/` (differs from `package` for `npm:` aliases).
    pub alias: String,
    /// Registry package name.
    pub package: String,
    /// The spec text as written (for messages and the lockfile).
    pub text: String,
    /// The range or tag part (`^1` of `npm:real@^1`).
    pub range_text: String,
    pub wanted: Wanted,
}

impl DepSpec {
    /// Parses `name` → `spec` as found in `dependencies`.
    pub fn parse(name: &str, spec: &str) -> Result<DepSpec, Error> {
        let invalid = |reason: &str| Error::InvalidSpec {
            package: name.to_string(),
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        validate_name(name).map_err(|r| invalid(&r))?;
        let text = spec.trim();
        let (package, range_text) = match text.strip_prefix("npm:") {
            Some(aliased) => split_alias(aliased).ok_or_else(|| invalid("malformed npm: alias"))?,
            None => (name, text),
        };
        validate_name(package).map_err(|r| invalid(&r))?;
        if let Some(kind) = unsupported_kind(range_text) {
            return Err(invalid(&format!(
                "{kind} dependencies are not supported; use a registry version range"
            )));
        }
        let wanted = match Range::parse(range_text) {
            Ok(range) => Wanted::Range(range),
            Err(_) if is_tag(range_text) => Wanted::Tag(range_text.to_string()),
            Err(e) => return Err(invalid(&format!("not a semver range or dist-tag: {e}"))),
        };
        Ok(DepSpec {
            alias: name.to_string(),
            package: package.to_string(),
            text: spec.to_string(),
            range_text: range_text.to_string(),
            wanted,
        })
    }

    /// Whether an already-installed `version` satisfies this spec (a tag is satisfied only by its version).
    pub fn accepts(&self, version: &Version, packument_tag: Option<&str>) -> bool {
        match &self.wanted {
            Wanted::Range(range) => range.satisfies(version),
            Wanted::Tag(_) => {
                packument_tag.is_some_and(|v| Version::parse(v).ok().as_ref() == Some(version))
            }
        }
    }

    /// npm's choice: the tagged version for a tag; for a range, `latest` when it satisfies, otherwise the
    /// highest satisfying version. Returns the version's key in the packument.
    pub fn pick<'p>(&self, packument: &'p Packument) -> Result<&'p str, Error> {
        let no_match = || Error::NoMatchingVersion {
            package: self.package.clone(),
            range: self.text.clone(),
            latest: packument.latest().to_string(),
        };
        match &self.wanted {
            Wanted::Tag(tag) => {
                let tagged = packument.dist_tags.get(tag).ok_or_else(no_match)?;
                let (_, key) = packument
                    .versions
                    .iter()
                    .find(|(_, key)| key == tagged)
                    .ok_or_else(no_match)?;
                Ok(key)
            }
            Wanted::Range(range) => {
                pick_in_range(packument, range, &self.range_text).ok_or_else(no_match)
            }
        }
    }
}

/// npm's pick-manifest: `latest` when the range allows it (`*` allows it even as a prerelease) and it is not
/// deprecated; otherwise the highest satisfying version that is not deprecated; otherwise the highest.
fn pick_in_range<'p>(packument: &'p Packument, range: &Range, text: &str) -> Option<&'p str> {
    let any = matches!(text.trim(), "" | "*");
    let latest = packument.dist_tags.get("latest").and_then(|tagged| {
        packument
            .versions
            .iter()
            .find(|(v, key)| key == tagged && (any || range.satisfies(v)))
    });
    if let Some((_, key)) = latest.filter(|(_, key)| !packument.is_deprecated(key)) {
        return Some(key);
    }
    let mut highest = None;
    for (_, key) in packument
        .versions
        .iter()
        .rev()
        .filter(|(v, _)| range.satisfies(v))
    {
        if !packument.is_deprecated(key) {
            return Some(key);
        }
        highest.get_or_insert(key.as_str());
    }
    highest
}

fn split_alias(aliased: &str) -> Option<(&str, &str)> {
    // The name may be scoped (`@scope/x@^1`): the version separator is an `@` after the first character.
    let separator = aliased
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '@')
        .map(|(i, _)| i);
    match separator {
        Some(i) => Some((&aliased[..i], &aliased[i + 1..])),
        None if !aliased.is_empty() => Some((aliased, "")),
        None => None,
    }
}

fn unsupported_kind(spec: &str) -> Option<&'static str> {
    let prefixes = [
        ("git+", "git"),
        ("git:", "git"),
        ("github:", "GitHub"),
        ("gitlab:", "GitLab"),
        ("bitbucket:", "Bitbucket"),
        ("http:", "URL"),
        ("https:", "URL"),
        ("file:", "file"),
        ("link:", "link"),
        ("workspace:", "workspace"),
    ];
    if let Some((_, kind)) = prefixes.iter().find(|(p, _)| spec.starts_with(p)) {
        return Some(kind);
    }
    (spec.contains('/') && !spec.contains(' ')).then_some("GitHub shorthand")
}

fn is_tag(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !text.starts_with(|c: char| c.is_ascii_digit())
}

/// Refuses names that could escape a `node_modules/` directory or are not npm names at all.
pub fn validate_name(name: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("package name {name:?} {why}"));
    if name.is_empty() || name.len() > 214 {
        return bad("must have 1 to 214 characters");
    }
    let parts: Vec<&str> = name.split('/').collect();
    let ok_part = |p: &str| {
        !p.is_empty()
            && !p.starts_with('.')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.~!*'()".contains(c))
    };
    match parts.as_slice() {
        [single] if ok_part(single) => Ok(()),
        [scope, pkg] if scope.starts_with('@') && ok_part(&scope[1..]) && ok_part(pkg) => Ok(()),
        _ => bad("is not a valid npm package name"),
    }
}
