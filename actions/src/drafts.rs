//! Actions' drafts, modelled on Auth0's Management API: create (with secrets, in one transaction),
//! list with filters and pages, read, patch (back to `pending`), delete (refused while bound unless
//! forced). Every read settles a build that can no longer be alive (see `deploy.rs`).

use actionflow_store::{
    ActionFilter, ActionPatch, BuildStatus, Dependency, NewAction, Page, Paged,
};

use crate::error::{Error, Result};
use crate::rules::{self, SecretInput, TriggerRef};
use crate::{ActionView, Actions};

/// A draft to create.
#[derive(Debug, Clone, Default)]
pub struct NewDraft {
    pub name: String,
    pub supported_triggers: Vec<TriggerRef>,
    pub code: String,
    pub dependencies: Vec<Dependency>,
    /// `None`: the first of [`rules::RUNTIMES`].
    pub runtime: Option<String>,
    pub secrets: Vec<SecretInput>,
}

/// A change of a draft: only the fields present change; `secrets` are upserted.
#[derive(Debug, Clone, Default)]
pub struct DraftPatch {
    pub name: Option<String>,
    pub supported_triggers: Option<Vec<TriggerRef>>,
    pub code: Option<String>,
    pub dependencies: Option<Vec<Dependency>>,
    pub runtime: Option<String>,
    pub secrets: Option<Vec<SecretInput>>,
}

impl Actions {
    /// Creates a draft; its secrets are sealed with its id and stored in the same transaction.
    pub async fn create(&self, tenant_id: &str, draft: NewDraft) -> Result<ActionView> {
        let limits = self.limits();
        let new = NewAction {
            name: rules::name(&draft.name, limits)?,
            supported_triggers: rules::triggers(&draft.supported_triggers)?,
            code: rules::code(&draft.code, limits)?,
            dependencies: rules::dependencies(&draft.dependencies, limits)?,
            runtime: rules::runtime(draft.runtime.as_deref())?,
            secret_names: rules::secrets(&draft.secrets, limits)?,
        };
        let created = if draft.secrets.is_empty() {
            self.store().create_action(tenant_id, new).await
        } else {
            // The id comes first: each secret is sealed with it bound.
            let action_id = actionflow_store::new_id();
            let sealed = self.seal_all(tenant_id, &action_id, &draft.secrets)?;
            let max = limits.secrets_per_action_max;
            self.store()
                .create_action_with_secrets(tenant_id, &action_id, new, &sealed, max)
                .await
        };
        let action = created.map_err(|e| match e {
            actionflow_store::Error::LimitReached { .. } => Error::from(e),
            other => Error::from(other).at("name"),
        })?;
        self.view(action).await
    }

    /// Drafts, oldest first, with filters.
    pub async fn list(
        &self,
        tenant_id: &str,
        filter: &ActionFilter,
        page: Page,
    ) -> Result<Paged<ActionView>> {
        let paged = self.store().list_actions(tenant_id, filter, page).await?;
        let views = paged.items.into_iter().map(|action| async {
            let action = self.settle(action).await?;
            self.view(action).await
        });
        Ok(Paged {
            items: futures::future::try_join_all(views).await?,
            total: paged.total,
            page: paged.page,
            per_page: paged.per_page,
        })
    }

    pub async fn get(&self, tenant_id: &str, action_id: &str) -> Result<ActionView> {
        let action = self.store().get_action(tenant_id, action_id).await?;
        let action = self.settle(action).await?;
        self.view(action).await
    }

    /// Changes the draft; it goes back to `pending`. Allowed while a deploy is building: that
    /// deploy still deploys the draft as it was when it began, and the draft then stays `pending`
    /// until it is deployed again. The draft and its secrets change in one transaction.
    pub async fn patch(
        &self,
        tenant_id: &str,
        action_id: &str,
        change: DraftPatch,
    ) -> Result<ActionView> {
        let action = self.store().get_action(tenant_id, action_id).await?;
        self.settle(action).await?;
        let mut patch = self.checked_patch(&change)?;
        if let Some(secrets) = &change.secrets {
            self.check_secret_count(tenant_id, action_id, secrets)
                .await?;
        }
        if patch != ActionPatch::default() {
            patch.status = Some(BuildStatus::Pending);
            patch.build_errors = Some(Vec::new());
        }
        let store = self.store();
        let updated = match &change.secrets {
            None => store.update_action(tenant_id, action_id, patch).await,
            Some(secrets) => {
                let sealed = self.seal_all(tenant_id, action_id, secrets)?;
                let max = self.limits().secrets_per_action_max;
                store
                    .update_action_with_secrets(tenant_id, action_id, patch, &sealed, max)
                    .await
            }
        };
        let updated = updated.map_err(|e| match e {
            actionflow_store::Error::Conflict { .. } => Error::from(e).at("name"),
            other => Error::from(other),
        })?;
        self.view(updated).await
    }

    fn checked_patch(&self, change: &DraftPatch) -> Result<ActionPatch> {
        let limits = self.limits();
        Ok(ActionPatch {
            name: change
                .name
                .as_deref()
                .map(|n| rules::name(n, limits))
                .transpose()?,
            supported_triggers: change
                .supported_triggers
                .as_deref()
                .map(rules::triggers)
                .transpose()?,
            code: change
                .code
                .as_deref()
                .map(|c| rules::code(c, limits))
                .transpose()?,
            dependencies: change
                .dependencies
                .as_deref()
                .map(|d| rules::dependencies(d, limits))
                .transpose()?,
            runtime: change
                .runtime
                .as_deref()
                .map(|r| rules::runtime(Some(r)))
                .transpose()?,
            ..ActionPatch::default()
        })
    }

    /// Checked here for a clear message; the store checks it again inside the transaction.
    async fn check_secret_count(
        &self,
        tenant_id: &str,
        action_id: &str,
        secrets: &[SecretInput],
    ) -> Result<()> {
        let limits = self.limits();
        rules::secrets(secrets, limits)?;
        let existing = self.store().list_secrets(tenant_id, action_id).await?;
        let added = secrets
            .iter()
            .filter(|s| !existing.iter().any(|e| e.name == s.name))
            .count();
        let max = usize::try_from(limits.secrets_per_action_max).unwrap_or(usize::MAX);
        if existing.len() + added > max {
            let message = format!(
                "the action would have {} secrets, more than the limit of {max}",
                existing.len() + added
            );
            return Err(Error::invalid("secrets", message));
        }
        Ok(())
    }

    /// Deletes an action with its versions and secrets; refused while a trigger binds it, unless
    /// `force` (which unbinds it everywhere).
    pub async fn delete(&self, tenant_id: &str, action_id: &str, force: bool) -> Result<()> {
        let deleted = self
            .store()
            .delete_action(tenant_id, action_id, force)
            .await;
        deleted.map_err(|e| match e {
            actionflow_store::Error::Conflict { what } => Error::Conflict {
                field: Some("force".to_owned()),
                message: format!("{what}; unbind it first or delete with ?force=true"),
            },
            other => Error::from(other),
        })
    }
}
