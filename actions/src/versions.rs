//! Deployed versions: list (newest first), read one, roll back (a new version identical to an
//! older one becomes current, the draft untouched), and diff two snapshots (either may be the
//! draft).

use actionflow_store::{ActionVersion, Page, Paged, Quarantine};

use crate::diff::{diff, Diff, Snapshot};
use crate::error::{Error, Result};
use crate::Actions;

/// One side of a diff: the draft or a version number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Draft,
    Version(i64),
}

impl Actions {
    pub async fn list_versions(
        &self,
        tenant_id: &str,
        action_id: &str,
        page: Page,
    ) -> Result<Paged<ActionVersion>> {
        Ok(self
            .store()
            .list_versions(tenant_id, action_id, page)
            .await?)
    }

    pub async fn get_version(
        &self,
        tenant_id: &str,
        action_id: &str,
        number: i64,
    ) -> Result<ActionVersion> {
        Ok(self
            .store()
            .get_version(tenant_id, action_id, number)
            .await?)
    }

    /// The action's versions quarantined for crashing their sandboxes.
    pub async fn quarantines(&self, tenant_id: &str, action_id: &str) -> Result<Vec<Quarantine>> {
        Ok(self
            .store()
            .action_quarantines(tenant_id, action_id)
            .await?)
    }

    /// A new version identical to version `number` becomes current.
    pub async fn rollback(
        &self,
        tenant_id: &str,
        action_id: &str,
        number: i64,
    ) -> Result<ActionVersion> {
        Ok(self
            .store()
            .rollback_version(tenant_id, action_id, number)
            .await?)
    }

    /// What changed from `from` to `to`; `fields` name the two parameters for errors.
    pub async fn diff(
        &self,
        tenant_id: &str,
        action_id: &str,
        (from, to): (Which, Which),
        fields: (&str, &str),
    ) -> Result<Diff> {
        let from = self.snapshot(tenant_id, action_id, from, fields.0).await?;
        let to = self.snapshot(tenant_id, action_id, to, fields.1).await?;
        Ok(diff(from, to))
    }

    async fn snapshot(
        &self,
        tenant_id: &str,
        action_id: &str,
        which: Which,
        field: &str,
    ) -> Result<Snapshot> {
        match which {
            Which::Draft => Ok(self.store().get_action(tenant_id, action_id).await?.into()),
            Which::Version(number) => self
                .store()
                .get_version(tenant_id, action_id, number)
                .await
                .map(Snapshot::from)
                .map_err(|e| Error::from(e).at(field)),
        }
    }
}
