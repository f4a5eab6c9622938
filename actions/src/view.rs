//! An action's draft as callers show it: the draft, with whether everything in it is deployed
//! (computed against the deployed version's fingerprint, cached since versions never change).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use actionflow_store::Action;

use crate::error::Result;
use crate::{rules, Actions};

/// A draft and whether the deployed version has exactly its code, dependencies, runtime, triggers
/// and secret names.
#[derive(Debug, Clone)]
pub struct ActionView {
    pub action: Action,
    pub all_changes_deployed: bool,
}

/// Fingerprints of deployed versions by (action id, number). Versions are immutable and neither
/// ids nor numbers are reused, so an entry never goes stale; this spares listing actions one
/// version read per action. Emptied when it reaches `VERSION_FINGERPRINTS_MAX`.
static VERSION_FINGERPRINTS: LazyLock<Mutex<Fingerprints>> = LazyLock::new(Mutex::default);
type Fingerprints = HashMap<(String, i64), [u8; 32]>;
const VERSION_FINGERPRINTS_MAX: usize = 10_000;

impl Actions {
    /// The view of a draft; reads the deployed version (once) to compare fingerprints.
    pub async fn view(&self, action: Action) -> Result<ActionView> {
        let all_changes_deployed = match action.deployed_version {
            None => false,
            Some(number) => {
                self.deployed_fingerprint(&action, number).await?
                    == rules::fingerprint_of_draft(&action)
            }
        };
        Ok(ActionView {
            action,
            all_changes_deployed,
        })
    }

    async fn deployed_fingerprint(&self, action: &Action, number: i64) -> Result<[u8; 32]> {
        let key = (action.id.clone(), number);
        let cached = VERSION_FINGERPRINTS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&key)
            .copied();
        if let Some(fingerprint) = cached {
            return Ok(fingerprint);
        }
        let version = self
            .store()
            .get_version(&action.tenant_id, &action.id, number)
            .await?;
        let fingerprint = rules::fingerprint_of_version(&version);
        let mut cache = VERSION_FINGERPRINTS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= VERSION_FINGERPRINTS_MAX {
            cache.clear();
        }
        cache.insert(key, fingerprint);
        Ok(fingerprint)
    }
}
