//! Create with a secret → build failure on its line → fix → deploy → prepare → test run → rollback,
//! through `Actions` alone.

use actionflow_actions::{
    ActionLimits, Actions, Code, DraftPatch, Error, NewDraft, Packages, Sealer, SecretInput,
    TestRun, TriggerRef, Which,
};
use actionflow_registry::DiscoveryInputs;
use actionflow_runtime::{Event, PoolConfig, Runtime};
use actionflow_triggers::{TenantLimits, VersionResources, TENANT_LIMITS_TTL};
use std::sync::Arc;

const GOOD: &str = "exports.onExecutePostLogin = async (event, api) => {
  console.log('key is ' + event.secrets.API_KEY);
  api.accessToken.setCustomClaim('plan', event.user.plan);
};";

async fn lifecycle() -> (Actions, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = actionflow_store::open("sqlite::memory:").await.unwrap();
    let tenant = store.create_tenant("acme").await.unwrap().id;
    let discovery = DiscoveryInputs {
        registry_flag: Some("http://127.0.0.1:9/".to_owned()),
        ..DiscoveryInputs::default()
    };
    let packages = Packages::open(&dir.path().join("npm"), discovery).unwrap();
    let runtime = Runtime::new(PoolConfig::default()).unwrap();
    let limits = TenantLimits::new(store.clone(), TENANT_LIMITS_TTL);
    let actions = Actions::new(
        store,
        Sealer::new([3; 32]),
        packages,
        Arc::new(runtime),
        4,
        ActionLimits::default(),
        limits,
    );
    (actions, tenant, dir)
}

fn draft(code: &str) -> NewDraft {
    NewDraft {
        name: "plan-claim".to_owned(),
        supported_triggers: vec![TriggerRef {
            id: "post-login".to_owned(),
            version: None,
        }],
        code: code.to_owned(),
        secrets: vec![SecretInput {
            name: "API_KEY".to_owned(),
            value: "sk_live_123".to_owned(),
        }],
        ..NewDraft::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_without_http_creates_deploys_prepares_and_tests() {
    let (actions, tenant, _dir) = lifecycle().await;

    let broken = "exports.onExecutePostLogin = async () => {\n  syntax error here\n};";
    let view = actions.create(&tenant, draft(broken)).await.unwrap();
    let id = view.action.id.clone();
    assert!(!view.all_changes_deployed);
    let failed = actions.deploy(&tenant, &id).await.unwrap_err();
    assert_eq!(failed.code(), Code::BuildFailed);
    assert_eq!(failed.field(), Some("code"));
    let Error::BuildFailed { errors, .. } = failed else {
        unreachable!()
    };
    assert_eq!(errors[0].line, Some(2), "{errors:?}");

    let fix = DraftPatch {
        code: Some(GOOD.to_owned()),
        ..DraftPatch::default()
    };
    actions.patch(&tenant, &id, fix).await.unwrap();
    let version = actions.deploy(&tenant, &id).await.unwrap();
    assert_eq!(version.number, 1);
    assert!(
        actions
            .get(&tenant, &id)
            .await
            .unwrap()
            .all_changes_deployed
    );

    // What dispatch gets for the version: its declared secret, opened.
    let preparer = actions.preparer();
    let prepared = VersionResources::prepare(preparer.as_ref(), &tenant, &version)
        .await
        .unwrap();
    assert_eq!(prepared.secrets.0["API_KEY"], "sk_live_123");

    let run = TestRun {
        event: Event::new(&serde_json::json!({"user": {"plan": "pro"}})).unwrap(),
        trigger_id: None,
        secrets: Vec::new(),
        version: Some(1),
    };
    let report = actions.test(&tenant, &id, run).await.unwrap();
    assert_eq!(
        report.outcome["status"], "completed",
        "{:?}",
        report.outcome
    );
    let text = report.outcome.to_string();
    assert!(
        text.contains("key is [REDACTED]") && !text.contains("sk_live"),
        "{text}"
    );

    let again = actions.rollback(&tenant, &id, 1).await.unwrap();
    assert_eq!((again.number, again.copied_from), (2, Some(1)));
    let diff = actions
        .diff(
            &tenant,
            &id,
            (Which::Version(1), Which::Draft),
            ("from", "to"),
        )
        .await
        .unwrap();
    assert_eq!(diff.code, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_its_field_and_stores_nothing() {
    let (actions, tenant, _dir) = lifecycle().await;
    let mut bad = draft(GOOD);
    bad.secrets[0].name = "1bad".to_owned();
    let error = actions.create(&tenant, bad).await.unwrap_err();
    assert_eq!(error.code(), Code::InvalidValue);
    assert_eq!(error.field(), Some("secrets[0].name"));
    let page = actionflow_store::Page::new(0, 10);
    let listed = actions
        .list(&tenant, &Default::default(), page)
        .await
        .unwrap();
    assert_eq!(listed.total, 0);

    let missing = actions.get(&tenant, "nope").await.unwrap_err();
    assert_eq!(
        (missing.code(), missing.field()),
        (Code::NotFound, Some("id"))
    );
}
