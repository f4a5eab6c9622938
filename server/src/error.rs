//! The API's one error type over the one table of public codes (`actionflow_actions::Code`, a row
//! per code). Every error answers `{"error": {"code", "message", "field"}}` with the status of its
//! code; a 5xx carries a generic message only, the cause goes to the log (Meilisearch's error
//! table, axum's error-handling example). Domain errors convert with `?`, each naming its code.

pub use actionflow_actions::Code;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// One reason a build failed, with the 1-based line of the action's code when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BuildErrorBody {
    pub message: String,
    pub line: Option<u32>,
}

/// The error object inside every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code from the table in `error.rs` (`not_found`, `invalid_value`, …).
    pub code: &'static str,
    pub message: String,
    /// The field, parameter or header at fault (`name`, `secrets[2].value`, `authorization`).
    pub field: Option<String>,
    /// With `build_failed`: each build error.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<BuildErrorBody>,
}

/// Every error response: `{"error": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// An API error: a code, a message for the user, the field at fault.
#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub field: Option<String>,
    pub errors: Vec<BuildErrorBody>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: Code, field: impl Into<Option<String>>, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            field: field.into(),
            errors: Vec::new(),
        }
    }

    /// 422 for a field whose value is not acceptable.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(Code::InvalidValue, field.to_owned(), message)
    }

    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        Self::new(Code::InvalidRequest, field.to_owned(), message)
    }

    pub fn not_found(field: &str, what: &str) -> Self {
        Self::new(
            Code::NotFound,
            field.to_owned(),
            format!("{what} not found"),
        )
    }

    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        Self::new(Code::Conflict, field.to_owned(), message)
    }

    pub fn too_large(field: &str, message: impl Into<String>) -> Self {
        Self::new(Code::PayloadTooLarge, field.to_owned(), message)
    }

    /// A failure of the server itself: logged here with its cause, answered without it.
    pub fn internal(error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        Self::new(
            Code::Internal,
            None,
            "internal error; the server log has the details",
        )
    }

    /// Replaces the field (e.g. a handler knows the path parameter a 404 is about).
    pub fn field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }
}

impl From<actionflow_actions::Error> for ApiError {
    fn from(error: actionflow_actions::Error) -> Self {
        use actionflow_actions::Error as E;
        let code = error.code();
        if code == Code::Internal {
            let source = std::error::Error::source(&error).map(ToString::to_string);
            return ApiError::internal(&format!("{error}: {source:?}"));
        }
        let field = error.field().map(str::to_owned);
        let mut api = ApiError::new(code, field, error.to_string());
        if let E::BuildFailed { errors, .. } = error {
            api.errors = errors
                .into_iter()
                .map(|e| BuildErrorBody {
                    message: e.message,
                    line: e.line,
                })
                .collect();
        }
        api
    }
}

impl From<actionflow_store::Error> for ApiError {
    fn from(error: actionflow_store::Error) -> Self {
        ApiError::from(actionflow_actions::Error::from(error))
    }
}

impl From<actionflow_triggers::Error> for ApiError {
    fn from(error: actionflow_triggers::Error) -> Self {
        use actionflow_triggers::Error as E;
        let code = match &error {
            E::UnknownTrigger { .. } | E::NotBound { .. } => Code::NotFound,
            E::RevisionNotRestorable { .. } => Code::Conflict,
            E::Store(_) => Code::Internal,
            E::Runtime(_) | E::Prepare { .. } | E::InvalidPlan { .. } => Code::Internal,
            E::InvalidEvent { .. }
            | E::TooManyBindings { .. }
            | E::NotBindable { .. }
            | E::UnknownAction { .. }
            | E::DuplicateBinding { .. }
            | E::InvalidPosition { .. }
            | E::InvalidField { .. } => Code::InvalidValue,
        };
        match error {
            E::Store(store) => ApiError::from(store),
            E::Runtime(_) | E::Prepare { .. } | E::InvalidPlan { .. } => ApiError::internal(&error),
            other => ApiError::new(code, other.field().map(str::to_owned), other.to_string()),
        }
    }
}

/// Marks a response that is not the API's own (an extension's answer): never rewritten.
#[derive(Debug, Clone, Copy)]
pub struct PassThrough;

/// Gives an error answered by a layer rather than a handler (a body limit, a timeout, a method not
/// allowed) the API's JSON shape, with the code its status has in the table.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // An extension's own answer (a raw-model 403 with an empty body) is passed as it is.
    if response.extensions().get::<PassThrough>().is_some() {
        return response;
    }
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return response;
    }
    let code = Code::ALL
        .iter()
        .copied()
        .find(|c| c.status() == status.as_u16())
        .unwrap_or(if status.is_server_error() {
            Code::Internal
        } else {
            Code::InvalidRequest
        });
    let reason = status.canonical_reason().unwrap_or("error").to_lowercase();
    ApiError::new(code, None, format!("the request was refused: {reason}")).into_response()
}

impl From<actionflow_logs::Error> for ApiError {
    fn from(error: actionflow_logs::Error) -> Self {
        use actionflow_logs::Error as E;
        match error {
            E::Invalid { field, message } => ApiError::new(Code::InvalidValue, field, message),
            E::Store(actionflow_store::Error::NotFound { what }) => ApiError::not_found("id", what),
            E::Store(error) => ApiError::from(error),
            E::Seal(_) => ApiError::internal(&error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str(),
                message: self.message,
                field: self.field,
                errors: self.errors,
            },
        };
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if self.code == Code::TooManyRequests {
            // Places free as runs end: a second is the usual wait.
            let retry = [(axum::http::header::RETRY_AFTER, "1")];
            return (status, retry, Json(body)).into_response();
        }
        (status, Json(body)).into_response()
    }
}
