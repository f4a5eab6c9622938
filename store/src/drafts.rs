//! Writing drafts: the insert and the patch statements shared by the plain calls and the ones that
//! write the action's sealed secrets in the same transaction.

use crate::actions::ACTION_COLUMNS;
use crate::db::{begin_write, now, with_pool};
use crate::secrets::{copy_secret_names, put_secrets};
use crate::{Action, ActionPatch, BuildStatus, NewAction, NewSecret, Result, SqlStore, Timestamp};

/// A new draft: `pending`, no build errors, never deployed.
pub(crate) fn draft(tenant_id: &str, action_id: &str, new: NewAction, at: Timestamp) -> Action {
    Action {
        id: action_id.to_owned(),
        tenant_id: tenant_id.to_owned(),
        name: new.name,
        supported_triggers: new.supported_triggers,
        code: new.code,
        dependencies: new.dependencies,
        runtime: new.runtime,
        secret_names: new.secret_names,
        status: BuildStatus::Pending,
        build_errors: Vec::new(),
        created_at: at,
        updated_at: at,
        deployed_version: None,
    }
}

/// Inserts the draft `$action` on `$executor` (a pool, or `&mut *tx`); `NotFound` (tenant) or
/// `Conflict` (name taken) from the enclosing function.
macro_rules! insert_draft {
    ($executor:expr, $action:expr) => {{
        let action: &$crate::Action = $action;
        let sql = format!(
            "INSERT INTO actions ({})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL)",
            $crate::actions::ACTION_COLUMNS
        );
        sqlx::query(&sql)
            .bind(&action.id)
            .bind(&action.tenant_id)
            .bind(&action.name)
            .bind(sqlx::types::Json(&action.supported_triggers))
            .bind(&action.code)
            .bind(sqlx::types::Json(&action.dependencies))
            .bind(&action.runtime)
            .bind(sqlx::types::Json(&action.secret_names))
            .bind(action.status.as_str())
            .bind(sqlx::types::Json(&action.build_errors))
            .bind(action.created_at)
            .bind(action.updated_at)
            .execute($executor)
            .await
            .map_err(|error| match &error {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    $crate::Error::not_found("tenant")
                }
                _ => $crate::error::unique_as_conflict($crate::actions::NAME_TAKEN)(error),
            })?;
    }};
}
pub(crate) use insert_draft;

/// The draft update of [`patch_draft!`]: `$3`…`$10` the patch, `$11` now. While a build is in
/// flight (`build_id` set) the status and build errors stay the build's.
pub(crate) fn update_sql() -> String {
    format!(
        "UPDATE actions SET name = COALESCE($3, name),
            supported_triggers = COALESCE($4, supported_triggers), code = COALESCE($5, code),
            dependencies = COALESCE($6, dependencies), runtime = COALESCE($7, runtime),
            secret_names = COALESCE($8, secret_names),
            status = CASE WHEN build_id IS NULL THEN COALESCE($9, status) ELSE status END,
            build_errors = CASE WHEN build_id IS NULL THEN COALESCE($10, build_errors)
                           ELSE build_errors END,
            updated_at = $11
         WHERE tenant_id = $1 AND id = $2 RETURNING {ACTION_COLUMNS}"
    )
}

/// Runs [`update_sql`] (as `$sql`) on `$executor` (a pool, or `&mut *tx`) and evaluates to the
/// updated draft; `NotFound` or `Conflict` (name taken) from the enclosing function.
macro_rules! patch_draft {
    ($executor:expr, $sql:expr, $tenant_id:expr, $action_id:expr, $patch:expr, $at:expr) => {{
        let patch: &$crate::ActionPatch = $patch;
        let draft: Option<$crate::Action> = sqlx::query_as($sql)
            .bind($tenant_id)
            .bind($action_id)
            .bind(patch.name.as_deref())
            .bind(patch.supported_triggers.as_ref().map(sqlx::types::Json))
            .bind(patch.code.as_deref())
            .bind(patch.dependencies.as_ref().map(sqlx::types::Json))
            .bind(patch.runtime.as_deref())
            .bind(patch.secret_names.as_ref().map(sqlx::types::Json))
            .bind(patch.status.map($crate::BuildStatus::as_str))
            .bind(patch.build_errors.as_ref().map(sqlx::types::Json))
            .bind($at)
            .fetch_optional($executor)
            .await
            .map_err($crate::error::unique_as_conflict(
                $crate::actions::NAME_TAKEN,
            ))?;
        draft.ok_or($crate::Error::not_found("action"))?
    }};
}
pub(crate) use patch_draft;

impl SqlStore {
    pub(crate) async fn create_action_with_secrets_impl(
        &self,
        tenant_id: &str,
        action_id: &str,
        new: NewAction,
        secrets: &[NewSecret],
        secrets_max: u32,
    ) -> Result<Action> {
        let at = now();
        let action = draft(tenant_id, action_id, new, at);
        Ok(with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            insert_draft!(&mut *tx, &action);
            put_secrets!(tx, tenant_id, action_id, secrets, secrets_max, at);
            let action = copy_secret_names!(tx, tenant_id, action_id, at);
            tx.commit().await?;
            action
        }))
    }

    pub(crate) async fn update_action_with_secrets_impl(
        &self,
        tenant_id: &str,
        action_id: &str,
        patch: ActionPatch,
        secrets: &[NewSecret],
        secrets_max: u32,
    ) -> Result<Action> {
        let at = now();
        let sql = update_sql();
        Ok(with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            // The update locks the action row: concurrent secret writes wait, so the limit holds.
            patch_draft!(&mut *tx, &sql, tenant_id, action_id, &patch, at);
            put_secrets!(tx, tenant_id, action_id, secrets, secrets_max, at);
            let action = copy_secret_names!(tx, tenant_id, action_id, at);
            tx.commit().await?;
            action
        }))
    }
}
