//! Choosing the backend from a location, and errors that do not leak driver text.

use actionflow_store::{Backend, Error};

#[tokio::test]
async fn open_picks_the_backend_by_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.db");
    let store = actionflow_store::open(file.to_str().unwrap())
        .await
        .unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    assert!(file.exists());
    let url = format!("sqlite:{}", dir.path().join("b.db").display());
    assert_eq!(
        actionflow_store::open(&url).await.unwrap().backend(),
        Backend::Sqlite
    );
    let memory = actionflow_store::open("sqlite::memory:").await.unwrap();
    assert_eq!(memory.backend(), Backend::Sqlite);
    memory.create_tenant("acme").await.unwrap();
    assert_eq!(
        memory.list_tenants(Default::default()).await.unwrap().total,
        1
    );
    assert!(matches!(
        actionflow_store::open("mysql://localhost/x").await,
        Err(Error::InvalidLocation { .. })
    ));
    if let Some(url) = crate::harness::postgres_url() {
        let store = actionflow_store::open(&url).await.unwrap();
        assert_eq!(store.backend(), Backend::Postgres);
        store.close().await;
    }
}

#[tokio::test]
async fn a_reopened_sqlite_file_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested").join("store.db");
    let location = file.to_str().unwrap();
    let store = actionflow_store::open(location).await.unwrap();
    let tenant = store.create_tenant("acme").await.unwrap();
    store.close().await;
    let reopened = actionflow_store::open(location).await.unwrap();
    assert_eq!(reopened.get_tenant(&tenant.id).await.unwrap(), tenant);
}

#[tokio::test]
async fn database_errors_do_not_leak_details() {
    let store = actionflow_store::open("sqlite::memory:").await.unwrap();
    store.close().await;
    let error = store.get_tenant("x").await.unwrap_err();
    assert!(matches!(error, Error::Database(_)), "{error:?}");
    assert_eq!(error.to_string(), "database error");
    assert!(std::error::Error::source(&error).is_some());
}

/// PostgreSQL connections in steady use are not pinged before each query (that was a second round
/// trip per query); one idle for a while is, so connections the server dropped meanwhile (a restart)
/// are replaced instead of failing the next query.
#[tokio::test]
async fn idle_postgres_connections_are_checked_before_use() {
    use sqlx::{Connection, Executor};
    use std::str::FromStr;
    let Some(url) = crate::harness::postgres_url() else {
        return;
    };
    let admin_options = sqlx::postgres::PgConnectOptions::from_str(&url).unwrap();
    let mut admin = sqlx::PgConnection::connect_with(&admin_options)
        .await
        .unwrap();
    let database = format!("af_test_{}", uuid::Uuid::now_v7().simple());
    admin
        .execute(format!("CREATE DATABASE {database}").as_str())
        .await
        .unwrap();
    let store = actionflow_store::SqlStore::connect_postgres_with(
        admin_options.clone().database(&database),
    )
    .await
    .unwrap();
    use actionflow_store::TenantStore;
    store.create_tenant("acme").await.unwrap();
    // The server drops every connection of the store, which then stays idle past the threshold.
    let terminate = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
    );
    admin.execute(terminate.as_str()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5_200)).await;
    let tenants = store.list_tenants(Default::default()).await.unwrap();
    assert_eq!(tenants.total, 1);
    actionflow_store::Store::close(&store).await;
    admin
        .execute(format!("DROP DATABASE {database} WITH (FORCE)").as_str())
        .await
        .unwrap();
}
