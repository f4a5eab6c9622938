//! Submitting: the package read safely, its manifest and publisher checked (a token submits only
//! under its tenant's publishers, a slug stays with its first publisher), the version against
//! every earlier one, then stored in `checking`: the checks run in the background
//! (`checker.rs`), ending `checks_failed` or `in_review` with the report.

use actionflow_store::NewSubmission;

use crate::checks::History;
use crate::error::{Error, Result};
use crate::manifest::{valid_slug, Manifest, Version};
use crate::package::{digest, Package};
use crate::review::State;
use crate::service::{Actor, Marketplace, SubmissionView};

impl Marketplace {
    /// Reads and stores a submission, in `checking`, and wakes the checks. A package that cannot
    /// be stored (unreadable, without a usable manifest, a version not higher than every earlier
    /// one) is refused with its first error; one that can is kept, and its checks end
    /// `checks_failed` or `in_review` with their report.
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
        self.wake_checks();
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
}
