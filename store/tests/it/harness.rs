//! The store suite's use of the shared harness (`actionflow_store::test_support`: a fresh SQLite
//! file and a fresh PostgreSQL database per story, from `ACTIONFLOW_TEST_DATABASE_URL`), and the
//! suite's row builders.

use actionflow_store::test_support::Backends;
use actionflow_store::{NewAction, NewExecution, Tenant};

pub use actionflow_store::test_support::postgres_url;
pub use actionflow_store::SharedStore as Shared;

/// PostgreSQL databases `af_test_<uuid>`; the SQLite file in a directory `open` has to create.
pub const BACKENDS: Backends = Backends {
    database_prefix: "af_test",
    sqlite_file: "data/actionflow.db",
};

/// Declares, for each story `async fn name(store: Shared)`, a module `name` with the tests
/// `sqlite` and `postgres`.
macro_rules! on_both_backends {
    ($($story:ident),+ $(,)?) => {
        actionflow_store::on_both_backends!($crate::harness::BACKENDS; $($story),+);
    };
}

/// Like `on_both_backends!` for stories `async fn name(a: Shared, b: Shared)` that get two
/// independently opened stores on one database, as two server processes would.
macro_rules! on_both_backends_twice_opened {
    ($($story:ident),+ $(,)?) => {
        actionflow_store::on_both_backends_twice_opened!($crate::harness::BACKENDS; $($story),+);
    };
}

/// [`Backends::on_postgres_skewed`] on this suite's databases.
pub async fn on_postgres_skewed<F, Fut>(skews: &[chrono::TimeDelta], story: F)
where
    F: FnOnce(Vec<Shared>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    BACKENDS.on_postgres_skewed(skews, story).await
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
