//! Runs tenants' isolates in sandbox processes, so that nothing an action does — a V8 fatal error,
//! a segfault, the OOM killer — can take the server down, and so that the process running untrusted
//! JavaScript holds no database, master key, admin token or other tenant's secrets.
//!
//! This crate owns both sides: the server's [`Sandboxes`] (an [`Engine`] like the in-process
//! runtime: start, place by tenant, supervise, replace, re-run innocents) and the worker mode the
//! same binary runs in ([`serve`]: confine itself, run a runtime, answer). It knows nothing of
//! tenants' storage, HTTP, triggers or quarantine: a crash is an outcome (`crashed`), and what to do
//! about repeated ones is the caller's business.
//!
//! ```text
//! server ── Sandboxes::execute ──► Process (socket: callers write, one reader task)
//!                                    └─ `actionflow sandbox` ── Runtime ── isolate threads
//! ```

mod child;
mod group;
mod lockdown;
mod out;
mod process;
#[cfg(debug_assertions)]
mod test_ops;
pub mod wire;

pub use actionflow_runtime::Engine;
pub use child::{serve, HostModules};
pub use group::{GroupConfig, Sandboxes};
pub use lockdown::Confinement;
pub use process::Launch;
pub use wire::Init;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SandboxError {
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("the sandbox could not start: {0}")]
    Start(String),
    #[error("the sandbox could not confine itself: {0}")]
    Lockdown(String),
}

impl SandboxError {
    pub(crate) fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> SandboxError {
        move |source| SandboxError::Io { what, source }
    }
}

/// The test-only host module, when this is a debug build and `init` asks for it.
pub fn test_modules(init: &Init) -> Vec<std::sync::Arc<dyn actionflow_runtime::HostModule>> {
    #[cfg(debug_assertions)]
    if init.test_ops {
        return vec![std::sync::Arc::new(test_ops::SandboxTestModule)];
    }
    let _ = init;
    Vec::new()
}
