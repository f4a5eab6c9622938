//! Ordered flows per trigger. The current list lives in `bindings` (one row per position, with a
//! foreign key that keeps bound actions from vanishing); every change bumps `binding_heads` and
//! appends the whole list to `binding_revisions`, all in the caller's transaction.

use async_trait::async_trait;

use crate::db::{begin_write, now, with_pool};

use crate::{
    Binding, BindingRevision, BindingStore, Bindings, Error, Flow, FlowStamp, Page, Paged, Result,
    SqlStore,
};

const REVISION_COLUMNS: &str = "trigger_id, number, bindings, created_at";

/// Inside transaction `$tx`: makes `$list` the trigger's flow as a new revision and evaluates to
/// that revision's number. An action that is not the tenant's returns `NotFound` from the
/// enclosing function.
macro_rules! write_flow {
    ($tx:ident, $tenant_id:expr, $trigger_id:expr, $list:expr, $now:expr) => {{
        let list: &[$crate::Binding] = $list;
        let revision: i64 = sqlx::query_scalar(
            "INSERT INTO binding_heads (tenant_id, trigger_id, revision) VALUES ($1, $2, 1)
             ON CONFLICT (tenant_id, trigger_id)
             DO UPDATE SET revision = binding_heads.revision + 1
             RETURNING revision",
        )
        .bind($tenant_id)
        .bind($trigger_id)
        .fetch_one(&mut *$tx)
        .await?;
        sqlx::query("DELETE FROM bindings WHERE tenant_id = $1 AND trigger_id = $2")
            .bind($tenant_id)
            .bind($trigger_id)
            .execute(&mut *$tx)
            .await?;
        for (position, binding) in (0_i64..).zip(list.iter()) {
            sqlx::query(
                "INSERT INTO bindings
                 (tenant_id, trigger_id, position, action_id, display_name, on_error)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind($tenant_id)
            .bind($trigger_id)
            .bind(position)
            .bind(&binding.action_id)
            .bind(&binding.display_name)
            .bind(binding.on_error.as_str())
            .execute(&mut *$tx)
            .await
            .map_err($crate::error::foreign_key_as_not_found("bound action"))?;
        }
        sqlx::query(
            "INSERT INTO binding_revisions (tenant_id, trigger_id, number, bindings, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind($tenant_id)
        .bind($trigger_id)
        .bind(revision)
        .bind(sqlx::types::Json(list))
        .bind($now)
        .execute(&mut *$tx)
        .await?;
        revision
    }};
}
pub(crate) use write_flow;

/// Inside transaction `$tx`: evaluates to the trigger's current `(revision, bindings)`.
macro_rules! read_flow {
    ($tx:ident, $tenant_id:expr, $trigger_id:expr) => {{
        let revision: Option<i64> = sqlx::query_scalar(
            "SELECT revision FROM binding_heads WHERE tenant_id = $1 AND trigger_id = $2",
        )
        .bind($tenant_id)
        .bind($trigger_id)
        .fetch_optional(&mut *$tx)
        .await?;
        let bindings: Vec<Binding> = sqlx::query_as(
            "SELECT action_id, display_name, on_error FROM bindings
             WHERE tenant_id = $1 AND trigger_id = $2 ORDER BY position",
        )
        .bind($tenant_id)
        .bind($trigger_id)
        .fetch_all(&mut *$tx)
        .await?;
        (revision.unwrap_or(0), bindings)
    }};
}

#[async_trait]
impl BindingStore for SqlStore {
    async fn get_bindings(&self, tenant_id: &str, trigger_id: &str) -> Result<Bindings> {
        // One read transaction, so the list and its revision number belong together.
        let (revision, bindings) = with_pool!(self.db, read, |pool, _pg| {
            let mut tx = pool.begin().await?;
            let flow = read_flow!(tx, tenant_id, trigger_id);
            tx.commit().await?;
            flow
        });
        Ok(Bindings {
            trigger_id: trigger_id.to_owned(),
            revision,
            bindings,
        })
    }

    async fn current_flow(&self, tenant_id: &str, trigger_id: &str) -> Result<Flow> {
        self.current_flow_impl(tenant_id, trigger_id).await
    }

    async fn flow_stamp(&self, tenant_id: &str, trigger_id: &str) -> Result<FlowStamp> {
        self.flow_stamp_impl(tenant_id, trigger_id).await
    }

    async fn replace_bindings(
        &self,
        tenant_id: &str,
        trigger_id: &str,
        bindings: &[Binding],
        expected_revision: Option<i64>,
    ) -> Result<Bindings> {
        let revision = with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            let revision = write_flow!(tx, tenant_id, trigger_id, bindings, now());
            // The head was bumped under its row lock, so `revision - 1` is the state we replaced.
            if let Some(expected) = expected_revision.filter(|expected| *expected != revision - 1) {
                return Err(Error::conflict(format!(
                    "the bindings changed: expected revision {expected}, found {}",
                    revision - 1
                )));
            }
            tx.commit().await?;
            revision
        });
        Ok(Bindings {
            trigger_id: trigger_id.to_owned(),
            revision,
            bindings: bindings.to_vec(),
        })
    }

    async fn list_binding_revisions(
        &self,
        tenant_id: &str,
        trigger_id: &str,
        page: Page,
    ) -> Result<Paged<BindingRevision>> {
        let sql = format!(
            "SELECT {REVISION_COLUMNS} FROM binding_revisions
             WHERE tenant_id = $1 AND trigger_id = $2 ORDER BY number DESC LIMIT $3 OFFSET $4"
        );
        let (items, total) = with_pool!(self.db, read, |pool, _pg| {
            let items = sqlx::query_as::<_, BindingRevision>(&sql)
                .bind(tenant_id)
                .bind(trigger_id)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM binding_revisions WHERE tenant_id = $1 AND trigger_id = $2",
            )
            .bind(tenant_id)
            .bind(trigger_id)
            .fetch_one(pool)
            .await?;
            (items, total)
        });
        Ok(Paged::new(items, total, page))
    }

    async fn get_binding_revision(
        &self,
        tenant_id: &str,
        trigger_id: &str,
        number: i64,
    ) -> Result<BindingRevision> {
        let sql = format!(
            "SELECT {REVISION_COLUMNS} FROM binding_revisions
             WHERE tenant_id = $1 AND trigger_id = $2 AND number = $3"
        );
        with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, BindingRevision>(&sql)
                .bind(tenant_id)
                .bind(trigger_id)
                .bind(number)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(Error::not_found("bindings revision"))
    }

    async fn restore_binding_revision(
        &self,
        tenant_id: &str,
        trigger_id: &str,
        number: i64,
    ) -> Result<Bindings> {
        let sql = format!(
            "SELECT {REVISION_COLUMNS} FROM binding_revisions
             WHERE tenant_id = $1 AND trigger_id = $2 AND number = $3"
        );
        with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            let old: BindingRevision = sqlx::query_as(&sql)
                .bind(tenant_id)
                .bind(trigger_id)
                .bind(number)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(Error::not_found("bindings revision"))?;
            let revision = write_flow!(tx, tenant_id, trigger_id, &old.bindings, now());
            tx.commit().await?;
            Ok(Bindings {
                trigger_id: trigger_id.to_owned(),
                revision,
                bindings: old.bindings,
            })
        })
    }
}
