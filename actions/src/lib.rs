//! `actionflow-actions` owns the action lifecycle, for every caller (the HTTP API today, the
//! marketplace's installs and extensions' deploys next): drafts created and patched with their
//! secrets in one transaction, secrets sealed under the master key (and the key's canary), packages
//! resolved into lockfiles, deploys (begin, build, finish, settle), versions, rollback, diff, test
//! runs, and the one [`Preparer`] that makes a version ready to execute (its package files and
//! the secrets it declared, opened) for sync dispatch, the async worker and test runs alike.
//!
//! It computes over the [`Store`](actionflow_store::Store), the registry and the runtime. It knows
//! nothing of HTTP, utoipa, SQL, environment variables or files it was not handed: the embedder
//! passes the master key, the key file, the npm discovery inputs and every limit.
//!
//! Errors are [`Error`], each naming its public [`Code`] (one table, `error.rs`) and the field a
//! user got wrong.

mod deploy;
pub mod diff;
mod drafts;
mod error;
pub mod master_key;
pub mod packages;
mod places;
mod prepare;
pub mod rules;
pub mod seal;
mod secrets;
mod test_run;
mod versions;
mod view;

use std::sync::Arc;

use actionflow_runtime::{Engine, Limits};
use actionflow_store::SharedStore;

pub use deploy::INTERRUPTED;
pub use drafts::{DraftPatch, NewDraft};
pub use error::{default_field, Code, Error, Result};
pub use packages::Packages;
pub use prepare::Preparer;
pub use rules::{SecretInput, TriggerRef, RUNTIMES};
pub use seal::Sealer;
pub use test_run::{TestReport, TestRun};
pub use versions::Which;
pub use view::ActionView;

/// Bounds on what a draft may hold and how long building it may take. Units last.
#[derive(Debug, Clone)]
pub struct ActionLimits {
    pub code_bytes_max: usize,
    pub name_chars_max: usize,
    pub dependencies_max: usize,
    pub secrets_per_action_max: u32,
    pub secret_name_chars_max: usize,
    pub secret_value_bytes_max: usize,
    /// Longest a deploy (dependency resolution and compile) may take.
    pub deploy_ms_max: u64,
    /// What one execution may use: test runs and deploy checks run under these, and the embedder
    /// gives the same to its dispatchers.
    pub execution: Limits,
}

/// The default of [`ActionLimits::deploy_ms_max`].
pub const DEPLOY_MS_MAX_DEFAULT: u64 = 120_000;

impl Default for ActionLimits {
    fn default() -> Self {
        ActionLimits {
            code_bytes_max: 100 * 1024,
            name_chars_max: 128,
            dependencies_max: 100,
            secrets_per_action_max: 30,
            secret_name_chars_max: 128,
            secret_value_bytes_max: 4 * 1024,
            deploy_ms_max: DEPLOY_MS_MAX_DEFAULT,
            execution: Limits::default(),
        }
    }
}

/// The action lifecycle of every tenant: cheap to clone.
#[derive(Clone)]
pub struct Actions {
    inner: Arc<Inner>,
}

struct Inner {
    store: SharedStore,
    preparer: Arc<Preparer>,
    /// Test runs and deploy checks: a pool of their own, so a tenant's tests never take the places
    /// dispatched flows need; `test_places` bounds how many wait for it, overall and per tenant
    /// (beyond: [`Error::Busy`]).
    tests: Arc<dyn Engine>,
    test_places: Arc<places::TestPlaces>,
    limits: ActionLimits,
    /// Tenants' own execution limits over `limits.execution`.
    tenant_limits: Arc<actionflow_triggers::TenantLimits>,
}

impl Actions {
    /// `tests` runs test runs and deploy checks, at most `tests_waiting_max` at once and half of
    /// them for one tenant.
    pub fn new(
        store: SharedStore,
        sealer: Sealer,
        packages: Packages,
        tests: Arc<dyn Engine>,
        tests_waiting_max: usize,
        limits: ActionLimits,
        tenant_limits: Arc<actionflow_triggers::TenantLimits>,
    ) -> Actions {
        let preparer = Arc::new(Preparer::new(store.clone(), sealer, Arc::new(packages)));
        Actions {
            inner: Arc::new(Inner {
                store,
                preparer,
                tests,
                test_places: places::TestPlaces::new(tests_waiting_max),
                limits,
                tenant_limits,
            }),
        }
    }

    /// What makes a deployed version ready to execute; the dispatchers' executors hold it.
    pub fn preparer(&self) -> Arc<Preparer> {
        self.inner.preparer.clone()
    }

    pub fn limits(&self) -> &ActionLimits {
        &self.inner.limits
    }

    pub fn store(&self) -> &SharedStore {
        &self.inner.store
    }

    /// The limits one of `tenant_id`'s test runs or deploy checks runs under.
    async fn execution_limits(&self, tenant_id: &str) -> Limits {
        let mut limits = self.limits().execution.clone();
        self.inner.tenant_limits.apply(tenant_id, &mut limits).await;
        limits
    }
}
