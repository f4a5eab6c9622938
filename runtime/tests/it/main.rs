//! Integration tests of the runtime against real V8: data-driven cases (`tests/cases/*`), the pool
//! (warm reuse, isolation, limits, eviction) and `fetch` against a local server.
#![allow(clippy::unwrap_used)]

mod cases;
mod cpu;
mod fetch;
mod host;
mod lanes;
mod memory;
mod node;
mod npm;
mod packages;
mod pool;
mod secrets;
mod tenants;

use actionflow_runtime::{
    Event, ExecutionRequest, Limits, NoFiles, Outcome, PoolConfig, Runtime, Secrets,
};
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn runtime(config: PoolConfig) -> Runtime {
    Runtime::new(config).unwrap()
}

pub fn request(
    tenant: &str,
    version: &str,
    code: &str,
    trigger: &str,
    event: serde_json::Value,
) -> ExecutionRequest {
    ExecutionRequest {
        tenant: tenant.into(),
        action: format!("{tenant}-action"),
        version: version.into(),
        code: Arc::from(code),
        files: Arc::new(NoFiles),
        trigger_id: trigger.into(),
        event: Event::new(&event).expect("test events are objects"),
        secrets: Secrets(BTreeMap::new()),
        limits: Limits::default(),
    }
}

pub async fn run(rt: &Runtime, req: ExecutionRequest) -> Outcome {
    rt.execute(req).await.unwrap()
}
