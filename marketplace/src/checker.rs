//! The automated checks, outside the submit request: a submission is stored in `checking` and
//! answered at once; [`Marketplace::run_checks`] (a background task of each server node) claims
//! submissions in `checking` from the store under a lease (one queue, the store's, oldest first;
//! at most `in_flight_max` at once per node), runs their checks and moves each to `checks_failed`
//! or `in_review` with the report. A lease is extended while its checks run and released when the
//! node stops, so checks cut by a stop are claimed again at the next start (by any node), and those
//! cut by a crash once the lease ended; of several nodes on one database exactly one claims each.

use std::collections::HashMap;
use std::time::Duration;

use actionflow_store::Submission;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::checks::{check_package, History};
use crate::error::Result;
use crate::manifest::Version;
use crate::report::{Finding, Report};
use crate::review::State;
use crate::service::Marketplace;

/// How a node runs the checks.
#[derive(Debug, Clone)]
pub struct CheckSettings {
    /// Submissions checked at once by one node.
    pub in_flight_max: usize,
    /// How long a claim holds without being extended (extended every third of it).
    pub lease: Duration,
    /// How often the store is looked at for work without being woken (another node's
    /// submissions, leases that ended).
    pub sweep: Duration,
}

impl Default for CheckSettings {
    fn default() -> Self {
        CheckSettings {
            in_flight_max: 2,
            lease: Duration::from_secs(30),
            sweep: Duration::from_secs(5),
        }
    }
}

impl Marketplace {
    /// Runs the checks of submissions in `checking` until `stop` turns true; then the checks in
    /// flight are dropped and their leases released, for the next start to claim them.
    pub async fn run_checks(&self, mut stop: watch::Receiver<bool>) {
        let settings = self.inner.limits.checks.clone();
        let mut running = JoinSet::new();
        let mut ids = HashMap::new();
        loop {
            if *stop.borrow() {
                break;
            }
            let room = settings.in_flight_max.saturating_sub(running.len());
            if room > 0 {
                let limit = u32::try_from(room).unwrap_or(u32::MAX);
                let node = &self.inner.node;
                match self.store().claim_checks(node, settings.lease, limit).await {
                    Ok(claimed) => {
                        for id in claimed {
                            let marketplace = self.clone();
                            let task = id.clone();
                            let handle = running
                                .spawn(async move { marketplace.check_claimed(&task).await });
                            ids.insert(handle.id(), id);
                        }
                    }
                    Err(error) => tracing::warn!(%error, "marketplace checks: cannot claim work"),
                }
            }
            tokio::select! {
                () = self.inner.wake.notified() => {}
                Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                    let task = match &done { Ok((task, ())) => *task, Err(e) => e.id() };
                    ids.remove(&task);
                }
                () = tokio::time::sleep(settings.sweep) => {}
                changed = stop.changed() => if changed.is_err() { break },
            }
        }
        running.abort_all();
        for id in ids.into_values() {
            let released = self
                .store()
                .extend_checks(&id, &self.inner.node, Duration::ZERO)
                .await;
            if let Err(error) = released {
                tracing::warn!(%error, submission = %id, "marketplace checks: cannot release");
            }
        }
    }

    /// Wakes this node's checks (a submission was just stored).
    pub(crate) fn wake_checks(&self) {
        self.inner.wake.notify_one();
    }

    /// Checks one claimed submission while keeping its lease; stops if the lease is lost (another
    /// node holds it now).
    async fn check_claimed(&self, id: &str) {
        let lease = self.inner.limits.checks.lease;
        let keep = async {
            let mut tick = tokio::time::interval((lease / 3).max(Duration::from_millis(10)));
            tick.tick().await;
            loop {
                tick.tick().await;
                match self
                    .store()
                    .extend_checks(id, &self.inner.node, lease)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(error) => tracing::warn!(%error, submission = %id, "extending a lease"),
                }
            }
        };
        tokio::select! {
            checked = self.check_submission(id) => if let Err(error) = checked {
                tracing::warn!(%error, submission = %id, "marketplace checks failed; retried later");
            },
            () = keep => tracing::warn!(submission = %id, "marketplace checks: lease lost"),
        }
    }

    /// Runs every check of a submission in `checking` and records the result.
    async fn check_submission(&self, id: &str) -> Result<()> {
        let submission = self.store().get_submission(id).await?;
        if submission.state != State::Checking.as_str() {
            return Ok(());
        }
        let limits = &self.inner.limits;
        let report = match self.stored_package(&submission).await {
            Ok(package) => {
                let history = self.history_before(&submission).await?;
                check_package(
                    self.inner.checks.as_ref(),
                    &package,
                    &limits.package,
                    &history,
                    &limits.execution,
                    Some(self.inner.actions.preparer().packages()),
                )
                .await
            }
            Err(error) => {
                let mut report = Report::default();
                report.push(Finding::error("package_invalid", error.to_string()));
                report
            }
        };
        let next = if report.has_errors() {
            State::ChecksFailed
        } else {
            State::InReview
        };
        let value = serde_json::to_value(&report).unwrap_or_default();
        let reason = report
            .errors()
            .next()
            .map(|f| format!("{}: {}", f.code, f.message));
        match self
            .change(id, next, "checks", reason.as_deref(), Some(value))
            .await
        {
            // Withdrawn meanwhile, or recorded by a node that took the work over.
            Err(crate::Error::Conflict { .. }) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// What the submission is compared with: the versions of its slug submitted before it, and the
    /// latest published version.
    async fn history_before(&self, submission: &Submission) -> Result<History> {
        let mut history = self.history(&submission.slug).await?;
        let to_u = |v: i64| u64::try_from(v).unwrap_or(0);
        history.versions = self
            .store()
            .list_submissions(None, None)
            .await?
            .into_iter()
            .filter(|s| {
                s.slug == submission.slug
                    && s.id != submission.id
                    && s.created_at <= submission.created_at
            })
            .map(|s| Version {
                major: to_u(s.version_major),
                minor: to_u(s.version_minor),
                patch: to_u(s.version_patch),
            })
            .collect();
        Ok(history)
    }
}
