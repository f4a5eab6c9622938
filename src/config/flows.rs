//! Settings of triggers in `actionflow serve`: the flow budget, async delivery (attempts, workers,
//! lease, backoff) and execution retention; in the config file, the `[flows]` table.

use std::time::Duration;

use actionflow_server::FlowSettings;
use serde::{Deserialize, Serialize};

/// Flags of `actionflow serve` about flows; in the config file, the `[flows]` table.
#[serde_with::skip_serializing_none]
#[derive(clap::Args, Deserialize, Serialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct FlowArgs {
    /// Wall-clock budget of a whole flow (all its actions), in milliseconds [default: 20000].
    #[arg(long, env = "ACTIONFLOW_FLOW_MS_MAX")]
    pub flow_ms_max: Option<u64>,
    /// Attempts of an async execution before it is dead-lettered [default: 5].
    #[arg(long, env = "ACTIONFLOW_ATTEMPTS_MAX")]
    pub attempts_max: Option<u32>,
    /// Async executions this server runs at once; 0 runs no worker [default: 64].
    #[arg(long, env = "ACTIONFLOW_JOBS_IN_FLIGHT_MAX")]
    pub jobs_in_flight_max: Option<usize>,
    /// Lease of a claimed async execution, in milliseconds (extended while it runs; at least 1000)
    /// [default: 60000].
    #[arg(long, env = "ACTIONFLOW_LEASE_MS", value_parser = clap::value_parser!(u64).range(1000..))]
    pub lease_ms: Option<u64>,
    /// How often an idle worker looks for due executions, in milliseconds [default: 500].
    #[arg(long, env = "ACTIONFLOW_POLL_MS")]
    pub poll_ms: Option<u64>,
    /// First retry delay, doubled per attempt, in milliseconds [default: 1000].
    #[arg(long, env = "ACTIONFLOW_BACKOFF_BASE_MS")]
    pub backoff_base_ms: Option<u64>,
    /// Longest retry delay, in milliseconds [default: 600000].
    #[arg(long, env = "ACTIONFLOW_BACKOFF_MAX_MS")]
    pub backoff_max_ms: Option<u64>,
    /// Finished executions are purged after this many hours [default: 720].
    #[arg(long, env = "ACTIONFLOW_EXECUTION_RETENTION_HOURS")]
    pub execution_retention_hours: Option<u64>,
    /// Bindings a trigger's flow may hold [default: 20].
    #[arg(long, env = "ACTIONFLOW_BINDINGS_PER_TRIGGER_MAX")]
    pub bindings_per_trigger_max: Option<usize>,
}

impl FlowArgs {
    /// Sets what is given onto `flows` (the defaults).
    pub fn apply(self, flows: &mut FlowSettings) {
        let ms = |value: Option<u64>, slot: &mut Duration| {
            if let Some(ms) = value {
                *slot = Duration::from_millis(ms);
            }
        };
        let worker = &mut flows.worker;
        set(&mut worker.jobs_in_flight_max, self.jobs_in_flight_max);
        ms(self.lease_ms, &mut worker.lease);
        // A config file can say less than the flag allows: keep the same floor.
        worker.lease = worker.lease.max(Duration::from_secs(1));
        ms(self.poll_ms, &mut worker.poll_interval);
        set(&mut worker.backoff.base_ms, self.backoff_base_ms);
        set(&mut worker.backoff.max_ms, self.backoff_max_ms);
        if let Some(hours) = self.execution_retention_hours {
            flows.retention = Duration::from_secs(hours.saturating_mul(3600));
        }
        set(&mut flows.dispatch.flow_ms_max, self.flow_ms_max);
        set(
            &mut flows.dispatch.attempts_max,
            self.attempts_max.map(|n| n.max(1)),
        );
        set(
            &mut flows.bindings_per_trigger_max,
            self.bindings_per_trigger_max,
        );
    }
}

/// Replaces `slot` with `value` when one was given.
pub fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}
