//! Deploying a draft: resolve its dependencies into a lockfile (from the npm registry, through the
//! package cache), load the code in a fresh isolate once per supported trigger, then store an
//! immutable numbered version. Status: `pending → building → built | failed` (with `build_errors`,
//! nothing deployed).
//!
//! The store starts a build only when none is in flight (`begin_build`, one conditional write), so
//! two deploys of one action — on one node or on several — build it once: the other gets a
//! conflict. The build works on the snapshot `begin_build` returned; only the build holding its
//! stamp records the end. The draft stays editable meanwhile: an edited draft ends `pending`.
//!
//! The build runs in its own task, so a caller that goes away does not abandon it halfway, and
//! within `deploy_ms_max`. A build interrupted by a crash leaves `building` behind: once it began
//! more than twice that limit ago no node can still be working on it, so a new deploy takes it
//! over, and a read [settles](Actions::settle) it as `failed` ([`INTERRUPTED`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actionflow_runtime::{Event, ExecutionRequest, ModuleFiles, Secrets};
use actionflow_store::{Action, ActionVersion, Build, BuildError, BuildStatus};

use crate::error::{Error, Result};
use crate::packages;
use crate::Actions;

/// The build error of a build cut by a stop.
pub const INTERRUPTED: &str = "the build was interrupted (the server stopped); deploy again";

/// Why a build failed: the field at fault and its errors.
type Failed = (&'static str, Vec<BuildError>);

impl Actions {
    /// How long a build may stay in flight before it is taken for interrupted: no node works on
    /// one past twice the deploy limit (plus a second).
    fn stale_after(&self) -> Duration {
        let ms = self
            .limits()
            .deploy_ms_max
            .saturating_mul(2)
            .saturating_add(1_000);
        Duration::from_millis(ms)
    }

    /// Marks a `building` draft whose build cannot be alive any more as `failed`.
    pub async fn settle(&self, action: Action) -> Result<Action> {
        if action.status != BuildStatus::Building {
            return Ok(action);
        }
        // A first look on this node's clock, so that reading a live build writes nothing; the
        // store decides on the build's start.
        let stale = self.stale_after();
        let age = (chrono::Utc::now() - action.updated_at).to_std();
        if age.map_or(true, |age| age < stale) {
            return Ok(action);
        }
        let errors = build_error(INTERRUPTED.to_owned());
        let settled = self
            .store()
            .fail_stale_build(&action.tenant_id, &action.id, stale, errors)
            .await?;
        if settled.status == BuildStatus::Failed {
            tracing::warn!(action_id = %action.id, "failed a build interrupted by a stop");
        }
        Ok(settled)
    }

    /// Deploys the draft: the new current version, or [`Error::BuildFailed`] with the draft
    /// `failed`, or a conflict on `status` while another deploy of the action is building.
    pub async fn deploy(&self, tenant_id: &str, action_id: &str) -> Result<ActionVersion> {
        // Deploy checks share the test runs' places: a tenant flooding either waits for itself.
        let place = self.inner.test_places.take(tenant_id)?;
        let build = self
            .store()
            .begin_build(tenant_id, action_id, self.stale_after())
            .await
            .map_err(in_flight_as_conflict)?;
        let deploy = self.clone();
        let task = tokio::spawn(async move {
            let _place = place;
            deploy.build_and_store(build).await
        });
        task.await
            .map_err(|e| Error::Internal(format!("the build task failed: {e}")))?
    }

    /// Builds within the deploy limit and records the result, if the build still holds its stamp.
    async fn build_and_store(self, build: Build) -> Result<ActionVersion> {
        let limit = self.limits().deploy_ms_max;
        let wall = Duration::from_millis(limit);
        let built = match tokio::time::timeout(wall, self.build(&build.draft)).await {
            Ok(built) => built,
            Err(_) => Err((
                "code",
                build_error(format!(
                    "the build took longer than the limit of {limit} ms"
                )),
            )),
        };
        let store = self.store();
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
                    Err(Error::from(error))
                }
            },
            Err((field, errors)) => {
                match store.fail_build(&build, errors.clone()).await {
                    // Taken over: the errors are still this deploy's answer.
                    Ok(_) | Err(actionflow_store::Error::Conflict { .. }) => {}
                    Err(error) => return Err(Error::from(error)),
                }
                Err(Error::BuildFailed { field, errors })
            }
        }
    }

    /// Resolves the dependencies and loads the code for each trigger; the lockfile of the version
    /// to store, or why not.
    async fn build(&self, action: &Action) -> Result<serde_json::Value, Failed> {
        let (lockfile, files) = self.install(action).await.map_err(|message| {
            (
                "dependencies",
                build_error(format!("dependencies: {message}")),
            )
        })?;
        let limits = self.execution_limits(&action.tenant_id).await;
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
                limits: limits.clone(),
            };
            let outcome = self.inner.tests.check(request).await.map_err(|error| {
                tracing::error!(%error, action_id = %action.id, "the runtime failed a build check");
                let message = "the runtime could not load the action (see the server log)";
                ("code", build_error(message.to_owned()))
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
                let errors = vec![BuildError {
                    message: format!("{}: {}", error.name, error.message),
                    line: error.line,
                }];
                return Err(("code", errors));
            }
        }
        Ok(lockfile)
    }

    /// The lockfile (JSON; `null` without dependencies) and the files the code may load; `Err` is
    /// the message a tenant may read.
    pub(crate) async fn install(
        &self,
        action: &Action,
    ) -> Result<(serde_json::Value, Arc<dyn ModuleFiles>), String> {
        if action.dependencies.is_empty() {
            let none = packages::module_files(&Default::default());
            return Ok((serde_json::Value::Null, none));
        }
        let deps: BTreeMap<String, String> = action
            .dependencies
            .iter()
            .map(|d| (d.name.clone(), d.version.clone()))
            .collect();
        let (lockfile, tree) = self
            .inner
            .preparer
            .packages()
            .install(&deps)
            .await
            .map_err(|e| packages::tenant_safe_message(&e, &action.id))?;
        let lockfile = serde_json::to_value(&lockfile).map_err(|e| e.to_string())?;
        Ok((lockfile, packages::module_files(&tree)))
    }
}

/// A build in flight, or taken over, is a conflict about the draft's status.
fn in_flight_as_conflict(error: actionflow_store::Error) -> Error {
    match error {
        actionflow_store::Error::Conflict { what } => Error::Conflict {
            field: Some("status".to_owned()),
            message: what,
        },
        other => Error::from(other),
    }
}

fn build_error(message: String) -> Vec<BuildError> {
    vec![BuildError {
        message,
        line: None,
    }]
}
