//! The tenant log: append in commit order, read by checkpoint, search, fetch one, purge.
//!
//! Why `seq` never lets a checkpoint skip a late writer: a PostgreSQL sequence hands out numbers
//! at call time but transactions commit in any order, so a reader could see 11 committed while
//! 10 is still in flight, move its checkpoint to 11, and never see 10. Here each append takes its
//! numbers by bumping the tenant's row in `log_heads` inside its own transaction; that row stays
//! locked until the commit, so the next append of the tenant gets its numbers only after this one
//! is visible. The committed events of a tenant are therefore always exactly 1..=head, and a
//! reader that saw `head` (or any event) has seen every lower one. The cost is that appends of one
//! tenant are serialised for the length of one insert (a batch of up to 100 events); tenants do not
//! wait for each other. On SQLite the single writer connection gives the same order.

use sqlx::types::Json;

use crate::db::{begin_write, now, truncate, with_pool};
use crate::error::foreign_key_as_not_found;
use crate::{LogEvent, LogQuery, NewLogEvent, Page, Paged, Result, SqlStore, Timestamp};

/// `$1` the cutoff, `$2` the batch: events past retention, through `log_events_created`.
pub(crate) const PURGE_SQL: &str = "DELETE FROM log_events WHERE (tenant_id, seq) IN
    (SELECT tenant_id, seq FROM log_events WHERE created_at < $1 LIMIT $2)";

pub(crate) const LOG_COLUMNS: &str = "tenant_id, seq, date, type, level, description, client_id, \
    client_name, connection, ip, user_agent, user_id, user_name, strategy, strategy_type, details, \
    created_at";

/// Rows per INSERT statement (17 parameters each, well under both backends' parameter limits).
const ROWS_PER_INSERT: usize = 200;
/// SQLite: sqlx binds each parameter after looking its name up, a walk of every named parameter in
/// the statement (quadratic: at 200 rows of `$n`, a quarter of the writer's time under dispatch
/// load). Anonymous `?` parameters are bound by position with no walk; and as for sync records,
/// 32 rows per statement.
const ROWS_PER_INSERT_SQLITE: usize = 32;

/// `(…), (…)` placeholders for `rows` rows of 17 columns: `$n` for PostgreSQL, `?` for SQLite.
fn values_sql(rows: usize, pg: bool) -> String {
    let mut sql = String::with_capacity(rows * 100);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..17 {
            if column > 0 {
                sql.push_str(", ");
            }
            if pg {
                sql.push_str(&format!("${}", row * 17 + column + 1));
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

/// `AND ((col = $n AND …) OR (…))` for a search, numbering parameters from `next`; the values in
/// order.
pub(crate) fn query_sql<'q>(query: &'q LogQuery, next: &mut usize) -> (String, Vec<&'q str>) {
    let mut values = Vec::new();
    let groups: Vec<String> = query
        .any_of
        .iter()
        .filter(|group| !group.is_empty())
        .map(|group| {
            let terms: Vec<String> = group
                .iter()
                .map(|(field, value)| {
                    values.push(value.as_str());
                    *next += 1;
                    format!("{} = ${}", field.column(), *next - 1)
                })
                .collect();
            format!("({})", terms.join(" AND "))
        })
        .collect();
    if groups.is_empty() {
        return (String::new(), values);
    }
    (format!(" AND ({})", groups.join(" OR ")), values)
}

impl SqlStore {
    pub(crate) async fn append_logs_impl(
        &self,
        tenant_id: &str,
        events: &[NewLogEvent],
    ) -> Result<Vec<i64>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
        let at = now();
        with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            // The row lock taken here is what orders appends (see the module's doc).
            let head: i64 = sqlx::query_scalar(
                "INSERT INTO log_heads (tenant_id, last_seq) VALUES ($1, $2)
                 ON CONFLICT (tenant_id) DO UPDATE SET last_seq = log_heads.last_seq + $2
                 RETURNING last_seq",
            )
            .bind(tenant_id)
            .bind(count)
            .fetch_one(&mut *tx)
            .await
            .map_err(foreign_key_as_not_found("tenant"))?;
            let first = head - count + 1;
            let mut seq = first;
            let rows = if pg {
                ROWS_PER_INSERT
            } else {
                ROWS_PER_INSERT_SQLITE
            };
            for chunk in events.chunks(rows) {
                let sql = format!(
                    "INSERT INTO log_events ({LOG_COLUMNS}) VALUES {}",
                    values_sql(chunk.len(), pg)
                );
                let mut query = sqlx::query(&sql);
                for event in chunk {
                    query = query
                        .bind(tenant_id)
                        .bind(seq)
                        .bind(truncate(event.date.unwrap_or(at)))
                        .bind(&event.event_type)
                        .bind(event.level)
                        .bind(event.description.as_deref())
                        .bind(event.client_id.as_deref())
                        .bind(event.client_name.as_deref())
                        .bind(event.connection.as_deref())
                        .bind(event.ip.as_deref())
                        .bind(event.user_agent.as_deref())
                        .bind(event.user_id.as_deref())
                        .bind(event.user_name.as_deref())
                        .bind(event.strategy.as_deref())
                        .bind(event.strategy_type.as_deref())
                        .bind(Json(&event.details))
                        .bind(at);
                    seq += 1;
                }
                query.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok((first..=head).collect())
        })
    }

    pub(crate) async fn log_head_impl(&self, tenant_id: &str) -> Result<i64> {
        let head: Option<i64> = with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_scalar("SELECT last_seq FROM log_heads WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(head.unwrap_or(0))
    }

    pub(crate) async fn logs_after_impl(
        &self,
        tenant_id: &str,
        after: i64,
        take: u32,
    ) -> Result<Vec<LogEvent>> {
        let sql = format!(
            "SELECT {LOG_COLUMNS} FROM log_events WHERE tenant_id = $1 AND seq > $2
             ORDER BY seq LIMIT $3"
        );
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as(&sql)
                .bind(tenant_id)
                .bind(after)
                .bind(i64::from(take))
                .fetch_all(pool)
                .await?
        }))
    }

    pub(crate) async fn search_logs_impl(
        &self,
        tenant_id: &str,
        query: &LogQuery,
        page: Page,
    ) -> Result<Paged<LogEvent>> {
        let mut next = 2;
        let (condition, values) = query_sql(query, &mut next);
        let list = format!(
            "SELECT {LOG_COLUMNS} FROM log_events WHERE tenant_id = $1{condition}
             ORDER BY seq DESC LIMIT ${} OFFSET ${}",
            next,
            next + 1
        );
        let count = format!("SELECT COUNT(*) FROM log_events WHERE tenant_id = $1{condition}");
        let (items, total) = with_pool!(self.db, read, |pool, _pg| {
            let mut list = sqlx::query_as::<_, LogEvent>(&list).bind(tenant_id);
            let mut count = sqlx::query_scalar::<_, i64>(&count).bind(tenant_id);
            for value in &values {
                list = list.bind(*value);
                count = count.bind(*value);
            }
            let items = list
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            (items, count.fetch_one(pool).await?)
        });
        Ok(Paged::new(items, total, page))
    }

    pub(crate) async fn get_log_impl(&self, tenant_id: &str, seq: i64) -> Result<LogEvent> {
        let sql = format!("SELECT {LOG_COLUMNS} FROM log_events WHERE tenant_id = $1 AND seq = $2");
        let event: Option<LogEvent> = with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as(&sql)
                .bind(tenant_id)
                .bind(seq)
                .fetch_optional(pool)
                .await?
        });
        event.ok_or(crate::Error::not_found("log event"))
    }

    /// A batch per statement, as the executions' purge (so a month of events never holds the
    /// writer in one statement).
    pub(crate) async fn purge_logs_impl(&self, cutoff: Timestamp) -> Result<u64> {
        self.purge_in_batches(PURGE_SQL, cutoff).await
    }
}
