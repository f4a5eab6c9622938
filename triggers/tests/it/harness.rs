//! Runs a story on a fresh SQLite file and on a fresh PostgreSQL database (from
//! `ACTIONFLOW_TEST_DATABASE_URL`; required when `CI` is set), with helpers to deploy actions and a
//! dispatcher over the real runtime.

use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use actionflow_runtime::{Limits, PoolConfig, Runtime};
use actionflow_store::{Action, NewAction, NewVersion, SqlStore, Store};
use actionflow_triggers::{
    DispatchSettings, Dispatcher, LogHub, RuntimeExecutor, WithoutResources,
};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};

pub type Shared = Arc<dyn Store>;

/// Declares, for each story `async fn name(store: Shared)`, a module with `sqlite` and `postgres`.
macro_rules! on_both_backends {
    ($($story:ident),+ $(,)?) => {$(
        mod $story {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::harness::on_sqlite(1, |mut s| super::$story(s.remove(0))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::harness::on_postgres(1, |mut s| super::$story(s.remove(0))).await
            }
        }
    )+};
}

pub async fn on_sqlite<F, Fut>(count: usize, story: F)
where
    F: FnOnce(Vec<Shared>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("actionflow.db");
    let mut stores = Vec::new();
    for _ in 0..count {
        stores.push(
            actionflow_store::open(path.to_str().unwrap())
                .await
                .unwrap(),
        );
    }
    let outcome = run(stores, story).await;
    drop(dir);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// `count` stores opened independently on one new database, dropped afterwards even on panic.
pub async fn on_postgres<F, Fut>(count: usize, story: F)
where
    F: FnOnce(Vec<Shared>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(url) = postgres_url() else { return };
    let admin_options = PgConnectOptions::from_str(&url).unwrap();
    let mut admin = PgConnection::connect_with(&admin_options).await.unwrap();
    let database = format!("af_trig_{}", uuid::Uuid::now_v7().simple());
    admin
        .execute(format!("CREATE DATABASE {database}").as_str())
        .await
        .unwrap();
    let options = admin_options.database(&database);
    let mut stores: Vec<Shared> = Vec::new();
    for _ in 0..count {
        stores.push(Arc::new(
            SqlStore::connect_postgres_with(options.clone())
                .await
                .unwrap(),
        ));
    }
    let outcome = run(stores, story).await;
    admin
        .execute(format!("DROP DATABASE {database} WITH (FORCE)").as_str())
        .await
        .unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

pub fn postgres_url() -> Option<String> {
    match std::env::var("ACTIONFLOW_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("ACTIONFLOW_TEST_DATABASE_URL must be set in CI: PostgreSQL tests are not skippable")
        }
        _ => {
            eprintln!("note: ACTIONFLOW_TEST_DATABASE_URL is unset; PostgreSQL run skipped");
            None
        }
    }
}

async fn run<F, Fut>(stores: Vec<Shared>, story: F) -> Result<(), Box<dyn std::any::Any + Send>>
where
    F: FnOnce(Vec<Shared>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(story(stores.clone())).await;
    for store in stores {
        store.close().await;
    }
    outcome.map_err(|error| error.into_panic())
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
    let executor = RuntimeExecutor::new(runtime(), Arc::new(WithoutResources), Limits::default());
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
