//! Numbered, immutable action versions: deploy, rollback, read. Numbers come from the action row's
//! `version_seq`, bumped by an UPDATE that also locks the row, so concurrent deploys of one action
//! are serialised and numbers are neither reused nor skipped.

use crate::db::{begin_write, new_id, now, with_pool};
use crate::{ActionVersion, Error, NewVersion, Page, Paged, Result, SqlStore, Timestamp};

pub(crate) const VERSION_SELECT: &str = "SELECT v.id, v.tenant_id, v.action_id, v.number, v.code,
    v.dependencies, v.lockfile, v.runtime, v.secret_names, v.supported_triggers, v.copied_from,
    v.created_at, COALESCE(v.number = a.deployed_version, FALSE) AS is_current
    FROM action_versions v JOIN actions a ON a.id = v.action_id";

pub(crate) const VERSION_INSERT: &str =
    "INSERT INTO action_versions (id, tenant_id, action_id, number, code,
    dependencies, lockfile, runtime, secret_names, supported_triggers, copied_from, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// Bumps `version_seq` (locking the action row) and evaluates to the next number, or returns
/// `NotFound` from the enclosing function when the action is not the tenant's.
macro_rules! next_number {
    ($tx:ident, $tenant_id:expr, $action_id:expr) => {{
        let number: Option<i64> = sqlx::query_scalar(
            "UPDATE actions SET version_seq = version_seq + 1
             WHERE tenant_id = $1 AND id = $2 RETURNING version_seq",
        )
        .bind($tenant_id)
        .bind($action_id)
        .fetch_optional(&mut *$tx)
        .await?;
        number.ok_or(Error::not_found("action"))?
    }};
}

/// Inserts `$version` (an [`ActionVersion`]) inside transaction `$tx`.
macro_rules! insert_version {
    ($tx:ident, $version:expr) => {{
        let v: &$crate::ActionVersion = $version;
        sqlx::query($crate::versions::VERSION_INSERT)
            .bind(&v.id)
            .bind(&v.tenant_id)
            .bind(&v.action_id)
            .bind(v.number)
            .bind(&v.code)
            .bind(sqlx::types::Json(&v.dependencies))
            .bind(sqlx::types::Json(&v.lockfile))
            .bind(&v.runtime)
            .bind(sqlx::types::Json(&v.secret_names))
            .bind(sqlx::types::Json(&v.supported_triggers))
            .bind(v.copied_from)
            .bind(v.created_at)
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(crate) use insert_version;

/// Inserts `$version` and makes it the action's deployed version; `$built` also marks the draft
/// built with no errors, ending any build in flight.
macro_rules! store_current {
    ($tx:ident, $version:expr, $built:expr) => {{
        let v: &ActionVersion = $version;
        insert_version!($tx, v);
        let sql = if $built {
            "UPDATE actions SET deployed_version = $3, status = 'built', build_errors = '[]',
                build_id = NULL, build_started_at = NULL
             WHERE tenant_id = $1 AND id = $2"
        } else {
            "UPDATE actions SET deployed_version = $3 WHERE tenant_id = $1 AND id = $2"
        };
        sqlx::query(sql)
            .bind(&v.tenant_id)
            .bind(&v.action_id)
            .bind(v.number)
            .execute(&mut *$tx)
            .await?;
    }};
}

pub(crate) fn version(
    tenant_id: &str,
    action_id: &str,
    number: i64,
    at: Timestamp,
) -> ActionVersion {
    ActionVersion {
        id: new_id(),
        tenant_id: tenant_id.to_owned(),
        action_id: action_id.to_owned(),
        number,
        code: String::new(),
        dependencies: Vec::new(),
        lockfile: serde_json::Value::Null,
        runtime: String::new(),
        secret_names: Vec::new(),
        supported_triggers: Vec::new(),
        copied_from: None,
        created_at: at,
        is_current: true,
    }
}

impl SqlStore {
    pub(crate) async fn deploy_version_impl(
        &self,
        tenant_id: &str,
        action_id: &str,
        new: NewVersion,
    ) -> Result<ActionVersion> {
        with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            let number = next_number!(tx, tenant_id, action_id);
            let deployed = ActionVersion {
                code: new.code,
                dependencies: new.dependencies,
                lockfile: new.lockfile,
                runtime: new.runtime,
                secret_names: new.secret_names,
                supported_triggers: new.supported_triggers,
                ..version(tenant_id, action_id, number, now())
            };
            store_current!(tx, &deployed, true);
            tx.commit().await?;
            Ok(deployed)
        })
    }

    pub(crate) async fn rollback_version_impl(
        &self,
        tenant_id: &str,
        action_id: &str,
        number: i64,
    ) -> Result<ActionVersion> {
        let sql = format!(
            "{VERSION_SELECT} WHERE v.tenant_id = $1 AND v.action_id = $2 AND v.number = $3"
        );
        with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            let next = next_number!(tx, tenant_id, action_id);
            let old: ActionVersion = sqlx::query_as(&sql)
                .bind(tenant_id)
                .bind(action_id)
                .bind(number)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(Error::not_found("version"))?;
            let copy = ActionVersion {
                id: new_id(),
                number: next,
                copied_from: Some(old.number),
                created_at: now(),
                is_current: true,
                ..old
            };
            store_current!(tx, &copy, false);
            tx.commit().await?;
            Ok(copy)
        })
    }

    pub(crate) async fn get_version_impl(
        &self,
        tenant_id: &str,
        action_id: &str,
        number: i64,
    ) -> Result<ActionVersion> {
        let sql = format!(
            "{VERSION_SELECT} WHERE v.tenant_id = $1 AND v.action_id = $2 AND v.number = $3"
        );
        with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, ActionVersion>(&sql)
                .bind(tenant_id)
                .bind(action_id)
                .bind(number)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(Error::not_found("version"))
    }

    pub(crate) async fn list_versions_impl(
        &self,
        tenant_id: &str,
        action_id: &str,
        page: Page,
    ) -> Result<Paged<ActionVersion>> {
        // Existence first, so another tenant's action is NotFound rather than an empty list.
        let total: i64 = with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_scalar("SELECT version_seq FROM actions WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(action_id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(Error::not_found("action"))?;
        let sql = format!(
            "{VERSION_SELECT} WHERE v.tenant_id = $1 AND v.action_id = $2
             ORDER BY v.number DESC LIMIT $3 OFFSET $4"
        );
        let items = with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, ActionVersion>(&sql)
                .bind(tenant_id)
                .bind(action_id)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?
        });
        Ok(Paged::new(items, total, page))
    }
}
