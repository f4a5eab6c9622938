//! Host modules: built-in modules implemented in Rust by the embedder (such as `actionflow:ses`),
//! which an action loads with `require("actionflow:…")` or `import`. The runtime only knows the seam:
//! a module's JavaScript face (evaluated in the isolate) and an async `call` run on the runtime's
//! network threads, bounded by the execution's remaining time.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;
use thiserror::Error;

/// An error a host call raises in the action, as `new Error(message)` with `name` set
/// (`MessageRejected: Email address is not verified`).
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{name}: {message}")]
pub struct HostError {
    pub name: String,
    pub message: String,
}

impl HostError {
    pub fn new(name: impl Into<String>, message: impl Into<String>) -> HostError {
        HostError {
            name: name.into(),
            message: message.into(),
        }
    }
    pub fn type_error(message: impl Into<String>) -> HostError {
        HostError::new("TypeError", message)
    }
}

/// What a host call knows about the execution that made it.
#[derive(Debug, Clone, Copy)]
pub struct HostCallContext {
    /// When the execution's time runs out; a call must give up by then.
    pub deadline: Instant,
}

pub type HostFuture = Pin<Box<dyn Future<Output = Result<serde_json::Value, HostError>> + Send>>;

/// A built-in module implemented by the embedder.
pub trait HostModule: Send + Sync {
    /// The specifier actions use, starting with `actionflow:` (`actionflow:ses`).
    fn name(&self) -> &'static str;
    /// The body of a CommonJS module evaluated in the isolate with `module`, `exports` and
    /// `call(method, args) -> Promise<result>` in scope; `call` reaches [`HostModule::call`].
    fn source(&self) -> &'static str;
    /// Named exports, for `import { x } from "actionflow:…"`.
    fn exports(&self) -> &'static [&'static str];
    /// Runs one call; `args` is what the JavaScript side passed (JSON).
    fn call(&self, method: &str, args: serde_json::Value, context: HostCallContext) -> HostFuture;
}
