//! Dashboard sessions: a tenant's stands for its live token, an admin's for an admin token hash;
//! expired, signed-out and revoked-token sessions are gone.

use actionflow_store::{Error, SessionOwner};
use chrono::{TimeDelta, Utc};

use crate::harness::{tenant, Shared};

async fn sessions_follow_their_token(store: Shared) {
    let t = tenant(&store, "acme").await.id;
    let token = store
        .create_token(&t, &[7; 32], &["actions:read".to_owned()])
        .await
        .unwrap();
    let later = Utc::now() + TimeDelta::hours(1);
    store
        .create_session(&[1; 32], Some(&token.id), None, later)
        .await
        .unwrap();
    store
        .create_session(&[2; 32], None, Some(&[9; 32]), later)
        .await
        .unwrap();
    store
        .create_session(
            &[3; 32],
            Some(&token.id),
            None,
            Utc::now() - TimeDelta::seconds(1),
        )
        .await
        .unwrap();

    let session = store.session_by_hash(&[1; 32]).await.unwrap();
    assert_eq!(session.owner, SessionOwner::Token(token.clone()));
    let admin = store.session_by_hash(&[2; 32]).await.unwrap();
    assert_eq!(
        admin.owner,
        SessionOwner::Admin {
            admin_hash: vec![9; 32]
        }
    );
    let expired = store.session_by_hash(&[3; 32]).await;
    assert!(
        matches!(expired, Err(Error::NotFound { .. })),
        "{expired:?}"
    );
    assert_eq!(store.purge_expired_sessions().await.unwrap(), 1);
    assert!(store.session_by_hash(&[4; 32]).await.is_err());

    // Revoking the token ends its session; signing out ends the admin's.
    store.revoke_token(&t, &token.id).await.unwrap();
    assert!(store.session_by_hash(&[1; 32]).await.is_err());
    store.delete_session(&[2; 32]).await.unwrap();
    store.delete_session(&[2; 32]).await.unwrap();
    assert!(store.session_by_hash(&[2; 32]).await.is_err());
}

on_both_backends!(sessions_follow_their_token);
