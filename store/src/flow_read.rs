//! The current flow as dispatch reads it, in one statement (one round trip, one snapshot): the
//! ordered bindings with the revision and each bound action's deployed version. Dispatch runs this
//! on every sync event, so it avoids the transaction and separate reads of `get_bindings`. The flow's
//! stamp (revision and deployed version numbers only) is the cheaper read a cache checks against.

use sqlx::types::Json;
use sqlx::FromRow;

use crate::db::with_pool;
use crate::{
    ActionVersion, Binding, Dependency, Flow, FlowStamp, FlowStep, OnError, Result, SqlStore,
    Timestamp,
};

/// `$1` tenant, `$2` trigger. A flow without bindings yields no row.
const FLOW_SELECT: &str = "SELECT h.revision, b.action_id, b.display_name, b.on_error,
        v.id AS v_id, v.number AS v_number, v.code AS v_code, v.dependencies AS v_dependencies,
        v.lockfile AS v_lockfile, v.runtime AS v_runtime, v.secret_names AS v_secret_names,
        v.supported_triggers AS v_supported_triggers, v.copied_from AS v_copied_from,
        v.created_at AS v_created_at
    FROM binding_heads h
    JOIN bindings b ON b.tenant_id = h.tenant_id AND b.trigger_id = h.trigger_id
    JOIN actions a ON a.tenant_id = b.tenant_id AND a.id = b.action_id
    LEFT JOIN action_versions v ON v.tenant_id = a.tenant_id AND v.action_id = a.id
        AND v.number = a.deployed_version
    WHERE h.tenant_id = $1 AND h.trigger_id = $2
    ORDER BY b.position";

/// `$1` tenant, `$2` trigger: one row per binding (one row with a NULL position for an empty flow),
/// or no row before the first change. Integers only: no code, no JSON.
const STAMP_SELECT: &str = "SELECT h.revision, b.position, a.deployed_version
    FROM binding_heads h
    LEFT JOIN bindings b ON b.tenant_id = h.tenant_id AND b.trigger_id = h.trigger_id
    LEFT JOIN actions a ON a.tenant_id = b.tenant_id AND a.id = b.action_id
    WHERE h.tenant_id = $1 AND h.trigger_id = $2
    ORDER BY b.position";

#[derive(FromRow)]
struct FlowRow {
    revision: i64,
    action_id: String,
    display_name: String,
    #[sqlx(try_from = "String")]
    on_error: OnError,
    v_id: Option<String>,
    v_number: Option<i64>,
    v_code: Option<String>,
    v_dependencies: Option<Json<Vec<Dependency>>>,
    v_lockfile: Option<Json<serde_json::Value>>,
    v_runtime: Option<String>,
    v_secret_names: Option<Json<Vec<String>>>,
    v_supported_triggers: Option<Json<Vec<String>>>,
    v_copied_from: Option<i64>,
    v_created_at: Option<Timestamp>,
}

impl FlowRow {
    fn into_step(self, tenant_id: &str) -> FlowStep {
        let version = match (self.v_id, self.v_number, self.v_created_at) {
            (Some(id), Some(number), Some(created_at)) => Some(ActionVersion {
                id,
                tenant_id: tenant_id.to_owned(),
                action_id: self.action_id.clone(),
                number,
                code: self.v_code.unwrap_or_default(),
                dependencies: self.v_dependencies.map(|j| j.0).unwrap_or_default(),
                lockfile: self.v_lockfile.map(|j| j.0).unwrap_or_default(),
                runtime: self.v_runtime.unwrap_or_default(),
                secret_names: self.v_secret_names.map(|j| j.0).unwrap_or_default(),
                supported_triggers: self.v_supported_triggers.map(|j| j.0).unwrap_or_default(),
                copied_from: self.v_copied_from,
                created_at,
                is_current: true,
            }),
            _ => None,
        };
        FlowStep {
            binding: Binding {
                action_id: self.action_id,
                display_name: self.display_name,
                on_error: self.on_error,
            },
            version,
        }
    }
}

impl SqlStore {
    pub(crate) async fn flow_stamp_impl(
        &self,
        tenant_id: &str,
        trigger_id: &str,
    ) -> Result<FlowStamp> {
        let rows: Vec<(i64, Option<i64>, Option<i64>)> = with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as(STAMP_SELECT)
                .bind(tenant_id)
                .bind(trigger_id)
                .fetch_all(pool)
                .await?
        });
        let revision = rows.first().map_or(0, |row| row.0);
        let versions = rows
            .into_iter()
            .filter(|(_, position, _)| position.is_some())
            .map(|(_, _, version)| version)
            .collect();
        Ok(FlowStamp { revision, versions })
    }

    pub(crate) async fn current_flow_impl(
        &self,
        tenant_id: &str,
        trigger_id: &str,
    ) -> Result<Flow> {
        let rows: Vec<FlowRow> = with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as(FLOW_SELECT)
                .bind(tenant_id)
                .bind(trigger_id)
                .fetch_all(pool)
                .await?
        });
        let revision = match rows.first() {
            Some(row) => row.revision,
            // No bindings: the revision alone (0 before the first change).
            None => with_pool!(self.db, read, |pool, _pg| {
                sqlx::query_scalar::<_, i64>(
                    "SELECT revision FROM binding_heads WHERE tenant_id = $1 AND trigger_id = $2",
                )
                .bind(tenant_id)
                .bind(trigger_id)
                .fetch_optional(pool)
                .await?
                .unwrap_or(0)
            }),
        };
        Ok(Flow {
            trigger_id: trigger_id.to_owned(),
            revision,
            steps: rows
                .into_iter()
                .map(|row| row.into_step(tenant_id))
                .collect(),
        })
    }
}
