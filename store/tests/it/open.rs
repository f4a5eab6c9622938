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
