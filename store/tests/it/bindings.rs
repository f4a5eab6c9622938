//! Ordered bindings, revisions, restore, and deleting bound actions.

use actionflow_store::{Binding, Error, NewVersion, OnError, Page};

use crate::harness::{new_action, tenant, Shared};

fn bind(action_id: &str, on_error: OnError) -> Binding {
    Binding {
        action_id: action_id.to_owned(),
        display_name: format!("n-{action_id}"),
        on_error,
    }
}

async fn binding_revisions_and_restore(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let a = store
        .create_action(&t, new_action("a", &["post-login"]))
        .await
        .unwrap()
        .id;
    let b = store
        .create_action(&t, new_action("b", &["post-login"]))
        .await
        .unwrap()
        .id;
    let flow = "post-login";
    let empty = store.get_bindings(&t, flow).await.unwrap();
    assert_eq!((empty.revision, empty.bindings.len()), (0, 0));

    let first = vec![bind(&a, OnError::Fail), bind(&b, OnError::Continue)];
    assert_eq!(
        store
            .replace_bindings(&t, flow, &first, Some(0))
            .await
            .unwrap()
            .revision,
        1
    );
    let current = store.get_bindings(&t, flow).await.unwrap();
    assert_eq!((current.revision, &current.bindings), (1, &first));
    let second = vec![bind(&b, OnError::Fail)];
    assert_eq!(
        store
            .replace_bindings(&t, flow, &second, None)
            .await
            .unwrap()
            .revision,
        2
    );

    // A stale read-modify-write is refused and leaves no revision behind.
    let stale = store.replace_bindings(&t, flow, &first, Some(1)).await;
    assert!(matches!(stale, Err(Error::Conflict { .. })), "{stale:?}");
    // So is an unknown action, atomically.
    let unknown = vec![bind(&a, OnError::Fail), bind("nope", OnError::Fail)];
    let refused = store.replace_bindings(&t, flow, &unknown, None).await;
    assert!(
        matches!(refused, Err(Error::NotFound { .. })),
        "{refused:?}"
    );
    let current = store.get_bindings(&t, flow).await.unwrap();
    assert_eq!((current.revision, &current.bindings), (2, &second));

    let restored = store.restore_binding_revision(&t, flow, 1).await.unwrap();
    assert_eq!((restored.revision, &restored.bindings), (3, &first));
    assert_eq!(store.get_bindings(&t, flow).await.unwrap().bindings, first);

    // Dispatch reads the flow with each action's deployed version in one go.
    let deployed = NewVersion {
        code: "exports.onExecutePostLogin = async () => {};".to_owned(),
        dependencies: Vec::new(),
        lockfile: serde_json::json!({}),
        runtime: "node22".to_owned(),
        secret_names: Vec::new(),
        supported_triggers: vec![flow.to_owned()],
    };
    store
        .deploy_version(&t, &b, deployed.clone())
        .await
        .unwrap();
    store.deploy_version(&t, &b, deployed).await.unwrap();
    let running = store.current_flow(&t, flow).await.unwrap();
    assert_eq!(running.revision, 3);
    let steps: Vec<(&str, Option<i64>)> = running
        .steps
        .iter()
        .map(|s| {
            (
                s.binding.action_id.as_str(),
                s.version.as_ref().map(|v| v.number),
            )
        })
        .collect();
    assert_eq!(steps, [(a.as_str(), None), (b.as_str(), Some(2))]);
    assert!(running.steps[1].version.as_ref().unwrap().is_current);
    assert!(store
        .current_flow(&t, "post-change-password")
        .await
        .unwrap()
        .steps
        .is_empty());
    let revisions = store
        .list_binding_revisions(&t, flow, Page::new(0, 2))
        .await
        .unwrap();
    assert_eq!(revisions.total, 3);
    let numbers: Vec<i64> = revisions.items.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [3, 2]);
    assert_eq!(
        store
            .get_binding_revision(&t, flow, 2)
            .await
            .unwrap()
            .bindings,
        second
    );
    assert!(matches!(
        store.restore_binding_revision(&t, flow, 7).await,
        Err(Error::NotFound { .. })
    ));
    // Other triggers are independent flows.
    assert_eq!(
        store
            .get_bindings(&t, "post-user-registration")
            .await
            .unwrap()
            .revision,
        0
    );

    // A bound action cannot be deleted unless forced; forcing unbinds it as a new revision.
    store
        .replace_bindings(&t, "credentials-exchange", &[bind(&a, OnError::Fail)], None)
        .await
        .unwrap();
    assert_eq!(
        store.action_bound_triggers(&t, &a).await.unwrap(),
        ["credentials-exchange", flow]
    );
    let refused = store.delete_action(&t, &a, false).await;
    assert!(
        matches!(refused, Err(Error::Conflict { .. })),
        "{refused:?}"
    );
    store.get_action(&t, &a).await.unwrap();
    store.delete_action(&t, &a, true).await.unwrap();
    let after = store.get_bindings(&t, flow).await.unwrap();
    assert_eq!(
        (after.revision, after.bindings),
        (4, vec![bind(&b, OnError::Continue)])
    );
    let other = store
        .get_bindings(&t, "credentials-exchange")
        .await
        .unwrap();
    assert_eq!((other.revision, other.bindings.len()), (2, 0));
    assert!(store.action_bound_triggers(&t, &b).await.unwrap() == [flow]);
    // Restoring a revision that names the deleted action is refused, atomically.
    let restore = store.restore_binding_revision(&t, flow, 1).await;
    assert!(
        matches!(restore, Err(Error::NotFound { .. })),
        "{restore:?}"
    );
    assert_eq!(store.get_bindings(&t, flow).await.unwrap().revision, 4);
}

on_both_backends!(binding_revisions_and_restore);
