//! Deciding on submissions: what a reviewer reads (code, diff, breaking changes), the review
//! (approval publishes; warnings need an acknowledgement), the publisher's withdrawal and the
//! listing flags (deprecate, yank).

use crate::compat::breaking_changes;
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::package::CODE_FILE;
use crate::review::{Decision, State};
use crate::service::{report_of, Actor, Marketplace, ReviewMaterial, SubmissionView, Viewer};
use actionflow_store::Submission;

impl Marketplace {
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
