//! [`Marketplace`]: its state and limits, publishers, reading submissions (visible to their
//! publisher's tenant and to reviewers), the stored package bytes checked against their digest.
//! Submitting is `submit.rs`; deciding (review, withdraw, flags) is `decide.rs`.

use std::sync::Arc;

use actionflow_actions::{ActionLimits, Actions};
use actionflow_runtime::{Engine, Limits};
use actionflow_store::{Publisher, SharedStore, StateChange, Submission, Transition};

use crate::error::{Error, Result};
use crate::manifest::valid_slug;
use crate::package::{digest, Package, PackageLimits};
use crate::report::Report;
use crate::review::State;

/// Who acts: kept with every transition.
#[derive(Debug, Clone)]
pub struct Actor {
    pub tenant_id: String,
    pub token_id: String,
}

impl Actor {
    pub(crate) fn label(&self) -> String {
        format!("tenant {} token {}", self.tenant_id, self.token_id)
    }
}

/// Who reads a submission: its publisher's tenant, or a reviewer.
#[derive(Debug, Clone)]
pub enum Viewer {
    Publisher { tenant_id: String },
    Reviewer,
}

/// Bounds of the marketplace.
#[derive(Debug, Clone)]
pub struct MarketplaceLimits {
    pub package: PackageLimits,
    /// What the checks' executions may use.
    pub execution: Limits,
    /// How a node runs the checks, outside the submit request.
    pub checks: crate::checker::CheckSettings,
}

/// Longest one package test may run in the checks, whatever the actions' wall limit.
pub const TEST_WALL_MS_MAX: u64 = 10_000;

impl MarketplaceLimits {
    /// The limits of a server whose actions have `action_limits`: a package's code leaves room
    /// for the wrapper of an installed copy within the actions' code limit; the checks run under
    /// the actions' execution limits, each test within [`TEST_WALL_MS_MAX`] of wall time. The
    /// server and `actionflow integration test` both take theirs from here.
    pub fn for_actions(action_limits: &ActionLimits) -> MarketplaceLimits {
        let package = PackageLimits {
            code_bytes_max: action_limits
                .code_bytes_max
                .saturating_sub(crate::wrap::WRAPPER_BYTES_MAX),
            ..PackageLimits::default()
        };
        let mut execution = action_limits.execution.clone();
        execution.wall_ms_max = execution.wall_ms_max.min(TEST_WALL_MS_MAX);
        MarketplaceLimits {
            package,
            execution,
            checks: crate::checker::CheckSettings::default(),
        }
    }
}

/// Those of a server with the actions' default limits.
impl Default for MarketplaceLimits {
    fn default() -> Self {
        MarketplaceLimits::for_actions(&ActionLimits::default())
    }
}

/// A submission as its publisher or a reviewer sees it.
#[derive(Debug, Clone)]
pub struct SubmissionView {
    pub submission: Submission,
    pub transitions: Vec<Transition>,
}

/// What a reviewer reads: the code, and the changes since the latest published version.
#[derive(Debug, Clone)]
pub struct ReviewMaterial {
    pub code: String,
    pub previous_version: Option<String>,
    /// Breaking changes of the manifest since the previous version.
    pub breaking_changes: Vec<String>,
    /// A unified diff of the code since the previous version.
    pub code_diff: Option<String>,
}

/// The marketplace: cheap to clone.
#[derive(Clone)]
pub struct Marketplace {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: SharedStore,
    pub(crate) actions: Actions,
    pub(crate) checks: Arc<dyn Engine>,
    pub(crate) limits: MarketplaceLimits,
    /// This process's name on the checks' leases.
    pub(crate) node: String,
    /// Wakes this node's checks when a submission is stored.
    pub(crate) wake: tokio::sync::Notify,
}

impl Marketplace {
    /// `checks` runs the packages' tests (a pool apart from tenants' flows).
    pub fn new(
        store: SharedStore,
        actions: Actions,
        checks: Arc<dyn Engine>,
        limits: MarketplaceLimits,
    ) -> Marketplace {
        Marketplace {
            inner: Arc::new(Inner {
                store,
                actions,
                checks,
                limits,
                node: format!("checks-{}", actionflow_store::new_id()),
                wake: tokio::sync::Notify::new(),
            }),
        }
    }

    pub fn limits(&self) -> &MarketplaceLimits {
        &self.inner.limits
    }

    pub(crate) fn store(&self) -> &SharedStore {
        &self.inner.store
    }

    /// The admin creates a publisher owned by a tenant.
    pub async fn create_publisher(&self, name: &str, tenant_id: &str) -> Result<Publisher> {
        if !valid_slug(name) {
            let message =
                "use 3 to 64 lowercase letters, digits and dashes, starting with a letter";
            return Err(Error::invalid("name", message));
        }
        self.store()
            .get_tenant(tenant_id)
            .await
            .map_err(|e| match e {
                actionflow_store::Error::NotFound { .. } => {
                    Error::invalid("tenant_id", "no such tenant")
                }
                other => Error::from(other),
            })?;
        self.store()
            .create_publisher(name, tenant_id)
            .await
            .map_err(|e| match e {
                actionflow_store::Error::Conflict { what } => Error::conflict("name", what),
                other => Error::from(other),
            })
    }

    pub async fn list_publishers(&self) -> Result<Vec<Publisher>> {
        Ok(self.store().list_publishers().await?)
    }

    pub(crate) async fn change(
        &self,
        id: &str,
        to: State,
        actor: &str,
        reason: Option<&str>,
        report: Option<serde_json::Value>,
    ) -> Result<Submission> {
        let change = StateChange {
            submission_id: id,
            from: to.from_states(),
            to: to.as_str(),
            actor,
            reason,
            report,
        };
        Ok(self.store().change_state(change).await?)
    }

    pub(crate) async fn view(&self, id: &str) -> Result<SubmissionView> {
        let submission = self.store().get_submission(id).await?;
        let transitions = self.store().list_transitions(id).await?;
        Ok(SubmissionView {
            submission,
            transitions,
        })
    }

    /// A submission, to its publisher's tenant or a reviewer; anyone else gets `NotFound`.
    pub async fn submission(&self, viewer: &Viewer, id: &str) -> Result<SubmissionView> {
        let view = self.view(id).await?;
        self.visible(viewer, &view.submission).await?;
        Ok(view)
    }

    async fn visible(&self, viewer: &Viewer, submission: &Submission) -> Result<()> {
        if let Viewer::Publisher { tenant_id } = viewer {
            let publisher = self.store().get_publisher(&submission.publisher).await?;
            if &publisher.tenant_id != tenant_id {
                return Err(Error::not_found("id", "submission"));
            }
        }
        Ok(())
    }

    /// Submissions the viewer may read, newest first.
    pub async fn submissions(
        &self,
        viewer: &Viewer,
        state: Option<&str>,
    ) -> Result<Vec<Submission>> {
        if let Some(state) = state {
            if State::parse(state).is_none() {
                return Err(Error::invalid(
                    "state",
                    format!("{state:?} is not a submission state"),
                ));
            }
        }
        match viewer {
            Viewer::Reviewer => Ok(self.store().list_submissions(None, state).await?),
            Viewer::Publisher { tenant_id } => {
                let mut out = Vec::new();
                for p in self.store().list_publishers().await? {
                    if &p.tenant_id == tenant_id {
                        out.extend(self.store().list_submissions(Some(&p.name), state).await?);
                    }
                }
                out.sort_by_key(|s| std::cmp::Reverse(s.created_at));
                Ok(out)
            }
        }
    }

    /// The stored bytes, checked against their digest: what runs is exactly what was reviewed.
    pub(crate) async fn stored_package(&self, submission: &Submission) -> Result<Package> {
        let bytes = self.store().submission_package(&submission.id).await?;
        if digest(&bytes) != submission.sha256 {
            let message = "the stored package does not match its digest".to_owned();
            return Err(Error::Lifecycle(actionflow_actions::Error::Internal(
                message,
            )));
        }
        Package::from_tgz(&bytes, &self.inner.limits.package).map_err(|f| {
            Error::Lifecycle(actionflow_actions::Error::Internal(format!(
                "stored package: {}",
                f.message
            )))
        })
    }
}

/// The report stored with a submission.
pub fn report_of(submission: &Submission) -> Report {
    serde_json::from_value(submission.report.clone()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_follow_the_actions_limits() {
        let mut actions = ActionLimits {
            code_bytes_max: 50_000,
            execution: Limits {
                cpu_ms_max: 1_234,
                wall_ms_max: 60_000,
                ..Limits::default()
            },
            ..ActionLimits::default()
        };
        let limits = MarketplaceLimits::for_actions(&actions);
        assert_eq!(
            limits.package.code_bytes_max,
            50_000 - crate::wrap::WRAPPER_BYTES_MAX
        );
        assert_eq!(limits.execution.cpu_ms_max, 1_234);
        assert_eq!(limits.execution.wall_ms_max, TEST_WALL_MS_MAX);
        actions.execution.wall_ms_max = 3_000;
        let limits = MarketplaceLimits::for_actions(&actions);
        assert_eq!(limits.execution.wall_ms_max, 3_000);
        // The default is a default server's.
        let default = MarketplaceLimits::default();
        assert_eq!(default.package.code_bytes_max, 100 * 1024 - 8 * 1024);
        assert_eq!(
            default.execution.cpu_ms_max,
            ActionLimits::default().execution.cpu_ms_max
        );
    }
}
