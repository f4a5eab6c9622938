//! Deployed versions: numbering, rollback, and concurrent deploys.

use std::collections::BTreeSet;

use actionflow_store::{ActionPatch, BuildError, BuildStatus, Error, NewVersion, Page};
use serde_json::json;

use crate::harness::{new_action, tenant, Shared};

fn version(code: &str) -> NewVersion {
    NewVersion {
        code: code.to_owned(),
        dependencies: Vec::new(),
        lockfile: json!({"packages": {}}),
        runtime: "node22".to_owned(),
        secret_names: vec!["API_KEY".to_owned()],
        supported_triggers: vec!["post-login".to_owned()],
    }
}

async fn deploy_numbering_and_rollback(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let id = store
        .create_action(&t, new_action("a", &["post-login"]))
        .await
        .unwrap()
        .id;
    let failed = ActionPatch {
        status: Some(BuildStatus::Failed),
        build_errors: Some(vec![BuildError {
            message: "x".to_owned(),
            line: None,
        }]),
        ..Default::default()
    };
    store.update_action(&t, &id, failed).await.unwrap();

    let v1 = store.deploy_version(&t, &id, version("one")).await.unwrap();
    let v2 = store.deploy_version(&t, &id, version("two")).await.unwrap();
    assert_eq!((v1.number, v2.number), (1, 2));
    let action = store.get_action(&t, &id).await.unwrap();
    assert_eq!(
        (action.deployed_version, action.status),
        (Some(2), BuildStatus::Built)
    );
    assert!(action.build_errors.is_empty());
    let stored = store.get_version(&t, &id, 1).await.unwrap();
    assert!(!stored.is_current);
    assert_eq!(
        stored,
        actionflow_store::ActionVersion {
            is_current: false,
            ..v1.clone()
        }
    );
    assert!(store.get_version(&t, &id, 2).await.unwrap().is_current);

    let v3 = store.rollback_version(&t, &id, 1).await.unwrap();
    assert_eq!(
        (v3.number, v3.copied_from, v3.code.as_str()),
        (3, Some(1), "one")
    );
    assert_eq!(v3.lockfile, v1.lockfile);
    assert_ne!(v3.id, v1.id);
    assert_eq!(store.get_version(&t, &id, 3).await.unwrap(), v3);
    assert_eq!(
        store.get_action(&t, &id).await.unwrap().deployed_version,
        Some(3)
    );

    assert!(matches!(
        store.rollback_version(&t, &id, 9).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.get_version(&t, &id, 9).await,
        Err(Error::NotFound { .. })
    ));
    // The failed rollback consumed no number.
    assert_eq!(
        store
            .deploy_version(&t, &id, version("four"))
            .await
            .unwrap()
            .number,
        4
    );

    let page = store.list_versions(&t, &id, Page::new(0, 3)).await.unwrap();
    assert_eq!(page.total, 4);
    let numbers: Vec<i64> = page.items.iter().map(|v| v.number).collect();
    assert_eq!(numbers, [4, 3, 2]);
    assert_eq!(page.items.iter().filter(|v| v.is_current).count(), 1);

    // Deleting the action deletes its versions.
    store.delete_action(&t, &id, false).await.unwrap();
    assert!(matches!(
        store.get_version(&t, &id, 1).await,
        Err(Error::NotFound { .. })
    ));
}

async fn concurrent_deploys_get_distinct_numbers(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let id = store
        .create_action(&t, new_action("a", &["post-login"]))
        .await
        .unwrap()
        .id;
    let deploys = 8;
    let mut tasks = Vec::new();
    for i in 0..deploys {
        let (store, t, id) = (store.clone(), t.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            store
                .deploy_version(&t, &id, version(&format!("v{i}")))
                .await
                .unwrap()
                .number
        }));
    }
    let mut numbers = BTreeSet::new();
    for task in tasks {
        assert!(
            numbers.insert(task.await.unwrap()),
            "duplicate version number"
        );
    }
    assert_eq!(numbers, (1..=deploys).collect());
    let action = store.get_action(&t, &id).await.unwrap();
    assert_eq!(action.deployed_version, Some(deploys));
    let current = store.get_version(&t, &id, deploys).await.unwrap();
    assert!(current.is_current);
}

on_both_backends!(
    deploy_numbering_and_rollback,
    concurrent_deploys_get_distinct_numbers
);
