//! Action drafts: CRUD, filters, pagination, and tenant isolation.

use actionflow_store::{
    ActionFilter, ActionPatch, Binding, BuildError, BuildStatus, Error, NewExecution, OnError, Page,
};
use serde_json::json;

use crate::harness::{new_action, tenant, Shared};

fn version_of(action: &actionflow_store::Action) -> actionflow_store::NewVersion {
    actionflow_store::NewVersion {
        code: action.code.clone(),
        dependencies: action.dependencies.clone(),
        lockfile: json!({"lodash": "4.17.21"}),
        runtime: action.runtime.clone(),
        secret_names: action.secret_names.clone(),
        supported_triggers: action.supported_triggers.clone(),
    }
}

async fn action_crud_filters_pagination(store: Shared) {
    let acme = tenant(&store, "acme").await;
    let t = &acme.id;
    let mut ids = Vec::new();
    for (name, triggers) in [
        ("a", &["post-login"][..]),
        ("b", &["post-login", "post-user-registration"][..]),
        ("c", &["post-user-registration"][..]),
        ("d", &["post-login"][..]),
        ("e", &["credentials-exchange"][..]),
    ] {
        ids.push(
            store
                .create_action(t, new_action(name, triggers))
                .await
                .unwrap()
                .id,
        );
    }
    assert!(matches!(
        store.create_action(t, new_action("a", &[])).await,
        Err(Error::Conflict { .. })
    ));
    let a = store.get_action(t, &ids[0]).await.unwrap();
    assert_eq!(
        (a.name.as_str(), a.status, a.deployed_version),
        ("a", BuildStatus::Pending, None)
    );
    assert_eq!(a.dependencies[0].version, "^4.17.0");
    assert_eq!(store.get_action_by_name(t, "b").await.unwrap().id, ids[1]);

    let patch = ActionPatch {
        code: Some("exports.onExecutePostLogin = async () => {};".to_owned()),
        status: Some(BuildStatus::Failed),
        build_errors: Some(vec![BuildError {
            message: "boom".to_owned(),
            line: Some(3),
        }]),
        ..Default::default()
    };
    let updated = store.update_action(t, &ids[0], patch).await.unwrap();
    assert_eq!(updated.status, BuildStatus::Failed);
    assert_eq!(updated.build_errors[0].line, Some(3));
    assert_eq!(updated.name, "a");
    assert_eq!(updated.supported_triggers, a.supported_triggers);
    assert!(updated.updated_at >= a.updated_at);
    assert_eq!(store.get_action(t, &ids[0]).await.unwrap(), updated);
    let rename = ActionPatch {
        name: Some("b".to_owned()),
        ..Default::default()
    };
    assert!(matches!(
        store.update_action(t, &ids[0], rename).await,
        Err(Error::Conflict { .. })
    ));

    let b = store.get_action(t, &ids[1]).await.unwrap();
    store
        .deploy_version(t, &b.id, version_of(&b))
        .await
        .unwrap();

    let names = |page: actionflow_store::Paged<actionflow_store::Action>| {
        page.items.into_iter().map(|a| a.name).collect::<Vec<_>>()
    };
    let login = ActionFilter {
        trigger_id: Some("post-login".to_owned()),
        ..Default::default()
    };
    assert_eq!(
        names(
            store
                .list_actions(t, &login, Page::default())
                .await
                .unwrap()
        ),
        ["a", "b", "d"]
    );
    let by_name = ActionFilter {
        name: Some("c".to_owned()),
        ..Default::default()
    };
    assert_eq!(
        names(
            store
                .list_actions(t, &by_name, Page::default())
                .await
                .unwrap()
        ),
        ["c"]
    );
    let deployed = ActionFilter {
        deployed: Some(true),
        ..Default::default()
    };
    assert_eq!(
        names(
            store
                .list_actions(t, &deployed, Page::default())
                .await
                .unwrap()
        ),
        ["b"]
    );
    let undeployed = ActionFilter {
        deployed: Some(false),
        ..login.clone()
    };
    assert_eq!(
        names(
            store
                .list_actions(t, &undeployed, Page::default())
                .await
                .unwrap()
        ),
        ["a", "d"]
    );

    let all = ActionFilter::default();
    let second = store.list_actions(t, &all, Page::new(1, 2)).await.unwrap();
    assert_eq!((second.total, second.page, second.per_page), (5, 1, 2));
    assert_eq!(names(second), ["c", "d"]);
    let last = store.list_actions(t, &all, Page::new(2, 2)).await.unwrap();
    assert_eq!(names(last), ["e"]);

    store.delete_action(t, &ids[4], false).await.unwrap();
    assert!(matches!(
        store.get_action(t, &ids[4]).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_action(t, &ids[4], false).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        store
            .list_actions(t, &all, Page::default())
            .await
            .unwrap()
            .total,
        4
    );
}

async fn tenants_are_isolated(store: Shared) {
    let a = tenant(&store, "a").await.id;
    let b = tenant(&store, "b").await.id;
    let action = store
        .create_action(&a, new_action("mine", &["post-login"]))
        .await
        .unwrap();
    let id = &action.id;
    let not_found = |r: Result<_, Error>| matches!(r, Err(Error::NotFound { .. }));

    assert!(not_found(store.get_action(&b, id).await.map(drop)));
    assert!(not_found(
        store.get_action_by_name(&b, "mine").await.map(drop)
    ));
    let patch = ActionPatch {
        code: Some("stolen".to_owned()),
        ..Default::default()
    };
    assert!(not_found(
        store.update_action(&b, id, patch).await.map(drop)
    ));
    assert!(not_found(store.delete_action(&b, id, true).await));
    assert!(not_found(
        store
            .deploy_version(&b, id, version_of(&action))
            .await
            .map(drop)
    ));
    assert!(not_found(
        store.list_versions(&b, id, Page::default()).await.map(drop)
    ));
    assert!(not_found(
        store
            .put_secret(&b, id, "K", b"c", b"n", 30)
            .await
            .map(drop)
    ));
    assert!(not_found(store.list_secrets(&b, id).await.map(drop)));
    assert!(not_found(
        store.action_bound_triggers(&b, id).await.map(drop)
    ));
    let binding = Binding {
        action_id: id.clone(),
        display_name: "x".to_owned(),
        on_error: OnError::Fail,
    };
    let bind = store
        .replace_bindings(&b, "post-login", &[binding], None)
        .await;
    assert!(not_found(bind.map(drop)));
    assert_eq!(
        store.get_bindings(&b, "post-login").await.unwrap().revision,
        0
    );
    assert_eq!(
        store
            .list_actions(&b, &ActionFilter::default(), Page::default())
            .await
            .unwrap()
            .total,
        0
    );

    let new = NewExecution {
        trigger_id: "post-user-registration".to_owned(),
        idempotency_key: Some("k".to_owned()),
        action_ids: vec![id.clone()],
        event: json!({}),
        max_attempts: 3,
        next_attempt_at: chrono::Utc::now(),
        plan: json!([{"action_id": id}]),
    };
    let execution = store
        .insert_execution(&a, new.clone())
        .await
        .unwrap()
        .execution;
    assert!(not_found(
        store.get_execution(&b, &execution.id).await.map(drop)
    ));
    assert!(not_found(store.retry(&b, &execution.id, 1).await.map(drop)));
    // The same idempotency key in another tenant is another execution.
    let other = store.insert_execution(&b, new).await.unwrap();
    assert!(other.created);
    assert_ne!(other.execution.id, execution.id);

    let unchanged = store.get_action(&a, id).await.unwrap();
    assert_eq!(unchanged, action);
}

on_both_backends!(action_crud_filters_pagination, tenants_are_isolated);
