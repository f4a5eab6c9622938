//! Webtasks over HTTP: the run route `/run/{container}/{name}[/path]` (`run.rs`), the Extend
//! management shapes `/api/webtask/…` with storage (`manage.rs`), `/api/cron/…` (`cron.rs`) and
//! the containers' live console `/api/logs/tenant/{container}` (`logs.rs`). Handlers extract,
//! check the scope, call `actionflow_webtasks` and map to DTOs; answers are bare JSON arrays and
//! objects where Extend's are, errors the API's one shape.

mod cron;
mod logs;
mod manage;
mod run;

use super::error::{ApiError, Code};
use super::AppState;
use axum::extract::DefaultBodyLimit;
use utoipa_axum::router::OpenApiRouter;

pub fn router(webtasks: &actionflow_webtasks::Webtasks) -> OpenApiRouter<AppState> {
    let limits = webtasks.limits();
    // A storage document travels as JSON text inside JSON: room for escaping.
    let storage_body = limits.storage_bytes_max * 2 + 4096;
    OpenApiRouter::new()
        .merge(run::router().layer(DefaultBodyLimit::max(limits.request_bytes_max)))
        .merge(manage::router())
        .merge(manage::storage_router().layer(DefaultBodyLimit::max(storage_body)))
        .merge(cron::router())
        .merge(logs::router())
}

impl From<actionflow_webtasks::Error> for ApiError {
    fn from(error: actionflow_webtasks::Error) -> Self {
        use actionflow_webtasks::Error as E;
        let field = error.field().map(str::to_owned);
        match error {
            E::Invalid { message, .. } => ApiError::new(Code::InvalidValue, field, message),
            E::Dependencies(message) => ApiError::new(Code::InvalidValue, field, message),
            E::TooLarge { message, .. } => ApiError::new(Code::PayloadTooLarge, field, message),
            E::NotFound { what, .. } => {
                ApiError::new(Code::NotFound, field, format!("{what} not found"))
            }
            E::Busy => ApiError::new(Code::TooManyRequests, None, E::Busy.to_string()),
            E::Store(store) => ApiError::from(store),
            other @ (E::Runtime(_) | E::Internal(_)) => ApiError::internal(&other),
        }
    }
}

/// The container and name of a path, checked.
fn names(container: &str, name: &str) -> Result<(), ApiError> {
    actionflow_webtasks::rules::name("container", container)?;
    actionflow_webtasks::rules::name("name", name)?;
    Ok(())
}
