//! The seam between dispatch and the engine: an [`Executor`] runs one deployed version on one event.
//! [`RuntimeExecutor`] is the production one, over an [`Engine`] (the V8 runtime, in-process or in
//! sandbox processes); what a version needs besides its
//! code (installed packages, decrypted secrets) comes from the embedder through [`VersionResources`].

use std::sync::Arc;

use actionflow_runtime::{
    Chain, Engine, Event, ExecutionRequest, Limits, ModuleFiles, NoFiles, Outcome, Secrets,
};
use actionflow_store::ActionVersion;
use async_trait::async_trait;

use crate::Error;

/// One execution of a deployed version inside a flow.
#[derive(Debug, Clone)]
pub struct ActionCall {
    pub tenant_id: String,
    pub trigger_id: &'static str,
    pub version: Arc<ActionVersion>,
    /// The event as this action sees it (metadata changes of earlier actions applied).
    pub event: Event,
    /// What is left of the flow's budget, already capped by the per-action limit.
    pub wall_ms_max: u64,
}

/// Runs a flow's actions. `Err` is a failure of the engine; what an action did is in its `Outcome`.
#[async_trait]
pub trait Executor: Send + Sync {
    /// Runs the calls of one flow in order, in one hand-off to the engine where it can: each sees the
    /// event with the earlier ones' metadata changes (only the first call's `event` is used), and the
    /// chain stops after a step that does not complete or denies, or when `budget_ms` is spent —
    /// fewer results than calls then come back.
    async fn execute_chain(
        &self,
        calls: Vec<ActionCall>,
        budget_ms: u64,
    ) -> Vec<Result<Outcome, Error>>;
}

/// The files and secrets one version executes with.
pub struct Prepared {
    pub files: Arc<dyn ModuleFiles>,
    pub secrets: Secrets,
}

/// Where the binary plugs in packages (from the version's lockfile) and secrets (decrypted).
#[async_trait]
pub trait VersionResources: Send + Sync {
    async fn prepare(&self, tenant_id: &str, version: &ActionVersion) -> Result<Prepared, Error>;
}

/// Resources for versions that need none: no packages, no secrets. A version declaring either is
/// refused (with its action named) instead of running without them.
pub struct WithoutResources;

#[async_trait]
impl VersionResources for WithoutResources {
    async fn prepare(&self, _tenant_id: &str, version: &ActionVersion) -> Result<Prepared, Error> {
        if !version.dependencies.is_empty() || !version.secret_names.is_empty() {
            return Err(Error::Prepare {
                action_id: version.action_id.clone(),
                message: "this executor provides neither packages nor secrets".to_owned(),
            });
        }
        Ok(Prepared {
            files: Arc::new(NoFiles),
            secrets: Secrets::default(),
        })
    }
}

/// The production executor: the engine with per-execution limits.
pub struct RuntimeExecutor {
    runtime: Arc<dyn Engine>,
    resources: Arc<dyn VersionResources>,
    limits: Limits,
    tenant_limits: Option<Arc<crate::TenantLimits>>,
    quarantines: Option<Arc<crate::Quarantines>>,
}

impl RuntimeExecutor {
    /// `limits` apply to every action; `wall_ms_max` is further capped by the flow's budget.
    pub fn new(
        runtime: Arc<dyn Engine>,
        resources: Arc<dyn VersionResources>,
        limits: Limits,
    ) -> Self {
        RuntimeExecutor {
            runtime,
            resources,
            limits,
            tenant_limits: None,
            quarantines: None,
        }
    }

    /// Versions that crash their sandboxes are recorded there, and quarantined ones do not run.
    pub fn with_quarantines(mut self, quarantines: Arc<crate::Quarantines>) -> Self {
        self.quarantines = Some(quarantines);
        self
    }

    /// Tenants' own limits (see [`crate::TenantLimits`]) over `limits`.
    pub fn with_tenant_limits(mut self, tenant_limits: Arc<crate::TenantLimits>) -> Self {
        self.tenant_limits = Some(tenant_limits);
        self
    }
}

impl RuntimeExecutor {
    /// The version's quarantine outcome, when it is quarantined.
    async fn quarantined(&self, version: &ActionVersion) -> Option<Outcome> {
        let quarantine = self.quarantines.as_ref()?.of(&version.id).await?;
        Some(crate::quarantined(version.number, &quarantine))
    }

    /// The request for `call`: its version's packages and secrets, the tenant's limits.
    async fn request(&self, call: ActionCall) -> Result<ExecutionRequest, Error> {
        let prepared = self
            .resources
            .prepare(&call.tenant_id, &call.version)
            .await?;
        let mut limits = self.limits.clone();
        if let Some(tenant_limits) = &self.tenant_limits {
            tenant_limits.apply(&call.tenant_id, &mut limits).await;
        }
        limits.wall_ms_max = limits.wall_ms_max.min(call.wall_ms_max);
        Ok(ExecutionRequest {
            tenant: call.tenant_id,
            action: call.version.action_id.clone(),
            // Version ids are unique and versions immutable: warm isolates are reused safely.
            version: call.version.id.clone(),
            code: Arc::from(call.version.code.as_str()),
            files: prepared.files,
            trigger_id: call.trigger_id.to_owned(),
            event: call.event,
            secrets: prepared.secrets,
            limits,
        })
    }

    /// Records a crash of the version (towards its quarantine).
    async fn record(&self, version: &ActionVersion, outcome: &Outcome) {
        if outcome.status == actionflow_runtime::Status::Crashed {
            if let Some(quarantines) = &self.quarantines {
                let how = outcome.error.as_ref().map_or("", |e| e.message.as_str());
                quarantines.crashed(&version.id, how).await;
            }
        }
    }
}

#[async_trait]
impl Executor for RuntimeExecutor {
    async fn execute_chain(
        &self,
        calls: Vec<ActionCall>,
        budget_ms: u64,
    ) -> Vec<Result<Outcome, Error>> {
        let preparing = std::time::Instant::now();
        let mut steps = Vec::with_capacity(calls.len());
        let mut versions = Vec::with_capacity(calls.len());
        // What ends the chain before the engine sees a step: a quarantine, a failure to prepare.
        let mut refused = None;
        for call in calls {
            if let Some(outcome) = self.quarantined(&call.version).await {
                refused = Some(Ok(outcome));
                break;
            }
            let version = Arc::clone(&call.version);
            match self.request(call).await {
                Ok(step) => {
                    steps.push(step);
                    versions.push(version);
                }
                Err(error) => {
                    refused = Some(Err(error));
                    break;
                }
            }
        }
        let mut results = Vec::with_capacity(steps.len() + 1);
        if !steps.is_empty() {
            let sent = steps.len();
            // Preparing (packages, secrets) spent part of the budget: the engine gets the rest, so
            // that it, not the flow's outer bound, ends a step that runs out.
            let spent = u64::try_from(preparing.elapsed().as_millis()).unwrap_or(u64::MAX);
            let chain = Chain {
                steps,
                budget_ms: budget_ms.saturating_sub(spent),
            };
            for (result, version) in self
                .runtime
                .execute_chain(chain)
                .await
                .into_iter()
                .zip(&versions)
            {
                if let Ok(outcome) = &result {
                    self.record(version, outcome).await;
                }
                results.push(result.map_err(Error::from));
            }
            let ended = results.len() < sent
                || results
                    .last()
                    .is_some_and(|r| r.as_ref().map_or(true, Outcome::ends_chain));
            if ended {
                return results;
            }
        }
        results.extend(refused);
        results
    }
}
