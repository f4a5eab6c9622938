//! The marketplace's errors, each naming its public code (the one table in `actionflow-actions`)
//! and the field at fault.

use actionflow_actions::Code;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value is not acceptable (a package that cannot be stored, a missing required value).
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// The caller may not do this (another publisher's name, a submission not theirs to change).
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{what} not found")]
    NotFound { field: String, what: &'static str },
    /// The change collides with the stored state (a submission in another state).
    #[error("{message}")]
    Conflict { field: String, message: String },
    /// The action lifecycle refused or failed (creating, deploying, binding an installed copy).
    #[error(transparent)]
    Lifecycle(#[from] actionflow_actions::Error),
    #[error(transparent)]
    Bindings(#[from] actionflow_triggers::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Error {
        Error::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    pub fn conflict(field: &str, message: impl Into<String>) -> Error {
        Error::Conflict {
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

    /// The code of the table this error is answered with; `None` for errors of other crates,
    /// which the embedder maps with their own rules.
    pub fn code(&self) -> Code {
        match self {
            Error::Invalid { .. } => Code::InvalidValue,
            Error::Forbidden { .. } => Code::Forbidden,
            Error::NotFound { .. } => Code::NotFound,
            Error::Conflict { .. } => Code::Conflict,
            Error::Lifecycle(e) => e.code(),
            Error::Bindings(_) => Code::InvalidValue,
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. }
            | Error::NotFound { field, .. }
            | Error::Conflict { field, .. } => Some(field),
            Error::Forbidden { .. } => Some("authorization"),
            Error::Lifecycle(e) => e.field(),
            Error::Bindings(e) => e.field(),
        }
    }
}

impl From<actionflow_store::Error> for Error {
    fn from(error: actionflow_store::Error) -> Self {
        use actionflow_store::Error as E;
        match error {
            E::NotFound { what } => Error::NotFound {
                field: match what {
                    "publisher" => "publisher",
                    "submission" => "id",
                    "installation" => "id",
                    other => other,
                }
                .to_owned(),
                what,
            },
            E::Conflict { what } => Error::Conflict {
                field: "state".to_owned(),
                message: what,
            },
            other => Error::Lifecycle(actionflow_actions::Error::from(other)),
        }
    }
}
