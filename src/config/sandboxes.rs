//! Where `actionflow serve` runs actions: sandbox processes (this binary in worker mode), how many,
//! how large, and when a version is quarantined; in the config file, the `[sandboxes]` table.

use actionflow_server::SandboxSettings;
use serde::{Deserialize, Serialize};

use super::set;
use crate::BadInput;

#[serde_with::skip_serializing_none]
#[derive(clap::Args, Deserialize, Serialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct SandboxArgs {
    /// Sandbox processes running sync flows (async jobs get half as many, test runs one); 0 runs
    /// actions inside the server process, where one that aborts V8 takes the server down — for
    /// benchmarks and debugging only [default: the number of cores].
    #[arg(long, env = "ACTIONFLOW_SANDBOXES")]
    pub sandboxes: Option<usize>,
    /// Resident memory of one sandbox, in MiB: past it, the sandbox is replaced once its
    /// executions answered [default: 2048].
    #[arg(long, env = "ACTIONFLOW_SANDBOX_MEMORY_MB", value_parser = clap::value_parser!(u64).range(64..))]
    pub sandbox_memory_mb: Option<u64>,
    /// Sandbox crashes within an hour that quarantine an action version [default: 3].
    #[arg(long, env = "ACTIONFLOW_SANDBOX_CRASHES_MAX", value_parser = clap::value_parser!(u32).range(1..))]
    pub sandbox_crashes_max: Option<u32>,
    /// Loads the test-only module `actionflow:sandbox-test` into sandboxes (debug builds only).
    #[cfg(debug_assertions)]
    #[arg(long, hide = true)]
    pub sandbox_test_ops: Option<bool>,
}

impl SandboxArgs {
    pub fn apply(self, sandboxes: &mut SandboxSettings) -> anyhow::Result<()> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        sandboxes.processes = self.sandboxes.unwrap_or(cores);
        if sandboxes.processes > 0 {
            sandboxes.program = std::env::current_exe().map_err(|e| {
                BadInput(format!("finding this program to start sandboxes from: {e}"))
            })?;
            sandboxes.args = vec!["sandbox".to_owned()];
        }
        set(
            &mut sandboxes.memory_bytes_max,
            self.sandbox_memory_mb
                .map(|mb| mb.saturating_mul(1024 * 1024)),
        );
        set(&mut sandboxes.crashes_max, self.sandbox_crashes_max);
        #[cfg(debug_assertions)]
        set(&mut sandboxes.test_ops, self.sandbox_test_ops);
        Ok(())
    }
}
