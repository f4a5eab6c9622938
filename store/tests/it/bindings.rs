//! Ordered bindings, revisions, restore, the flow as dispatch reads it, and bound-action deletes.

use actionflow_store::{Binding, Error, NewVersion, OnError, Page};

use crate::harness::{new_action, tenant, Shared};

const FLOW: &str = "post-login";

fn bind(action_id: &str, on_error: OnError) -> Binding {
    Binding {
        action_id: action_id.to_owned(),
        display_name: format!("n-{action_id}"),
        on_error,
    }
}

/// A tenant with two actions `a` and `b` supporting post-login: `(tenant, a, b)`.
async fn two_actions(store: &Shared) -> (String, String, String) {
    let t = tenant(store, "acme").await.id;
    let a = store
        .create_action(&t, new_action("a", &[FLOW]))
        .await
        .unwrap()
        .id;
    let b = store
        .create_action(&t, new_action("b", &[FLOW]))
        .await
        .unwrap()
        .id;
    (t, a, b)
}

async fn revision(store: &Shared, t: &str, trigger: &str) -> i64 {
    store.get_bindings(t, trigger).await.unwrap().revision
}

async fn binding_revisions_and_restore(store: Shared) {
    let (t, a, b) = two_actions(&store).await;
    let empty = store.get_bindings(&t, FLOW).await.unwrap();
    assert_eq!((empty.revision, empty.bindings.len()), (0, 0));

    let first = vec![bind(&a, OnError::Fail), bind(&b, OnError::Continue)];
    let one = store
        .replace_bindings(&t, FLOW, &first, Some(0))
        .await
        .unwrap();
    assert_eq!(one.revision, 1);
    let current = store.get_bindings(&t, FLOW).await.unwrap();
    assert_eq!((current.revision, &current.bindings), (1, &first));
    let second = vec![bind(&b, OnError::Fail)];
    let two = store
        .replace_bindings(&t, FLOW, &second, None)
        .await
        .unwrap();
    assert_eq!(two.revision, 2);

    // A stale read-modify-write is refused and leaves no revision behind.
    let stale = store.replace_bindings(&t, FLOW, &first, Some(1)).await;
    assert!(matches!(stale, Err(Error::Conflict { .. })), "{stale:?}");
    // So is an unknown action, atomically.
    let unknown = vec![bind(&a, OnError::Fail), bind("nope", OnError::Fail)];
    let refused = store.replace_bindings(&t, FLOW, &unknown, None).await;
    assert!(
        matches!(refused, Err(Error::NotFound { .. })),
        "{refused:?}"
    );
    let current = store.get_bindings(&t, FLOW).await.unwrap();
    assert_eq!((current.revision, &current.bindings), (2, &second));

    let restored = store.restore_binding_revision(&t, FLOW, 1).await.unwrap();
    assert_eq!((restored.revision, &restored.bindings), (3, &first));
    assert_eq!(store.get_bindings(&t, FLOW).await.unwrap().bindings, first);
    let revisions = store
        .list_binding_revisions(&t, FLOW, Page::new(0, 2))
        .await
        .unwrap();
    assert_eq!(revisions.total, 3);
    let numbers: Vec<i64> = revisions.items.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [3, 2]);
    assert_eq!(
        store
            .get_binding_revision(&t, FLOW, 2)
            .await
            .unwrap()
            .bindings,
        second
    );
    let missing = store.restore_binding_revision(&t, FLOW, 7).await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    // Other triggers are independent flows.
    assert_eq!(revision(&store, &t, "post-user-registration").await, 0);
}

async fn current_flow_has_deployed_versions(store: Shared) {
    let (t, a, b) = two_actions(&store).await;
    let stamp = |store: Shared, t: String| async move { store.flow_stamp(&t, FLOW).await.unwrap() };
    let before = stamp(store.clone(), t.clone()).await;
    assert_eq!((before.revision, before.versions.len()), (0, 0));
    let list = [bind(&a, OnError::Fail), bind(&b, OnError::Continue)];
    store.replace_bindings(&t, FLOW, &list, None).await.unwrap();
    let bound = stamp(store.clone(), t.clone()).await;
    assert_eq!((bound.revision, &bound.versions), (1, &vec![None, None]));
    let deployed = NewVersion {
        code: "exports.onExecutePostLogin = async () => {};".to_owned(),
        dependencies: Vec::new(),
        lockfile: serde_json::json!({}),
        runtime: "node22".to_owned(),
        secret_names: Vec::new(),
        supported_triggers: vec![FLOW.to_owned()],
    };
    store
        .deploy_version(&t, &b, deployed.clone())
        .await
        .unwrap();
    store.deploy_version(&t, &b, deployed).await.unwrap();

    let flow = store.current_flow(&t, FLOW).await.unwrap();
    assert_eq!(flow.revision, 1);
    // The stamp follows deploys as well as bindings edits, and equals the flow's own.
    let stamp_now = stamp(store.clone(), t.clone()).await;
    assert_eq!(stamp_now, flow.stamp());
    assert_eq!(stamp_now.versions, [None, Some(2)]);
    assert_ne!(stamp_now, bound);
    let steps: Vec<(&str, Option<i64>)> = flow
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
    assert_eq!(flow.steps[1].binding.on_error, OnError::Continue);
    assert!(flow.steps[1].version.as_ref().unwrap().is_current);
    let full = store.get_version(&t, &b, 2).await.unwrap();
    assert_eq!(flow.steps[1].version.as_ref(), Some(&full));
    store.replace_bindings(&t, FLOW, &[], None).await.unwrap();
    let emptied = store.current_flow(&t, FLOW).await.unwrap();
    assert_eq!((emptied.revision, emptied.steps.len()), (2, 0));
    assert_eq!(stamp(store.clone(), t.clone()).await, emptied.stamp());
    // Another tenant's stamp of the same trigger is its own.
    let other_tenant = tenant(&store, "other").await.id;
    assert_eq!(stamp(store.clone(), other_tenant).await.revision, 0);
    let other = store
        .current_flow(&t, "post-change-password")
        .await
        .unwrap();
    assert!(other.steps.is_empty());
}

async fn deleting_a_bound_action(store: Shared) {
    let (t, a, b) = two_actions(&store).await;
    let list = [bind(&a, OnError::Fail), bind(&b, OnError::Continue)];
    store.replace_bindings(&t, FLOW, &list, None).await.unwrap();
    let other = "credentials-exchange";
    store
        .replace_bindings(&t, other, &[bind(&a, OnError::Fail)], None)
        .await
        .unwrap();
    assert_eq!(
        store.action_bound_triggers(&t, &a).await.unwrap(),
        [other, FLOW]
    );

    // Refused unless forced.
    let refused = store.delete_action(&t, &a, false).await;
    assert!(
        matches!(refused, Err(Error::Conflict { .. })),
        "{refused:?}"
    );
    store.get_action(&t, &a).await.unwrap();

    // Forced: unbound from every flow, each change kept as a new revision.
    store.delete_action(&t, &a, true).await.unwrap();
    assert!(matches!(
        store.get_action(&t, &a).await,
        Err(Error::NotFound { .. })
    ));
    let after = store.get_bindings(&t, FLOW).await.unwrap();
    assert_eq!(
        (after.revision, after.bindings),
        (2, vec![bind(&b, OnError::Continue)])
    );
    let emptied = store.get_bindings(&t, other).await.unwrap();
    assert_eq!((emptied.revision, emptied.bindings.len()), (2, 0));
    assert_eq!(store.action_bound_triggers(&t, &b).await.unwrap(), [FLOW]);

    // Restoring a revision that names the deleted action is refused, atomically.
    let restore = store.restore_binding_revision(&t, FLOW, 1).await;
    assert!(
        matches!(restore, Err(Error::NotFound { .. })),
        "{restore:?}"
    );
    assert_eq!(revision(&store, &t, FLOW).await, 2);
}

on_both_backends!(
    binding_revisions_and_restore,
    current_flow_has_deployed_versions,
    deleting_a_bound_action,
);
