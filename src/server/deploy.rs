//! `POST /v1/actions/{id}/deploy`: builds the draft — resolves its dependencies into a lockfile
//! (from the user's npm registry, through the package cache) and loads the code in a fresh isolate
//! once per supported trigger — then stores an immutable numbered version in one transaction.
//! Status: `pending → building → built | failed` (with `build_errors`, nothing deployed).
//!
//! The store starts a build only when none is in flight (`begin_build`, one conditional write), so
//! two deploys of one action — on one node or on several — build it once: the other gets 409. The
//! build works on the snapshot `begin_build` returned; only the build holding its stamp records the
//! end. The draft stays editable meanwhile: the build deploys the snapshot, and an edited draft ends
//! `pending` (not `built`), its edit undeployed (`all_changes_deployed: false`).
//!
//! The build runs in its own task, so a client that disconnects does not abandon it halfway, and
//! within `deploy_ms_max`. A build interrupted by a crash leaves `building` behind: once it began
//! more than twice that limit ago no node can still be working on it, so a new deploy takes it
//! over, and a read [`settle`]s it as `failed` ("interrupted").

use super::auth::{Tenant, ACTIONS_WRITE};
use super::error::{ApiError, ApiResult, BuildErrorBody, Code, ErrorBody};
use super::extract::Path;
use super::versions::VersionBody;
use super::AppState;
use crate::packages;
use actionflow_runtime::{Event, ExecutionRequest, Limits, ModuleFiles, Secrets};
use actionflow_store::{Action, ActionVersion, Build, BuildError, BuildStatus};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(deploy_action))
}

const INTERRUPTED: &str = "the build was interrupted (the server stopped); deploy again";

/// How long a build may stay in flight before it is taken for interrupted: no node works on one
/// past twice the deploy limit (plus a second).
fn stale_after(state: &AppState) -> Duration {
    let ms = state
        .limits
        .deploy_ms_max
        .saturating_mul(2)
        .saturating_add(1_000);
    Duration::from_millis(ms)
}

/// Marks a `building` draft whose build cannot be alive any more as `failed`.
pub async fn settle(state: &AppState, action: Action) -> ApiResult<Action> {
    if action.status != BuildStatus::Building {
        return Ok(action);
    }
    // A first look on this node's clock, so that reading a live build writes nothing; the store
    // decides on the build's start.
    let stale = stale_after(state);
    let age = (chrono::Utc::now() - action.updated_at).to_std();
    if age.map_or(true, |age| age < stale) {
        return Ok(action);
    }
    let errors = build_error(INTERRUPTED.to_owned());
    let settled = state
        .store
        .fail_stale_build(&action.tenant_id, &action.id, stale, errors)
        .await?;
    if settled.status == BuildStatus::Failed {
        tracing::warn!(action_id = %action.id, "failed a build interrupted by a stop");
    }
    Ok(settled)
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
    let build = state
        .store
        .begin_build(&tenant.tenant_id, &id, stale_after(&state))
        .await
        .map_err(in_flight_as_conflict)?;
    let task = tokio::spawn(build_and_store(state.clone(), build));
    let version = task
        .await
        .map_err(|e| ApiError::internal(&format!("the build task failed: {e}")))??;
    Ok((StatusCode::CREATED, Json(VersionBody::from(version))))
}

/// A build in flight, or taken over, is a 409 about the draft's status.
fn in_flight_as_conflict(error: actionflow_store::Error) -> ApiError {
    match error {
        actionflow_store::Error::Conflict { what } => ApiError::conflict("status", what),
        other => ApiError::from(other),
    }
}

/// Builds within the deploy limit and records the result, if the build still holds its stamp.
async fn build_and_store(state: AppState, build: Build) -> ApiResult<ActionVersion> {
    let wall = Duration::from_millis(state.limits.deploy_ms_max);
    let built = match tokio::time::timeout(wall, self::build(&state, &build.draft)).await {
        Ok(built) => built,
        Err(_) => Err(build_error(format!(
            "the build took longer than the limit of {} ms",
            state.limits.deploy_ms_max
        ))),
    };
    let store = &state.store;
    match built {
        Ok(lockfile) => match store.finish_build(&build, lockfile).await {
            Ok(version) => Ok(version),
            Err(error @ actionflow_store::Error::Conflict { .. }) => {
                Err(in_flight_as_conflict(error))
            }
            Err(error) => {
                let errors = build_error("the version could not be stored".to_owned());
                if let Err(e) = store.fail_build(&build, errors).await {
                    tracing::error!(error = %e, action_id = %build.draft.id, "ending a build");
                }
                Err(ApiError::from(error))
            }
        },
        Err(errors) => {
            match store.fail_build(&build, errors.clone()).await {
                Ok(_) => {}
                // Taken over: the errors are still this deploy's answer.
                Err(actionflow_store::Error::Conflict { .. }) => {}
                Err(error) => return Err(ApiError::from(error)),
            }
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

fn build_error(message: String) -> Vec<BuildError> {
    vec![BuildError {
        message,
        line: None,
    }]
}

/// Resolves the dependencies and loads the code for each trigger; the lockfile of the version to
/// store, or why not.
async fn build(state: &AppState, action: &Action) -> Result<serde_json::Value, Vec<BuildError>> {
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
            event: Event::empty(),
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
    Ok(lockfile)
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
