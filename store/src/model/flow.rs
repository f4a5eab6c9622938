//! Rows and new-row types of flows: ordered bindings with their revisions, and executions.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::{ActionVersion, ExecutionStatus, OnError, Timestamp};

/// One action bound to a trigger, at a position of the flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
pub struct Binding {
    pub action_id: String,
    pub display_name: String,
    #[sqlx(try_from = "String")]
    pub on_error: OnError,
}

/// A trigger's current ordered flow; `revision` is 0 before the first change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bindings {
    pub trigger_id: String,
    pub revision: i64,
    pub bindings: Vec<Binding>,
}

/// A trigger's current flow as dispatch runs it, read in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub trigger_id: String,
    pub revision: i64,
    pub steps: Vec<FlowStep>,
}

impl Flow {
    /// What identifies this flow's content: its revision and each bound action's deployed version.
    pub fn stamp(&self) -> FlowStamp {
        FlowStamp {
            revision: self.revision,
            versions: self
                .steps
                .iter()
                .map(|step| step.version.as_ref().map(|v| v.number))
                .collect(),
        }
    }
}

/// A cheap fingerprint of a trigger's current flow (see
/// [`crate::BindingStore::flow_stamp`]): the bindings revision (which fixes the bound actions, their
/// order and settings) and the deployed version number of each bound action, in order. Versions are
/// immutable, so two reads with equal stamps read the same flow.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowStamp {
    pub revision: i64,
    pub versions: Vec<Option<i64>>,
}

/// One binding of a flow with its action's deployed version (`None` if it has none).
#[derive(Debug, Clone, PartialEq)]
pub struct FlowStep {
    pub binding: Binding,
    pub version: Option<ActionVersion>,
}

/// One kept revision of a trigger's flow.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct BindingRevision {
    pub trigger_id: String,
    pub number: i64,
    #[sqlx(json)]
    pub bindings: Vec<Binding>,
    pub created_at: Timestamp,
}

/// A dispatch of a trigger: a job of the durable queue and the record of its runs.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct Execution {
    pub id: String,
    pub tenant_id: String,
    pub trigger_id: String,
    #[sqlx(try_from = "String")]
    pub status: ExecutionStatus,
    /// Number of claims so far, re-drives included (the current attempt while `running`).
    pub attempts: i64,
    /// The attempt after which a failure dead-letters it; each re-drive moves it a full budget past
    /// `attempts`.
    pub max_attempts: i64,
    pub idempotency_key: Option<String>,
    /// The actions bound when the trigger was dispatched (for filtering by action).
    #[sqlx(json)]
    pub action_ids: Vec<String>,
    #[sqlx(json)]
    pub event: serde_json::Value,
    /// Per-action results of the latest attempt, as the domain shaped them.
    #[sqlx(json)]
    pub results: Vec<serde_json::Value>,
    pub last_error: Option<String>,
    pub next_attempt_at: Timestamp,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The flow pinned at dispatch, as the domain shaped it (what every attempt runs).
    #[sqlx(json)]
    pub plan: serde_json::Value,
    /// `sync` (run at dispatch, recorded after the answer) or `async` (from the queue).
    pub delivery: String,
}

/// A sync dispatch that ran, as recorded behind its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncExecution {
    /// Given at dispatch (the answer carries it).
    pub id: String,
    pub tenant_id: String,
    pub trigger_id: String,
    /// `final`, `partial` or `failed`.
    pub status: ExecutionStatus,
    pub action_ids: Vec<String>,
    pub event: serde_json::Value,
    pub results: Vec<serde_json::Value>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub ended_at: Timestamp,
    pub plan: serde_json::Value,
}

/// A new dispatch to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewExecution {
    pub trigger_id: String,
    /// Unique per tenant and trigger: a second insert returns the first execution.
    pub idempotency_key: Option<String>,
    pub action_ids: Vec<String>,
    pub event: serde_json::Value,
    pub max_attempts: u32,
    /// When the first attempt is due; on PostgreSQL at the latest the database's now (a node whose
    /// clock runs ahead does not delay its jobs).
    pub next_attempt_at: Timestamp,
    /// The flow pinned at dispatch, as the domain shaped it; stored as is.
    pub plan: serde_json::Value,
}

/// Result of [`crate::ExecutionStore::insert_execution`].
#[derive(Debug, Clone, PartialEq)]
pub struct Inserted {
    pub execution: Execution,
    /// `false` when the idempotency key matched an existing execution, which is returned instead.
    pub created: bool,
}

/// How a leased attempt ended when the flow ran to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Final,
    Partial,
    Failed,
}

impl Outcome {
    pub(crate) fn status(self) -> ExecutionStatus {
        match self {
            Self::Final => ExecutionStatus::Final,
            Self::Partial => ExecutionStatus::Partial,
            Self::Failed => ExecutionStatus::Failed,
        }
    }
}

/// What happens after a failed attempt: try again after a delay (counted on the queue's clock:
/// PostgreSQL's on PostgreSQL), or dead-letter it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextAttempt {
    After(std::time::Duration),
    Dead,
}

/// How one leased attempt ended, for [`crate::ExecutionStore::finish_attempts`].
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptEnd {
    /// As [`crate::ExecutionStore::complete`].
    Complete(Outcome),
    /// As [`crate::ExecutionStore::fail_attempt`].
    Fail { error: String, next: NextAttempt },
}

/// The end of one leased attempt with the per-action results to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedAttempt {
    pub execution_id: String,
    /// The attempt number the claim returned (`Execution::attempts`): the lease's fence, so an attempt
    /// whose job was claimed again (even by the same worker id) cannot record over the new one.
    pub attempt: i64,
    pub end: AttemptEnd,
    pub results: Vec<serde_json::Value>,
}

/// Filters of the execution list; `None` means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionFilter {
    pub trigger_id: Option<String>,
    pub action_id: Option<String>,
    pub status: Option<ExecutionStatus>,
    /// Only executions created at or after this time.
    pub since: Option<Timestamp>,
}
