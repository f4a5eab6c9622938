//! The API's one error type and its table of public codes. Every error answers
//! `{"error": {"code", "message", "field"}}` with the status of its code; a 5xx carries a generic
//! message only, the cause goes to the log (Meilisearch's error table, axum's error-handling example).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// Public error codes and their HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 400: the body is not JSON, has a wrong type, misses a field, or the query is malformed.
    InvalidRequest,
    /// 400: the body has a field the endpoint does not know.
    UnknownField,
    /// 401: no token, an unknown token or a revoked one.
    Unauthorized,
    /// 403: a valid token without the needed scope or role.
    Forbidden,
    /// 404: no such object for this tenant.
    NotFound,
    /// 405: the path exists, not with this method.
    MethodNotAllowed,
    /// 409: the change collides with stored state (name taken, bound action, deploy running).
    Conflict,
    /// 413: the body or one of its fields is larger than allowed.
    PayloadTooLarge,
    /// 415: the body is not declared as `application/json`.
    UnsupportedMediaType,
    /// 422: well-formed but not acceptable (unknown trigger, bad name, limit reached).
    InvalidValue,
    /// 422: the draft did not build; `errors` lists why.
    BuildFailed,
    /// 429: too many test runs and deploy checks at once; try again shortly.
    TooManyRequests,
    /// 500: the server failed; details are in its log only.
    Internal,
}

impl Code {
    pub fn status(self) -> StatusCode {
        match self {
            Code::InvalidRequest | Code::UnknownField => StatusCode::BAD_REQUEST,
            Code::Unauthorized => StatusCode::UNAUTHORIZED,
            Code::Forbidden => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Code::Conflict => StatusCode::CONFLICT,
            Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::InvalidValue | Code::BuildFailed => StatusCode::UNPROCESSABLE_ENTITY,
            Code::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidRequest => "invalid_request",
            Code::UnknownField => "unknown_field",
            Code::Unauthorized => "unauthorized",
            Code::Forbidden => "forbidden",
            Code::NotFound => "not_found",
            Code::MethodNotAllowed => "method_not_allowed",
            Code::Conflict => "conflict",
            Code::PayloadTooLarge => "payload_too_large",
            Code::UnsupportedMediaType => "unsupported_media_type",
            Code::InvalidValue => "invalid_value",
            Code::BuildFailed => "build_failed",
            Code::TooManyRequests => "too_many_requests",
            Code::Internal => "internal",
        }
    }
}

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

    /// 429 when every place for test runs and deploy checks is taken.
    pub fn too_many_requests() -> Self {
        let message = "too many test runs and deploy checks are waiting; try again in a moment";
        ApiError::new(Code::TooManyRequests, None, message)
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

impl From<actionflow_store::Error> for ApiError {
    fn from(error: actionflow_store::Error) -> Self {
        use actionflow_store::Error as E;
        match &error {
            E::NotFound { what } => {
                let field = match *what {
                    "action" => "id",
                    "version" => "version",
                    "tenant" => "tenant_id",
                    "secret" => "name",
                    "token" => "token_id",
                    other => other,
                };
                ApiError::not_found(field, what)
            }
            E::Conflict { what } => ApiError::new(Code::Conflict, None, what.clone()),
            E::LimitReached { .. } => ApiError::new(Code::InvalidValue, None, error.to_string()),
            _ => ApiError::internal(&format!("{error}: {:?}", std::error::Error::source(&error))),
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
        (self.code.status(), Json(body)).into_response()
    }
}
