//! Action drafts: create, read, list with filters, update, delete (with the bound-action guard).

use async_trait::async_trait;
use sqlx::types::Json;

use crate::bindings::write_flow;
use crate::db::{begin_write, new_id, now, with_pool};
use crate::error::unique_as_conflict;
use crate::{
    Action, ActionFilter, ActionPatch, ActionStore, ActionVersion, Binding, BuildStatus, Error,
    NewAction, NewVersion, Page, Paged, Result, SqlStore,
};

pub(crate) const ACTION_COLUMNS: &str = "id, tenant_id, name, supported_triggers, code, \
    dependencies, runtime, secret_names, status, build_errors, created_at, updated_at, \
    deployed_version";

const NAME_TAKEN: &str = "an action with this name already exists";

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
        let created_at = now();
        let action = Action {
            id: new_id(),
            tenant_id: tenant_id.to_owned(),
            name: new.name,
            supported_triggers: new.supported_triggers,
            code: new.code,
            dependencies: new.dependencies,
            runtime: new.runtime,
            secret_names: new.secret_names,
            status: BuildStatus::Pending,
            build_errors: Vec::new(),
            created_at,
            updated_at: created_at,
            deployed_version: None,
        };
        let sql = format!(
            "INSERT INTO actions ({ACTION_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL)"
        );
        with_pool!(self.db, write, |pool, _pg| {
            sqlx::query(&sql)
                .bind(&action.id)
                .bind(&action.tenant_id)
                .bind(&action.name)
                .bind(Json(&action.supported_triggers))
                .bind(&action.code)
                .bind(Json(&action.dependencies))
                .bind(&action.runtime)
                .bind(Json(&action.secret_names))
                .bind(action.status.as_str())
                .bind(Json(&action.build_errors))
                .bind(action.created_at)
                .bind(action.updated_at)
                .execute(pool)
                .await
                .map_err(|error| match &error {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                        Error::not_found("tenant")
                    }
                    _ => unique_as_conflict(NAME_TAKEN)(error),
                })?;
        });
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
        let sql = format!(
            "UPDATE actions SET name = COALESCE($3, name),
                supported_triggers = COALESCE($4, supported_triggers), code = COALESCE($5, code),
                dependencies = COALESCE($6, dependencies), runtime = COALESCE($7, runtime),
                secret_names = COALESCE($8, secret_names), status = COALESCE($9, status),
                build_errors = COALESCE($10, build_errors), updated_at = $11
             WHERE tenant_id = $1 AND id = $2 RETURNING {ACTION_COLUMNS}"
        );
        with_pool!(self.db, write, |pool, _pg| {
            sqlx::query_as::<_, Action>(&sql)
                .bind(tenant_id)
                .bind(action_id)
                .bind(patch.name.as_deref())
                .bind(patch.supported_triggers.as_ref().map(Json))
                .bind(patch.code.as_deref())
                .bind(patch.dependencies.as_ref().map(Json))
                .bind(patch.runtime.as_deref())
                .bind(patch.secret_names.as_ref().map(Json))
                .bind(patch.status.map(BuildStatus::as_str))
                .bind(patch.build_errors.as_ref().map(Json))
                .bind(now())
                .fetch_optional(pool)
                .await
                .map_err(unique_as_conflict(NAME_TAKEN))?
        })
        .ok_or(Error::not_found("action"))
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
