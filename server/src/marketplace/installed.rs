//! Tenants' installed copies: install (values checked, an action created, deployed and bound
//! through the lifecycle), list, read, upgrade or change values, uninstall.

use super::dto::*;
use crate::auth::{Tenant, ACTIONS_READ, ACTIONS_WRITE, BINDINGS_WRITE};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{JsonBody, Path};
use crate::AppState;
use actionflow_marketplace::{Bind, InstallRequest, UpgradeRequest};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(install, list_installed))
        .routes(routes!(get_installed, upgrade, uninstall))
}

/// Install a published integration: an action made from its reviewed code, its secrets stored
/// encrypted, its configuration given to the code as `event.configuration`, deployed, and bound
/// when `bind` is given. 422 names a missing or wrong value.
#[utoipa::path(post, path = "/v1/integrations/installed", tag = "marketplace",
    request_body = Install,
    responses((status = 201, body = InstalledBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:write", "bindings:write"])))]
async fn install(
    tenant: Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Install>,
) -> ApiResult<(StatusCode, Json<InstalledBody>)> {
    tenant.require(ACTIONS_WRITE)?;
    if body.bind.is_some() {
        tenant.require(BINDINGS_WRITE)?;
    }
    let request = InstallRequest {
        integration: body.integration,
        version: body.version,
        name: body.name,
        secrets: body.secrets,
        configuration: body.configuration,
        bind: body.bind.map(|b| Bind {
            trigger: b.trigger,
            position: b.position,
        }),
        bindings_max: state.dispatchers.settings.bindings_per_trigger_max,
    };
    let view = state
        .marketplace
        .install(&tenant.tenant_id, request)
        .await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// The tenant's installed integrations, with their versions' warnings.
#[utoipa::path(get, path = "/v1/integrations/installed", tag = "marketplace",
    responses((status = 200, body = InstalledList), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:read"])))]
async fn list_installed(
    tenant: Tenant,
    State(state): State<AppState>,
) -> ApiResult<Json<InstalledList>> {
    tenant.require(ACTIONS_READ)?;
    let list = state.marketplace.list_installed(&tenant.tenant_id).await?;
    Ok(Json(InstalledList {
        installed: list.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/v1/integrations/installed/{id}", tag = "marketplace",
    params(("id" = String, Path)),
    responses((status = 200, body = InstalledBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:read"])))]
async fn get_installed(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<InstalledBody>> {
    tenant.require(ACTIONS_READ)?;
    Ok(Json(
        state
            .marketplace
            .installed(&tenant.tenant_id, &id)
            .await?
            .into(),
    ))
}

/// Upgrade to another version and/or change values; kept values stay. 422 names the required
/// values the new version needs. Each change is a new action version (rollback works).
#[utoipa::path(patch, path = "/v1/integrations/installed/{id}", tag = "marketplace",
    params(("id" = String, Path)), request_body = Upgrade,
    responses((status = 200, body = InstalledBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:write"])))]
async fn upgrade(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Upgrade>,
) -> ApiResult<Json<InstalledBody>> {
    tenant.require(ACTIONS_WRITE)?;
    let request = UpgradeRequest {
        version: body.version,
        secrets: body.secrets,
        configuration: body.configuration,
    };
    let view = state
        .marketplace
        .upgrade(&tenant.tenant_id, &id, request)
        .await?;
    Ok(Json(view.into()))
}

/// Uninstall: removed from every flow (each a new bindings revision), then deleted.
#[utoipa::path(delete, path = "/v1/integrations/installed/{id}", tag = "marketplace",
    params(("id" = String, Path)),
    responses((status = 204), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:write"])))]
async fn uninstall(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    tenant.require(ACTIONS_WRITE)?;
    state.marketplace.uninstall(&tenant.tenant_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
