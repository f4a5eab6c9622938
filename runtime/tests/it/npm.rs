//! Real packages from the npm registry in the user's configuration, installed by the registry crate and
//! called inside an action. Runs when `ACTIONFLOW_TEST_NPM_REGISTRY` is set (CI sets it).

use super::{request, run, runtime};
use actionflow_registry::{Cache, DiscoveryInputs, HttpOptions, HttpSource, ResolveOptions};
use actionflow_runtime::{ExecutionRequest, ModuleFiles, PackageMounts, PoolConfig, Status};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

const ACTION: &str = r#"
const _ = require("lodash");
const ms = require("ms");
const { v4: uuidv4, validate } = require("uuid");
const dayjs = require("dayjs");
const validator = require("validator");
exports.onExecutePostLogin = async (event, api) => {
  const { nanoid } = await import("nanoid");
  const { default: escapeStringRegexp } = await import("escape-string-regexp");
  api.idToken.setCustomClaim("lodash", _.chunk([1, 2, 3, 4, 5], 2));
  api.idToken.setCustomClaim("ms", [ms("2 days"), ms(60000)]);
  api.idToken.setCustomClaim("uuid", validate(uuidv4()));
  api.idToken.setCustomClaim("dayjs", dayjs("2024-02-28").add(1, "day").format("YYYY-MM-DD"));
  api.idToken.setCustomClaim("validator", [validator.isEmail(event.email), validator.isEmail("nope")]);
  api.idToken.setCustomClaim("nanoid", nanoid(10).length);
  api.idToken.setCustomClaim("escape", escapeStringRegexp("a.b*c"));
};
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_packages_resolve_and_run_inside_an_action() {
    if std::env::var_os("ACTIONFLOW_TEST_NPM_REGISTRY").is_none() {
        eprintln!("note: set ACTIONFLOW_TEST_NPM_REGISTRY=1 to install real packages from your npm registry");
        return;
    }
    let inputs = DiscoveryInputs {
        env: std::env::vars().collect(),
        project_dir: std::env::current_dir().ok(),
        home_dir: std::env::var_os("HOME").map(PathBuf::from),
        ..DiscoveryInputs::default()
    };
    let config = actionflow_registry::discover(&inputs).unwrap();
    let source = HttpSource::new(config, HttpOptions::default()).unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(cache_dir.path()).unwrap();
    let deps: BTreeMap<String, String> = [
        ("lodash", "^4.17.0"),
        ("ms", "^2.1.0"),
        ("uuid", "^9.0.0"),
        ("dayjs", "^1.11.0"),
        ("validator", "^13.0.0"),
        ("nanoid", "^5.0.0"),
        ("escape-string-regexp", "^5.0.0"),
    ]
    .into_iter()
    .map(|(n, r)| (n.to_owned(), r.to_owned()))
    .collect();
    let installed =
        actionflow_registry::install(&source, &cache, &deps, &ResolveOptions::default())
            .await
            .unwrap();
    let mounts = installed
        .tree
        .packages
        .iter()
        .map(|(k, p)| (format!("/{k}"), p.dir.clone()))
        .collect();
    let files: Arc<dyn ModuleFiles> = Arc::new(PackageMounts::new(mounts));
    let req = ExecutionRequest {
        files,
        ..request(
            "t",
            "npm",
            ACTION,
            "post-login",
            json!({"email": "ada@example.com"}),
        )
    };
    let outcome = run(&runtime(PoolConfig::default()), req).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:#?}");
    let claims: BTreeMap<String, serde_json::Value> = outcome
        .api_calls
        .iter()
        .map(|c| (c.args[0].as_str().unwrap().to_owned(), c.args[1].clone()))
        .collect();
    assert_eq!(claims["lodash"], json!([[1, 2], [3, 4], [5]]));
    assert_eq!(claims["ms"], json!([172_800_000, "1m"]));
    assert_eq!(claims["uuid"], json!(true));
    assert_eq!(claims["dayjs"], json!("2024-02-29"));
    assert_eq!(claims["validator"], json!([true, false]));
    assert_eq!(claims["nanoid"], json!(10));
    assert_eq!(claims["escape"], json!("a\\.b\\*c"));
}
