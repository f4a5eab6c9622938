//! Tenants and API tokens.

use actionflow_store::{Error, Page};

use crate::harness::Shared;

async fn tenant_and_token_lifecycle(store: Shared) {
    let acme = store.create_tenant("acme").await.unwrap();
    assert_eq!(store.get_tenant(&acme.id).await.unwrap(), acme);
    assert!(matches!(
        store.create_tenant("acme").await,
        Err(Error::Conflict { .. })
    ));
    store.create_tenant("globex").await.unwrap();
    let page = store.list_tenants(Page::new(0, 1)).await.unwrap();
    assert_eq!((page.total, page.items.len()), (2, 1));
    assert_eq!(page.items[0].name, "acme");
    assert!(matches!(
        store.get_tenant("nope").await,
        Err(Error::NotFound { .. })
    ));

    let scopes = vec!["actions:read".to_owned(), "dispatch".to_owned()];
    let token = store
        .create_token(&acme.id, b"hash-1", &scopes)
        .await
        .unwrap();
    let found = store.token_by_hash(b"hash-1").await.unwrap();
    assert_eq!(found, token);
    assert_eq!(found.scopes, scopes);
    assert!(matches!(
        store.token_by_hash(b"hash-2").await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.create_token(&acme.id, b"hash-1", &scopes).await,
        Err(Error::Conflict { .. })
    ));
    assert!(matches!(
        store.create_token("nope", b"hash-3", &scopes).await,
        Err(Error::NotFound { .. })
    ));

    let globex = store.create_tenant("globex-2").await.unwrap();
    assert!(matches!(
        store.revoke_token(&globex.id, &token.id).await,
        Err(Error::NotFound { .. })
    ));
    let revoked = store.revoke_token(&acme.id, &token.id).await.unwrap();
    let revoked_at = revoked.revoked_at.unwrap();
    assert!(matches!(
        store.token_by_hash(b"hash-1").await,
        Err(Error::NotFound { .. })
    ));
    let again = store.revoke_token(&acme.id, &token.id).await.unwrap();
    assert_eq!(again.revoked_at, Some(revoked_at));
    let tokens = store.list_tokens(&acme.id).await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].revoked_at, Some(revoked_at));
}

on_both_backends!(tenant_and_token_lifecycle);
