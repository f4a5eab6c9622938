//! `POST /v1/actions/{id}/deploy`: builds the draft — resolves its dependencies into a lockfile
//! (from the user's npm registry, through the package cache) and loads the code in a fresh isolate
//! once per supported trigger — then stores an immutable numbered version in one transaction.
//! Status: `pending → building → built | failed` (with `build_errors`, nothing deployed).
//!
//! The build runs in its own task, so a client that disconnects does not abandon it halfway, and
//! within `deploy_ms_max`. A build interrupted by a crash leaves `building` behind: once it is older
//! than twice that limit no node can still be working on it, and the next read [`settle`]s it as
//! `failed` ("interrupted"), after which it can be deployed again.

use super::auth::{Tenant, ACTIONS_WRITE};
use super::error::{ApiError, ApiResult, BuildErrorBody, Code, ErrorBody};
use super::extract::Path;
use super::versions::VersionBody;
use super::AppState;
use crate::packages;
use actionflow_runtime::{ExecutionRequest, Limits, ModuleFiles, Secrets};
use actionflow_store::{Action, ActionPatch, ActionVersion, BuildError, BuildStatus, NewVersion};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(deploy_action))
}

const INTERRUPTED: &str = "the build was interrupted (the server stopped); deploy again";

/// 409 while a deploy of this action is building.
pub fn refuse_while_building(action: &Action) -> ApiResult<()> {
    if action.status == BuildStatus::Building {
        return Err(ApiError::conflict(
            "status",
            "a deploy of this action is building; wait for it to finish",
        ));
    }
    Ok(())
}

/// This node's deploys in progress, by action id: a second deploy request arriving before the
/// first one has written `building` is refused instead of building the same draft twice.
static BUILDING: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Mutex::default);

/// A deploy's claim on its action; released when dropped.
struct BuildClaim(String);

impl BuildClaim {
    fn take(action_id: &str) -> ApiResult<BuildClaim> {
        let mut building = BUILDING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !building.insert(action_id.to_owned()) {
            return Err(ApiError::conflict(
                "status",
                "a deploy of this action is building; wait for it to finish",
            ));
        }
        Ok(BuildClaim(action_id.to_owned()))
    }
}

impl Drop for BuildClaim {
    fn drop(&mut self) {
        let mut building = BUILDING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        building.remove(&self.0);
    }
}

/// Marks a `building` draft whose build cannot be alive any more as `failed`.
pub async fn settle(state: &AppState, action: Action) -> ApiResult<Action> {
    if action.status != BuildStatus::Building {
        return Ok(action);
    }
    let stale_ms = state
        .limits
        .deploy_ms_max
        .saturating_mul(2)
        .saturating_add(1_000);
    let age = chrono::Utc::now() - action.updated_at;
    if age.num_milliseconds() < i64::try_from(stale_ms).unwrap_or(i64::MAX) {
        return Ok(action);
    }
    tracing::warn!(action_id = %action.id, "failing a build interrupted by a stop");
    let patch = ActionPatch {
        status: Some(BuildStatus::Failed),
        build_errors: Some(vec![BuildError {
            message: INTERRUPTED.to_owned(),
            line: None,
        }]),
        ..ActionPatch::default()
    };
    Ok(state
        .store
        .update_action(&action.tenant_id, &action.id, patch)
        .await?)
}

/// Deploy the draft: on success, the new current version (201); on a build failure, 422
/// `build_failed` with `errors` [{message, line}] and the draft `failed`.
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
    let action = state.store.get_action(&tenant.tenant_id, &id).await?;
    let action = settle(&state, action).await?;
    refuse_while_building(&action)?;
    let claim = BuildClaim::take(&action.id)?;
    // The secrets table is the truth for names; re-copying them here heals a draft whose name
    // list missed a secret change (set, then a crash before the list was written).
    let secret_names = state
        .store
        .list_secrets(&tenant.tenant_id, &id)
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect();
    let building = ActionPatch {
        status: Some(BuildStatus::Building),
        build_errors: Some(Vec::new()),
        secret_names: Some(secret_names),
        ..ActionPatch::default()
    };
    let action = state
        .store
        .update_action(&tenant.tenant_id, &id, building)
        .await?;
    let task = tokio::spawn(async move {
        let built = build_and_store(state.clone(), action).await;
        drop(claim);
        built
    });
    let version = task
        .await
        .map_err(|e| ApiError::internal(&format!("the build task failed: {e}")))??;
    Ok((StatusCode::CREATED, Json(VersionBody::from(version))))
}

/// Builds within the deploy limit and records the result on the draft.
async fn build_and_store(state: AppState, action: Action) -> ApiResult<ActionVersion> {
    let wall = Duration::from_millis(state.limits.deploy_ms_max);
    let built = match tokio::time::timeout(wall, build(&state, &action)).await {
        Ok(built) => built,
        Err(_) => Err(vec![BuildError {
            message: format!(
                "the build took longer than the limit of {} ms",
                state.limits.deploy_ms_max
            ),
            line: None,
        }]),
    };
    let (tenant_id, action_id) = (&action.tenant_id, &action.id);
    match built {
        Ok(new) => match state.store.deploy_version(tenant_id, action_id, new).await {
            Ok(version) => Ok(version),
            Err(error) => {
                let message = "the version could not be stored".to_owned();
                let _ = mark_failed(
                    &state,
                    &action,
                    vec![BuildError {
                        message,
                        line: None,
                    }],
                )
                .await;
                Err(ApiError::from(error))
            }
        },
        Err(errors) => {
            mark_failed(&state, &action, errors.clone()).await?;
            let field = if errors.iter().any(|e| e.message.starts_with("dependencies")) {
                "dependencies"
            } else {
                "code"
            };
            let first = errors.first().map(|e| e.message.as_str()).unwrap_or("");
            let mut error = ApiError::new(
                Code::BuildFailed,
                field.to_owned(),
                format!("the draft did not build: {first}"),
            );
            error.errors = errors
                .into_iter()
                .map(|e| BuildErrorBody {
                    message: e.message,
                    line: e.line,
                })
                .collect();
            Err(error)
        }
    }
}

async fn mark_failed(state: &AppState, action: &Action, errors: Vec<BuildError>) -> ApiResult<()> {
    let patch = ActionPatch {
        status: Some(BuildStatus::Failed),
        build_errors: Some(errors),
        ..ActionPatch::default()
    };
    state
        .store
        .update_action(&action.tenant_id, &action.id, patch)
        .await?;
    Ok(())
}

fn build_error(message: String) -> Vec<BuildError> {
    vec![BuildError {
        message,
        line: None,
    }]
}

/// Resolves the dependencies and loads the code for each trigger; the version to store, or why not.
async fn build(state: &AppState, action: &Action) -> Result<NewVersion, Vec<BuildError>> {
    let (lockfile, files) = install(state, action)
        .await
        .map_err(|e| build_error(format!("dependencies: {e:#}")))?;
    for trigger_id in &action.supported_triggers {
        let request = ExecutionRequest {
            tenant: action.tenant_id.clone(),
            action: action.id.clone(),
            version: "build".to_owned(),
            code: Arc::from(action.code.as_str()),
            files: files.clone(),
            trigger_id: trigger_id.clone(),
            event: serde_json::json!({}),
            secrets: Secrets::default(),
            limits: Limits::default(),
        };
        let outcome = state.tests.check(request).await.map_err(|error| {
            tracing::error!(%error, action_id = %action.id, "the runtime failed a build check");
            build_error("the runtime could not load the action (see the server log)".to_owned())
        })?;
        if !outcome.status.is_success() {
            let error = outcome
                .error
                .unwrap_or_else(|| actionflow_runtime::ActionError {
                    name: "Error".to_owned(),
                    message: format!("{:?}", outcome.status),
                    stack: None,
                    line: None,
                });
            return Err(vec![BuildError {
                message: format!("{}: {}", error.name, error.message),
                line: error.line,
            }]);
        }
    }
    let secret_names = state
        .store
        .list_secrets(&action.tenant_id, &action.id)
        .await
        .map_err(|error| {
            tracing::error!(%error, action_id = %action.id, "reading secret names for a deploy");
            build_error("the secret names could not be read (see the server log)".to_owned())
        })?
        .into_iter()
        .map(|m| m.name)
        .collect();
    Ok(NewVersion {
        code: action.code.clone(),
        dependencies: action.dependencies.clone(),
        lockfile,
        runtime: action.runtime.clone(),
        secret_names,
        supported_triggers: action.supported_triggers.clone(),
    })
}

/// The lockfile (JSON; `null` without dependencies) and the files the code may load.
pub async fn install(
    state: &AppState,
    action: &Action,
) -> anyhow::Result<(serde_json::Value, Arc<dyn ModuleFiles>)> {
    if action.dependencies.is_empty() {
        return Ok((
            serde_json::Value::Null,
            packages::module_files(&Default::default()),
        ));
    }
    let deps: BTreeMap<String, String> = action
        .dependencies
        .iter()
        .map(|d| (d.name.clone(), d.version.clone()))
        .collect();
    let (lockfile, tree) = state
        .packages
        .install(&deps)
        .await
        .map_err(|e| tenant_safe(e, &action.id))?;
    Ok((
        serde_json::to_value(&lockfile)?,
        packages::module_files(&tree),
    ))
}

/// What a tenant may read of a failed installation. Errors about the packages they asked for keep their
/// message; anything about the server's side (registry configuration, network, credentials, files) is
/// logged in full and reported as the registry being unavailable, without paths or hosts.
fn tenant_safe(error: anyhow::Error, action_id: &str) -> anyhow::Error {
    use actionflow_registry::Error as E;
    if let Some(E::UnknownPackage {
        package, wanted, ..
    }) = error.downcast_ref::<E>()
    {
        return anyhow::anyhow!("package {package} was not found in the registry{wanted}");
    }
    let about_the_packages = error.downcast_ref::<E>().is_some_and(|e| {
        matches!(
            e,
            E::InvalidSpec { .. }
                | E::UnknownPackage { .. }
                | E::NoMatchingVersion { .. }
                | E::IntegrityMismatch { .. }
                | E::BadIntegrity { .. }
                | E::UnsafeTarball { .. }
                | E::CorruptTarball { .. }
                | E::LimitExceeded { .. }
                | E::InvalidPackument { .. }
        )
    });
    if about_the_packages {
        return error;
    }
    tracing::error!(error = %format!("{error:#}"), %action_id, "installing dependencies failed");
    anyhow::anyhow!("the package registry could not be reached; try again later")
}
