//! `actionflow:sandbox-test`, compiled only into debug builds and loaded only when the server asks
//! for it: lets tests end a sandbox on demand and probe its confinement from inside, independent of
//! V8's limits.

use actionflow_runtime::{HostCallContext, HostError, HostFuture, HostModule};
use serde_json::{json, Value};

pub struct SandboxTestModule;

impl HostModule for SandboxTestModule {
    fn name(&self) -> &'static str {
        "actionflow:sandbox-test"
    }

    fn source(&self) -> &'static str {
        "for (const m of ['abort', 'read', 'spawn', 'environ', 'pid']) {\n  exports[m] = (arg) => call(m, [arg ?? null]);\n}\n"
    }

    fn exports(&self) -> &'static [&'static str] {
        &["abort", "read", "spawn", "environ", "pid"]
    }

    fn call(&self, method: &str, args: Value, _: HostCallContext) -> HostFuture {
        let arg = args.get(0).and_then(Value::as_str).unwrap_or("").to_owned();
        let result = match method {
            "abort" => std::process::abort(),
            "read" => match std::fs::read(&arg) {
                Ok(bytes) => Ok(json!({ "ok": true, "bytes": bytes.len() })),
                Err(e) => Ok(json!({ "ok": false, "error": e.to_string() })),
            },
            "spawn" => match std::process::Command::new(&arg).output() {
                Ok(out) => Ok(json!({ "ok": true, "status": out.status.code() })),
                Err(e) => Ok(json!({ "ok": false, "error": e.to_string() })),
            },
            "environ" => Ok(json!(std::env::vars().map(|(k, _)| k).collect::<Vec<_>>())),
            "pid" => Ok(json!(std::process::id())),
            other => Err(HostError::type_error(format!("no method {other}"))),
        };
        Box::pin(async move { result })
    }
}
