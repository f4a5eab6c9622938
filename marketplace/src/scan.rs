//! The static scan of an integration's code: which `event.secrets.X` and `event.configuration.X`
//! it reads (dotted, bracketed with a string, or destructured), with their lines, and which reads
//! it makes with a computed name (those cannot be checked against the manifest).

use std::collections::BTreeMap;

/// What the code reads from one of the two objects.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reads {
    /// Name → first line (1-based) it is read on.
    pub names: BTreeMap<String, u32>,
    /// Lines reading with a computed name (`event.secrets[name]`).
    pub dynamic: Vec<u32>,
}

/// The reads of `event.<object>` in `code` (`object` is `secrets` or `configuration`).
pub fn reads(code: &str, object: &str) -> Reads {
    let mut out = Reads::default();
    let needle = format!("event.{object}");
    for (index, line) in code.lines().enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") || trimmed.starts_with('*') {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find(&needle) {
            let before = &rest[..at];
            let after = &rest[at + needle.len()..];
            // `myevent.secrets` is another object.
            let glued = before
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
            if !glued {
                read_after(after, before, number, &mut out);
            }
            rest = after;
        }
    }
    out
}

fn read_after(after: &str, before: &str, line: u32, out: &mut Reads) {
    let after_optional = after.strip_prefix("?.").map(|a| (a, true));
    let (tail, optional) = after_optional.unwrap_or((after, false));
    if let Some(tail) = tail.strip_prefix('.').or(optional.then_some(tail)) {
        let name = identifier(tail);
        if !name.is_empty() {
            out.names.entry(name.to_owned()).or_insert(line);
        }
        return;
    }
    if let Some(tail) = tail.strip_prefix('[') {
        let tail = tail.trim_start();
        let quoted = tail
            .chars()
            .next()
            .filter(|c| matches!(c, '"' | '\'' | '`'));
        if let Some(quote) = quoted {
            if let Some(end) = tail[1..].find(quote) {
                out.names.entry(tail[1..1 + end].to_owned()).or_insert(line);
                return;
            }
        }
        out.dynamic.push(line);
        return;
    }
    // `const { A, B: b } = event.secrets;`
    let before = before.trim_end();
    if let Some(pattern) = before.strip_suffix('=').map(str::trim_end) {
        if let (Some(open), true) = (pattern.rfind('{'), pattern.ends_with('}')) {
            for part in pattern[open + 1..pattern.len() - 1].split(',') {
                let key = part.split([':', '=']).next().unwrap_or("").trim();
                if !key.is_empty() && !key.starts_with("...") {
                    out.names.entry(key.to_owned()).or_insert(line);
                } else if key.starts_with("...") {
                    out.dynamic.push(line);
                }
            }
            return;
        }
    }
    // The whole object passed along or iterated: nothing to check by name.
    if !after.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
        out.dynamic.push(line);
    }
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(text.len());
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_dotted_bracketed_and_destructured_reads() {
        let code = "const a = event.secrets.API_KEY;\n\
                    // event.secrets.IN_COMMENT\n\
                    const b = event.secrets['OTHER'] + event.secrets?.OPT;\n\
                    const { X, Y: y } = event.secrets;\n\
                    const c = event.secrets[name];\n\
                    const d = myevent.secrets.NOT_OURS;\n\
                    const e = event.configuration.REGION;";
        let r = reads(code, "secrets");
        let names: Vec<_> = r.names.iter().map(|(n, l)| (n.as_str(), *l)).collect();
        assert_eq!(
            names,
            [("API_KEY", 1), ("OPT", 3), ("OTHER", 3), ("X", 4), ("Y", 4)]
        );
        assert_eq!(r.dynamic, [5]);
        assert_eq!(
            reads(code, "configuration")
                .names
                .keys()
                .collect::<Vec<_>>(),
            ["REGION"]
        );
    }
}
