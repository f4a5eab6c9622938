//! Why a `sendEmail` call failed, and how each failure reaches the action: as a JavaScript error whose
//! `name` is SES's error code (`MessageRejected`) or a TypeError for bad arguments. No variant ever holds
//! the secret access key.

use actionflow_runtime::HostError;
use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum SesError {
    /// The action passed a bad argument (checked before any request is made).
    #[error("actionflow:ses {call}: `{field}` {problem}")]
    InvalidArgument {
        call: &'static str,
        field: String,
        problem: String,
    },
    /// SES (or the server at the endpoint) refused the request: `code` is its error code.
    #[error("{code}: {message}")]
    Service { code: String, message: String },
    /// SES did not accept the access key or its secret.
    #[error("{code}: SES did not accept the credentials of access key {key}: {message}")]
    Credentials {
        code: String,
        key: String,
        message: String,
    },
    /// No answer could be had from the endpoint (refused connection, DNS, TLS).
    #[error("NetworkError: cannot reach SES at {endpoint}: {cause}")]
    Unreachable { endpoint: String, cause: String },
    /// The action's remaining time ran out before SES answered.
    #[error("TimeoutError: SES did not answer within the action's remaining time ({ms} ms)")]
    Timeout { ms: u128 },
}

impl From<SesError> for HostError {
    fn from(error: SesError) -> HostError {
        match error {
            SesError::InvalidArgument { .. } => HostError::type_error(error.to_string()),
            SesError::Service { code, message } => HostError::new(code, message),
            SesError::Credentials { code, key, message } => HostError::new(
                code,
                format!("SES did not accept the credentials of access key {key}: {message}"),
            ),
            SesError::Unreachable { endpoint, cause } => HostError::new(
                "NetworkError",
                format!("cannot reach SES at {endpoint}: {cause}"),
            ),
            SesError::Timeout { ms } => HostError::new(
                "TimeoutError",
                format!("SES did not answer within the action's remaining time ({ms} ms)"),
            ),
        }
    }
}
