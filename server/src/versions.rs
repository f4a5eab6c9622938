//! Deployed versions: list (newest first), show one, and roll back — `POST …/versions/{n}/deploy`
//! stores a new version identical to version `n` and makes it current, leaving the draft alone.
//! Versions are addressed by their number (1, 2, …).

use super::action_view::{into_all, DependencyBody, TriggerRef};
use super::auth::{Tenant, ACTIONS_READ, ACTIONS_WRITE};
use super::error::{ApiResult, ErrorBody};
use super::extract::Path;
use super::extract::{version_number, QueryParams};
use super::tenants::PageQuery;
use super::AppState;
use actionflow_store::{ActionVersion, Quarantine};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_versions))
        .routes(routes!(get_version))
        .routes(routes!(rollback))
}

/// An immutable deployed version.
#[derive(Serialize, ToSchema)]
pub struct VersionBody {
    pub id: String,
    pub action_id: String,
    /// 1, 2, 3, … per action.
    pub number: i64,
    /// Always `built`: only built drafts become versions.
    pub status: &'static str,
    /// Whether this is the action's deployed version now.
    pub deployed: bool,
    pub code: String,
    pub dependencies: Vec<DependencyBody>,
    /// The npm lockfile (v3) the dependencies resolved to; `null` without dependencies.
    #[schema(value_type = Option<Object>)]
    pub lockfile: serde_json::Value,
    pub runtime: String,
    /// Names of the secrets the version reads.
    pub secrets: Vec<String>,
    pub supported_triggers: Vec<TriggerRef>,
    /// For a rollback: the number of the version it copies.
    pub copied_from: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// Set when the version crashed its sandbox too often: its executions end `crashed` without
    /// running until a new deploy or a rollback makes another version current.
    pub quarantine: Option<QuarantineBody>,
}

/// Why and since when a version is quarantined.
#[derive(Serialize, ToSchema)]
pub struct QuarantineBody {
    pub reason: String,
    /// Sandbox crashes within the window when it was quarantined.
    pub crashes: i64,
    pub at: DateTime<Utc>,
}

impl VersionBody {
    /// The body of each version, with its quarantine among `quarantines` (the action's).
    fn with_quarantines(versions: Vec<ActionVersion>, quarantines: &[Quarantine]) -> Vec<Self> {
        versions
            .into_iter()
            .map(|v| {
                let quarantine = quarantines.iter().find(|q| q.version_id == v.id);
                let mut body = VersionBody::from(v);
                body.quarantine = quarantine.map(|q| QuarantineBody {
                    reason: q.reason.clone(),
                    crashes: q.crashes,
                    at: q.at,
                });
                body
            })
            .collect()
    }
}

impl From<ActionVersion> for VersionBody {
    fn from(v: ActionVersion) -> Self {
        VersionBody {
            supported_triggers: v
                .supported_triggers
                .iter()
                .map(|t| TriggerRef::of(t))
                .collect(),
            dependencies: into_all(v.dependencies),
            id: v.id,
            action_id: v.action_id,
            number: v.number,
            status: "built",
            deployed: v.is_current,
            code: v.code,
            lockfile: v.lockfile,
            runtime: v.runtime,
            secrets: v.secret_names,
            copied_from: v.copied_from,
            created_at: v.created_at,
            quarantine: None,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct VersionList {
    pub versions: Vec<VersionBody>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// List an action's versions, newest first.
#[utoipa::path(get, path = "/v1/actions/{id}/versions", tag = "versions",
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = VersionList), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:read"])))]
async fn list_versions(
    tenant: Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
) -> ApiResult<Json<VersionList>> {
    tenant.require(ACTIONS_READ)?;
    let page = query.page(state.limits.per_page_max)?;
    let paged = state
        .actions
        .list_versions(&tenant.tenant_id, &id, page)
        .await?;
    let quarantines = state.actions.quarantines(&tenant.tenant_id, &id).await?;
    Ok(Json(VersionList {
        versions: VersionBody::with_quarantines(paged.items, &quarantines),
        total: paged.total,
        page: paged.page,
        per_page: paged.per_page,
    }))
}

/// Show one version.
#[utoipa::path(get, path = "/v1/actions/{id}/versions/{number}", tag = "versions",
    params(("id" = String, Path), ("number" = i64, Path, minimum = 1)),
    responses((status = 200, body = VersionBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:read"])))]
async fn get_version(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((id, number)): Path<(String, String)>,
) -> ApiResult<Json<VersionBody>> {
    tenant.require(ACTIONS_READ)?;
    let number = version_number("number", &number)?;
    let version = state
        .actions
        .get_version(&tenant.tenant_id, &id, number)
        .await?;
    let quarantines = state.actions.quarantines(&tenant.tenant_id, &id).await?;
    let mut bodies = VersionBody::with_quarantines(vec![version], &quarantines);
    Ok(Json(bodies.remove(0)))
}

/// Roll back: a new version identical to version `number` becomes current.
#[utoipa::path(post, path = "/v1/actions/{id}/versions/{number}/deploy", tag = "versions",
    params(("id" = String, Path), ("number" = i64, Path, minimum = 1)),
    responses((status = 201, body = VersionBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:write"])))]
async fn rollback(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((id, number)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<VersionBody>)> {
    tenant.require(ACTIONS_WRITE)?;
    let number = version_number("number", &number)?;
    let version = state
        .actions
        .rollback(&tenant.tenant_id, &id, number)
        .await?;
    Ok((StatusCode::CREATED, Json(version.into())))
}
