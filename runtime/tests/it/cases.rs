//! Data-driven cases: each folder under `tests/cases/` holds `action.js` (or `action.mjs`) and
//! `case.json` = `{trigger, event?, secrets?, wall_ms_max?, cpu_ms_max?, heap_mb?, log_lines_max?, runs?, expect}`. `expect` is
//! matched as a subset of the outcome; a string `"contains:X"` matches any string containing X, and
//! `duration_ms_max` bounds the duration.

use actionflow_runtime::{Limits, PoolConfig, Secrets};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    trigger: String,
    #[serde(default)]
    event: Option<Value>,
    #[serde(default)]
    secrets: BTreeMap<String, String>,
    #[serde(default)]
    wall_ms_max: Option<u64>,
    #[serde(default)]
    cpu_ms_max: Option<u64>,
    #[serde(default)]
    heap_mb: Option<usize>,
    #[serde(default)]
    log_lines_max: Option<usize>,
    #[serde(default)]
    duration_ms_max: Option<f64>,
    /// Run the case this many times on one pool (warm path); every run must match.
    #[serde(default)]
    runs: Option<usize>,
    expect: Value,
}

/// Whether `actual` contains everything `expected` says, reporting the first difference.
fn matches(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let av = a.get(k).unwrap_or(&Value::Null);
                matches(ev, av, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    "{path}: expected {} items, got {}: {actual}",
                    e.len(),
                    a.len()
                ));
            }
            e.iter()
                .zip(a)
                .enumerate()
                .try_for_each(|(i, (ev, av))| matches(ev, av, &format!("{path}[{i}]")))
        }
        (Value::String(e), Value::String(a)) if e.starts_with("contains:") => {
            let needle = &e["contains:".len()..];
            if a.contains(needle) {
                Ok(())
            } else {
                Err(format!("{path}: {a:?} does not contain {needle:?}"))
            }
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, got {a}")),
    }
}

async fn check(dir: &Path, rt: &actionflow_runtime::Runtime) -> Result<(), String> {
    let case: Case = serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap())
        .map_err(|e| format!("case.json: {e}"))?;
    let source = ["action.js", "action.mjs"]
        .iter()
        .find_map(|f| std::fs::read_to_string(dir.join(f)).ok())
        .unwrap();
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let mut req = super::request(
        "cases",
        &name,
        &source,
        &case.trigger,
        case.event.clone().unwrap_or_else(|| serde_json::json!({})),
    );
    req.secrets = Secrets(case.secrets.clone());
    let defaults = Limits::default();
    req.limits = Limits {
        wall_ms_max: case.wall_ms_max.unwrap_or(defaults.wall_ms_max),
        cpu_ms_max: case.cpu_ms_max.unwrap_or(defaults.cpu_ms_max),
        heap_bytes_max: case
            .heap_mb
            .map_or(defaults.heap_bytes_max, |m| m * 1024 * 1024),
        log_lines_max: case.log_lines_max.unwrap_or(defaults.log_lines_max),
        ..defaults
    };
    for run in 0..case.runs.unwrap_or(1) {
        let outcome = rt.execute(req.clone()).await.map_err(|e| e.to_string())?;
        let actual = serde_json::to_value(&outcome).unwrap();
        matches(&case.expect, &actual, "outcome")
            .map_err(|e| format!("run {run}: {e}\nfull outcome: {actual:#}"))?;
        if let Some(max) = case.duration_ms_max {
            if outcome.duration_ms > max {
                return Err(format!(
                    "took {} ms, more than {max} ms",
                    outcome.duration_ms
                ));
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_matches_its_expectation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 20,
        "expected the case folders under {}",
        root.display()
    );
    let rt = super::runtime(PoolConfig::default());
    let mut failures = Vec::new();
    for dir in &dirs {
        if let Err(e) = check(dir, &rt).await {
            failures.push(format!(
                "case {}: {e}",
                dir.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n\n")
    );
}
