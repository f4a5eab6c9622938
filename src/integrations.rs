//! The built-in integrations actions can load (`actionflow:ses`, …): the one place that lists them, used
//! wherever the binary builds a [`Runtime`] (`actionflow run`, `actionflow serve` and its async workers).

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

/// A runtime whose actions can load every built-in integration.
pub fn runtime(config: PoolConfig) -> Result<Runtime, RuntimeError> {
    let modules = host_modules(config.allow_private_network);
    Runtime::with_host_modules(config, modules)
}
