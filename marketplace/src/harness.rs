//! Running a package's tests (`tests/*.json`) in the real runtime: each test's event, secrets and
//! configuration go to the wrapped code in test mode (fixtures served, emails recorded), and what
//! happened is compared with what the test expects. The same code serves `actionflow integration
//! test` and the server's checks.

use std::sync::Arc;

use actionflow_runtime::{
    Engine, Event, ExecutionRequest, Limits, ModuleFiles, Outcome, Secrets, Status,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::manifest::{host_allowed, Manifest};
use crate::package::{Package, CODE_FILE};
use crate::report::Finding;
use crate::wrap::{wrap, Mode, TEST_MARK};

/// One `tests/*.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    #[serde(default)]
    pub name: Option<String>,
    /// The first supported trigger when absent.
    #[serde(default)]
    pub trigger: Option<String>,
    pub event: serde_json::Value,
    #[serde(default)]
    pub secrets: std::collections::BTreeMap<String, String>,
    /// Text, as an installed copy's configuration reaches its code (a number or a boolean is
    /// refused: the test would run with what no tenant's copy ever gets).
    #[serde(default)]
    pub configuration: std::collections::BTreeMap<String, String>,
    #[serde(default = "no_fixtures")]
    pub fixtures: serde_json::Value,
    #[serde(default)]
    pub expect: Expect,
}

fn no_fixtures() -> serde_json::Value {
    serde_json::Value::Array(Vec::new())
}

/// What must happen. Absent fields are not checked; by default the run must complete.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `completed` (the default) or `threw`.
    #[serde(default)]
    pub status: Option<String>,
    /// Exactly these `api` calls, in order (`{method, args?}`).
    #[serde(default)]
    pub api_calls: Option<Vec<ExpectedCall>>,
    /// The handler calls `api.access.deny`.
    #[serde(default)]
    pub denied: Option<bool>,
    /// Text the error's message contains.
    #[serde(default)]
    pub error: Option<String>,
    /// Texts that some log line contains, each.
    #[serde(default)]
    pub logs: Vec<String>,
    /// How many emails `actionflow:ses` was asked to send.
    #[serde(default)]
    pub emails: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedCall {
    pub method: String,
    #[serde(default)]
    pub args: Option<Vec<serde_json::Value>>,
}

/// What one test did.
#[derive(Debug)]
pub struct TestResult {
    pub file: String,
    pub name: String,
    pub passed: bool,
    /// Expected a completed run without a deny: the success path.
    pub success_path: bool,
    pub findings: Vec<Finding>,
}

/// Runs every test of the package; the findings of all of them.
pub async fn run_tests(
    runtime: &dyn Engine,
    package: &Package,
    manifest: &Manifest,
    limits: &Limits,
    files: Arc<dyn ModuleFiles>,
) -> Vec<TestResult> {
    let code = package.text(CODE_FILE).unwrap_or_default();
    let mut results = Vec::new();
    for (file, bytes) in package.tests() {
        let result = match serde_json::from_slice::<TestCase>(bytes) {
            Ok(case) => run_one(runtime, code, manifest, limits, files.clone(), file, case).await,
            Err(e) => TestResult {
                file: file.to_owned(),
                name: file.to_owned(),
                passed: false,
                success_path: false,
                findings: vec![Finding::error("test_invalid", format!("{file}: {e}")).in_file(file)],
            },
        };
        results.push(result);
    }
    results
}

async fn run_one(
    runtime: &dyn Engine,
    code: &str,
    manifest: &Manifest,
    limits: &Limits,
    files: Arc<dyn ModuleFiles>,
    file: &str,
    case: TestCase,
) -> TestResult {
    let name = case.name.clone().unwrap_or_else(|| file.to_owned());
    let expect = &case.expect;
    let success_path = expect.status.as_deref().unwrap_or("completed") == "completed"
        && expect.denied != Some(true);
    let mut result = TestResult {
        file: file.to_owned(),
        name: name.clone(),
        passed: false,
        success_path,
        findings: Vec::new(),
    };
    let fail =
        |message: String| Finding::error("test_failed", format!("{name}: {message}")).in_file(file);
    let trigger = case
        .trigger
        .clone()
        .or_else(|| manifest.supported_triggers.first().cloned())
        .unwrap_or_default();
    if !manifest.supported_triggers.contains(&trigger) {
        result
            .findings
            .push(fail(format!("{trigger:?} is not a supported trigger")));
        return result;
    }
    // The event the trigger would send: a test of an impossible event proves nothing.
    if let Err(e) =
        actionflow_triggers::find(&trigger).and_then(|spec| spec.validate_event(&case.event))
    {
        result
            .findings
            .push(fail(format!("its event is not a {trigger} event: {e}")));
        return result;
    }
    let event = match Event::new(&case.event) {
        Ok(event) => event,
        Err(e) => {
            result
                .findings
                .push(fail(format!("its event is not usable: {e}")));
            return result;
        }
    };
    let configuration = case
        .configuration
        .iter()
        .map(|(name, value)| (name.clone(), serde_json::Value::from(value.as_str())))
        .collect();
    let wrapped = wrap(
        code,
        &manifest.supported_triggers,
        &configuration,
        &manifest.network.hosts,
        Mode::Test {
            fixtures: &case.fixtures,
        },
    );
    let identity = format!("test-{}", hex::encode(Sha256::digest(wrapped.as_bytes())));
    let request = ExecutionRequest {
        tenant: "marketplace-checks".to_owned(),
        action: manifest.slug.clone(),
        version: identity,
        code: Arc::from(wrapped),
        files,
        trigger_id: trigger,
        event,
        secrets: Secrets(case.secrets.clone()),
        limits: limits.clone(),
    };
    let outcome = match runtime.execute(request).await {
        Ok(outcome) => outcome,
        Err(e) => {
            result
                .findings
                .push(fail(format!("the runtime refused it: {e}")));
            return result;
        }
    };
    result.findings = judge(&outcome, expect, manifest, &name, file);
    result.passed = result.findings.iter().all(|f| f.code != "test_failed");
    result
}

/// The test's findings from its outcome.
fn judge(
    outcome: &Outcome,
    expect: &Expect,
    manifest: &Manifest,
    name: &str,
    file: &str,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let fail =
        |message: String| Finding::error("test_failed", format!("{name}: {message}")).in_file(file);
    let mut emails = 0;
    let mut logs = Vec::new();
    for line in &outcome.logs {
        let Some(rest) = line.message.strip_prefix(TEST_MARK) else {
            logs.push(line.message.as_str());
            continue;
        };
        if rest.starts_with("ses ") {
            emails += 1;
        } else if let Some(request) = rest.strip_prefix("request ") {
            let host = serde_json::from_str::<serde_json::Value>(request)
                .ok()
                .and_then(|v| v["host"].as_str().map(str::to_owned))
                .unwrap_or_default();
            if !host_allowed(&manifest.network.hosts, &host) {
                let message =
                    format!("{name}: the code fetches {host}, which is not in network.hosts");
                out.push(Finding::error("host_not_declared", message).in_file(file));
            }
        }
    }
    let status = match outcome.status {
        Status::Completed => "completed",
        Status::Threw => "threw",
        Status::TimedOut => "timed_out",
        Status::CpuLimit => "cpu_limit",
        Status::OutOfMemory => "out_of_memory",
        Status::InvalidCode => "invalid_code",
        Status::Crashed => "crashed",
    };
    let wanted = expect.status.as_deref().unwrap_or("completed");
    if status != wanted {
        let why = outcome
            .error
            .as_ref()
            .map(|e| format!(": {}: {}", e.name, e.message))
            .unwrap_or_default();
        let mut finding = fail(format!("expected {wanted}, the run ended {status}{why}"));
        if let Some(line) = outcome.error.as_ref().and_then(|e| e.line) {
            finding = finding.in_file(CODE_FILE).at_line(line);
        }
        out.push(finding);
        return out;
    }
    if let Some(text) = &expect.error {
        let message = outcome
            .error
            .as_ref()
            .map(|e| e.message.as_str())
            .unwrap_or("");
        if !message.contains(text.as_str()) {
            out.push(fail(format!(
                "expected an error containing {text:?}, got {message:?}"
            )));
        }
    }
    let denied = outcome.api_calls.iter().any(|c| c.method == "access.deny");
    if let Some(want) = expect.denied {
        if want != denied {
            out.push(fail(format!("expected denied = {want}, got {denied}")));
        }
    }
    if let Some(calls) = &expect.api_calls {
        let got: Vec<String> = outcome.api_calls.iter().map(|c| c.method.clone()).collect();
        let same = calls.len() == outcome.api_calls.len()
            && calls.iter().zip(&outcome.api_calls).all(|(want, got)| {
                want.method == got.method && want.args.as_ref().is_none_or(|args| *args == got.args)
            });
        if !same {
            let want: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
            out.push(fail(format!(
                "expected the api calls {want:?}, got {got:?} (or other arguments)"
            )));
        }
    }
    for text in &expect.logs {
        if !logs.iter().any(|l| l.contains(text.as_str())) {
            out.push(fail(format!("no log line contains {text:?}")));
        }
    }
    if let Some(want) = expect.emails {
        if want != emails {
            out.push(fail(format!("expected {want} emails, {emails} were sent")));
        }
    }
    out
}
