//! The master key must be the one the database was written with. A node that generated its own key
//! (no `ACTIONFLOW_MASTER_KEY`, no key file yet) next to others on one PostgreSQL would otherwise
//! seal new secrets that no other node opens, and fail on every secret they wrote.
//!
//! The first start writes a canary — a known value sealed with the key — into the database; every
//! start opens it, and refuses to start on a mismatch. A database written before the canary existed
//! is checked against its oldest secret before the canary is written.

use crate::seal::{KeyError, KeySource, Sealed, Sealer};
use actionflow_store::Store;
use std::path::Path;

/// The one line a node with the wrong key stops with.
pub const MISMATCH: &str = "the master key does not match the one this database was written with: \
    set ACTIONFLOW_MASTER_KEY to that key (64 hex digits, e.g. the content of master.key in the \
    data dir of the node that first started on this database) and start again";

/// Why a server cannot start with the master key it was given.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("loading the master key: {0}")]
    Key(#[from] KeyError),
    #[error("{}", MISMATCH)]
    Mismatch,
    #[error("{what} the master-key canary")]
    Store {
        what: &'static str,
        #[source]
        error: actionflow_store::Error,
    },
    #[error("sealing the master-key canary failed")]
    Seal,
}

fn store_error(what: &'static str) -> impl FnOnce(actionflow_store::Error) -> MasterKeyError {
    move |error| MasterKeyError::Store { what, error }
}

/// Loads the master key (see [`Sealer::load`]) and checks it against the database.
pub async fn load(
    store: &dyn Store,
    given_key: Option<&str>,
    key_file: &Path,
) -> Result<Sealer, MasterKeyError> {
    let (sealer, source) = Sealer::load(given_key, key_file)?;
    match check(store, &sealer).await {
        Ok(()) => Ok(sealer),
        Err(error) => {
            // A key made just now never sealed anything: do not leave it to be used next time.
            if let KeySource::Created(path) = &source {
                if let Err(e) = std::fs::remove_file(path) {
                    tracing::warn!(path = %path.display(), error = %e, "removing the unused new master key");
                }
            }
            Err(error)
        }
    }
}

async fn check(store: &dyn Store, sealer: &Sealer) -> Result<(), MasterKeyError> {
    let stored = match store.key_canary().await.map_err(store_error("reading"))? {
        Some(canary) => canary,
        None => {
            let oldest = store
                .oldest_secret()
                .await
                .map_err(store_error("reading a secret to check"))?;
            if let Some(oldest) = oldest {
                let sealed = Sealed {
                    ciphertext: oldest.secret.ciphertext,
                    nonce: oldest.secret.nonce,
                };
                let name = &oldest.secret.name;
                if sealer
                    .open(&oldest.tenant_id, &oldest.action_id, name, &sealed)
                    .is_err()
                {
                    return Err(MasterKeyError::Mismatch);
                }
            }
            let canary = sealer.seal_canary().map_err(|_| MasterKeyError::Seal)?;
            store
                .init_key_canary(&canary.ciphertext, &canary.nonce)
                .await
                .map_err(store_error("writing"))?
        }
    };
    let sealed = Sealed {
        ciphertext: stored.ciphertext,
        nonce: stored.nonce,
    };
    if !sealer.opens_canary(&sealed) {
        return Err(MasterKeyError::Mismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A database written before the canary existed: the key is checked against its oldest secret
    /// before the canary is written with it.
    #[tokio::test]
    async fn a_database_without_canary_is_checked_against_a_secret() {
        let store = actionflow_store::open("sqlite::memory:").await.unwrap();
        let (a, b) = (Sealer::new([1; 32]), Sealer::new([2; 32]));
        check(store.as_ref(), &a).await.unwrap();
        assert!(store.key_canary().await.unwrap().is_some());

        let store = actionflow_store::open("sqlite::memory:").await.unwrap();
        let tenant = store.create_tenant("acme").await.unwrap().id;
        let new = actionflow_store::NewAction {
            name: "a".to_owned(),
            supported_triggers: vec!["post-login".to_owned()],
            code: String::new(),
            dependencies: Vec::new(),
            runtime: "node22".to_owned(),
            secret_names: Vec::new(),
        };
        let action = store.create_action(&tenant, new).await.unwrap().id;
        let sealed = a.seal(&tenant, &action, "K", "v").unwrap();
        store
            .put_secret(&tenant, &action, "K", &sealed.ciphertext, &sealed.nonce, 30)
            .await
            .unwrap();
        let refused = check(store.as_ref(), &b).await.unwrap_err();
        assert_eq!(refused.to_string(), MISMATCH);
        assert!(
            store.key_canary().await.unwrap().is_none(),
            "no canary from a wrong key"
        );
        check(store.as_ref(), &a).await.unwrap();
        check(store.as_ref(), &a).await.unwrap();
        assert_eq!(
            check(store.as_ref(), &b).await.unwrap_err().to_string(),
            MISMATCH
        );
    }
}
