//! Cron schedules of extensions: 5-field expressions in an IANA time zone (`croner`, `chrono-tz`),
//! the jobs' management, and the [`Scheduler`] every server runs. A tick is claimed in the store by
//! a conditional update of the job's next tick, so with several servers on one database exactly
//! one runs it; the next tick is the first after now, so a tick missed while every server was down
//! runs once, not once per missed tick; a tick that comes while the previous run is still going is
//! recorded as skipped.

use crate::error::{Error, Result};
use crate::run::HttpRequest;
use crate::Webtasks;
use actionflow_store::{Claimed, CronJob, CronRun, CronRunEnd, NewCronJob, TickClaim};
use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::watch;

/// Body bytes of a run's answer kept in its history.
const BODY_EXCERPT_BYTES: usize = 1024;

/// `PUT /api/cron/{container}/{name}`'s content.
#[derive(Debug, Clone, Default)]
pub struct CronInput {
    pub schedule: String,
    /// `active` (default) or `inactive`.
    pub state: Option<String>,
    /// An IANA zone (`Europe/Paris`); UTC by default.
    pub tz: Option<String>,
    pub meta: Option<BTreeMap<String, String>>,
}

/// The first tick of `schedule` (5 fields) in `tz` strictly after `after`.
pub fn next_tick(schedule: &str, tz: &str, after: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let cron = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .build()
        .parse(schedule)
        .map_err(|e| Error::invalid("schedule", format!("not a 5-field cron expression: {e}")))?;
    let zone: chrono_tz::Tz = tz
        .parse()
        .map_err(|_| Error::invalid("tz", format!("unknown time zone {tz:?}")))?;
    let next = cron
        .find_next_occurrence(&after.with_timezone(&zone), false)
        .map_err(|e| Error::invalid("schedule", format!("the schedule never runs: {e}")))?;
    Ok(next.with_timezone(&Utc))
}

fn state(state: Option<&str>) -> Result<String> {
    match state.unwrap_or("active") {
        s @ ("active" | "inactive") => Ok(s.to_owned()),
        other => Err(Error::invalid(
            "state",
            format!("state is active or inactive, got {other:?}"),
        )),
    }
}

impl Webtasks {
    pub async fn put_cron(
        &self,
        tenant_id: &str,
        container: &str,
        name: &str,
        input: CronInput,
    ) -> Result<CronJob> {
        let tz = input.tz.unwrap_or_else(|| "UTC".to_owned());
        let next_at = next_tick(input.schedule.trim(), &tz, Utc::now())?;
        let state = state(input.state.as_deref())?;
        let meta = serde_json::to_string(&input.meta.unwrap_or_default())
            .map_err(|e| Error::Internal(e.to_string()))?;
        let new = NewCronJob {
            container: container.to_owned(),
            name: name.to_owned(),
            schedule: input.schedule.trim().to_owned(),
            tz,
            state,
            meta,
            next_at,
        };
        Ok(self.store().put_cron(tenant_id, new).await?)
    }

    pub async fn get_cron(&self, tenant_id: &str, container: &str, name: &str) -> Result<CronJob> {
        Ok(self.store().get_cron(tenant_id, container, name).await?)
    }

    pub async fn list_cron(&self, tenant_id: &str, container: &str) -> Result<Vec<CronJob>> {
        Ok(self.store().list_cron(tenant_id, container).await?)
    }

    pub async fn delete_cron(&self, tenant_id: &str, container: &str, name: &str) -> Result<()> {
        Ok(self.store().delete_cron(tenant_id, container, name).await?)
    }

    /// Activates (from now on: the next tick is the first after now) or deactivates the job.
    pub async fn set_cron_state(
        &self,
        tenant_id: &str,
        container: &str,
        name: &str,
        new_state: &str,
    ) -> Result<CronJob> {
        let job = self.get_cron(tenant_id, container, name).await?;
        let input = CronInput {
            schedule: job.schedule,
            state: Some(state(Some(new_state))?),
            tz: Some(job.tz),
            meta: serde_json::from_str(&job.meta).ok(),
        };
        self.put_cron(tenant_id, container, name, input).await
    }

    pub async fn cron_history(
        &self,
        tenant_id: &str,
        container: &str,
        name: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<CronRun>> {
        Ok(self
            .store()
            .cron_history(tenant_id, container, name, offset, limit)
            .await?)
    }
}

/// How a server's scheduler works.
#[derive(Debug, Clone)]
pub struct CronSettings {
    /// How often the store is asked for due jobs.
    pub poll: Duration,
    /// A run started longer ago than this is taken for dead (its node stopped): it no longer makes
    /// ticks skip.
    pub stale_after: Duration,
    /// This node's name in the history.
    pub node: String,
    /// Jobs claimed per poll.
    pub batch_max: u32,
}

impl Default for CronSettings {
    fn default() -> Self {
        CronSettings {
            poll: Duration::from_secs(1),
            stale_after: Duration::from_secs(90),
            node: "node".to_owned(),
            batch_max: 50,
        }
    }
}

/// Runs due cron jobs until stopped.
pub struct Scheduler {
    webtasks: Webtasks,
    settings: CronSettings,
}

impl Scheduler {
    pub fn new(webtasks: Webtasks, settings: CronSettings) -> Scheduler {
        Scheduler { webtasks, settings }
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            if let Err(error) = self.poll().await {
                tracing::warn!(%error, "cron: a poll failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.poll) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// Claims and starts every due tick (runs go on in their own tasks).
    async fn poll(&self) -> Result<()> {
        let now = Utc::now();
        let due = self
            .webtasks
            .store()
            .due_cron_jobs(now, self.settings.batch_max)
            .await?;
        for job in due {
            // One job failing to be claimed (a store error) does not hold the others back.
            if let Err(error) = self.claim(job, now).await {
                tracing::warn!(%error, "cron: claiming a tick failed");
            }
        }
        Ok(())
    }

    /// Claims the job's due tick; when this node got it, runs it in a task of its own.
    async fn claim(&self, job: CronJob, now: DateTime<Utc>) -> Result<()> {
        let next_at = next_tick(&job.schedule, &job.tz, now.max(job.next_at))?;
        let stale = chrono::Duration::from_std(self.settings.stale_after)
            .unwrap_or(chrono::Duration::seconds(90));
        let claim = TickClaim {
            container: &job.container,
            name: &job.name,
            expected_next_at: job.next_at,
            next_at,
            stale_before: now - stale,
            node: &self.settings.node,
        };
        if let Claimed::Run(run_id) = self.webtasks.store().claim_cron_tick(claim).await? {
            tokio::spawn(run_tick(self.webtasks.clone(), job, run_id));
        }
        Ok(())
    }
}

async fn run_tick(webtasks: Webtasks, job: CronJob, run_id: String) {
    let request = HttpRequest {
        method: "POST".to_owned(),
        headers: vec![("x-wt-cron".to_owned(), "true".to_owned())],
        id: run_id.clone(),
        ..HttpRequest::default()
    };
    let (outcome, status, body) = match webtasks.run(&job.container, &job.name, request, true).await
    {
        Ok(answer) => {
            let ok = answer.status < 400;
            let mut body = String::from_utf8_lossy(&answer.body).into_owned();
            crate::cut_to(&mut body, BODY_EXCERPT_BYTES);
            (if ok { "success" } else { "error" }, answer.status, body)
        }
        Err(error) => ("error", 500, error.to_string()),
    };
    let end = CronRunEnd {
        outcome,
        status_code: i64::from(status),
        body: &body,
    };
    if let Err(error) = webtasks
        .store()
        .finish_cron_run(&job.container, &job.name, &run_id, end)
        .await
    {
        tracing::warn!(%error, container = %job.container, name = %job.name, "cron: recording a run");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_follow_the_zone_and_refuse_bad_input() {
        let at = DateTime::parse_from_rfc3339("2026-01-01T10:00:30Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        let next = next_tick("*/5 * * * *", "UTC", at).map(|d| d.to_rfc3339());
        assert_eq!(next.ok().as_deref(), Some("2026-01-01T10:05:00+00:00"));
        // 09:00 in Paris is 08:00 UTC in winter.
        let paris = next_tick("0 9 * * *", "Europe/Paris", at).map(|d| d.to_rfc3339());
        assert_eq!(paris.ok().as_deref(), Some("2026-01-02T08:00:00+00:00"));
        assert!(next_tick("* * * * * *", "UTC", at).is_err());
        assert!(next_tick("*/5 * * * *", "Mars/Olympus", at).is_err());
    }
}
