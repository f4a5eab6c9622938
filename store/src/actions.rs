//! Action drafts: create, read, list with filters, update, delete (with the bound-action guard).

use std::time::Duration;

use async_trait::async_trait;

use crate::bindings::write_flow;
use crate::db::{begin_write, new_id, now, with_pool};
use crate::drafts::{draft, insert_draft, patch_draft, update_sql};
use crate::{
    Action, ActionFilter, ActionPatch, ActionStore, ActionVersion, Binding, Build, BuildError,
    Error, NewAction, NewSecret, NewVersion, Page, Paged, Result, SqlStore,
};

pub(crate) const ACTION_COLUMNS: &str = "id, tenant_id, name, supported_triggers, code, \
    dependencies, runtime, secret_names, status, build_errors, created_at, updated_at, \
    deployed_version";

pub(crate) const NAME_TAKEN: &str = "an action with this name already exists";

/// The WHERE clause of the action list; `$1` tenant, `$2` trigger, `$3` name, `$4` deployed.
fn list_condition(pg: bool) -> &'static str {
    if pg {
        "tenant_id = $1
         AND ($2::text IS NULL OR supported_triggers ? $2::text)
         AND ($3::text IS NULL OR name = $3::text)
         AND ($4::boolean IS NULL OR (deployed_version IS NOT NULL) = $4::boolean)"
    } else {
        "tenant_id = $1
         AND ($2 IS NULL OR EXISTS (SELECT 1 FROM json_each(supported_triggers) WHERE value = $2))
         AND ($3 IS NULL OR name = $3)
         AND ($4 IS NULL OR (deployed_version IS NOT NULL) = $4)"
    }
}

#[async_trait]
impl ActionStore for SqlStore {
    async fn create_action(&self, tenant_id: &str, new: NewAction) -> Result<Action> {
        let action = draft(tenant_id, &new_id(), new, now());
        with_pool!(self.db, write, |pool, _pg| insert_draft!(pool, &action));
        Ok(action)
    }

    async fn get_action(&self, tenant_id: &str, action_id: &str) -> Result<Action> {
        let sql = format!("SELECT {ACTION_COLUMNS} FROM actions WHERE tenant_id = $1 AND id = $2");
        with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, Action>(&sql)
                .bind(tenant_id)
                .bind(action_id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(Error::not_found("action"))
    }

    async fn get_action_by_name(&self, tenant_id: &str, name: &str) -> Result<Action> {
        let sql =
            format!("SELECT {ACTION_COLUMNS} FROM actions WHERE tenant_id = $1 AND name = $2");
        with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, Action>(&sql)
                .bind(tenant_id)
                .bind(name)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(Error::not_found("action"))
    }

    async fn list_actions(
        &self,
        tenant_id: &str,
        filter: &ActionFilter,
        page: Page,
    ) -> Result<Paged<Action>> {
        let (items, total) = with_pool!(self.db, read, |pool, pg| {
            let condition = list_condition(pg);
            let sql = format!(
                "SELECT {ACTION_COLUMNS} FROM actions WHERE {condition}
                 ORDER BY created_at, id LIMIT $5 OFFSET $6"
            );
            let items = sqlx::query_as::<_, Action>(&sql)
                .bind(tenant_id)
                .bind(filter.trigger_id.as_deref())
                .bind(filter.name.as_deref())
                .bind(filter.deployed)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            let sql = format!("SELECT COUNT(*) FROM actions WHERE {condition}");
            let total: i64 = sqlx::query_scalar(&sql)
                .bind(tenant_id)
                .bind(filter.trigger_id.as_deref())
                .bind(filter.name.as_deref())
                .bind(filter.deployed)
                .fetch_one(pool)
                .await?;
            (items, total)
        });
        Ok(Paged::new(items, total, page))
    }

    async fn update_action(
        &self,
        tenant_id: &str,
        action_id: &str,
        patch: ActionPatch,
    ) -> Result<Action> {
        let sql = update_sql();
        Ok(with_pool!(self.db, write, |pool, _pg| {
            patch_draft!(pool, &sql, tenant_id, action_id, &patch, now())
        }))
    }

    async fn create_action_with_secrets(
        &self,
        tenant_id: &str,
        action_id: &str,
        new: NewAction,
        secrets: &[NewSecret],
        secrets_max: u32,
    ) -> Result<Action> {
        self.create_action_with_secrets_impl(tenant_id, action_id, new, secrets, secrets_max)
            .await
    }

    async fn update_action_with_secrets(
        &self,
        tenant_id: &str,
        action_id: &str,
        patch: ActionPatch,
        secrets: &[NewSecret],
        secrets_max: u32,
    ) -> Result<Action> {
        self.update_action_with_secrets_impl(tenant_id, action_id, patch, secrets, secrets_max)
            .await
    }

    async fn begin_build(
        &self,
        tenant_id: &str,
        action_id: &str,
        stale_after: Duration,
    ) -> Result<Build> {
        self.begin_build_impl(tenant_id, action_id, stale_after)
            .await
    }

    async fn finish_build(
        &self,
        build: &Build,
        lockfile: serde_json::Value,
    ) -> Result<ActionVersion> {
        self.finish_build_impl(build, lockfile).await
    }

    async fn fail_build(&self, build: &Build, errors: Vec<BuildError>) -> Result<Action> {
        self.fail_build_impl(build, errors).await
    }

    async fn fail_stale_build(
        &self,
        tenant_id: &str,
        action_id: &str,
        stale_after: Duration,
        errors: Vec<BuildError>,
    ) -> Result<Action> {
        self.fail_stale_build_impl(tenant_id, action_id, stale_after, errors)
            .await
    }

    async fn delete_action(&self, tenant_id: &str, action_id: &str, force: bool) -> Result<()> {
        with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            let triggers: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT trigger_id FROM bindings
                 WHERE tenant_id = $1 AND action_id = $2 ORDER BY trigger_id",
            )
            .bind(tenant_id)
            .bind(action_id)
            .fetch_all(&mut *tx)
            .await?;
            if !triggers.is_empty() && !force {
                return Err(Error::conflict(format!(
                    "the action is bound to {}",
                    triggers.join(", ")
                )));
            }
            let now = now();
            for trigger_id in &triggers {
                let current: Vec<Binding> = sqlx::query_as(
                    "SELECT action_id, display_name, on_error FROM bindings
                     WHERE tenant_id = $1 AND trigger_id = $2 ORDER BY position",
                )
                .bind(tenant_id)
                .bind(trigger_id)
                .fetch_all(&mut *tx)
                .await?;
                let remaining: Vec<Binding> = current
                    .into_iter()
                    .filter(|b| b.action_id != action_id)
                    .collect();
                write_flow!(tx, tenant_id, trigger_id, &remaining, now);
            }
            // A flow that bound the action after our check makes the foreign key refuse.
            let deleted = sqlx::query("DELETE FROM actions WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(action_id)
                .execute(&mut *tx)
                .await
                .map_err(|error| match &error {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                        Error::conflict("the action was bound to a trigger meanwhile")
                    }
                    _ => Error::Database(error),
                })?
                .rows_affected();
            if deleted == 0 {
                return Err(Error::not_found("action"));
            }
            tx.commit().await?;
        });
        Ok(())
    }

    async fn action_bound_triggers(&self, tenant_id: &str, action_id: &str) -> Result<Vec<String>> {
        self.get_action(tenant_id, action_id).await?;
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_scalar(
                "SELECT DISTINCT trigger_id FROM bindings
                 WHERE tenant_id = $1 AND action_id = $2 ORDER BY trigger_id",
            )
            .bind(tenant_id)
            .bind(action_id)
            .fetch_all(pool)
            .await?
        }))
    }

    async fn deploy_version(
        &self,
        tenant_id: &str,
        action_id: &str,
        new: NewVersion,
    ) -> Result<ActionVersion> {
        self.deploy_version_impl(tenant_id, action_id, new).await
    }

    async fn rollback_version(
        &self,
        tenant_id: &str,
        action_id: &str,
        number: i64,
    ) -> Result<ActionVersion> {
        self.rollback_version_impl(tenant_id, action_id, number)
            .await
    }

    async fn get_version(
        &self,
        tenant_id: &str,
        action_id: &str,
        number: i64,
    ) -> Result<ActionVersion> {
        self.get_version_impl(tenant_id, action_id, number).await
    }

    async fn list_versions(
        &self,
        tenant_id: &str,
        action_id: &str,
        page: Page,
    ) -> Result<Paged<ActionVersion>> {
        self.list_versions_impl(tenant_id, action_id, page).await
    }
}
