//! Who runs a submission's automated checks: a node claims submissions in `checking` under a lease
//! (a conditional UPDATE, so of several nodes on one database exactly one wins each), extends it
//! while the checks run, and a submission whose checks were cut (the node stopped) is claimed
//! again once its lease ended. The clock is PostgreSQL's own there (one for every node), this
//! process's on SQLite, as for the execution queue.

use std::time::Duration;

use crate::db::{begin_write, with_pool};
use crate::queue::{after, after_sql, bind_claim, clock, micros};
use crate::{Result, SqlStore};

/// `$1` owner, `$2` lease (see [`after_sql`]), `$3` limit, `$4` now (SQLite only).
fn claim_sql(pg: bool) -> String {
    let now = clock(pg, "$4");
    let until = after_sql(pg, "$2");
    let free = format!(
        "state = 'checking' AND (checks_lease_expires_at IS NULL OR checks_lease_expires_at <= {now})"
    );
    let set = format!("checks_owner = $1, checks_lease_expires_at = {until}");
    if pg {
        format!(
            "WITH free AS MATERIALIZED (SELECT id FROM mk_submissions WHERE {free} \
             ORDER BY created_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             UPDATE mk_submissions s SET {set} FROM free WHERE s.id = free.id RETURNING s.id"
        )
    } else {
        format!(
            "UPDATE mk_submissions SET {set} WHERE id IN (SELECT id FROM mk_submissions \
             WHERE {free} ORDER BY created_at, id LIMIT $3) RETURNING id"
        )
    }
}

impl SqlStore {
    pub(crate) async fn claim_checks_impl(
        &self,
        owner: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<String>> {
        let now = self.clock();
        let claimed: Vec<(String,)> = with_pool!(self.db, write, |pool, pg| {
            let sql = claim_sql(pg);
            let mut tx = begin_write!(pool, pg);
            let query = bind_claim!(sqlx::query_as(&sql).bind(owner), pg, now, lease, limit);
            let claimed = query.fetch_all(&mut *tx).await?;
            tx.commit().await?;
            claimed
        });
        Ok(claimed.into_iter().map(|(id,)| id).collect())
    }

    pub(crate) async fn extend_checks_impl(
        &self,
        submission_id: &str,
        owner: &str,
        lease: Duration,
    ) -> Result<bool> {
        let now = self.clock();
        let done = with_pool!(self.db, write, |pool, pg| {
            let sql = format!(
                "UPDATE mk_submissions SET checks_lease_expires_at = {} \
                 WHERE id = $1 AND checks_owner = $2 AND state = 'checking' \
                 AND checks_lease_expires_at > {}",
                after_sql(pg, "$3"),
                clock(pg, "$4"),
            );
            let query = sqlx::query(&sql).bind(submission_id).bind(owner);
            let query = if pg {
                query.bind(micros(lease))
            } else {
                query.bind(after(now, lease)).bind(now)
            };
            query.execute(pool).await?.rows_affected()
        });
        Ok(done == 1)
    }
}
