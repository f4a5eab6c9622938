//! [`Marketplace`]: publishers, submissions (read, check, store), review and publication, the
//! listing flags, over the store; checks run in a runtime of the marketplace's own, under the
//! execution limits of any tenant's code.

use std::sync::Arc;

use actionflow_actions::Actions;
use actionflow_runtime::{Limits, Runtime};
use actionflow_store::{
    NewSubmission, Publisher, SharedStore, StateChange, Submission, Transition,
};

use crate::checks::{breaking_changes, check_package, History};
use crate::error::{Error, Result};
use crate::manifest::{valid_slug, Manifest, Version};
use crate::package::{digest, Package, PackageLimits, CODE_FILE};
use crate::report::Report;
use crate::review::{Decision, State};

/// Who acts: kept with every transition.
#[derive(Debug, Clone)]
pub struct Actor {
    pub tenant_id: String,
    pub token_id: String,
}

impl Actor {
    fn label(&self) -> String {
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
}

impl Default for MarketplaceLimits {
    fn default() -> Self {
        MarketplaceLimits {
            package: PackageLimits::default(),
            execution: Limits {
                wall_ms_max: 5_000,
                cpu_ms_max: 2_000,
                ..Limits::default()
            },
        }
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
    pub(crate) checks: Runtime,
    pub(crate) limits: MarketplaceLimits,
}

impl Marketplace {
    /// `checks` runs the packages' tests (a pool apart from tenants' flows).
    pub fn new(
        store: SharedStore,
        actions: Actions,
        checks: Runtime,
        limits: MarketplaceLimits,
    ) -> Marketplace {
        Marketplace {
            inner: Arc::new(Inner {
                store,
                actions,
                checks,
                limits,
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

    /// Reads, checks and stores a submission. A package that cannot be stored (unreadable,
    /// without a usable manifest, a version not higher than every earlier one) is refused with
    /// its first error; one that can is kept, `checks_failed` or `in_review`, with its report.
    pub async fn submit(&self, actor: &Actor, bytes: &[u8]) -> Result<SubmissionView> {
        let limits = &self.inner.limits;
        let package = Package::from_tgz(bytes, &limits.package)
            .map_err(|f| Error::invalid("package", format!("{}: {}", f.code, f.message)))?;
        let manifest = package
            .file(crate::manifest::MANIFEST_FILE)
            .ok_or_else(|| Error::invalid("package", "file_missing: integration.json is missing"))
            .and_then(|b| {
                Manifest::parse(b)
                    .map_err(|f| Error::invalid("package", format!("{}: {}", f.code, f.message)))
            })?;
        let version = manifest.semver().ok_or_else(|| {
            Error::invalid(
                "package",
                format!(
                    "manifest_invalid: version {:?} is not x.y.z",
                    manifest.version
                ),
            )
        })?;
        if !valid_slug(&manifest.slug) {
            return Err(Error::invalid(
                "package",
                "manifest_invalid: the slug is not valid",
            ));
        }
        self.check_publisher(actor, &manifest).await?;
        let history = self.history(&manifest.slug).await?;
        if let Some(owner) = self.slug_owner(&manifest.slug).await? {
            if owner != manifest.publisher {
                let message = format!("the slug {} belongs to another publisher", manifest.slug);
                return Err(Error::Forbidden { message });
            }
        }
        let refusing = ["version_reused", "version_not_higher"];
        let (early, _) = crate::checks::static_checks(&package, &limits.package, &history);
        if let Some(f) = early
            .findings
            .iter()
            .find(|f| refusing.contains(&f.code.as_str()))
        {
            return Err(Error::invalid(
                "package",
                format!("{}: {}", f.code, f.message),
            ));
        }
        let parts = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let new = NewSubmission {
            publisher: manifest.publisher.clone(),
            slug: manifest.slug.clone(),
            version: version.to_string(),
            version_parts: (
                parts(version.major),
                parts(version.minor),
                parts(version.patch),
            ),
            state: State::Submitted.as_str().to_owned(),
            manifest: serde_json::to_value(&manifest).unwrap_or_default(),
            package: bytes.to_vec(),
            sha256: digest(bytes),
            actor: actor.label(),
        };
        let stored = self
            .store()
            .insert_submission(new)
            .await
            .map_err(|e| match e {
                actionflow_store::Error::Conflict { what } => {
                    Error::invalid("package", format!("version_reused: {what}"))
                }
                other => Error::from(other),
            })?;
        let id = stored.id.clone();
        self.change(&id, State::Checking, "checks", None, None)
            .await?;
        let report = check_package(
            &self.inner.checks,
            &package,
            &limits.package,
            &history,
            &limits.execution,
            Some(self.inner.actions.preparer().packages()),
        )
        .await;
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
        self.change(&id, next, "checks", reason.as_deref(), Some(value))
            .await?;
        self.view(&id).await
    }

    async fn check_publisher(&self, actor: &Actor, manifest: &Manifest) -> Result<()> {
        let publisher = self.store().get_publisher(&manifest.publisher).await;
        match publisher {
            Ok(p) if p.tenant_id == actor.tenant_id => Ok(()),
            Ok(_) | Err(actionflow_store::Error::NotFound { .. }) => Err(Error::Forbidden {
                message: format!(
                    "this token cannot submit as publisher {:?}: submit under your own publisher name",
                    manifest.publisher
                ),
            }),
            Err(e) => Err(e.into()),
        }
    }

    async fn slug_owner(&self, slug: &str) -> Result<Option<String>> {
        let all = self.store().list_submissions(None, None).await?;
        Ok(all
            .into_iter()
            .find(|s| s.slug == slug)
            .map(|s| s.publisher))
    }

    pub(crate) async fn history(&self, slug: &str) -> Result<History> {
        let to_u = |v: i64| u64::try_from(v).unwrap_or(0);
        let versions = self
            .store()
            .slug_versions(slug)
            .await?
            .into_iter()
            .map(|(a, b, c)| Version {
                major: to_u(a),
                minor: to_u(b),
                patch: to_u(c),
            })
            .collect();
        let latest_published = self
            .store()
            .latest_published(slug)
            .await?
            .and_then(|s| serde_json::from_value(s.manifest).ok());
        Ok(History {
            versions,
            latest_published,
        })
    }

    async fn change(
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

    async fn view(&self, id: &str) -> Result<SubmissionView> {
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

    /// The code and what changed since the latest published version, for a reviewer.
    pub async fn review_material(&self, id: &str) -> Result<ReviewMaterial> {
        let submission = self.store().get_submission(id).await?;
        let package = self.stored_package(&submission).await?;
        let code = package.text(CODE_FILE).unwrap_or_default().to_owned();
        let manifest: Option<Manifest> = serde_json::from_value(submission.manifest.clone()).ok();
        let previous = self.store().latest_published(&submission.slug).await?;
        let previous = previous.filter(|p| p.id != submission.id);
        let Some(previous) = previous else {
            return Ok(ReviewMaterial {
                code,
                previous_version: None,
                breaking_changes: Vec::new(),
                code_diff: None,
            });
        };
        let old_package = self.stored_package(&previous).await?;
        let old_code = old_package.text(CODE_FILE).unwrap_or_default();
        let old_manifest: Option<Manifest> = serde_json::from_value(previous.manifest.clone()).ok();
        let breaking = match (old_manifest, manifest) {
            (Some(old), Some(new)) => breaking_changes(&old, &new),
            _ => Vec::new(),
        };
        let diff = similar::TextDiff::from_lines(old_code, code.as_str())
            .unified_diff()
            .header(
                &format!("{}/{CODE_FILE}", previous.version),
                &format!("{}/{CODE_FILE}", submission.version),
            )
            .to_string();
        Ok(ReviewMaterial {
            code,
            previous_version: Some(previous.version),
            breaking_changes: breaking,
            code_diff: Some(diff),
        })
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

    /// A reviewer's decision; approval publishes at once (an immutable listing version), and
    /// needs `acknowledged` when the checks left warnings (named in the refusal and kept in the
    /// transition's reason).
    pub async fn review(
        &self,
        actor: &Actor,
        id: &str,
        decision: Decision,
        comment: Option<&str>,
        acknowledged: bool,
    ) -> Result<SubmissionView> {
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        if decision.needs_comment() && comment.is_none() {
            return Err(Error::invalid(
                "comment",
                "say what the partner must change, or why it is rejected",
            ));
        }
        let submission = self.store().get_submission(id).await?;
        let mut warnings: Vec<String> = report_of(&submission)
            .findings
            .into_iter()
            .filter(|f| f.severity == crate::report::Severity::Warning)
            .map(|f| f.code)
            .collect();
        warnings.dedup();
        let mut reason = comment.map(str::to_owned);
        if decision == Decision::Approve && !warnings.is_empty() {
            let codes = warnings.join(", ");
            if !acknowledged {
                let message = format!(
                    "the checks left warnings ({codes}): read them and approve with \
                     acknowledge_warnings"
                );
                return Err(Error::invalid("acknowledge_warnings", message));
            }
            let said = reason.map(|c| format!("{c}; ")).unwrap_or_default();
            reason = Some(format!("{said}warnings acknowledged: {codes}"));
        }
        let label = actor.label();
        self.change(id, decision.state(), &label, reason.as_deref(), None)
            .await
            .map_err(|e| match e {
                Error::Conflict { message, .. } => Error::conflict("decision", message),
                other => other,
            })?;
        if decision == Decision::Approve {
            self.change(
                id,
                State::Published,
                &label,
                Some("published on approval"),
                None,
            )
            .await?;
        }
        self.view(id).await
    }

    /// The publisher withdraws a submission before publication.
    pub async fn withdraw(
        &self,
        actor: &Actor,
        id: &str,
        reason: Option<&str>,
    ) -> Result<SubmissionView> {
        let viewer = Viewer::Publisher {
            tenant_id: actor.tenant_id.clone(),
        };
        self.submission(&viewer, id).await?;
        self.change(id, State::Withdrawn, &actor.label(), reason, None)
            .await?;
        self.view(id).await
    }

    /// The publisher deprecates (no new installs, a warning on installed copies) or yanks (no new
    /// installs, every installed copy flagged) a published version.
    pub async fn flag(
        &self,
        actor: &Actor,
        id: &str,
        deprecate: bool,
        yank: bool,
    ) -> Result<Submission> {
        let viewer = Viewer::Publisher {
            tenant_id: actor.tenant_id.clone(),
        };
        let view = self.submission(&viewer, id).await?;
        if view.submission.state != State::Published.as_str() {
            return Err(Error::conflict(
                "id",
                "only a published version can be deprecated or yanked",
            ));
        }
        Ok(self.store().flag_listing(id, deprecate, yank).await?)
    }
}

/// The report stored with a submission.
pub fn report_of(submission: &Submission) -> Report {
    serde_json::from_value(submission.report.clone()).unwrap_or_default()
}
