//! The public error codes — one row each: name, HTTP status, the code string and when it is used —
//! and the lifecycle's [`Error`], each variant naming its code and the field at fault.
//!
//! The table lives in the lowest crate that reports to users, so every crate above it (the server,
//! the marketplace) names a code without string matching; the server turns a row into a response.

use actionflow_store::BuildError;

/// Declares [`Code`] from rows `Name = (status, "code"): "doc"`, with `status()`, `as_str()` and
/// `ALL` derived from them.
macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = ($status:literal, $text:literal)),+ $(,)?) => {
        /// Public error codes and their HTTP status.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code { $($(#[$doc])* $name),+ }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$name),+];

            /// The HTTP status the code is answered with.
            pub fn status(self) -> u16 {
                match self { $(Code::$name => $status),+ }
            }

            /// The stable string in `{"error": {"code": …}}`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$name => $text),+ }
            }
        }
    };
}

codes! {
    /// The body is not JSON, has a wrong type, misses a field, or the query is malformed.
    InvalidRequest = (400, "invalid_request"),
    /// The body has a field the endpoint does not know.
    UnknownField = (400, "unknown_field"),
    /// No token, an unknown token or a revoked one.
    Unauthorized = (401, "unauthorized"),
    /// A valid token without the needed scope or role.
    Forbidden = (403, "forbidden"),
    /// No such object for this tenant.
    NotFound = (404, "not_found"),
    /// The path exists, not with this method.
    MethodNotAllowed = (405, "method_not_allowed"),
    /// The change collides with stored state (name taken, bound action, deploy running).
    Conflict = (409, "conflict"),
    /// The server did not receive the whole request in time.
    RequestTimeout = (408, "request_timeout"),
    /// The body or one of its fields is larger than allowed.
    PayloadTooLarge = (413, "payload_too_large"),
    /// The URI is longer than the server accepts.
    UriTooLong = (414, "uri_too_long"),
    /// The body is not declared as `application/json`.
    UnsupportedMediaType = (415, "unsupported_media_type"),
    /// Well-formed but not acceptable (unknown trigger, bad name, limit reached).
    InvalidValue = (422, "invalid_value"),
    /// The draft did not build; `errors` lists why.
    BuildFailed = (422, "build_failed"),
    /// Too many test runs and deploy checks at once; try again shortly.
    TooManyRequests = (429, "too_many_requests"),
    /// The request's headers are larger than the server accepts.
    HeadersTooLarge = (431, "header_fields_too_large"),
    /// The server failed; details are in its log only.
    Internal = (500, "internal"),
}

/// Failures of the action lifecycle. A user's bad input names its field; `Store`, `Runtime` and
/// `Internal` are failures of the engine, shown to users without their text.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value is not acceptable.
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// A value is larger than allowed.
    #[error("{message}")]
    TooLarge { field: String, message: String },
    /// No such object for this tenant; `field` is the parameter that named it.
    #[error("{what} not found")]
    NotFound { field: String, what: &'static str },
    /// The change collides with stored state.
    #[error("{message}")]
    Conflict {
        field: Option<String>,
        message: String,
    },
    /// The draft did not build; `field` is `dependencies` or `code`.
    #[error("the draft did not build: {}", errors.first().map_or("", |e| e.message.as_str()))]
    BuildFailed {
        field: &'static str,
        errors: Vec<BuildError>,
    },
    /// The tenant holds its share of the places for test runs and deploy checks, or every place
    /// is taken.
    #[error("too many test runs and deploy checks are waiting; try again in a moment")]
    Busy,
    #[error("the store failed")]
    Store(#[source] actionflow_store::Error),
    #[error("the runtime failed")]
    Runtime(#[from] actionflow_runtime::RuntimeError),
    /// Anything else of the engine's own (a sealed value that does not open, a task that died).
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

    /// The code of the table this error is answered with.
    pub fn code(&self) -> Code {
        match self {
            Error::Invalid { .. } => Code::InvalidValue,
            Error::TooLarge { .. } => Code::PayloadTooLarge,
            Error::NotFound { .. } => Code::NotFound,
            Error::Conflict { .. } => Code::Conflict,
            Error::BuildFailed { .. } => Code::BuildFailed,
            Error::Busy => Code::TooManyRequests,
            Error::Store(_) | Error::Runtime(_) | Error::Internal(_) => Code::Internal,
        }
    }

    /// The request field or parameter the error is about.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. }
            | Error::TooLarge { field, .. }
            | Error::NotFound { field, .. } => Some(field),
            Error::Conflict { field, .. } => field.as_deref(),
            Error::BuildFailed { field, .. } => Some(field),
            Error::Busy | Error::Store(_) | Error::Runtime(_) | Error::Internal(_) => None,
        }
    }

    /// Replaces the field (e.g. a caller knows which parameter named a missing object).
    pub fn at(mut self, at: &str) -> Error {
        match &mut self {
            Error::Invalid { field, .. }
            | Error::TooLarge { field, .. }
            | Error::NotFound { field, .. } => *field = at.to_owned(),
            Error::Conflict { field, .. } => *field = Some(at.to_owned()),
            _ => {}
        }
        self
    }
}

/// Store errors in the lifecycle's terms; the field is the usual parameter of the object.
impl From<actionflow_store::Error> for Error {
    fn from(error: actionflow_store::Error) -> Self {
        use actionflow_store::Error as E;
        match error {
            E::NotFound { what } => Error::NotFound {
                field: default_field(what).to_owned(),
                what,
            },
            E::Conflict { what } => Error::Conflict {
                field: None,
                message: what,
            },
            E::LimitReached { .. } => Error::Invalid {
                field: "secrets".to_owned(),
                message: error.to_string(),
            },
            other => Error::Store(other),
        }
    }
}

/// The parameter that names each kind of stored object.
pub fn default_field(what: &str) -> &str {
    match what {
        "action" => "id",
        "version" => "version",
        "tenant" => "tenant_id",
        "secret" => "name",
        "token" => "token_id",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_string_and_an_error_status() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "{code:?} repeats a string");
            assert!((400..600).contains(&code.status()), "{code:?}");
        }
    }
}
