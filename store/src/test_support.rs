//! Test support (the `test-support` feature): runs a test story on a fresh SQLite file and on a
//! fresh PostgreSQL database, for the store's own tests and for the test suites of the crates built
//! on it (enabled from their `[dev-dependencies]`).
//!
//! Production code must not enable this feature: it reads the environment and panics instead of
//! returning errors, which is right only in tests.
//!
//! PostgreSQL comes from `ACTIONFLOW_TEST_DATABASE_URL` (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/test`): each run creates `<prefix>_<uuid>` and drops it at
//! the end, even when the story panics. Without the variable the PostgreSQL run fails when `CI` is
//! set (PostgreSQL tests are not skippable there) and is skipped with a note otherwise.

use std::any::Any;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

use chrono::TimeDelta;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};

use crate::{SharedStore, SqlStore};

/// The environment variable holding the PostgreSQL admin URL.
pub const DATABASE_URL_VAR: &str = "ACTIONFLOW_TEST_DATABASE_URL";

/// What a test suite's runs are named: a suite declares one as a `const`.
#[derive(Clone, Copy, Debug)]
pub struct Backends {
    /// Each PostgreSQL run creates the database `<database_prefix>_<uuid>`.
    pub database_prefix: &'static str,
    /// Each SQLite run opens this relative path inside a new temporary directory.
    pub sqlite_file: &'static str,
}

impl Backends {
    /// Opens `count` stores on one new SQLite file in a temporary directory, removed afterwards.
    pub async fn on_sqlite<F, Fut>(&self, count: usize, story: F)
    where
        F: FnOnce(Vec<SharedStore>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let dir = tempfile::tempdir().expect("cannot create a temporary directory");
        let path = dir.path().join(self.sqlite_file);
        let location = path.to_str().expect("the temporary path is not UTF-8");
        let mut stores = Vec::new();
        for _ in 0..count {
            let store = crate::open(location).await;
            stores.push(store.unwrap_or_else(|e| panic!("cannot open the SQLite store: {e:?}")));
        }
        let outcome = run(stores, story).await;
        drop(dir);
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }

    /// Opens `count` stores independently on one new PostgreSQL database (as `count` server
    /// processes would), dropped afterwards even if the story panics.
    pub async fn on_postgres<F, Fut>(&self, count: usize, story: F)
    where
        F: FnOnce(Vec<SharedStore>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.on_postgres_skewed(&vec![TimeDelta::zero(); count], story)
            .await
    }

    /// Like [`Backends::on_postgres`], one store per skew, each behaving as a node whose clock is
    /// that far off.
    pub async fn on_postgres_skewed<F, Fut>(&self, skews: &[TimeDelta], story: F)
    where
        F: FnOnce(Vec<SharedStore>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Some(url) = postgres_url() else { return };
        let admin_options = PgConnectOptions::from_str(&url)
            .unwrap_or_else(|e| panic!("{DATABASE_URL_VAR} is not a PostgreSQL URL: {e}"));
        let mut admin = PgConnection::connect_with(&admin_options)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {DATABASE_URL_VAR}: {e}"));
        let database = format!("{}_{}", self.database_prefix, uuid::Uuid::now_v7().simple());
        admin
            .execute(format!("CREATE DATABASE {database}").as_str())
            .await
            .unwrap_or_else(|e| panic!("cannot create the database {database}: {e}"));
        let options = admin_options.database(&database);
        let mut stores: Vec<SharedStore> = Vec::new();
        let mut opened = Ok(());
        for skew in skews {
            match SqlStore::connect_postgres_with(options.clone()).await {
                Ok(store) => stores.push(Arc::new(store.with_clock_skew(*skew))),
                Err(error) => opened = Err(format!("cannot open the PostgreSQL store: {error:?}")),
            }
        }
        let outcome = match opened {
            Ok(()) => run(stores, story).await,
            Err(message) => Err(Box::new(message) as Box<dyn Any + Send>),
        };
        admin
            .execute(format!("DROP DATABASE {database} WITH (FORCE)").as_str())
            .await
            .unwrap_or_else(|e| panic!("cannot drop the database {database}: {e}"));
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

/// The admin URL, or `None` (with a note) when PostgreSQL tests may be skipped here.
pub fn postgres_url() -> Option<String> {
    match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{DATABASE_URL_VAR} must be set in CI: PostgreSQL tests are not skippable")
        }
        _ => {
            eprintln!("note: {DATABASE_URL_VAR} is unset; PostgreSQL run skipped");
            None
        }
    }
}

/// Runs the story on its own task, then closes the stores; a panic of the story is returned.
async fn run<F, Fut>(stores: Vec<SharedStore>, story: F) -> Result<(), Box<dyn Any + Send>>
where
    F: FnOnce(Vec<SharedStore>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(story(stores.clone())).await;
    for store in stores {
        store.close().await;
    }
    outcome.map_err(|error| error.into_panic())
}

/// Declares, for each story `async fn name(store: SharedStore)`, a module `name` with the tests
/// `sqlite` and `postgres`, run with `$backends` (a [`Backends`](crate::test_support::Backends)).
/// The calling crate needs `tokio` with the `macros` and `rt-multi-thread` features.
#[macro_export]
macro_rules! on_both_backends {
    ($backends:expr; $($story:ident),+ $(,)?) => {$(
        mod $story {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $backends.on_sqlite(1, |mut s| super::$story(s.remove(0))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $backends.on_postgres(1, |mut s| super::$story(s.remove(0))).await
            }
        }
    )+};
}

/// Like [`on_both_backends!`] for stories `async fn name(a: SharedStore, b: SharedStore)` that get
/// two independently opened stores on one database, as two server processes would.
#[macro_export]
macro_rules! on_both_backends_twice_opened {
    ($backends:expr; $($story:ident),+ $(,)?) => {$(
        mod $story {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $backends.on_sqlite(2, |mut s| super::$story(s.remove(0), s.remove(0))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $backends.on_postgres(2, |mut s| super::$story(s.remove(0), s.remove(0))).await
            }
        }
    )+};
}
