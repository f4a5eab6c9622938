//! `GET /v1/actions/{id}/versions/{a}/diff/{b}`: what changed from version `a` to version `b`
//! (either may be `draft`) — a unified diff of the code, and the dependencies, secret names,
//! runtime and triggers added, removed or changed (computed by `actionflow_actions::diff`).

use super::action_view::{into_all, DependencyBody};
use super::auth::{Tenant, ACTIONS_READ};
use super::error::{ApiResult, ErrorBody};
use super::extract::version_number;
use super::extract::Path;
use super::AppState;
use actionflow_actions::diff::{ChangedDependency, DependencyChanges, Diff, NameChanges};
use actionflow_actions::Which;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(diff_versions))
}

#[derive(Serialize, ToSchema, PartialEq, Debug)]
pub struct ChangedDependencyBody {
    pub name: String,
    pub from: String,
    pub to: String,
}

#[derive(Serialize, ToSchema, PartialEq, Debug, Default)]
pub struct DependencyChangesBody {
    pub added: Vec<DependencyBody>,
    pub removed: Vec<DependencyBody>,
    pub changed: Vec<ChangedDependencyBody>,
}

#[derive(Serialize, ToSchema, PartialEq, Debug, Default)]
pub struct NameChangesBody {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

#[derive(Serialize, ToSchema, PartialEq, Debug)]
pub struct DiffBody {
    pub from: String,
    pub to: String,
    /// Unified diff of the code (empty when equal).
    pub code: String,
    pub dependencies: DependencyChangesBody,
    pub secrets: NameChangesBody,
    pub supported_triggers: NameChangesBody,
    /// `[from, to]` when the runtime changed.
    pub runtime: Option<[String; 2]>,
}

impl From<NameChanges> for NameChangesBody {
    fn from(c: NameChanges) -> Self {
        NameChangesBody {
            added: c.added,
            removed: c.removed,
        }
    }
}

impl From<ChangedDependency> for ChangedDependencyBody {
    fn from(c: ChangedDependency) -> Self {
        ChangedDependencyBody {
            name: c.name,
            from: c.from,
            to: c.to,
        }
    }
}

impl From<DependencyChanges> for DependencyChangesBody {
    fn from(c: DependencyChanges) -> Self {
        DependencyChangesBody {
            added: into_all(c.added),
            removed: into_all(c.removed),
            changed: into_all(c.changed),
        }
    }
}

impl From<Diff> for DiffBody {
    fn from(d: Diff) -> Self {
        DiffBody {
            from: d.from,
            to: d.to,
            code: d.code,
            dependencies: d.dependencies.into(),
            secrets: d.secrets.into(),
            supported_triggers: d.supported_triggers.into(),
            runtime: d.runtime,
        }
    }
}

fn which(field: &str, text: &str) -> ApiResult<Which> {
    if text == "draft" {
        return Ok(Which::Draft);
    }
    Ok(Which::Version(version_number(field, text)?))
}

/// Diff two versions of an action (`draft` names the draft).
#[utoipa::path(get, path = "/v1/actions/{id}/versions/{from}/diff/{to}", tag = "versions",
    params(("id" = String, Path), ("from" = String, Path, description = "a version number or `draft`"),
        ("to" = String, Path, description = "a version number or `draft`")),
    responses((status = 200, body = DiffBody), (status = "4XX", body = ErrorBody)),
    security(("bearer" = ["actions:read"])))]
async fn diff_versions(
    tenant: Tenant,
    State(state): State<AppState>,
    Path((id, from, to)): Path<(String, String, String)>,
) -> ApiResult<Json<DiffBody>> {
    tenant.require(ACTIONS_READ)?;
    let sides = (which("from", &from)?, which("to", &to)?);
    let diff = state
        .actions
        .diff(&tenant.tenant_id, &id, sides, ("from", "to"))
        .await?;
    Ok(Json(diff.into()))
}
