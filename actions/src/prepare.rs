//! Making a version ready to execute, written once for every caller: its package files (the frozen
//! lockfile laid out from the cache, else fetched exactly as locked) and the secrets it declared,
//! opened. Sync dispatch and the async worker reach it through triggers' [`VersionResources`];
//! test runs and deploy checks call it directly.

use std::collections::BTreeMap;
use std::sync::Arc;

use actionflow_registry::Lockfile;
use actionflow_runtime::{ModuleFiles, Secrets};
use actionflow_store::{ActionVersion, SharedStore};
use actionflow_triggers::{Prepared, VersionResources};
use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::packages::{self, Packages};
use crate::seal::{Sealed, Sealer};

/// The store, the master key's sealer and the packages: what a version needs to run.
pub struct Preparer {
    store: SharedStore,
    sealer: Sealer,
    packages: Arc<Packages>,
}

impl Preparer {
    pub fn new(store: SharedStore, sealer: Sealer, packages: Arc<Packages>) -> Preparer {
        Preparer {
            store,
            sealer,
            packages,
        }
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    pub fn packages(&self) -> &Packages {
        &self.packages
    }

    /// The files and secrets `version` executes with.
    pub async fn prepare(&self, tenant_id: &str, version: &ActionVersion) -> Result<Prepared> {
        let files = self.files(version).await?;
        let secrets = if version.secret_names.is_empty() {
            Secrets::default()
        } else {
            let only = Some(version.secret_names.as_slice());
            self.open_secrets(tenant_id, &version.action_id, only)
                .await?
        };
        Ok(Prepared { files, secrets })
    }

    /// The package files of a version's frozen lockfile (none without dependencies).
    pub async fn files(&self, version: &ActionVersion) -> Result<Arc<dyn ModuleFiles>> {
        if version.lockfile.is_null() || version.dependencies.is_empty() {
            return Ok(packages::module_files(&Default::default()));
        }
        let lockfile: Lockfile = serde_json::from_value(version.lockfile.clone())
            .map_err(|_| Error::Internal("its stored lockfile is unreadable".to_owned()))?;
        let tree = self
            .packages
            .layout_or_fetch(&lockfile)
            .await
            .map_err(|error| {
                tracing::warn!(%error, action_id = %version.action_id, "laying out packages");
                Error::Internal("its packages could not be installed".to_owned())
            })?;
        Ok(packages::module_files(&tree))
    }

    /// The clear values of an action's secrets; with `only`, just those names.
    pub async fn open_secrets(
        &self,
        tenant_id: &str,
        action_id: &str,
        only: Option<&[String]>,
    ) -> Result<Secrets> {
        let mut values = BTreeMap::new();
        for row in self.store.sealed_secrets(tenant_id, action_id).await? {
            if only.is_some_and(|names| !names.contains(&row.name)) {
                continue;
            }
            let sealed = Sealed {
                ciphertext: row.ciphertext,
                nonce: row.nonce,
            };
            let value = self
                .sealer
                .open(tenant_id, action_id, &row.name, &sealed)
                .map_err(|e| Error::Internal(e.to_string()))?;
            values.insert(row.name, value);
        }
        Ok(Secrets(values))
    }
}

#[async_trait]
impl VersionResources for Preparer {
    async fn prepare(
        &self,
        tenant_id: &str,
        version: &ActionVersion,
    ) -> Result<Prepared, actionflow_triggers::Error> {
        Preparer::prepare(self, tenant_id, version)
            .await
            .map_err(|error| match error {
                Error::Store(store) => actionflow_triggers::Error::Store(store),
                other => actionflow_triggers::Error::Prepare {
                    action_id: version.action_id.clone(),
                    message: other.to_string(),
                },
            })
    }
}
