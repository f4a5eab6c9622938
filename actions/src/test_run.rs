//! Test runs: the draft (or a deployed version) run once with a given event, nothing stored
//! changing. Stored secrets are opened and injected as `event.secrets`, overlaid by the run's own;
//! every secret value is redacted from the report.

use std::sync::Arc;

use actionflow_runtime::{Event, ExecutionRequest, ModuleFiles};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::rules::{self, SecretInput};
use crate::Actions;

/// One test run to make.
#[derive(Debug)]
pub struct TestRun {
    pub event: Event,
    /// Which supported trigger to run; the first one when `None`.
    pub trigger_id: Option<String>,
    /// Values for this run only, over the stored secrets; never stored.
    pub secrets: Vec<SecretInput>,
    /// Run this deployed version instead of the draft.
    pub version: Option<i64>,
}

/// What a test run did: the outcome as JSON (`status`, `error`, `api_calls`, `logs`, …) with every
/// secret value redacted.
#[derive(Debug)]
pub struct TestReport {
    pub trigger_id: String,
    /// The version run; `None` for the draft.
    pub version: Option<i64>,
    pub outcome: serde_json::Value,
    pub logs_dropped: u64,
    pub duration_ms: f64,
    pub cold_start: bool,
}

/// The draft or a version, ready to run.
struct Subject {
    version: Option<i64>,
    /// The runtime's isolate key: a version's id, or the draft's code and lockfile digest.
    identity: String,
    code: String,
    files: Arc<dyn ModuleFiles>,
    triggers: Vec<String>,
    /// A version's declared secrets; `None` (all stored ones) for the draft.
    secret_names: Option<Vec<String>>,
}

impl Actions {
    /// Runs the draft (or a version) once; nothing stored changes.
    pub async fn test(&self, tenant_id: &str, action_id: &str, run: TestRun) -> Result<TestReport> {
        rules::secrets(&run.secrets, self.limits())?;
        let subject = self.subject(tenant_id, action_id, run.version).await?;
        let trigger_id = match run.trigger_id {
            Some(t) if subject.triggers.contains(&t) => t,
            Some(t) => {
                let message = format!(
                    "{t:?} is not one of the action's triggers ({})",
                    subject.triggers.join(", ")
                );
                return Err(Error::invalid("trigger_id", message));
            }
            None => subject.triggers.first().cloned().unwrap_or_default(),
        };
        let only = subject.secret_names.as_deref();
        let mut secrets = self
            .inner
            .preparer
            .open_secrets(tenant_id, action_id, only)
            .await?;
        for s in run.secrets {
            secrets.0.insert(s.name, s.value);
        }
        let limits = self.execution_limits(tenant_id).await;
        let request = ExecutionRequest {
            tenant: tenant_id.to_owned(),
            action: action_id.to_owned(),
            version: subject.identity,
            code: Arc::from(subject.code),
            files: subject.files,
            trigger_id: trigger_id.clone(),
            event: run.event,
            secrets,
            limits,
        };
        let values: Vec<String> = request
            .secrets
            .0
            .values()
            .filter(|v| !v.is_empty())
            .cloned()
            .collect();
        let _place = self.inner.test_places.take(tenant_id)?;
        let outcome = self.inner.tests.execute(request).await?;
        let mut value =
            serde_json::to_value(&outcome).map_err(|e| Error::Internal(e.to_string()))?;
        redact(&mut value, &values);
        Ok(TestReport {
            trigger_id,
            version: subject.version,
            outcome: value,
            logs_dropped: outcome.logs_dropped,
            duration_ms: outcome.duration_ms,
            cold_start: outcome.cold_start,
        })
    }

    async fn subject(
        &self,
        tenant_id: &str,
        action_id: &str,
        version: Option<i64>,
    ) -> Result<Subject> {
        if let Some(number) = version {
            let v = self
                .store()
                .get_version(tenant_id, action_id, number)
                .await
                .map_err(|e| Error::from(e).at("version"))?;
            let files = self.inner.preparer.files(&v).await?;
            return Ok(Subject {
                version: Some(v.number),
                identity: v.id,
                code: v.code,
                files,
                triggers: v.supported_triggers,
                secret_names: Some(v.secret_names),
            });
        }
        let action = self.store().get_action(tenant_id, action_id).await?;
        // Bounded like a deploy: a draft's dependencies are resolved on every test run.
        let limit = self.limits().deploy_ms_max;
        let wall = std::time::Duration::from_millis(limit);
        let installed = tokio::time::timeout(wall, self.install(&action))
            .await
            .unwrap_or_else(|_| Err(format!("installing took longer than {limit} ms")));
        let (lockfile, files) = installed.map_err(|message| {
            let message = format!("the dependencies did not install: {message}");
            Error::invalid("dependencies", message)
        })?;
        let mut hash = Sha256::new();
        hash.update(action.code.as_bytes());
        hash.update(lockfile.to_string().as_bytes());
        Ok(Subject {
            version: None,
            identity: format!("draft-{}", hex::encode(hash.finalize())),
            code: action.code,
            files,
            triggers: action.supported_triggers,
            secret_names: None,
        })
    }
}

/// Replaces every secret value inside the strings of `value` (api call arguments, error messages)
/// with the runtime's redaction mark: a test report never carries a secret.
fn redact(value: &mut serde_json::Value, secrets: &[String]) {
    match value {
        serde_json::Value::String(text) => {
            for secret in secrets {
                if text.contains(secret.as_str()) {
                    *text = text.replace(secret.as_str(), actionflow_runtime::REDACTED);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| redact(v, secrets)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| redact(v, secrets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_replaces_secret_values_in_nested_strings() {
        let mut v = serde_json::json!({"a": ["no hunter2!", {"b": "hunter2"}], "n": 1});
        super::redact(&mut v, &["hunter2".to_owned()]);
        assert_eq!(
            v,
            serde_json::json!({"a": ["no [REDACTED]!", {"b": "[REDACTED]"}], "n": 1})
        );
    }
}
