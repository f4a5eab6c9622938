//! `POST /v1/actions/{id}/deploy`: builds the draft (dependencies into a lockfile, the code loaded
//! once per supported trigger) and stores an immutable numbered version; the lifecycle's
//! `Actions::deploy` holds the whole orchestration. 409 while another deploy of the action builds;
//! 422 `build_failed` with `errors` [{message, line}] when the draft does not build.

use super::auth::{Tenant, ACTIONS_WRITE};
use super::error::{ApiResult, ErrorBody};
use super::extract::Path;
use super::versions::VersionBody;
use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(deploy_action))
}

/// Deploy the draft: on success, the new current version (201); on a build failure, 422
/// `build_failed` with `errors` [{message, line}] and the draft `failed`; 409 while another deploy
/// of the action is building.
#[utoipa::path(post, path = "/v1/actions/{id}/deploy", tag = "versions",
    params(("id" = String, Path)),
    responses((status = 201, body = VersionBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:write"])))]
async fn deploy_action(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<VersionBody>)> {
    tenant.require(ACTIONS_WRITE)?;
    let version = state.actions.deploy(&tenant.tenant_id, &id).await;
    let outcome = match &version {
        Ok(version) => Some(Ok(version.number)),
        Err(error @ actionflow_actions::Error::BuildFailed { .. }) => Some(Err(error.to_string())),
        // Not found, a deploy already running, the engine's own failures: no deploy happened.
        Err(_) => None,
    };
    if let Some(outcome) = outcome {
        let outcome = outcome.as_ref().map(|n| *n).map_err(String::as_str);
        super::log_hooks::deployed(&state, &tenant.tenant_id, &id, outcome);
    }
    let version = version?;
    Ok((StatusCode::CREATED, Json(VersionBody::from(version))))
}
