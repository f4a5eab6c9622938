//! The marketplace's rows: publishers, submissions with their transitions (conditional state
//! changes), versions per slug, listing flags, installed copies.

use actionflow_store::{Error, NewSubmission, StateChange};

use crate::harness::{new_action, tenant, Shared};

fn submission(slug: &str, version: (i64, i64, i64)) -> NewSubmission {
    NewSubmission {
        publisher: "acme-labs".to_owned(),
        slug: slug.to_owned(),
        version: format!("{}.{}.{}", version.0, version.1, version.2),
        version_parts: version,
        state: "submitted".to_owned(),
        manifest: serde_json::json!({"slug": slug}),
        package: vec![0x1f, 0x8b, 0, 1, 2],
        sha256: "ab".repeat(32),
        actor: "token:t1".to_owned(),
    }
}

async fn submissions_move_only_from_allowed_states(store: Shared) {
    let partner = tenant(&store, "partner").await.id;
    assert!(matches!(
        store.create_publisher("acme-labs", "no-such-tenant").await,
        Err(Error::NotFound { what: "tenant" })
    ));
    store.create_publisher("acme-labs", &partner).await.unwrap();
    assert!(matches!(
        store.create_publisher("acme-labs", &partner).await,
        Err(Error::Conflict { .. })
    ));
    assert_eq!(
        store.get_publisher("acme-labs").await.unwrap().tenant_id,
        partner
    );

    let s = store
        .insert_submission(submission("hello", (1, 0, 0)))
        .await
        .unwrap();
    assert_eq!(s.state, "submitted");
    assert!(matches!(
        store
            .insert_submission(submission("hello", (1, 0, 0)))
            .await,
        Err(Error::Conflict { .. })
    ));
    let mut unknown = submission("hello", (1, 1, 0));
    unknown.publisher = "nobody".to_owned();
    assert!(matches!(
        store.insert_submission(unknown).await,
        Err(Error::NotFound { what: "publisher" })
    ));
    assert_eq!(
        store.submission_package(&s.id).await.unwrap(),
        vec![0x1f, 0x8b, 0, 1, 2]
    );

    let change = |from: &'static [&'static str], to: &'static str| StateChange {
        submission_id: &s.id,
        from,
        to,
        actor: "reviewer:r1",
        reason: Some("looks good"),
        report: None,
    };
    store
        .change_state(change(&["submitted"], "checking"))
        .await
        .unwrap();
    let refused = store.change_state(change(&["submitted"], "checking")).await;
    assert!(
        matches!(refused, Err(Error::Conflict { .. })),
        "{refused:?}"
    );
    let mut with_report = change(&["checking"], "in_review");
    with_report.report = Some(serde_json::json!({"findings": [{"code": "x"}]}));
    let reviewed = store.change_state(with_report).await.unwrap();
    assert_eq!(reviewed.report["findings"][0]["code"], "x");
    store
        .change_state(change(&["in_review"], "approved"))
        .await
        .unwrap();
    store
        .change_state(change(&["approved"], "published"))
        .await
        .unwrap();

    let transitions = store.list_transitions(&s.id).await.unwrap();
    let states: Vec<(Option<&str>, &str)> = transitions
        .iter()
        .map(|t| (t.from_state.as_deref(), t.to_state.as_str()))
        .collect();
    assert_eq!(
        states,
        [
            (None, "submitted"),
            (Some("submitted"), "checking"),
            (Some("checking"), "in_review"),
            (Some("in_review"), "approved"),
            (Some("approved"), "published"),
        ]
    );
    assert_eq!(transitions[0].actor, "token:t1");
    assert_eq!(transitions[3].reason.as_deref(), Some("looks good"));

    store
        .insert_submission(submission("hello", (1, 10, 0)))
        .await
        .unwrap();
    let mut versions = store.slug_versions("hello").await.unwrap();
    versions.sort();
    assert_eq!(versions, [(1, 0, 0), (1, 10, 0)]);
    // 1.10.0 is not published: the latest published is still 1.0.0.
    assert_eq!(
        store.latest_published("hello").await.unwrap().unwrap().id,
        s.id
    );
    assert_eq!(
        store
            .list_submissions(Some("acme-labs"), Some("published"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.list_submissions(None, None).await.unwrap().len(), 2);

    let flagged = store.flag_listing(&s.id, true, false).await.unwrap();
    assert!(flagged.deprecated_at.is_some() && flagged.yanked_at.is_none());
    let again = store.flag_listing(&s.id, true, true).await.unwrap();
    assert_eq!(again.deprecated_at, flagged.deprecated_at);
    assert!(again.yanked_at.is_some());
}

async fn installations_belong_to_their_tenant_and_go_with_the_action(store: Shared) {
    let partner = tenant(&store, "partner").await.id;
    let (a, b) = (tenant(&store, "a").await.id, tenant(&store, "b").await.id);
    store.create_publisher("acme-labs", &partner).await.unwrap();
    let s = store
        .insert_submission(submission("hello", (1, 0, 0)))
        .await
        .unwrap();
    let s2 = store
        .insert_submission(submission("hello", (2, 0, 0)))
        .await
        .unwrap();
    let action = store
        .create_action(&a, new_action("hello", &["post-login"]))
        .await
        .unwrap();
    let config = serde_json::json!({"REGION": "eu"});
    let installed = store
        .create_installation(&a, &action.id, &s, &config)
        .await
        .unwrap();
    assert_eq!(installed.configuration, config);
    assert!(matches!(
        store.get_installation(&b, &installed.id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(store.list_installations(&b).await.unwrap().is_empty());
    assert!(store
        .installation_of_action(&b, &action.id)
        .await
        .unwrap()
        .is_none());
    let found = store
        .installation_of_action(&a, &action.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, installed.id);
    let moved = store
        .update_installation(&a, &installed.id, &s2, &serde_json::json!({"REGION": "us"}))
        .await
        .unwrap();
    assert_eq!(
        (moved.version.as_str(), moved.submission_id.as_str()),
        ("2.0.0", s2.id.as_str())
    );
    store.delete_action(&a, &action.id, true).await.unwrap();
    assert!(store.list_installations(&a).await.unwrap().is_empty());
}

/// Of several nodes, one claims a submission's checks; a lease that ended (its node stopped) is
/// claimed again; a node that lost its lease cannot extend it; only `checking` is claimed.
async fn checks_are_claimed_once_and_again_after_the_lease(store: Shared) {
    use std::time::Duration;
    let partner = tenant(&store, "partner").await.id;
    store.create_publisher("acme-labs", &partner).await.unwrap();
    let mut ids = Vec::new();
    for minor in 0..3 {
        let s = store
            .insert_submission(submission("hello", (1, minor, 0)))
            .await
            .unwrap();
        ids.push(s.id);
    }
    for id in &ids[..2] {
        let to_checking = StateChange {
            submission_id: id,
            from: &["submitted"],
            to: "checking",
            actor: "checks",
            reason: None,
            report: None,
        };
        store.change_state(to_checking).await.unwrap();
    }
    let minute = Duration::from_secs(60);
    let first = store.claim_checks("node-a", minute, 1).await.unwrap();
    assert_eq!(first, [ids[0].clone()]);
    let rest = store.claim_checks("node-b", minute, 10).await.unwrap();
    assert_eq!(rest, [ids[1].clone()], "the submitted one is not claimed");
    assert!(store
        .claim_checks("node-c", minute, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .extend_checks(&ids[0], "node-a", minute)
        .await
        .unwrap());
    assert!(!store
        .extend_checks(&ids[0], "node-b", minute)
        .await
        .unwrap());
    // node-b's lease ends at once: node-c takes over, and node-b can extend it no more.
    assert!(store
        .extend_checks(&ids[1], "node-b", Duration::ZERO)
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        store.claim_checks("node-c", minute, 10).await.unwrap(),
        [ids[1].clone()]
    );
    assert!(!store
        .extend_checks(&ids[1], "node-b", minute)
        .await
        .unwrap());
}

on_both_backends!(
    submissions_move_only_from_allowed_states,
    installations_belong_to_their_tenant_and_go_with_the_action,
    checks_are_claimed_once_and_again_after_the_lease
);
