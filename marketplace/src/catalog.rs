//! The catalog every tenant reads: published integrations with a version to install (filtered by
//! trigger, text and category) and one integration's detail (versions with their flags, the
//! installation guide, the secrets and configuration it needs; still readable when every version
//! is deprecated or yanked). Unpublished submissions never appear.

use actionflow_store::Submission;

use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::package::GUIDE_FILE;
use crate::review::State;
use crate::service::Marketplace;

/// One integration in the catalog: its newest installable version's manifest (the newest
/// version's in a detail where none is installable).
#[derive(Debug, Clone)]
pub struct Listing {
    pub manifest: Manifest,
    pub version: String,
    pub sha256: String,
}

/// One published version.
#[derive(Debug, Clone)]
pub struct ListedVersion {
    pub version: String,
    pub sha256: String,
    pub published_at: actionflow_store::Timestamp,
    pub deprecated: bool,
    pub yanked: bool,
}

#[derive(Debug, Clone)]
pub struct ListingDetail {
    pub listing: Listing,
    pub versions: Vec<ListedVersion>,
    pub installation_guide: String,
}

/// Filters of the catalog.
#[derive(Debug, Clone, Default)]
pub struct CatalogQuery {
    pub trigger: Option<String>,
    pub q: Option<String>,
    pub category: Option<String>,
}

impl Marketplace {
    /// Published versions by slug, newest first.
    async fn published(&self) -> Result<Vec<(String, Vec<Submission>)>> {
        let mut all = self
            .store()
            .list_submissions(None, Some(State::Published.as_str()))
            .await?;
        all.sort_by(|a, b| {
            (
                a.slug.as_str(),
                std::cmp::Reverse((a.version_major, a.version_minor, a.version_patch)),
            )
                .cmp(&(
                    b.slug.as_str(),
                    std::cmp::Reverse((b.version_major, b.version_minor, b.version_patch)),
                ))
        });
        let mut out: Vec<(String, Vec<Submission>)> = Vec::new();
        for s in all {
            match out.last_mut() {
                Some((slug, versions)) if *slug == s.slug => versions.push(s),
                _ => out.push((s.slug.clone(), vec![s])),
            }
        }
        Ok(out)
    }

    pub async fn catalog(&self, query: &CatalogQuery) -> Result<Vec<Listing>> {
        let mut out = Vec::new();
        for (_, versions) in self.published().await? {
            let Some(listing) = listing_of(&versions) else {
                continue;
            };
            let m = &listing.manifest;
            if query
                .trigger
                .as_ref()
                .is_some_and(|t| !m.supported_triggers.contains(t))
            {
                continue;
            }
            // Categories match as `q` does, whatever their case (`Email`, `email`).
            if query.category.as_ref().is_some_and(|c| {
                let c = c.to_lowercase();
                !m.categories.iter().any(|x| x.to_lowercase() == c)
            }) {
                continue;
            }
            if let Some(q) = query.q.as_ref().map(|q| q.to_lowercase()) {
                let text = format!(
                    "{} {} {} {}",
                    m.name, m.slug, m.short_description, m.description
                )
                .to_lowercase();
                if !text.contains(&q) {
                    continue;
                }
            }
            out.push(listing);
        }
        Ok(out)
    }

    pub async fn listing(&self, slug: &str) -> Result<ListingDetail> {
        let versions = self
            .published()
            .await?
            .into_iter()
            .find(|(s, _)| s == slug)
            .map(|(_, v)| v)
            .ok_or_else(|| Error::not_found("slug", "integration"))?;
        // When every version is deprecated or yanked, the newest: the tenants running one still
        // read its page, each version marked.
        let shown = versions
            .iter()
            .find(|s| installable(s))
            .or_else(|| versions.first())
            .ok_or_else(|| Error::not_found("slug", "integration"))?;
        let listing = listing_from(shown).ok_or_else(|| Error::not_found("slug", "integration"))?;
        let guide = self
            .stored_package(shown)
            .await?
            .text(GUIDE_FILE)
            .unwrap_or_default()
            .to_owned();
        Ok(ListingDetail {
            versions: versions
                .iter()
                .map(|s| ListedVersion {
                    version: s.version.clone(),
                    sha256: s.sha256.clone(),
                    published_at: s.updated_at,
                    deprecated: s.deprecated_at.is_some(),
                    yanked: s.yanked_at.is_some(),
                })
                .collect(),
            listing,
            installation_guide: guide,
        })
    }
}

/// Neither deprecated nor yanked: new installs may take it.
fn installable(s: &Submission) -> bool {
    s.deprecated_at.is_none() && s.yanked_at.is_none()
}

/// The newest installable version; `None` when there is none.
fn listing_of(versions: &[Submission]) -> Option<Listing> {
    versions
        .iter()
        .find(|s| installable(s))
        .and_then(listing_from)
}

fn listing_from(s: &Submission) -> Option<Listing> {
    Some(Listing {
        manifest: serde_json::from_value(s.manifest.clone()).ok()?,
        version: s.version.clone(),
        sha256: s.sha256.clone(),
    })
}
