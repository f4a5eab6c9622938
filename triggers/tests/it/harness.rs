//! The triggers suite's use of the shared harness (`actionflow_store::test_support`: a fresh SQLite
//! file and a fresh PostgreSQL database per story, from `ACTIONFLOW_TEST_DATABASE_URL`), with
//! helpers to deploy actions and a dispatcher over the real runtime.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use actionflow_runtime::{Limits, PoolConfig, Runtime};
use actionflow_store::test_support::Backends;
use actionflow_store::{Action, NewAction, NewVersion};
use actionflow_triggers::{
    DispatchSettings, Dispatcher, LogHub, RuntimeExecutor, WithoutResources,
};

pub use actionflow_store::SharedStore as Shared;

/// PostgreSQL databases `af_trig_<uuid>`; the SQLite file at the top of its temporary directory.
pub const BACKENDS: Backends = Backends {
    database_prefix: "af_trig",
    sqlite_file: "actionflow.db",
};

/// Declares, for each story `async fn name(store: Shared)`, a module with `sqlite` and `postgres`.
macro_rules! on_both_backends {
    ($($story:ident),+ $(,)?) => {
        actionflow_store::on_both_backends!($crate::harness::BACKENDS; $($story),+);
    };
}

/// [`Backends::on_sqlite`] on this suite's files.
pub async fn on_sqlite<F, Fut>(count: usize, story: F)
where
    F: FnOnce(Vec<Shared>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    BACKENDS.on_sqlite(count, story).await
}

/// [`Backends::on_postgres`] on this suite's databases.
pub async fn on_postgres<F, Fut>(count: usize, story: F)
where
    F: FnOnce(Vec<Shared>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    BACKENDS.on_postgres(count, story).await
}

/// One runtime for the whole test binary (isolates are per tenant, and every story makes its own).
pub fn runtime() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            // The actions of the async tests call a hook served by the test on loopback.
            let config = PoolConfig {
                allow_private_network: true,
                ..PoolConfig::default()
            };
            Runtime::new(config).unwrap()
        })
        .clone()
}

pub fn dispatcher(store: &Shared, settings: DispatchSettings) -> Dispatcher {
    let executor = RuntimeExecutor::new(
        Arc::new(runtime()),
        Arc::new(WithoutResources),
        Limits::default(),
    );
    Dispatcher::new(
        store.clone(),
        Arc::new(executor),
        LogHub::default(),
        settings,
    )
}

pub async fn tenant(store: &Shared) -> String {
    let name = format!("tenant-{}", uuid::Uuid::now_v7().simple());
    store.create_tenant(&name).await.unwrap().id
}

/// Creates an action and deploys `code` as its version 1, supporting `triggers`.
pub async fn deployed(
    store: &Shared,
    tenant: &str,
    name: &str,
    triggers: &[&str],
    code: &str,
) -> Action {
    let triggers: Vec<String> = triggers.iter().map(|t| (*t).to_owned()).collect();
    let action = store
        .create_action(
            tenant,
            NewAction {
                name: name.to_owned(),
                supported_triggers: triggers.clone(),
                code: code.to_owned(),
                dependencies: Vec::new(),
                runtime: "node22".to_owned(),
                secret_names: Vec::new(),
            },
        )
        .await
        .unwrap();
    deploy(store, tenant, &action.id, triggers, code).await;
    store.get_action(tenant, &action.id).await.unwrap()
}

/// Deploys a new version of an existing action.
pub async fn deploy(
    store: &Shared,
    tenant: &str,
    action_id: &str,
    triggers: Vec<String>,
    code: &str,
) {
    store
        .deploy_version(
            tenant,
            action_id,
            NewVersion {
                code: code.to_owned(),
                dependencies: Vec::new(),
                lockfile: serde_json::json!({}),
                runtime: "node22".to_owned(),
                secret_names: Vec::new(),
                supported_triggers: triggers,
            },
        )
        .await
        .unwrap();
}

pub fn by_id(action: &Action) -> actionflow_triggers::BindingRequest {
    serde_json::from_value(serde_json::json!({"ref": {"type": "action_id", "value": action.id}}))
        .unwrap()
}

pub fn by_name(name: &str) -> actionflow_triggers::BindingRequest {
    serde_json::from_value(serde_json::json!({"ref": {"type": "action_name", "value": name}}))
        .unwrap()
}

/// A draft that was never deployed.
pub fn new_action(name: &str) -> NewAction {
    NewAction {
        name: name.to_owned(),
        supported_triggers: vec!["post-login".to_owned()],
        code: "exports.onExecutePostLogin = async () => {};".to_owned(),
        dependencies: Vec::new(),
        runtime: "node22".to_owned(),
        secret_names: Vec::new(),
    }
}
