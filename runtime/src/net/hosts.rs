//! The hosts an isolate's code may reach once it has narrowed its network (`actionflow:network`): an
//! installed marketplace integration declares them (`network.hosts`), and every way out — `fetch`
//! and its redirects, Node's sockets — is held to them, on top of the address policy.

use thiserror::Error;

/// `api.example.com` (that name) or `*.example.com` (any name below it, not the name itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostList {
    patterns: Vec<String>,
}

#[derive(Debug, Error)]
pub(crate) enum HostListError {
    #[error("network.restrict: {0:?} is not a host name or a `*.` pattern")]
    Invalid(String),
    #[error("network.restrict: this code's network is already restricted to other hosts")]
    AlreadyRestricted,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

impl HostList {
    pub fn parse(patterns: &[String]) -> Result<HostList, HostListError> {
        let mut out = Vec::with_capacity(patterns.len());
        for pattern in patterns {
            let lower = pattern.trim().to_ascii_lowercase();
            let name = lower.strip_prefix("*.").unwrap_or(&lower);
            if !valid_name(name) {
                return Err(HostListError::Invalid(pattern.clone()));
            }
            out.push(lower);
        }
        out.sort();
        out.dedup();
        Ok(HostList { patterns: out })
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether `host` (a name or an IP literal, as in a URL) may be reached.
    pub fn allows(&self, host: &str) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        self.patterns.iter().any(|p| match p.strip_prefix('*') {
            Some(suffix) => host.len() > suffix.len() && host.ends_with(suffix),
            None => host == *p,
        })
    }
}

/// The restriction in force after a request to restrict to `wanted` when `current` holds: set once;
/// asking again for the same hosts is harmless, for others refused (never widened).
pub(crate) fn restrict(
    current: Option<&HostList>,
    wanted: HostList,
) -> Result<HostList, HostListError> {
    match current {
        None => Ok(wanted),
        Some(current) if *current == wanted => Ok(wanted),
        Some(_) => Err(HostListError::AlreadyRestricted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(p: &[&str]) -> HostList {
        HostList::parse(&p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn names_and_wildcards() {
        let l = list(&["API.example.com", "*.slack.com", "127.0.0.1"]);
        assert!(l.allows("api.example.com"));
        assert!(l.allows("api.example.com."));
        assert!(l.allows("hooks.slack.com"));
        assert!(l.allows("127.0.0.1"));
        assert!(!l.allows("slack.com"));
        assert!(!l.allows("evilslack.com"));
        assert!(!l.allows("example.com"));
        assert!(!l.allows("api.example.com.evil.net"));
        assert!(!list(&[]).allows("example.com"));
    }

    #[test]
    fn bad_patterns_and_widening_are_refused() {
        for bad in [
            "",
            "*",
            "a..b",
            "*.",
            "exa mple.com",
            "http://x.com",
            "x.com:443",
        ] {
            assert!(HostList::parse(&[bad.to_owned()]).is_err(), "{bad}");
        }
        let a = list(&["a.com"]);
        assert!(restrict(None, a.clone()).is_ok());
        assert!(restrict(Some(&a), a.clone()).is_ok());
        assert!(restrict(Some(&a), list(&["a.com", "b.com"])).is_err());
    }
}
