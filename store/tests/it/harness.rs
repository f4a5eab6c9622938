//! Runs a story on a fresh SQLite file and on a fresh PostgreSQL database.
//!
//! PostgreSQL comes from `ACTIONFLOW_TEST_DATABASE_URL` (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/test`): each run creates `af_test_<uuid>` and drops it at
//! the end. Without the variable the PostgreSQL run fails when `CI` is set and is skipped with a
//! note otherwise.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

use actionflow_store::{NewAction, SqlStore, Store, Tenant};
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
                $crate::harness::on_sqlite(super::$story).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::harness::on_postgres(super::$story).await
            }
        }
    )+};
}

pub async fn on_sqlite<F, Fut>(story: F)
where
    F: FnOnce(Shared) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("actionflow.db");
    let store = actionflow_store::open(path.to_str().unwrap())
        .await
        .unwrap();
    run(store, story).await;
}

pub async fn on_postgres<F, Fut>(story: F)
where
    F: FnOnce(Shared) -> Fut,
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
    let store = SqlStore::connect_postgres_with(admin_options.database(&database)).await;
    match store {
        Ok(store) => run(Arc::new(store), story).await,
        Err(error) => panic!("cannot open the PostgreSQL store: {error:?}"),
    }
    admin
        .execute(format!("DROP DATABASE {database} WITH (FORCE)").as_str())
        .await
        .unwrap();
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

/// Runs the story on its own task, closes the store, then re-raises the story's panic if any.
async fn run<F, Fut>(store: Shared, story: F)
where
    F: FnOnce(Shared) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(story(store.clone())).await;
    store.close().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
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
