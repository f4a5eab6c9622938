//! The marketplace's HTTP API over `actionflow_marketplace`: publishers (admin), submissions
//! (publishers' tokens with `integrations:submit`), review (`marketplace:review`), the catalog
//! (every tenant) and installed copies (`actions:write`, and `bindings:write` to bind).

mod dto;
mod installed;
mod submissions;

use super::error::ApiError;
use super::AppState;
use axum::extract::DefaultBodyLimit;
use utoipa_axum::router::OpenApiRouter;

/// Submitting a package: its base64 within the package limit, with room for the JSON around it.
fn submit_body_bytes_max(package_bytes_max: usize) -> usize {
    package_bytes_max / 3 * 4 + 4096
}

pub fn router(package_bytes_max: usize) -> OpenApiRouter<AppState> {
    let submit = OpenApiRouter::new()
        .routes(utoipa_axum::routes!(
            submissions::submit,
            submissions::list_submissions
        ))
        .layer(DefaultBodyLimit::max(submit_body_bytes_max(
            package_bytes_max,
        )));
    OpenApiRouter::new()
        .merge(submit)
        .merge(submissions::router())
        .merge(installed::router())
}

impl From<actionflow_marketplace::Error> for ApiError {
    fn from(error: actionflow_marketplace::Error) -> Self {
        use actionflow_marketplace::Error as E;
        match error {
            E::Lifecycle(e) => ApiError::from(e),
            E::Bindings(e) => ApiError::from(e),
            other => ApiError::new(
                other.code(),
                other.field().map(str::to_owned),
                other.to_string(),
            ),
        }
    }
}
