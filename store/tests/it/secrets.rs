//! Sealed secrets: upsert, list, limit, delete; written with their action in one transaction; the
//! master-key canary.

use actionflow_store::{ActionPatch, BuildStatus, Error, NewSecret};

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

fn sealed(name: &str, value: &[u8]) -> NewSecret {
    NewSecret {
        name: name.to_owned(),
        ciphertext: value.to_vec(),
        nonce: b"nonce".to_vec(),
    }
}

/// An action created with secrets exists with all of them or not at all.
async fn create_with_secrets_is_one_transaction(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let id = actionflow_store::new_id();
    let action = store
        .create_action_with_secrets(
            &t,
            &id,
            new_action("a", &["post-login"]),
            &[sealed("B", b"b"), sealed("A", b"a")],
            30,
        )
        .await
        .unwrap();
    assert_eq!(
        (action.id.as_str(), action.secret_names),
        (id.as_str(), vec!["A".to_owned(), "B".to_owned()])
    );
    let stored = store.sealed_secrets(&t, &id).await.unwrap();
    assert_eq!(stored[1].ciphertext, b"b");

    // The secrets fail (one more than the limit) after the action row was written: neither stays.
    let refused = actionflow_store::new_id();
    let too_many = [sealed("A", b"a"), sealed("B", b"b"), sealed("C", b"c")];
    assert!(matches!(
        store
            .create_action_with_secrets(
                &t,
                &refused,
                new_action("b", &["post-login"]),
                &too_many,
                2
            )
            .await,
        Err(Error::LimitReached { max: 2, .. })
    ));
    assert!(matches!(
        store.get_action(&t, &refused).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.get_action_by_name(&t, "b").await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.count_secrets(&t, &refused).await,
        Err(Error::NotFound { .. })
    ));
    // A taken name: nothing either.
    let other = actionflow_store::new_id();
    assert!(matches!(
        store
            .create_action_with_secrets(&t, &other, new_action("a", &[]), &[sealed("K", b"k")], 30)
            .await,
        Err(Error::Conflict { .. })
    ));
    let all = store
        .list_actions(&t, &Default::default(), Default::default())
        .await
        .unwrap();
    assert_eq!(all.total, 1);
}

/// A patch with secrets changes the draft and the secrets together or not at all.
async fn update_with_secrets_is_one_transaction(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let id = store
        .create_action(&t, new_action("a", &["post-login"]))
        .await
        .unwrap()
        .id;
    store
        .put_secret(&t, &id, "OLD", b"old", b"n", 30)
        .await
        .unwrap();
    let before = store.get_action(&t, &id).await.unwrap();
    assert_eq!(
        before.secret_names,
        ["OLD"],
        "a put copies the names into the draft"
    );
    let rename = || ActionPatch {
        name: Some("renamed".to_owned()),
        code: Some("changed".to_owned()),
        status: Some(BuildStatus::Pending),
        ..ActionPatch::default()
    };
    // The draft is written first; the second new secret then passes the limit of 2.
    let refused = store
        .update_action_with_secrets(
            &t,
            &id,
            rename(),
            &[
                sealed("OLD", b"new"),
                sealed("N1", b"1"),
                sealed("N2", b"2"),
            ],
            2,
        )
        .await;
    assert!(
        matches!(refused, Err(Error::LimitReached { .. })),
        "{refused:?}"
    );
    assert_eq!(store.get_action(&t, &id).await.unwrap(), before);
    let sealed_now = store.sealed_secrets(&t, &id).await.unwrap();
    assert_eq!(sealed_now.len(), 1);
    assert_eq!(sealed_now[0].ciphertext, b"old");

    let updated = store
        .update_action_with_secrets(
            &t,
            &id,
            rename(),
            &[sealed("OLD", b"new"), sealed("N1", b"1")],
            2,
        )
        .await
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.code.as_str()),
        ("renamed", "changed")
    );
    assert_eq!(updated.secret_names, ["N1", "OLD"]);
    assert_eq!(
        store.sealed_secrets(&t, &id).await.unwrap()[1].ciphertext,
        b"new"
    );
    // Replacing a value at the limit is allowed; deleting one copies the names too.
    store
        .update_action_with_secrets(&t, &id, ActionPatch::default(), &[sealed("N1", b"x")], 2)
        .await
        .unwrap();
    store.delete_secret(&t, &id, "N1").await.unwrap();
    assert_eq!(
        store.get_action(&t, &id).await.unwrap().secret_names,
        ["OLD"]
    );
    assert!(matches!(
        store
            .update_action_with_secrets(&t, "nope", ActionPatch::default(), &[sealed("K", b"k")], 2)
            .await,
        Err(Error::NotFound { .. })
    ));
}

/// The master-key canary: written once (the first writer wins), read back by every node.
async fn key_canary_first_writer_wins(a: Shared, b: Shared) {
    assert_eq!(a.key_canary().await.unwrap(), None);
    assert_eq!(a.oldest_secret().await.unwrap(), None);
    let first = a.init_key_canary(b"sealed-a", b"nonce-a").await.unwrap();
    let second = b.init_key_canary(b"sealed-b", b"nonce-b").await.unwrap();
    assert_eq!(second, first);
    assert_eq!(first.ciphertext, b"sealed-a");
    assert_eq!(b.key_canary().await.unwrap(), Some(first));

    let t = tenant(&a, "acme").await.id;
    let id = a
        .create_action(&t, new_action("x", &["post-login"]))
        .await
        .unwrap()
        .id;
    a.put_secret(&t, &id, "FIRST", b"c1", b"n1", 30)
        .await
        .unwrap();
    a.put_secret(&t, &id, "LATER", b"c2", b"n2", 30)
        .await
        .unwrap();
    let oldest = b.oldest_secret().await.unwrap().unwrap();
    assert_eq!((oldest.tenant_id, oldest.action_id), (t, id));
    assert_eq!(
        (oldest.secret.name.as_str(), oldest.secret.ciphertext),
        ("FIRST", b"c1".to_vec())
    );
}

on_both_backends!(
    create_with_secrets_is_one_transaction,
    update_with_secrets_is_one_transaction
);
on_both_backends_twice_opened!(key_canary_first_writer_wins);
