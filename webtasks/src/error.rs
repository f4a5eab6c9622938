//! The webtasks' errors: a user's bad input names its field; `Store`, `Runtime` and `Internal` are
//! failures of the engine, shown to users without their text.

/// Failures of webtask management, runs and cron.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value is not acceptable.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// A value is larger than allowed.
    #[error("{message}")]
    TooLarge { field: String, message: String },
    /// No such object for this tenant (or a container of another tenant).
    #[error("{what} not found")]
    NotFound { field: String, what: &'static str },
    /// The dependencies could not be resolved (the message is safe to show).
    #[error("{0}")]
    Dependencies(String),
    /// The engine has no place for the run now.
    #[error("too many executions are waiting; try again in a moment")]
    Busy,
    #[error("the store failed")]
    Store(#[source] actionflow_store::Error),
    #[error("the runtime failed")]
    Runtime(#[from] actionflow_runtime::RuntimeError),
    /// Anything else of the engine's own (a sealed value that does not open).
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Error {
        Error::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    pub fn too_large(field: &str, message: impl Into<String>) -> Error {
        Error::TooLarge {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    pub fn not_found(field: &str, what: &'static str) -> Error {
        Error::NotFound {
            field: field.to_owned(),
            what,
        }
    }

    /// The field at fault, when the error is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. }
            | Error::TooLarge { field, .. }
            | Error::NotFound { field, .. } => Some(field),
            Error::Dependencies(_) => Some("dependencies"),
            _ => None,
        }
    }
}

impl From<actionflow_store::Error> for Error {
    fn from(error: actionflow_store::Error) -> Self {
        match error {
            // A path's container, else its name, is what was not found.
            actionflow_store::Error::NotFound { what } => Error::NotFound {
                field: if what == "container" {
                    "container"
                } else {
                    "name"
                }
                .to_owned(),
                what,
            },
            other => Error::Store(other),
        }
    }
}
