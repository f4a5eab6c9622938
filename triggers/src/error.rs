//! The crate's error type: bad input named by its field, and failures of the store or the engine.

use actionflow_runtime::RuntimeError;

/// Failures of trigger operations. Variants other than `Store`, `Runtime`, `Prepare` and
/// `InvalidPlan` are the caller's bad input and carry the field they are about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown trigger `{id}`; known triggers: {known}")]
    UnknownTrigger { id: String, known: String },
    /// The event does not match the trigger's schema; `field` is a path such as `event.user.email`.
    #[error("{field}: {message}")]
    InvalidEvent { field: String, message: String },
    #[error("a flow holds at most {max} bindings; this one would hold {count}")]
    TooManyBindings { max: usize, count: usize },
    /// The referenced action cannot be bound to this trigger (no deployed version, or its deployed
    /// version does not support the trigger).
    #[error("{field}: action `{action}` cannot be bound to {trigger}: {reason}")]
    NotBindable {
        field: String,
        action: String,
        trigger: String,
        reason: String,
    },
    #[error("{field}: no action with {kind} `{value}`")]
    UnknownAction {
        field: String,
        kind: &'static str,
        value: String,
    },
    #[error("{field}: action `{action}` is already bound to this trigger")]
    DuplicateBinding { field: String, action: String },
    #[error("{field}: action `{action}` is not bound to {trigger}")]
    NotBound {
        field: String,
        action: String,
        trigger: String,
    },
    #[error("position: {position} is past the end of the flow ({len} bindings)")]
    InvalidPosition { position: usize, len: usize },
    /// An old bindings revision breaks today's rules (an action deleted or no longer deployed for
    /// the trigger, more bindings than the limit); `reason` says which, naming the binding.
    #[error("bindings revision {number} cannot be restored: {reason}")]
    RevisionNotRestorable { number: i64, reason: String },
    /// A field of a request is empty or malformed.
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    #[error(transparent)]
    Store(#[from] actionflow_store::Error),
    #[error("the runtime failed")]
    Runtime(#[from] RuntimeError),
    /// The files or secrets of a version could not be made ready for an execution.
    #[error("cannot prepare action `{action_id}` for execution: {message}")]
    Prepare { action_id: String, message: String },
    /// A stored execution's pinned flow cannot be read.
    #[error("execution {execution_id} has an unreadable flow: {reason}")]
    InvalidPlan {
        execution_id: String,
        reason: String,
    },
}

impl Error {
    /// The request field the error is about, for API error bodies.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::UnknownTrigger { .. } => Some("trigger_id"),
            Error::InvalidEvent { field, .. }
            | Error::NotBindable { field, .. }
            | Error::UnknownAction { field, .. }
            | Error::DuplicateBinding { field, .. }
            | Error::NotBound { field, .. }
            | Error::InvalidField { field, .. } => Some(field),
            Error::TooManyBindings { .. } => Some("bindings"),
            Error::RevisionNotRestorable { .. } => Some("number"),
            Error::InvalidPosition { .. } => Some("position"),
            Error::Store(_) | Error::Runtime(_) | Error::Prepare { .. } => None,
            Error::InvalidPlan { .. } => None,
        }
    }

    /// Whether the error is the caller's bad input (as opposed to a failure of the engine).
    pub fn is_bad_input(&self) -> bool {
        !matches!(
            self,
            Error::Store(_) | Error::Runtime(_) | Error::Prepare { .. } | Error::InvalidPlan { .. }
        )
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
