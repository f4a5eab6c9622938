//! Loads the versions an execution's pinned plan names. Deployed versions are immutable, so they are
//! cached by (tenant, action, number) for the life of the worker, within a bound.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actionflow_store::{ActionVersion, Store};

use crate::flow::{PlannedStep, Step};
use crate::Error;

/// Versions kept; the cache is emptied when it would grow past it.
pub const CACHED_VERSIONS_MAX: usize = 1_024;

type Key = (String, String, i64);

#[derive(Default)]
pub struct VersionCache {
    versions: Mutex<HashMap<Key, Arc<ActionVersion>>>,
}

impl VersionCache {
    fn get(&self, key: &Key) -> Option<Arc<ActionVersion>> {
        self.versions.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: Key, version: Arc<ActionVersion>) {
        if let Ok(mut versions) = self.versions.lock() {
            if versions.len() >= CACHED_VERSIONS_MAX {
                versions.clear();
            }
            versions.insert(key, version);
        }
    }

    /// The steps of `plan` with their versions; a version that no longer exists (its action was
    /// deleted) leaves the step without one, which fails it when it runs.
    pub async fn steps(
        &self,
        store: &dyn Store,
        tenant_id: &str,
        plan: Vec<PlannedStep>,
    ) -> Result<Vec<Step>, Error> {
        let mut steps = Vec::with_capacity(plan.len());
        for planned in plan {
            let version = match planned.version {
                Some(number) => {
                    self.load(store, tenant_id, &planned.action_id, number)
                        .await?
                }
                None => None,
            };
            steps.push(Step { planned, version });
        }
        Ok(steps)
    }

    async fn load(
        &self,
        store: &dyn Store,
        tenant_id: &str,
        action_id: &str,
        number: i64,
    ) -> Result<Option<Arc<ActionVersion>>, Error> {
        let key = (tenant_id.to_owned(), action_id.to_owned(), number);
        if let Some(version) = self.get(&key) {
            return Ok(Some(version));
        }
        match store.get_version(tenant_id, action_id, number).await {
            Ok(version) => {
                let version = Arc::new(version);
                self.put(key, version.clone());
                Ok(Some(version))
            }
            Err(actionflow_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }
}
