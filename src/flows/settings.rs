//! Settings of triggers in `actionflow serve`: the flow budget, async delivery (attempts, workers,
//! lease, backoff) and execution retention. Flags and `ACTIONFLOW_*` variables win over the config
//! file's `[flows]` table, which wins over the defaults.

use std::time::Duration;

use actionflow_triggers::{
    Backoff, DispatchSettings, WorkerSettings, ATTEMPTS_MAX, BINDINGS_PER_TRIGGER_MAX, FLOW_MS_MAX,
};
use serde::Deserialize;

/// Flags of `actionflow serve` about flows; in the config file, the `[flows]` table.
#[derive(clap::Args, Deserialize, Debug, Clone, Default)]
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

/// Resolved flow settings.
#[derive(Debug, Clone)]
pub struct FlowSettings {
    pub dispatch: DispatchSettings,
    /// `jobs_in_flight_max == 0`: no worker in this process.
    pub worker: WorkerSettings,
    pub retention: Duration,
    pub bindings_per_trigger_max: usize,
}

impl Default for FlowSettings {
    fn default() -> Self {
        FlowArgs::default().resolve(FlowArgs::default())
    }
}

impl FlowArgs {
    /// `self` (flags and env) over `file` over the defaults.
    pub fn resolve(self, file: FlowArgs) -> FlowSettings {
        let defaults = WorkerSettings::new();
        let ms = |flag: Option<u64>, file: Option<u64>, default: Duration| {
            flag.or(file).map_or(default, Duration::from_millis)
        };
        let worker = WorkerSettings {
            jobs_in_flight_max: self
                .jobs_in_flight_max
                .or(file.jobs_in_flight_max)
                .unwrap_or(defaults.jobs_in_flight_max),
            // A config file can say less than the flag allows: keep the same floor.
            lease: ms(self.lease_ms, file.lease_ms, defaults.lease).max(Duration::from_secs(1)),
            poll_interval: ms(self.poll_ms, file.poll_ms, defaults.poll_interval),
            backoff: Backoff {
                base_ms: self
                    .backoff_base_ms
                    .or(file.backoff_base_ms)
                    .unwrap_or(defaults.backoff.base_ms),
                max_ms: self
                    .backoff_max_ms
                    .or(file.backoff_max_ms)
                    .unwrap_or(defaults.backoff.max_ms),
            },
            ..defaults
        };
        let hours = self
            .execution_retention_hours
            .or(file.execution_retention_hours)
            .unwrap_or(30 * 24);
        FlowSettings {
            dispatch: DispatchSettings {
                flow_ms_max: self.flow_ms_max.or(file.flow_ms_max).unwrap_or(FLOW_MS_MAX),
                attempts_max: self
                    .attempts_max
                    .or(file.attempts_max)
                    .unwrap_or(ATTEMPTS_MAX)
                    .max(1),
            },
            worker,
            retention: Duration::from_secs(hours.saturating_mul(3600)),
            bindings_per_trigger_max: self
                .bindings_per_trigger_max
                .or(file.bindings_per_trigger_max)
                .unwrap_or(BINDINGS_PER_TRIGGER_MAX),
        }
    }
}
