//! A deploy's build, conditioned in the database rather than on what a node read: `begin_build`
//! stamps the draft `building` only when no build is in flight (or the one in flight began long
//! ago: its node stopped), and only the build holding the stamp records its end. Several nodes
//! deploying one action, or a deploy racing a crash recovery, thus build it once.
//!
//! The draft stays editable during a build. The build deploys the snapshot it began with; an edit
//! made meanwhile is kept and not deployed, so the draft ends `pending` instead of `built`.

use std::time::Duration;

use crate::actions::ACTION_COLUMNS;
use crate::db::{begin_write, new_id, now, with_pool};
use crate::secrets::copy_secret_names;
use crate::versions::{insert_version, version};
use crate::{
    Action, ActionVersion, Build, BuildError, BuildStatus, Error, Result, SqlStore, Timestamp,
};

const TAKEN_OVER: &str =
    "this build ran past the time a build may take and another deploy took over; deploy again";
const IN_FLIGHT: &str = "a deploy of this action is building; wait for it to finish";

/// The condition "no live build": none, or one that began more than `$4` ago — milliseconds on
/// PostgreSQL, where the database's clock judges it (nodes' clocks may differ); on SQLite (one
/// host) the time before which a build is stale.
fn not_in_flight(pg: bool) -> &'static str {
    if pg {
        "(build_id IS NULL OR build_started_at IS NULL
          OR build_started_at < now() - $4::bigint * interval '1 millisecond')"
    } else {
        "(build_id IS NULL OR build_started_at IS NULL OR build_started_at < $4)"
    }
}

/// This process's clock `duration` ago.
fn before(duration: Duration) -> Timestamp {
    let delta = chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::MAX);
    now()
        .checked_sub_signed(delta)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Whether the draft holds what was snapshotted: the fields a version copies.
fn unchanged(now: &Action, snapshot: &Action) -> bool {
    now.code == snapshot.code
        && now.dependencies == snapshot.dependencies
        && now.runtime == snapshot.runtime
        && now.supported_triggers == snapshot.supported_triggers
        && now.secret_names == snapshot.secret_names
}

/// Inside transaction `$tx`: the draft if `$build` still holds its stamp (row locked on
/// PostgreSQL); else `NotFound` or `Conflict` from the enclosing function.
macro_rules! held_draft {
    ($tx:ident, $pg:ident, $build:expr) => {{
        let build: &Build = $build;
        let lock = if $pg { " FOR UPDATE" } else { "" };
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM actions
             WHERE tenant_id = $1 AND id = $2 AND build_id = $3{lock}"
        );
        let draft: Option<Action> = sqlx::query_as(&sql)
            .bind(&build.draft.tenant_id)
            .bind(&build.draft.id)
            .bind(&build.id)
            .fetch_optional(&mut *$tx)
            .await?;
        match draft {
            Some(draft) => draft,
            None => {
                return Err(not_held!(
                    $tx,
                    &build.draft.tenant_id,
                    &build.draft.id,
                    TAKEN_OVER
                ))
            }
        }
    }};
}

/// Inside transaction `$tx`, after a conditional write on the action matched nothing: evaluates to
/// `Conflict { what: $what }` when the action exists, else to `NotFound`.
macro_rules! not_held {
    ($tx:ident, $tenant_id:expr, $action_id:expr, $what:expr) => {{
        let exists: Option<String> =
            sqlx::query_scalar("SELECT id FROM actions WHERE tenant_id = $1 AND id = $2")
                .bind($tenant_id)
                .bind($action_id)
                .fetch_optional(&mut *$tx)
                .await?;
        match exists {
            Some(_) => Error::conflict($what),
            None => Error::not_found("action"),
        }
    }};
}

/// Inside transaction `$tx`: ends the build, setting the draft's status and errors; evaluates to
/// the draft.
macro_rules! end_build {
    ($tx:ident, $build:expr, $status:expr, $errors:expr, $deployed:expr) => {{
        let build: &Build = $build;
        let sql = format!(
            "UPDATE actions SET status = $3, build_errors = $4,
                deployed_version = COALESCE($5, deployed_version),
                build_id = NULL, build_started_at = NULL
             WHERE tenant_id = $1 AND id = $2 RETURNING {ACTION_COLUMNS}"
        );
        let status: BuildStatus = $status;
        let errors: &[BuildError] = $errors;
        let deployed: Option<i64> = $deployed;
        let draft: Action = sqlx::query_as(&sql)
            .bind(&build.draft.tenant_id)
            .bind(&build.draft.id)
            .bind(status.as_str())
            .bind(sqlx::types::Json(errors))
            .bind(deployed)
            .fetch_one(&mut *$tx)
            .await?;
        draft
    }};
}

impl SqlStore {
    pub(crate) async fn begin_build_impl(
        &self,
        tenant_id: &str,
        action_id: &str,
        stale_after: Duration,
    ) -> Result<Build> {
        let id = new_id();
        with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            let sql = format!(
                "UPDATE actions SET status = 'building', build_errors = '[]', build_id = $3,
                    build_started_at = {now}
                 WHERE tenant_id = $1 AND id = $2 AND {not_in_flight}
                 RETURNING build_started_at",
                now = if pg { "now()" } else { "$5" },
                not_in_flight = not_in_flight(pg),
            );
            let query = sqlx::query_scalar(&sql)
                .bind(tenant_id)
                .bind(action_id)
                .bind(&id);
            let query = if pg {
                query.bind(millis(stale_after))
            } else {
                query.bind(before(stale_after)).bind(now())
            };
            let started_at: Option<Timestamp> = query.fetch_optional(&mut *tx).await?;
            let Some(started_at) = started_at else {
                return Err(not_held!(tx, tenant_id, action_id, IN_FLIGHT));
            };
            // The secrets table is the truth for names: the snapshot copies it.
            let draft = copy_secret_names!(tx, tenant_id, action_id, now());
            tx.commit().await?;
            Ok(Build {
                id,
                started_at,
                draft,
            })
        })
    }

    pub(crate) async fn finish_build_impl(
        &self,
        build: &Build,
        lockfile: serde_json::Value,
    ) -> Result<ActionVersion> {
        let snapshot = &build.draft;
        with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            let draft = held_draft!(tx, pg, build);
            let number: i64 = sqlx::query_scalar(
                "UPDATE actions SET version_seq = version_seq + 1
                 WHERE tenant_id = $1 AND id = $2 RETURNING version_seq",
            )
            .bind(&snapshot.tenant_id)
            .bind(&snapshot.id)
            .fetch_one(&mut *tx)
            .await?;
            let deployed = ActionVersion {
                code: snapshot.code.clone(),
                dependencies: snapshot.dependencies.clone(),
                lockfile,
                runtime: snapshot.runtime.clone(),
                secret_names: snapshot.secret_names.clone(),
                supported_triggers: snapshot.supported_triggers.clone(),
                ..version(&snapshot.tenant_id, &snapshot.id, number, now())
            };
            insert_version!(tx, &deployed);
            let status = if unchanged(&draft, snapshot) {
                BuildStatus::Built
            } else {
                BuildStatus::Pending
            };
            end_build!(tx, build, status, &[], Some(number));
            tx.commit().await?;
            Ok(deployed)
        })
    }

    pub(crate) async fn fail_build_impl(
        &self,
        build: &Build,
        errors: Vec<BuildError>,
    ) -> Result<Action> {
        with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            let draft = held_draft!(tx, pg, build);
            // The errors are the snapshot's: an edited draft is simply not built yet.
            let (status, errors) = if unchanged(&draft, &build.draft) {
                (BuildStatus::Failed, errors)
            } else {
                (BuildStatus::Pending, Vec::new())
            };
            let draft = end_build!(tx, build, status, &errors, None);
            tx.commit().await?;
            Ok(draft)
        })
    }

    pub(crate) async fn fail_stale_build_impl(
        &self,
        tenant_id: &str,
        action_id: &str,
        stale_after: Duration,
        errors: Vec<BuildError>,
    ) -> Result<Action> {
        let failed: Option<Action> = with_pool!(self.db, write, |pool, pg| {
            let sql = format!(
                "UPDATE actions SET status = 'failed', build_errors = $3, build_id = NULL,
                    build_started_at = NULL
                 WHERE tenant_id = $1 AND id = $2 AND status = 'building' AND {not_in_flight}
                 RETURNING {ACTION_COLUMNS}",
                not_in_flight = not_in_flight(pg),
            );
            let query = sqlx::query_as(&sql)
                .bind(tenant_id)
                .bind(action_id)
                .bind(sqlx::types::Json(&errors));
            let query = if pg {
                query.bind(millis(stale_after))
            } else {
                query.bind(before(stale_after))
            };
            query.fetch_optional(pool).await?
        });
        match failed {
            Some(draft) => Ok(draft),
            None => crate::ActionStore::get_action(self, tenant_id, action_id).await,
        }
    }
}
