//! The crate's error type: a user's bad input names its field; the store's failures pass through.

/// Failures of the log domain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value the user gave is not acceptable; `field` names it (`events[3].type`).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The store failed, or the object does not exist or is the tenant's own conflict.
    #[error(transparent)]
    Store(#[from] actionflow_store::Error),
    /// A stream secret could not be sealed or opened (wrong master key, tampered row).
    #[error("a log stream secret cannot be {0}")]
    Seal(&'static str),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
