//! The built-in integrations actions can load (`actionflow:ses`, …): the one place that lists them, used
//! wherever the binary builds a [`Runtime`] (`actionflow run`, `actionflow serve` in-process, and
//! the sandboxes' worker mode).

use actionflow_runtime::{HostModule, PoolConfig, Runtime, RuntimeError};
use actionflow_ses::{SesConfig, SesModule};
use std::sync::Arc;

/// The host modules, configured like the runtime: the switch that lets `fetch` reach loopback and
/// private addresses (local development) also lets an SES client use such an endpoint (a local SES
/// emulator).
pub fn host_modules(allow_private_network: bool) -> Vec<Arc<dyn HostModule>> {
    let ses = SesModule::new(SesConfig {
        allow_private_endpoints: allow_private_network,
        ..SesConfig::default()
    });
    vec![Arc::new(ses)]
}

/// Worker mode: serves one sandbox for `actionflow serve`, over the socket it was started with.
pub fn sandbox() -> anyhow::Result<std::process::ExitCode> {
    actionflow_sandbox::serve(&|init| {
        let mut modules = host_modules(init.pool.allow_private_network);
        modules.extend(actionflow_sandbox::test_modules(init));
        modules
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// A runtime whose actions can load every built-in integration.
pub fn runtime(config: PoolConfig) -> Result<Runtime, RuntimeError> {
    let modules = host_modules(config.allow_private_network);
    Runtime::with_host_modules(config, modules)
}
