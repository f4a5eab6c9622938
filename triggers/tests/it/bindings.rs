//! Binding edits over the store: replace, insert, remove, revisions and their restore.

use actionflow_store::Page;
use actionflow_triggers::{bindings, Error};

use crate::harness::{by_id, by_name, deploy, deployed, tenant, Shared};

const LOGIN: &str = "exports.onExecutePostLogin = async () => {};";

on_both_backends!(
    replace_checks_every_binding,
    insert_and_remove_one,
    revisions_restore
);

async fn replace_checks_every_binding(store: Shared) {
    let t = tenant(&store).await;
    let s = store.as_ref();
    let a = deployed(&store, &t, "a", &["post-login"], LOGIN).await;
    let b = deployed(&store, &t, "b", &["post-login"], LOGIN).await;
    let flow = bindings::set(s, &t, "post-login", &[by_id(&a), by_name("b")], 20)
        .await
        .unwrap();
    let names: Vec<_> = flow
        .bindings
        .iter()
        .map(|b| b.display_name.as_str())
        .collect();
    assert_eq!((flow.revision, names), (1, vec!["a", "b"]));

    let reg = deployed(&store, &t, "reg", &["post-user-registration"], LOGIN).await;
    let error = bindings::set(s, &t, "post-login", &[by_id(&a), by_id(&reg)], 20)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "bindings[1]: action `reg` cannot be bound to post-login: its deployed version 1 \
         supports only post-user-registration"
    );
    let draft = store
        .create_action(&t, crate::harness::new_action("draft"))
        .await
        .unwrap();
    let error = bindings::set(s, &t, "post-login", &[by_id(&draft)], 20)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("it has no deployed version"),
        "{error}"
    );
    let error = bindings::set(s, &t, "post-login", &[by_name("nope")], 20)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "bindings[0].ref.value: no action with name `nope`"
    );
    let error = bindings::set(s, &t, "post-login", &[by_id(&a), by_id(&b), by_id(&a)], 20)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::DuplicateBinding { .. }), "{error}");
    let many = vec![by_id(&a); 21];
    let error = bindings::set(s, &t, "post-login", &many, 20)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        Error::TooManyBindings { max: 20, count: 21 }
    ));
    let error = bindings::set(s, &t, "post-logout", &[], 20)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::UnknownTrigger { .. }));

    // Another tenant's action is unknown here.
    let other = tenant(&store).await;
    let error = bindings::set(s, &other, "post-login", &[by_id(&a)], 20)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::UnknownAction { .. }), "{error}");
    // Nothing failed changed the flow.
    assert_eq!(bindings::get(s, &t, "post-login").await.unwrap(), flow);
}

async fn insert_and_remove_one(store: Shared) {
    let t = tenant(&store).await;
    let s = store.as_ref();
    let mut actions = Vec::new();
    for name in ["a", "b", "c", "d"] {
        actions.push(deployed(&store, &t, name, &["post-login"], LOGIN).await);
    }
    bindings::set(
        s,
        &t,
        "post-login",
        &[by_id(&actions[0]), by_id(&actions[1])],
        20,
    )
    .await
    .unwrap();
    let flow = bindings::insert(s, &t, "post-login", &by_name("c"), Some(1), 20)
        .await
        .unwrap();
    let order: Vec<_> = flow
        .bindings
        .iter()
        .map(|b| b.display_name.clone())
        .collect();
    assert_eq!(order, ["a", "c", "b"]);
    let error = bindings::insert(s, &t, "post-login", &by_name("d"), Some(9), 20)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        Error::InvalidPosition {
            position: 9,
            len: 3
        }
    ));
    let error = bindings::insert(s, &t, "post-login", &by_name("d"), None, 3)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::TooManyBindings { max: 3, count: 4 }));

    // Two tools inserting at once both land: each edit retries on the other's new revision.
    let (d, a) = (by_name("d"), by_name("a").action);
    let (x, y) = tokio::join!(
        bindings::insert(s, &t, "post-login", &d, None, 20),
        bindings::remove(s, &t, "post-login", &a),
    );
    x.unwrap();
    y.unwrap();
    let flow = bindings::get(s, &t, "post-login").await.unwrap();
    let order: Vec<_> = flow
        .bindings
        .iter()
        .map(|b| b.display_name.clone())
        .collect();
    assert_eq!(
        (flow.revision, order),
        (4, vec!["c".into(), "b".into(), "d".into()])
    );
    let error = bindings::remove(s, &t, "post-login", &by_name("a").action)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "ref: action `a` is not bound to post-login"
    );
}

async fn revisions_restore(store: Shared) {
    let t = tenant(&store).await;
    let s = store.as_ref();
    let a = deployed(&store, &t, "a", &["post-login"], LOGIN).await;
    let b = deployed(&store, &t, "b", &["post-login"], LOGIN).await;
    let first = bindings::set(s, &t, "post-login", &[by_id(&a), by_id(&b)], 20)
        .await
        .unwrap();
    bindings::set(s, &t, "post-login", &[by_id(&b)], 20)
        .await
        .unwrap();
    let restored = bindings::restore(s, &t, "post-login", 1, 20).await.unwrap();
    assert_eq!(
        (restored.revision, &restored.bindings),
        (3, &first.bindings)
    );
    let revisions = store
        .list_binding_revisions(&t, "post-login", Page::default())
        .await
        .unwrap();
    let numbers: Vec<_> = revisions.items.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [3, 2, 1]);

    // A revision whose action no longer supports the trigger is not restored.
    deploy(
        &store,
        &t,
        &a.id,
        vec!["post-user-registration".into()],
        LOGIN,
    )
    .await;
    let error = bindings::restore(s, &t, "post-login", 1, 20)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::RevisionNotRestorable { number: 1, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with(
            "bindings revision 1 cannot be restored: bindings[0]: action `a` cannot be bound"
        ),
        "{error}"
    );
    // Restoring applies today's limit on the count, and today's rules to every binding.
    let error = bindings::restore(s, &t, "post-login", 2, 0)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "bindings revision 2 cannot be restored: a flow holds at most 0 bindings; this one would hold 1"
    );
    store.delete_action(&t, &b.id, true).await.unwrap();
    let error = bindings::restore(s, &t, "post-login", 2, 20)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "bindings revision 2 cannot be restored: bindings[0].ref.value: no action with id `{}`",
            b.id
        )
    );
    let missing = bindings::restore(s, &t, "post-login", 42, 20)
        .await
        .unwrap_err();
    assert!(matches!(
        missing,
        Error::Store(actionflow_store::Error::NotFound { .. })
    ));
    // The forced delete of `b` unbound it as revision 4; no refused restore added one.
    assert_eq!(
        bindings::get(s, &t, "post-login").await.unwrap().revision,
        4
    );
}
