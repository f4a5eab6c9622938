//! `actionflow-triggers` owns what happens when the host platform says "a user logged in": the trigger
//! catalog with each trigger's event schema, the rules of ordered bindings and their edits, the sync
//! flow runner, and the durable async delivery (workers over the store's queue, retention).
//!
//! It computes over the store and calls the engine through the [`Executor`] seam
//! ([`RuntimeExecutor`] over the V8 runtime in production). It knows nothing of HTTP, configuration
//! files, npm or cryptography: packages and decrypted secrets arrive through [`VersionResources`].
//!
//! ```text
//! dispatch ─► validate event ─► current flow ─┬─ sync:  flow::run ─► FlowReport
//!             (cached while its stamp holds)   └─ async: insert_execution (plan pinned) ─► Worker
//! Worker: claim_due ─► flow::run (event.execution = {id, attempt}) ─► complete | fail_attempt
//! ```

pub mod bindings;
pub mod catalog;
mod dispatch;
mod error;
mod executor;
pub mod flow;
pub mod flow_cache;
mod idempotency;
mod kept;
mod logs;
mod quarantine;
pub mod retention;
mod sync_records;
mod tenant_limits;
#[cfg(feature = "test-support")]
pub mod test_support;
pub mod worker;

pub use bindings::rules::{
    unsafe_char, unsafe_char_message, ActionRef, BindingRequest, RefKind, BINDINGS_PER_TRIGGER_MAX,
    DISPLAY_NAME_CHARS_MAX,
};
pub use catalog::{catalog, find, TriggerSpec};
pub use dispatch::{DispatchSettings, Dispatched, Dispatcher, ATTEMPTS_MAX};
pub use error::{Error, Result};
pub use executor::{
    ActionCall, Executor, Prepared, RuntimeExecutor, VersionResources, WithoutResources,
};
pub use flow::{
    ActionResult, FlowError, FlowReport, FlowStatus, PlannedStep, ResultStatus, FLOW_MS_MAX,
};
pub use idempotency::{KeySource, IDEMPOTENCY_KEY_CHARS_MAX};
pub use logs::{LiveLog, LogHub, LIVE_LINES_BUFFERED_MAX};
pub use quarantine::{quarantined, Quarantines, QUARANTINE_TTL};
pub use sync_records::{SyncRecords, FLUSH_INTERVAL, SYNC_RECORDS_QUEUED_MAX};
pub use tenant_limits::{TenantLimits, TENANT_LIMITS_TTL};
pub use worker::backoff::Backoff;
pub use worker::{AttemptObserver, Worker, WorkerSettings};
