//! `actionflow-store` owns persistence: tenants, API tokens, action drafts and versions, sealed
//! secrets, trigger bindings with revisions, executions with the durable job queue, and the tenant
//! log with its streams' checkpoints and leases, the marketplace's publishers, submissions and
//! installed copies, webtasks' containers, extensions, storage and cron jobs, on SQLite
//! (embedded default) or PostgreSQL, behind the [`Store`] seam.
//!
//! It must not know V8, npm, HTTP or cryptography: secrets arrive already encrypted, token hashes
//! arrive already hashed, build errors and lockfiles arrive already computed. Every multi-row change
//! is one transaction.
//!
//! The `test-support` feature adds the `test_support` module, the harness that runs test stories
//! on both backends; only tests enable it.

mod actions;
mod bindings;
mod builds;
mod canary;
mod db;
mod drafts;
mod error;
mod executions;
mod finish;
mod flow_read;
mod logs;
mod marketplace;
mod marketplace_checks;
mod messages;
pub mod model;
mod quarantine;
mod queue;
mod secrets;
mod sessions;
mod tenants;
#[cfg(feature = "test-support")]
pub mod test_support;
mod versions;
mod webtasks;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use db::{open, Backend, SqlStore};
pub use error::{Error, Result};
pub use logs::*;
pub use marketplace::{
    Installation, MarketplaceStore, NewSubmission, Publisher, StateChange, Submission, Transition,
};
pub use messages::{NodeMessages, NODE_MESSAGE_BYTES_MAX};
pub use model::flow::{
    AttemptEnd, Binding, BindingRevision, Bindings, Execution, ExecutionFilter, FinishedAttempt,
    Flow, FlowStamp, FlowStep, Inserted, NewExecution, NextAttempt, Outcome, SyncExecution,
};
pub use model::{
    Action, ActionFilter, ActionPatch, ActionVersion, ApiToken, Build, BuildError, BuildStatus,
    Dependency, ExecutionStatus, KeyCanary, NewAction, NewSecret, NewVersion, OnError, OwnedSecret,
    Page, Paged, SealedSecret, SecretMeta, Tenant, Timestamp, UnknownValue,
};
pub use quarantine::Quarantine;
pub use sessions::{Session, SessionOwner};
pub use webtasks::{
    Claimed, CronJob, CronRun, CronRunEnd, Extension, NewCronJob, NewExtension, StorageDoc,
    StorageWrite, TickClaim, WebtaskStore, CRON_RUNS_KEPT,
};

/// Rows a retention purge deletes per statement (executions, tenant-log events).
pub(crate) const PURGE_BATCH: i64 = 5_000;

/// A new time-ordered id, as the store gives its rows (for an action created with
/// [`ActionStore::create_action_with_secrets`], whose secrets are sealed with its id first).
pub fn new_id() -> String {
    db::new_id()
}

/// Everything the binary and the domain crates persist, split by area into supertraits.
/// `Arc<dyn Store>` (see [`open`]) is the usual handle: on `dyn Store` and on `S: Store` every
/// area method is callable as is; on a concrete [`SqlStore`], `use actionflow_store::prelude::*`.
///
/// Timestamps are stored with microsecond precision (finer digits are dropped).
#[async_trait]
pub trait Store:
    TenantStore
    + ActionStore
    + SecretStore
    + BindingStore
    + ExecutionStore
    + LogStore
    + QuarantineStore
    + MarketplaceStore
    + SessionStore
    + WebtaskStore
    + NodeMessages
{
    /// Which database is behind this store.
    fn backend(&self) -> Backend;
    /// Closes the connection pools; later calls fail.
    async fn close(&self);
}

/// The traits to import to call store methods.
pub mod prelude {
    pub use crate::{
        ActionStore, BindingStore, ExecutionStore, LogStore, MarketplaceStore, NodeMessages,
        QuarantineStore, SecretStore, SessionStore, Store, TenantStore, WebtaskStore,
    };
}

/// Dashboard sessions (stored as the SHA-256 of their secret), each for a tenant's token or for the
/// admin token.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Exactly one of `token_id` and `admin_hash` is given.
    async fn create_session(
        &self,
        session_hash: &[u8],
        token_id: Option<&str>,
        admin_hash: Option<&[u8]>,
        expires_at: Timestamp,
    ) -> Result<()>;
    /// The live session with this hash; `NotFound` when unknown, expired, or its token revoked.
    async fn session_by_hash(&self, session_hash: &[u8]) -> Result<Session>;
    /// Idempotent.
    async fn delete_session(&self, session_hash: &[u8]) -> Result<()>;
    /// Deletes expired sessions; how many.
    async fn purge_expired_sessions(&self) -> Result<u64>;
}

/// Sandbox crashes of action versions and the versions quarantined for them.
#[async_trait]
pub trait QuarantineStore: Send + Sync {
    /// Records that version `version_id` crashed its sandbox now; once it has crashed
    /// `crashes_max` times within `window`, quarantines it (once, with `reason`). Returns the
    /// version's quarantine, new or earlier; `None` for an unknown version (a draft's test run).
    async fn record_sandbox_crash(
        &self,
        version_id: &str,
        reason: &str,
        crashes_max: u32,
        window: Duration,
    ) -> Result<Option<Quarantine>>;
    async fn version_quarantine(&self, version_id: &str) -> Result<Option<Quarantine>>;
    /// The quarantined versions of an action, oldest first.
    async fn action_quarantines(&self, tenant_id: &str, action_id: &str)
        -> Result<Vec<Quarantine>>;
}

/// Tenants and their hashed API tokens.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// `Conflict` when the name is taken.
    async fn create_tenant(&self, name: &str) -> Result<Tenant>;
    async fn get_tenant(&self, tenant_id: &str) -> Result<Tenant>;
    /// Sets (or, with `None`, clears) the tenant's own CPU limit; `NotFound` for an unknown tenant.
    async fn set_tenant_cpu_ms_max(
        &self,
        tenant_id: &str,
        cpu_ms_max: Option<i64>,
    ) -> Result<Tenant>;
    async fn list_tenants(&self, page: Page) -> Result<Paged<Tenant>>;
    /// `NotFound` when the tenant does not exist; `Conflict` when the hash is already stored.
    async fn create_token(
        &self,
        tenant_id: &str,
        token_hash: &[u8],
        scopes: &[String],
    ) -> Result<ApiToken>;
    /// The live token with this hash; `NotFound` when unknown or revoked.
    async fn token_by_hash(&self, token_hash: &[u8]) -> Result<ApiToken>;
    /// All tokens of a tenant, revoked ones included, oldest first.
    async fn list_tokens(&self, tenant_id: &str) -> Result<Vec<ApiToken>>;
    /// Marks the token revoked (idempotent: an already revoked token keeps its first time).
    async fn revoke_token(&self, tenant_id: &str, token_id: &str) -> Result<ApiToken>;
}

/// Action drafts and their numbered versions. Every lookup is scoped by tenant: another tenant's
/// id is `NotFound`.
#[async_trait]
pub trait ActionStore: Send + Sync {
    /// `Conflict` when the tenant already has an action of that name.
    async fn create_action(&self, tenant_id: &str, new: NewAction) -> Result<Action>;
    /// One transaction: creates the draft with id `action_id` (from [`new_id`]: the secrets are
    /// sealed with it bound) and stores its sealed secrets; the draft's `secret_names` are the
    /// stored names. Nothing is stored when a part fails (`Conflict` for a taken name,
    /// `LimitReached` beyond `secrets_max` secrets).
    async fn create_action_with_secrets(
        &self,
        tenant_id: &str,
        action_id: &str,
        new: NewAction,
        secrets: &[NewSecret],
        secrets_max: u32,
    ) -> Result<Action>;
    async fn get_action(&self, tenant_id: &str, action_id: &str) -> Result<Action>;
    async fn get_action_by_name(&self, tenant_id: &str, name: &str) -> Result<Action>;
    /// Oldest first.
    async fn list_actions(
        &self,
        tenant_id: &str,
        filter: &ActionFilter,
        page: Page,
    ) -> Result<Paged<Action>>;
    /// While a build is in flight the patch's `status` and `build_errors` are ignored (see
    /// [`ActionPatch`]). `Conflict` when the new name is taken.
    async fn update_action(
        &self,
        tenant_id: &str,
        action_id: &str,
        patch: ActionPatch,
    ) -> Result<Action>;
    /// One transaction: [`ActionStore::update_action`], then each sealed secret inserted or
    /// replaced (a new name beyond `secrets_max` is `LimitReached`), then the draft's
    /// `secret_names` copied from the secrets table. Nothing changes when a part fails.
    async fn update_action_with_secrets(
        &self,
        tenant_id: &str,
        action_id: &str,
        patch: ActionPatch,
        secrets: &[NewSecret],
        secrets_max: u32,
    ) -> Result<Action>;
    /// Deletes the draft, its versions and secrets. While bound: `Conflict` unless `force`, which
    /// first removes it from every flow (each change kept as a new bindings revision).
    async fn delete_action(&self, tenant_id: &str, action_id: &str, force: bool) -> Result<()>;
    /// The triggers whose current flow binds this action (empty when unbound).
    async fn action_bound_triggers(&self, tenant_id: &str, action_id: &str) -> Result<Vec<String>>;
    /// Starts a build of the draft, unless one is in flight: the draft becomes `building` under a
    /// new stamp, its secret names copied from the secrets table, and the snapshot to build is
    /// returned. A build that began more than `stale_after` ago is taken for dead (its node
    /// stopped) and is taken over; on PostgreSQL the database's clock judges the age. `Conflict`
    /// while another build is in flight.
    async fn begin_build(
        &self,
        tenant_id: &str,
        action_id: &str,
        stale_after: Duration,
    ) -> Result<Build>;
    /// One transaction, if `build` still holds the stamp: stores the next version (the build's
    /// snapshot with `lockfile`) and makes it current; the draft becomes `built`, or `pending`
    /// when it was edited during the build (the edit is not deployed). `Conflict` when the build
    /// was taken over.
    async fn finish_build(
        &self,
        build: &Build,
        lockfile: serde_json::Value,
    ) -> Result<ActionVersion>;
    /// If `build` still holds the stamp: ends it without a version; the draft becomes `failed`
    /// with `errors`, or `pending` (no errors) when it was edited during the build. `Conflict`
    /// when the build was taken over.
    async fn fail_build(&self, build: &Build, errors: Vec<BuildError>) -> Result<Action>;
    /// Marks `failed` with `errors` a build in flight that began more than `stale_after` ago (its
    /// node stopped); returns the draft as it then is, changed or not.
    async fn fail_stale_build(
        &self,
        tenant_id: &str,
        action_id: &str,
        stale_after: Duration,
        errors: Vec<BuildError>,
    ) -> Result<Action>;
    /// One transaction: stores the next version number, makes it current, marks the draft `built`
    /// with no build errors (ending any build in flight: its end is then refused). For a build,
    /// see [`ActionStore::begin_build`].
    async fn deploy_version(
        &self,
        tenant_id: &str,
        action_id: &str,
        new: NewVersion,
    ) -> Result<ActionVersion>;
    /// One transaction: stores a new version copying version `number` and makes it current.
    async fn rollback_version(
        &self,
        tenant_id: &str,
        action_id: &str,
        number: i64,
    ) -> Result<ActionVersion>;
    async fn get_version(
        &self,
        tenant_id: &str,
        action_id: &str,
        number: i64,
    ) -> Result<ActionVersion>;
    /// Newest first.
    async fn list_versions(
        &self,
        tenant_id: &str,
        action_id: &str,
        page: Page,
    ) -> Result<Paged<ActionVersion>>;
}

/// Sealed (already encrypted) secrets of an action.
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Inserts or replaces. A new name beyond `secrets_max` is `LimitReached`; `NotFound` when
    /// the action is not the tenant's.
    async fn put_secret(
        &self,
        tenant_id: &str,
        action_id: &str,
        name: &str,
        ciphertext: &[u8],
        nonce: &[u8],
        secrets_max: u32,
    ) -> Result<SecretMeta>;
    /// Names and update times, by name.
    async fn list_secrets(&self, tenant_id: &str, action_id: &str) -> Result<Vec<SecretMeta>>;
    /// Sealed values for an execution, by name.
    async fn sealed_secrets(&self, tenant_id: &str, action_id: &str) -> Result<Vec<SealedSecret>>;
    async fn delete_secret(&self, tenant_id: &str, action_id: &str, name: &str) -> Result<()>;
    async fn count_secrets(&self, tenant_id: &str, action_id: &str) -> Result<u64>;
    /// The master-key canary, when one was written.
    async fn key_canary(&self) -> Result<Option<KeyCanary>>;
    /// Writes the master-key canary unless one exists, and returns the stored one (the first
    /// writer's when two nodes start at once).
    async fn init_key_canary(&self, ciphertext: &[u8], nonce: &[u8]) -> Result<KeyCanary>;
    /// The oldest stored secret, if any (to check a master key against a database written before
    /// the canary existed).
    async fn oldest_secret(&self) -> Result<Option<OwnedSecret>>;
}

/// Ordered flows per trigger, with every change kept as a numbered revision.
#[async_trait]
pub trait BindingStore: Send + Sync {
    async fn get_bindings(&self, tenant_id: &str, trigger_id: &str) -> Result<Bindings>;
    /// The current flow with each bound action's deployed version, in order, in one read.
    async fn current_flow(&self, tenant_id: &str, trigger_id: &str) -> Result<Flow>;
    /// The current flow's [`FlowStamp`] (equal to `current_flow(…).stamp()` read at the same moment),
    /// in one cheap read: what a cache of flows checks before serving one.
    async fn flow_stamp(&self, tenant_id: &str, trigger_id: &str) -> Result<FlowStamp>;
    /// Replaces the whole list as a new revision, in one transaction. With `expected_revision`,
    /// `Conflict` when the flow changed since (for read-modify-write edits). `NotFound` when an
    /// action is not the tenant's.
    async fn replace_bindings(
        &self,
        tenant_id: &str,
        trigger_id: &str,
        bindings: &[Binding],
        expected_revision: Option<i64>,
    ) -> Result<Bindings>;
    /// Newest first.
    async fn list_binding_revisions(
        &self,
        tenant_id: &str,
        trigger_id: &str,
        page: Page,
    ) -> Result<Paged<BindingRevision>>;
    async fn get_binding_revision(
        &self,
        tenant_id: &str,
        trigger_id: &str,
        number: i64,
    ) -> Result<BindingRevision>;
    /// A new revision equal to revision `number`; `NotFound` if one of its actions was deleted.
    async fn restore_binding_revision(
        &self,
        tenant_id: &str,
        trigger_id: &str,
        number: i64,
    ) -> Result<Bindings>;
}

/// Executions and the durable queue. Worker calls are conditioned on the lease owner, so a worker
/// whose lease expired and was taken over gets `Conflict` instead of overwriting the new owner.
#[async_trait]
pub trait ExecutionStore: Send + Sync {
    /// Enqueues a `pending` execution, or returns the existing one with the same idempotency key.
    async fn insert_execution(&self, tenant_id: &str, new: NewExecution) -> Result<Inserted>;
    async fn get_execution(&self, tenant_id: &str, execution_id: &str) -> Result<Execution>;
    /// Stores sync dispatches that ran, in one transaction (an id already stored is skipped).
    /// `NotFound` when a record's tenant no longer exists (nothing of the batch is stored).
    async fn record_sync_executions(&self, records: &[SyncExecution]) -> Result<()>;
    /// Newest first.
    async fn list_executions(
        &self,
        tenant_id: &str,
        filter: &ExecutionFilter,
        page: Page,
    ) -> Result<Paged<Execution>>;
    /// Leases up to `limit` due jobs (pending, or running with an expired lease) to `worker_id`
    /// for `lease`, counting one more attempt each. Running jobs whose lease expired on their last
    /// attempt become `dead` instead. Lease ends and due times are judged on the store's clock
    /// (PostgreSQL's `now()` on PostgreSQL), never the caller's, so nodes with skewed clocks agree.
    async fn claim_due(
        &self,
        worker_id: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Execution>>;
    /// Pushes the end of the lease of a running job to `lease` from now (the store's clock), if
    /// `worker_id` still holds it for `attempt` (the claim's `Execution::attempts`) and it has not
    /// ended; `Conflict` otherwise.
    async fn extend_lease(
        &self,
        execution_id: &str,
        worker_id: &str,
        attempt: i64,
        lease: Duration,
    ) -> Result<()>;
    /// Records the end of the leased attempt.
    async fn complete(
        &self,
        execution_id: &str,
        worker_id: &str,
        outcome: Outcome,
        results: &[serde_json::Value],
    ) -> Result<Execution>;
    /// Records a failed attempt: back to `pending` at the given time, or `dead`.
    async fn fail_attempt(
        &self,
        execution_id: &str,
        worker_id: &str,
        error: &str,
        results: &[serde_json::Value],
        next: NextAttempt,
    ) -> Result<Execution>;
    /// Records the ends of several attempts leased by `worker_id` in one transaction (one commit
    /// for a batch of workers' results). Returns, in order, whether each was recorded; `false`
    /// means the lease was lost (or the job is gone) and nothing changed for it.
    async fn finish_attempts(
        &self,
        worker_id: &str,
        attempts: &[FinishedAttempt],
    ) -> Result<Vec<bool>>;
    /// Re-drives a `dead` execution: `pending` now, with `attempts_more` attempts allowed from here
    /// (`max_attempts` becomes `attempts + attempts_more`); the attempt count goes on, so the next
    /// attempt's number follows the last one. `Conflict` unless it is dead.
    async fn retry(
        &self,
        tenant_id: &str,
        execution_id: &str,
        attempts_more: u32,
    ) -> Result<Execution>;
    /// Deletes finished (`final`, `partial`, `failed`) executions last updated before `cutoff`;
    /// pending, running and dead ones are kept. Returns how many were deleted.
    async fn purge_older_than(&self, cutoff: Timestamp) -> Result<u64>;
}

/// A shared handle on any store.
pub type SharedStore = Arc<dyn Store>;
