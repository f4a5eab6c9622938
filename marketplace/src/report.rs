//! The check report: one [`Finding`] per problem, `{code, severity, message, file, line}`. Errors
//! block a submission; warnings go to the reviewer, who acknowledges them by approving.

use serde::{Deserialize, Serialize};

/// How much a finding weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in a package, with where it is when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// A stable code (`secret_not_declared`, `path_traversal`, …).
    pub code: String,
    pub severity: Severity,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

impl Finding {
    pub fn error(code: &str, message: impl Into<String>) -> Finding {
        Finding {
            code: code.to_owned(),
            severity: Severity::Error,
            message: message.into(),
            file: None,
            line: None,
        }
    }

    pub fn warning(code: &str, message: impl Into<String>) -> Finding {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(code, message)
        }
    }

    pub fn in_file(mut self, file: &str) -> Finding {
        self.file = Some(file.to_owned());
        self
    }

    pub fn at_line(mut self, line: u32) -> Finding {
        self.line = Some(line);
        self
    }
}

/// Every finding of one check run, errors first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    pub fn extend(&mut self, findings: impl IntoIterator<Item = Finding>) {
        self.findings.extend(findings);
    }

    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    pub fn has(&self, code: &str) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }

    /// Errors first, then by file and line, keeping the order of equal ones.
    pub fn sorted(mut self) -> Report {
        self.findings
            .sort_by_key(|f| (f.severity != Severity::Error, f.file.clone(), f.line));
        self
    }

    /// One line per finding: `error secret_not_declared integration.action.js:12: …`.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let severity = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let place = match (&f.file, f.line) {
                (Some(file), Some(line)) => format!(" {file}:{line}:"),
                (Some(file), None) => format!(" {file}:"),
                _ => String::new(),
            };
            out.push_str(&format!("{severity} {}{place} {}\n", f.code, f.message));
        }
        out
    }
}
