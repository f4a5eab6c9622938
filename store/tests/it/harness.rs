//! Runs a story on a fresh SQLite file and on a fresh PostgreSQL database.
//!
//! PostgreSQL comes from `ACTIONFLOW_TEST_DATABASE_URL` (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/test`): each run creates `af_test_<uuid>` and drops it at
//! the end. Without the variable the PostgreSQL run fails when `CI` is set and is skipped with a
//! note otherwise.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

use actionflow_store::{NewAction, NewExecution, SqlStore, Store, Tenant};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};

pub type Shared = Arc<dyn Store>;

/// Declares, for each story `async fn name(store: Shared)`, a module `name` with the tests
/// `sqlite` and `postgres`.
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

/// Like `on_both_backends!` for stories `async fn name(a: Shared, b: Shared)` that get two
/// independently opened stores on one database, as two server processes would.
macro_rules! on_both_backends_twice_opened {
    ($($story:ident),+ $(,)?) => {$(
        mod $story {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::harness::on_sqlite(2, |mut s| super::$story(s.remove(0), s.remove(0))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::harness::on_postgres(2, |mut s| super::$story(s.remove(0), s.remove(0)))
                    .await
            }
        }
    )+};
}

/// Opens `count` stores on one new SQLite file in a temporary directory.
pub async fn on_sqlite<F, Fut>(count: usize, story: F)
where
    F: FnOnce(Vec<Shared>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("actionflow.db");
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

/// Opens `count` stores on one new PostgreSQL database, dropped afterwards even if the story
/// panics.
pub async fn on_postgres<F, Fut>(count: usize, story: F)
where
    F: FnOnce(Vec<Shared>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    on_postgres_skewed(&vec![chrono::TimeDelta::zero(); count], story).await
}

/// Like [`on_postgres`], one store per skew, each behaving as a node whose clock is that far off.
pub async fn on_postgres_skewed<F, Fut>(skews: &[chrono::TimeDelta], story: F)
where
    F: FnOnce(Vec<Shared>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(url) = postgres_url() else { return };
    let admin_options = PgConnectOptions::from_str(&url).unwrap();
    let mut admin = PgConnection::connect_with(&admin_options).await.unwrap();
    let database = format!("af_test_{}", uuid::Uuid::now_v7().simple());
    admin
        .execute(format!("CREATE DATABASE {database}").as_str())
        .await
        .unwrap();
    let options = admin_options.database(&database);
    let mut stores: Vec<Shared> = Vec::new();
    let mut opened = Ok(());
    for skew in skews {
        match SqlStore::connect_postgres_with(options.clone()).await {
            Ok(store) => stores.push(Arc::new(store.with_clock_skew(*skew))),
            Err(error) => opened = Err(format!("cannot open the PostgreSQL store: {error:?}")),
        }
    }
    let outcome = match opened {
        Ok(()) => run(stores, story).await,
        Err(message) => Err(Box::new(message) as Box<dyn std::any::Any + Send>),
    };
    admin
        .execute(format!("DROP DATABASE {database} WITH (FORCE)").as_str())
        .await
        .unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// The admin URL, or `None` (with a note) when PostgreSQL tests may be skipped here.
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

/// Runs the story on its own task, then closes the stores; a panic of the story is returned.
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

pub async fn tenant(store: &Shared, name: &str) -> Tenant {
    store.create_tenant(name).await.unwrap()
}

pub fn new_action(name: &str, triggers: &[&str]) -> NewAction {
    NewAction {
        name: name.to_owned(),
        supported_triggers: triggers.iter().map(|t| (*t).to_owned()).collect(),
        code: format!("exports.onExecutePostLogin = async () => {{ /* {name} */ }};"),
        dependencies: vec![actionflow_store::Dependency {
            name: "lodash".to_owned(),
            version: "^4.17.0".to_owned(),
        }],
        runtime: "node22".to_owned(),
        secret_names: vec!["API_KEY".to_owned()],
    }
}

pub fn job(key: Option<&str>, max_attempts: u32) -> NewExecution {
    NewExecution {
        trigger_id: "post-user-registration".to_owned(),
        idempotency_key: key.map(str::to_owned),
        action_ids: vec!["action-1".to_owned()],
        event: serde_json::json!({"user": {"id": "u1"}}),
        max_attempts,
        next_attempt_at: chrono::Utc::now(),
        plan: serde_json::json!([{"action_id": "action-1", "version": 1}]),
    }
}
