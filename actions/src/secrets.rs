//! An action's secrets: write-only values sealed with the master key before they reach the store
//! (which copies the names into the draft in the same transaction). Callers list names and update
//! times only; values are opened just for a test run or an execution (see [`crate::Preparer`]).

use actionflow_store::{NewSecret, SecretMeta};

use crate::error::{Error, Result};
use crate::rules::{self, SecretInput};
use crate::Actions;

impl Actions {
    /// Seals each secret of `inputs` (already checked) for the action, to be stored with it.
    pub(crate) fn seal_all(
        &self,
        tenant_id: &str,
        action_id: &str,
        inputs: &[SecretInput],
    ) -> Result<Vec<NewSecret>> {
        let sealer = self.inner.preparer.sealer();
        inputs
            .iter()
            .map(|input| {
                let sealed = sealer
                    .seal(tenant_id, action_id, &input.name, &input.value)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                Ok(NewSecret {
                    name: input.name.clone(),
                    ciphertext: sealed.ciphertext,
                    nonce: sealed.nonce,
                })
            })
            .collect()
    }

    /// An action's secret names and update times (never values).
    pub async fn list_secrets(&self, tenant_id: &str, action_id: &str) -> Result<Vec<SecretMeta>> {
        Ok(self.store().list_secrets(tenant_id, action_id).await?)
    }

    /// Sets (creates or replaces) one secret.
    pub async fn put_secret(
        &self,
        tenant_id: &str,
        action_id: &str,
        secret: &SecretInput,
    ) -> Result<SecretMeta> {
        let limits = self.limits();
        rules::secret_name("name", &secret.name, limits)?;
        rules::secret_value("value", &secret.value, limits)?;
        let sealed = self
            .inner
            .preparer
            .sealer()
            .seal(tenant_id, action_id, &secret.name, &secret.value)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let stored = self
            .store()
            .put_secret(
                tenant_id,
                action_id,
                &secret.name,
                &sealed.ciphertext,
                &sealed.nonce,
                limits.secrets_per_action_max,
            )
            .await;
        stored.map_err(|e| match e {
            actionflow_store::Error::LimitReached { .. } => Error::from(e).at("name"),
            other => Error::from(other),
        })
    }

    /// Deletes one secret.
    pub async fn delete_secret(&self, tenant_id: &str, action_id: &str, name: &str) -> Result<()> {
        self.store().get_action(tenant_id, action_id).await?;
        Ok(self
            .store()
            .delete_secret(tenant_id, action_id, name)
            .await?)
    }
}
