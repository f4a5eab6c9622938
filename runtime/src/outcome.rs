//! What an execution produced: the ordered `api` calls, the captured console, how it ended. A user's
//! action throwing, timing out or running out of memory is an `Outcome`, never an engine `Err`.

use serde::{Deserialize, Serialize};

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Completed,
    Threw,
    TimedOut,
    /// Stopped for using more CPU time than `Limits::cpu_ms_max` (waiting costs wall time only).
    CpuLimit,
    OutOfMemory,
    /// The code could not be loaded: too large, a syntax error, a throw at load time, or no handler.
    InvalidCode,
    /// The process running the execution ended under it (a V8 fatal error, a segfault, the OOM
    /// killer, a kill from outside), or the version is quarantined for doing so. Only an engine that
    /// runs isolates in sandbox processes reports it; an in-process one would have gone down too.
    Crashed,
}

impl Status {
    pub fn is_success(self) -> bool {
        self == Status::Completed
    }
}

/// An error raised by (or about) the action. `line` is 1-based in the action's own source when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionError {
    pub name: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// One call the action made on `api`, e.g. `{"method": "access.deny", "args": ["blocked"]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiCall {
    pub method: String,
    pub args: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Log,
    Info,
    Warn,
    Error,
    Debug,
}

impl LogLevel {
    pub(crate) fn from_code(code: u32) -> LogLevel {
        match code {
            1 => LogLevel::Info,
            2 => LogLevel::Warn,
            3 => LogLevel::Error,
            4 => LogLevel::Debug,
            _ => LogLevel::Log,
        }
    }
}

/// One captured console line, `at_ms` after the execution started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
    pub at_ms: u64,
}

/// The result of one execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ActionError>,
    pub api_calls: Vec<ApiCall>,
    pub logs: Vec<LogLine>,
    /// Lines not kept because the execution passed its log limits.
    #[serde(default)]
    pub logs_dropped: u64,
    pub duration_ms: f64,
    /// Whether this execution created its isolate (the slow path) instead of reusing a warm one.
    #[serde(default)]
    pub cold_start: bool,
}

/// NUL characters become U+FFFD: an outcome is stored as text (PostgreSQL refuses NUL in `text` and
/// `jsonb`), and one action's `console.log("\0")` must not make its results unstorable.
pub(crate) fn without_nul(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    }
}

fn json_without_nul(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => *s = without_nul(std::mem::take(s)),
        serde_json::Value::Array(items) => items.iter_mut().for_each(json_without_nul),
        serde_json::Value::Object(map) => {
            let keys: Vec<String> = map.keys().filter(|k| k.contains('\0')).cloned().collect();
            for key in keys {
                if let Some(v) = map.remove(&key) {
                    map.insert(without_nul(key), v);
                }
            }
            map.values_mut().for_each(json_without_nul);
        }
        _ => {}
    }
}

impl Outcome {
    /// Replaces NUL characters everywhere the action could put them (see `without_nul`).
    pub(crate) fn strip_nul(&mut self) {
        if let Some(e) = &mut self.error {
            e.name = without_nul(std::mem::take(&mut e.name));
            e.message = without_nul(std::mem::take(&mut e.message));
            e.stack = e.stack.take().map(without_nul);
        }
        for call in &mut self.api_calls {
            call.args.iter_mut().for_each(json_without_nul);
        }
    }

    /// Whether nothing after this execution runs in its flow: it did not complete, or denied access.
    pub fn ends_chain(&self) -> bool {
        self.status != Status::Completed
            || self
                .api_calls
                .iter()
                .any(|c| c.method == crate::effects::DENY)
    }

    /// Records how the execution failed.
    pub(crate) fn fail(&mut self, (status, error): (Status, ActionError)) {
        self.status = status;
        self.error = Some(error);
    }

    /// An outcome with no output: how an engine reports an execution it could not run to its end.
    pub fn empty(status: Status) -> Outcome {
        Outcome {
            status,
            error: None,
            api_calls: Vec::new(),
            logs: Vec::new(),
            logs_dropped: 0,
            duration_ms: 0.0,
            cold_start: false,
        }
    }
}
