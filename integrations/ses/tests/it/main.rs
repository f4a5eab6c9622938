//! actionflow:ses end to end through a real `Runtime`, against a real SES v2-compatible server (moto).
#![allow(clippy::unwrap_used)]

mod errors;
mod host_env;
mod moto;
mod send;

use actionflow_runtime::{
    Event, ExecutionRequest, Limits, NoFiles, Outcome, PoolConfig, Runtime, Secrets,
};
use actionflow_ses::{SesConfig, SesModule};
use moto::Keys;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A runtime with `actionflow:ses`, allowed to reach the local server.
pub fn runtime() -> Runtime {
    let ses = SesModule::new(SesConfig {
        allow_private_endpoints: true,
        ..SesConfig::default()
    });
    Runtime::with_host_modules(PoolConfig::default(), vec![Arc::new(ses)]).unwrap()
}

/// A post-user-registration execution of `code` with the given `AWS_SES_*` secrets and the server's
/// URL as the constant `ENDPOINT` (not a secret: the runtime would redact it from error messages).
pub fn request(code: &str, keys: Option<&Keys>, endpoint: &str) -> ExecutionRequest {
    let mut secrets = BTreeMap::new();
    if let Some(keys) = keys {
        secrets.insert("AWS_SES_KEY".to_owned(), keys.key.clone());
        secrets.insert("AWS_SES_SECRET".to_owned(), keys.secret.clone());
    }
    ExecutionRequest {
        tenant: "tenant".into(),
        action: "welcome".into(),
        version: version_of(&format!("{endpoint} {code}")),
        code: Arc::from(format!("const ENDPOINT = {endpoint:?};\n{code}")),
        files: Arc::new(NoFiles),
        trigger_id: "post-user-registration".into(),
        event: Event::new(&event()).expect("the test event is an object"),
        secrets: Secrets(secrets),
        limits: Limits::default(),
    }
}

/// Warm isolates are reused per version: each distinct code gets its own.
fn version_of(code: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    code.hash(&mut hasher);
    format!("v-{:x}", hasher.finish())
}

pub fn event() -> Value {
    json!({
        "user": { "user_id": "auth0|1", "email": "ada@example.test", "username": "ada" },
        "tenant": { "id": "tenant" },
    })
}

pub async fn run(rt: &Runtime, request: ExecutionRequest) -> Outcome {
    rt.execute(request).await.unwrap()
}

/// The error an outcome ended with, as `Name: message`.
pub fn error_of(outcome: &Outcome) -> String {
    let error = outcome
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("no error: {outcome:?}"));
    format!("{}: {}", error.name, error.message)
}
