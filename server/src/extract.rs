//! Request extractors that turn every malformed input into an [`ApiError`] naming the field: JSON
//! bodies (content type, size limit, unknown fields, wrong types with their path) and query strings.

use super::error::{ApiError, Code};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// A JSON body deserialized strictly (the DTOs say `deny_unknown_fields`).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if !json {
            return Err(ApiError::new(
                Code::UnsupportedMediaType,
                "content-type".to_owned(),
                "the body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large("body", "the request body is larger than the server accepts")
            } else {
                ApiError::bad_request("body", "the request body could not be read")
            }
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Deserializes `bytes`, naming the path of the offending field in the error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        describe(&path, &message, inner.is_syntax() || inner.is_eof(), "body")
    })
}

/// The query string parsed strictly into `T`.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(QueryParams)
            .map_err(|e| {
                let path = e.path().to_string();
                describe(&path, &e.into_inner().to_string(), false, "query")
            })
    }
}

/// Maps a serde message at `path` to an error naming the field.
fn describe(path: &str, message: &str, syntax: bool, whole: &str) -> ApiError {
    if syntax {
        return ApiError::bad_request(whole, format!("the {whole} is not valid JSON: {message}"));
    }
    let join = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(join)
    };
    if let Some(name) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        // The path already ends with the unknown field's name.
        let field = if path == "." || path.is_empty() {
            name.to_owned()
        } else {
            path.to_owned()
        };
        return ApiError::new(
            Code::UnknownField,
            field.clone(),
            format!("unknown field {field:?}"),
        );
    }
    if let Some(field) = quoted("missing field `") {
        return ApiError::bad_request(&field, format!("{field} is required"));
    }
    let field = if path == "." || path.is_empty() {
        whole.to_owned()
    } else {
        path.to_owned()
    };
    let message = message.split(" at line ").next().unwrap_or(message);
    ApiError::bad_request(&field, format!("{field}: {message}"))
}

/// Parses a path segment as a positive version number.
pub fn version_number(field: &str, text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        ApiError::bad_request(field, format!("{field} must be a version number (1, 2, …)"))
    })
}

/// Path parameters; a segment that cannot be decoded is a 400 naming `path`, in the API's format.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection| {
                ApiError::bad_request(
                    "path",
                    format!("the path is not valid: {}", rejection.body_text()),
                )
            })
    }
}
