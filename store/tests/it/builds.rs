//! Deploy builds conditioned in the database: one build in flight per action (across nodes), only
//! the stamp holder records the end, an edit during a build is kept and not deployed, and a build
//! whose node stopped is taken over once stale.

use std::time::Duration;

use actionflow_store::{ActionPatch, BuildError, BuildStatus, Error};
use serde_json::json;

use crate::harness::{new_action, tenant, Shared};

const LONG: Duration = Duration::from_secs(3600);

fn errors(message: &str) -> Vec<BuildError> {
    vec![BuildError {
        message: message.to_owned(),
        line: Some(1),
    }]
}

/// Many deploys of one action at once, half through each of two nodes: exactly one builds.
async fn one_build_in_flight_across_nodes(a: Shared, b: Shared) {
    let t = tenant(&a, "acme").await.id;
    let id = a
        .create_action(&t, new_action("a", &["post-login"]))
        .await
        .unwrap()
        .id;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (store, t, id) = (
            if i % 2 == 0 { &a } else { &b }.clone(),
            t.clone(),
            id.clone(),
        );
        tasks.push(tokio::spawn(async move {
            store.begin_build(&t, &id, LONG).await
        }));
    }
    let mut builds = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(build) => builds.push(build),
            Err(Error::Conflict { what }) => assert!(what.contains("building"), "{what}"),
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(builds.len(), 1, "exactly one deploy builds");
    let build = builds.remove(0);
    let building = b.get_action(&t, &id).await.unwrap();
    assert_eq!(building.status, BuildStatus::Building);
    assert_eq!(build.draft.status, BuildStatus::Building);

    let v1 = b.finish_build(&build, json!({"lock": 1})).await.unwrap();
    assert_eq!((v1.number, &v1.code), (1, &build.draft.code));
    // The snapshot's secret names come from the secrets table (none here), not the draft's list.
    assert!(v1.secret_names.is_empty(), "{v1:?}");
    let built = a.get_action(&t, &id).await.unwrap();
    assert_eq!(
        (built.status, built.deployed_version),
        (BuildStatus::Built, Some(1))
    );
    // A build's end is recorded once.
    assert!(matches!(
        a.finish_build(&build, json!(null)).await,
        Err(Error::Conflict { .. })
    ));
    assert!(matches!(
        a.fail_build(&build, errors("late")).await,
        Err(Error::Conflict { .. })
    ));
    let again = a.begin_build(&t, &id, LONG).await.unwrap();
    let failed = a.fail_build(&again, errors("boom")).await.unwrap();
    assert_eq!(
        (failed.status, failed.build_errors, failed.deployed_version),
        (BuildStatus::Failed, errors("boom"), Some(1))
    );
    assert_eq!(
        a.list_versions(&t, &id, Default::default())
            .await
            .unwrap()
            .total,
        1
    );
    assert!(matches!(
        a.begin_build(&t, "no-such-action", LONG).await,
        Err(Error::NotFound { .. })
    ));
}

/// The draft stays editable while it builds: the build deploys what it began with, the edit stays
/// in the draft, undeployed, and the draft ends `pending`.
async fn an_edit_during_a_build_is_kept_and_not_deployed(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let id = store
        .create_action(&t, new_action("a", &["post-login"]))
        .await
        .unwrap()
        .id;
    let build = store.begin_build(&t, &id, LONG).await.unwrap();
    let edit = ActionPatch {
        code: Some("exports.onExecutePostLogin = async () => { /* edited */ };".to_owned()),
        status: Some(BuildStatus::Pending),
        build_errors: Some(Vec::new()),
        ..ActionPatch::default()
    };
    let edited = store.update_action(&t, &id, edit).await.unwrap();
    assert_eq!(edited.status, BuildStatus::Building, "still building");
    assert!(matches!(
        store.begin_build(&t, &id, LONG).await,
        Err(Error::Conflict { .. })
    ));
    let version = store.finish_build(&build, json!(null)).await.unwrap();
    assert_eq!(version.code, build.draft.code);
    let after = store.get_action(&t, &id).await.unwrap();
    assert_eq!(
        (
            after.status,
            after.deployed_version,
            after.code.contains("edited")
        ),
        (BuildStatus::Pending, Some(1), true)
    );

    // The same for a failed build: the errors were the snapshot's, not the edited draft's.
    let build = store.begin_build(&t, &id, LONG).await.unwrap();
    store
        .put_secret(&t, &id, "NEW", b"c", b"n", 30)
        .await
        .unwrap();
    let after = store.fail_build(&build, errors("boom")).await.unwrap();
    assert_eq!(
        (after.status, after.build_errors.len(), after.secret_names),
        (BuildStatus::Pending, 0, vec!["NEW".to_owned()])
    );
    // Back to a plain draft: a patch's status applies again.
    let failed = ActionPatch {
        status: Some(BuildStatus::Failed),
        ..ActionPatch::default()
    };
    assert_eq!(
        store.update_action(&t, &id, failed).await.unwrap().status,
        BuildStatus::Failed
    );
}

/// A build whose node stopped blocks deploys only until it is stale; then a new deploy takes it
/// over, and the old build (should it still run) can no longer record anything.
async fn a_stale_build_is_taken_over(a: Shared, b: Shared) {
    let t = tenant(&a, "acme").await.id;
    let id = a
        .create_action(&t, new_action("a", &["post-login"]))
        .await
        .unwrap()
        .id;
    let crashed = a.begin_build(&t, &id, LONG).await.unwrap();
    assert!(matches!(
        b.begin_build(&t, &id, LONG).await,
        Err(Error::Conflict { .. })
    ));
    // Not stale yet: reading it as interrupted changes nothing.
    let still = b
        .fail_stale_build(&t, &id, LONG, errors("interrupted"))
        .await
        .unwrap();
    assert_eq!(still.status, BuildStatus::Building);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let stale = Duration::from_millis(10);
    let taken = b.begin_build(&t, &id, stale).await.unwrap();
    assert_ne!(taken.id, crashed.id);
    assert!(matches!(
        a.finish_build(&crashed, json!(null)).await,
        Err(Error::Conflict { .. })
    ));
    let v1 = b.finish_build(&taken, json!(null)).await.unwrap();
    assert_eq!(v1.number, 1, "the taken-over build stored nothing");

    // Reading a stale build settles it as failed, once.
    a.begin_build(&t, &id, LONG).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let settled = b
        .fail_stale_build(&t, &id, stale, errors("interrupted"))
        .await
        .unwrap();
    assert_eq!(
        (
            settled.status,
            settled.build_errors,
            settled.deployed_version
        ),
        (BuildStatus::Failed, errors("interrupted"), Some(1))
    );
    let third = a.begin_build(&t, &id, LONG).await.unwrap();
    assert_eq!(a.finish_build(&third, json!(null)).await.unwrap().number, 2);
}

on_both_backends!(an_edit_during_a_build_is_kept_and_not_deployed);
on_both_backends_twice_opened!(
    one_build_in_flight_across_nodes,
    a_stale_build_is_taken_over
);
