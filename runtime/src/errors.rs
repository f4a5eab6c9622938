//! Engine errors (`RuntimeError`) and the conversion of JavaScript errors into the `ActionError` an
//! outcome reports: stack frames of our bootstrap removed, the action's file shown as `action.js`, and
//! the line number of the action's own source picked out.

use crate::outcome::ActionError;
use deno_core::error::{CoreError, CoreErrorKind, JsError};
use thiserror::Error;

/// A failure of the engine itself. Anything the action does wrong is an `Outcome` instead.
#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("unknown trigger {0:?}; known triggers: {1}")]
    UnknownTrigger(String, String),
    #[error("the event must be a JSON object")]
    EventNotObject,
    #[error("the event is not valid JSON: {0}")]
    EventNotJson(String),
    #[error("could not create the startup snapshot: {0}")]
    Snapshot(String),
    #[error("could not create an isolate: {0}")]
    Isolate(String),
    #[error("could not start an isolate thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("an isolate thread stopped unexpectedly")]
    WorkerLost,
    /// The tenant already has this many executions waiting for a running place
    /// (`PoolConfig::tenant_queued_max`): a flood of one tenant is refused for that tenant only. An
    /// HTTP server answers it with 429 and `Retry-After`.
    #[error("the tenant already has {0} executions waiting for an isolate; try again shortly")]
    TenantBusy(usize),
    /// An engine running isolates in other processes could not hand the execution over or get its
    /// answer (a failure of the engine, not of the action: a crash under the action is an outcome).
    #[error("sandbox: {0}")]
    Sandbox(String),
}

pub(crate) fn action_error(name: &str, message: &str) -> ActionError {
    ActionError {
        name: name.to_owned(),
        message: message.to_owned(),
        stack: None,
        line: None,
    }
}

const ESM_ONLY: &[&str] = &[
    "Cannot use import statement outside a module",
    "Unexpected token 'export'",
    "await is only valid in async functions and the top level bodies of modules",
    "Cannot use 'import.meta' outside a module",
];

/// Whether a CommonJS compile failed on syntax only an ES module allows.
pub(crate) fn looks_like_esm(e: &JsError) -> bool {
    let text = e.message.as_deref().unwrap_or(&e.exception_message);
    ESM_ONLY.iter().any(|m| text.contains(m))
}

pub(crate) fn from_js_error(e: &JsError) -> ActionError {
    let name = e.name.clone().unwrap_or_else(|| "Error".to_owned());
    let message = e.message.clone().unwrap_or_else(|| {
        e.exception_message
            .trim_start_matches("Uncaught ")
            .to_owned()
    });
    let frame_line = e
        .frames
        .iter()
        .find(|f| f.file_name.as_deref() == Some(crate::modules::ACTION_URL))
        .and_then(|f| f.line_number)
        .and_then(|l| u32::try_from(l).ok());
    let mut error = tidy(ActionError {
        name,
        message,
        stack: e.stack.clone(),
        line: None,
    });
    error.line = error.line.or(frame_line);
    if error.stack.is_none() {
        if let Some(line) = error.line {
            error.stack = Some(format!(
                "{}: {}\n    at action.js:{line}",
                error.name, error.message
            ));
        }
    }
    error
}

pub(crate) fn from_core_error(e: &CoreError) -> ActionError {
    from_core_kind(&e.0)
}

fn from_core_kind(kind: &CoreErrorKind) -> ActionError {
    match kind {
        CoreErrorKind::CouldNotExecute { error, .. } => from_core_kind(error),
        CoreErrorKind::Js(js) => from_js_error(js),
        CoreErrorKind::PendingPromiseResolution => action_error(
            "Error",
            "the handler's promise never settled, and nothing was left pending that could settle it",
        ),
        other => {
            let text = other.to_string();
            let line = text
                .split("action.js:")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok());
            let name = if text.contains("SyntaxError") { "SyntaxError" } else { "Error" };
            let message = text.replace(crate::modules::ACTION_URL, "action.js");
            ActionError { name: name.to_owned(), message, stack: None, line }
        }
    }
}

/// Cleans a stack for the tenant: no frames of ours, `action.js` instead of its internal URL; and fills
/// `line` from the first frame in the action's own source.
pub(crate) fn tidy(mut error: ActionError) -> ActionError {
    if let Some(stack) = error.stack.take() {
        let lines: Vec<String> = stack
            .lines()
            .filter(|l| !(l.trim_start().starts_with("at ") && l.contains("ext:")))
            .map(|l| l.replace(crate::modules::ACTION_URL, "action.js"))
            .collect();
        if error.line.is_none() {
            error.line = lines.iter().find_map(|l| {
                let rest = l.split("action.js:").nth(1)?;
                rest.split(':').next()?.parse().ok()
            });
        }
        error.stack = Some(lines.join("\n"));
    }
    error
}
