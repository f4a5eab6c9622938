//! Sealed secrets: upsert, list, limit, delete.

use actionflow_store::Error;

use crate::harness::{new_action, tenant, Shared};

async fn secrets_upsert_list_limit(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let id = store
        .create_action(&t, new_action("a", &["post-login"]))
        .await
        .unwrap()
        .id;
    let max = 2;
    let first = store
        .put_secret(&t, &id, "B_KEY", b"cipher-b", b"nonce-b", max)
        .await
        .unwrap();
    store
        .put_secret(&t, &id, "A_KEY", b"cipher-a", b"nonce-a", max)
        .await
        .unwrap();
    assert!(matches!(
        store.put_secret(&t, &id, "C_KEY", b"c", b"n", max).await,
        Err(Error::LimitReached { max: 2, .. })
    ));
    // Replacing an existing name is allowed at the limit.
    let replaced = store
        .put_secret(&t, &id, "B_KEY", b"cipher-b2", b"nonce-b2", max)
        .await
        .unwrap();
    assert!(replaced.updated_at >= first.updated_at);
    assert_eq!(store.count_secrets(&t, &id).await.unwrap(), 2);

    let listed = store.list_secrets(&t, &id).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["A_KEY", "B_KEY"]);
    assert_eq!(listed[1].updated_at, replaced.updated_at);
    let sealed = store.sealed_secrets(&t, &id).await.unwrap();
    assert_eq!(sealed[1].ciphertext, b"cipher-b2");
    assert_eq!(sealed[1].nonce, b"nonce-b2");
    let debug = format!("{:?}", sealed[1]);
    assert!(
        debug.contains("<redacted>") && !debug.contains("99, 105, 112"),
        "{debug}"
    );

    store.delete_secret(&t, &id, "A_KEY").await.unwrap();
    assert!(matches!(
        store.delete_secret(&t, &id, "A_KEY").await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(store.count_secrets(&t, &id).await.unwrap(), 1);
    store
        .put_secret(&t, &id, "C_KEY", b"c", b"n", max)
        .await
        .unwrap();
    assert_eq!(store.count_secrets(&t, &id).await.unwrap(), 2);

    // Secrets go with their action.
    store.delete_action(&t, &id, false).await.unwrap();
    assert!(matches!(
        store.count_secrets(&t, &id).await,
        Err(Error::NotFound { .. })
    ));
    let again = store
        .create_action(&t, new_action("a", &["post-login"]))
        .await
        .unwrap()
        .id;
    assert_eq!(store.count_secrets(&t, &again).await.unwrap(), 0);
}

on_both_backends!(secrets_upsert_list_limit);
