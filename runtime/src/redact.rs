//! Replaces secret values with `[REDACTED]` in everything an execution reports (logs, errors).

use aho_corasick::{AhoCorasick, MatchKind};
use std::borrow::Cow;

pub const REDACTED: &str = "[REDACTED]";

/// Finds every secret value in a text, longest first, so a secret containing another is hidden whole.
/// Cloning it shares the matcher.
#[derive(Clone)]
pub(crate) struct Redactor {
    matcher: Option<AhoCorasick>,
}

impl Redactor {
    /// Each value is also matched in the forms it takes once printed inside an object (console's
    /// quoting escapes `\`, `'` and newlines) or as JSON (`JSON.stringify`, `%j`).
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Redactor {
        let mut patterns: Vec<String> = Vec::new();
        for value in values.into_iter().filter(|v| !v.is_empty()) {
            let json = serde_json::Value::from(value).to_string();
            let quoted = value
                .replace('\\', "\\\\")
                .replace('\'', "\\'")
                .replace('\n', "\\n");
            for form in [value.to_owned(), json[1..json.len() - 1].to_owned(), quoted] {
                if !patterns.contains(&form) {
                    patterns.push(form);
                }
            }
        }
        let matcher = if patterns.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .ok()
        };
        Redactor { matcher }
    }

    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match &self.matcher {
            Some(m) if m.is_match(text) => {
                Cow::Owned(m.replace_all(text, &vec![REDACTED; m.patterns_len()]))
            }
            _ => Cow::Borrowed(text),
        }
    }

    pub fn redact_in_place(&self, text: &mut String) {
        if let Cow::Owned(clean) = self.redact(text) {
            *text = clean;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_every_secret_longest_first() {
        let r = Redactor::new(["abc", "abcdef", ""]);
        assert_eq!(r.redact("x abcdef y abc z"), "x [REDACTED] y [REDACTED] z");
        assert_eq!(r.redact("nothing here"), "nothing here");
        assert_eq!(Redactor::new([]).redact("abc"), "abc");
    }

    #[test]
    fn hides_the_escaped_forms_too() {
        let pem = "-----BEGIN KEY-----\nab\"c'd\\e\n-----END KEY-----";
        let r = Redactor::new([pem]);
        let json = serde_json::Value::from(pem).to_string();
        assert_eq!(r.redact(&json), "\"[REDACTED]\"");
        let quoted = pem
            .replace('\\', "\\\\")
            .replace('\'', "\\'")
            .replace('\n', "\\n");
        assert_eq!(
            r.redact(&format!("{{ k: '{quoted}' }}")),
            "{ k: '[REDACTED]' }"
        );
    }
}
