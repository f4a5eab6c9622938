//! The marketplace's request and response bodies (contracts, apart from the domain's types).

use std::collections::BTreeMap;

use actionflow_marketplace::{
    report_of, InstalledView, ListedVersion, Listing, ListingDetail, Manifest, ReviewMaterial,
    SubmissionView,
};
use actionflow_store::{Publisher, Submission, Transition};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePublisher {
    /// 3–64 lowercase letters, digits and dashes; the `publisher` of its packages.
    pub name: String,
    /// The tenant whose tokens (scope `integrations:submit`) submit for this publisher.
    pub tenant_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct PublisherBody {
    pub id: String,
    pub name: String,
    pub tenant_id: String,
    pub created_at: DateTime<Utc>,
}

impl From<Publisher> for PublisherBody {
    fn from(p: Publisher) -> Self {
        PublisherBody {
            id: p.id,
            name: p.name,
            tenant_id: p.tenant_id,
            created_at: p.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PublisherList {
    pub publishers: Vec<PublisherBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submit {
    /// The package (`actionflow integration pack`'s `.tgz`), base64.
    pub package: String,
}

/// One finding of the checks.
#[derive(Serialize, ToSchema)]
pub struct FindingBody {
    pub code: String,
    /// `error` (blocks) or `warning` (the reviewer acknowledges it).
    pub severity: String,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct TransitionBody {
    pub from: Option<String>,
    pub to: String,
    pub actor: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<Transition> for TransitionBody {
    fn from(t: Transition) -> Self {
        TransitionBody {
            from: t.from_state,
            to: t.to_state,
            actor: t.actor,
            reason: t.reason,
            at: t.at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SubmissionBody {
    pub id: String,
    pub publisher: String,
    pub slug: String,
    pub version: String,
    /// `submitted`, `checking`, `checks_failed`, `in_review`, `changes_requested`, `rejected`,
    /// `approved`, `published` or `withdrawn`.
    pub state: String,
    pub sha256: String,
    pub report: Vec<FindingBody>,
    pub deprecated: bool,
    pub yanked: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every change of state with who, when and why (only in a single submission's answer).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<TransitionBody>,
}

impl From<Submission> for SubmissionBody {
    fn from(s: Submission) -> Self {
        let report = report_of(&s)
            .findings
            .into_iter()
            .map(|f| FindingBody {
                code: f.code,
                severity: match f.severity {
                    actionflow_marketplace::Severity::Error => "error".to_owned(),
                    actionflow_marketplace::Severity::Warning => "warning".to_owned(),
                },
                message: f.message,
                file: f.file,
                line: f.line,
            })
            .collect();
        SubmissionBody {
            id: s.id,
            publisher: s.publisher,
            slug: s.slug,
            version: s.version,
            state: s.state,
            sha256: s.sha256,
            report,
            deprecated: s.deprecated_at.is_some(),
            yanked: s.yanked_at.is_some(),
            created_at: s.created_at,
            updated_at: s.updated_at,
            transitions: Vec::new(),
        }
    }
}

impl From<SubmissionView> for SubmissionBody {
    fn from(view: SubmissionView) -> Self {
        let mut body = SubmissionBody::from(view.submission);
        body.transitions = view.transitions.into_iter().map(Into::into).collect();
        body
    }
}

#[derive(Serialize, ToSchema)]
pub struct SubmissionList {
    pub submissions: Vec<SubmissionBody>,
}

#[derive(Serialize, ToSchema)]
pub struct ReviewBody {
    pub code: String,
    pub previous_version: Option<String>,
    pub breaking_changes: Vec<String>,
    pub code_diff: Option<String>,
}

impl From<ReviewMaterial> for ReviewBody {
    fn from(m: ReviewMaterial) -> Self {
        ReviewBody {
            code: m.code,
            previous_version: m.previous_version,
            breaking_changes: m.breaking_changes,
            code_diff: m.code_diff,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// `approve` (publishes), `request_changes` or `reject`.
    pub decision: String,
    /// Required unless approving.
    pub comment: Option<String>,
    /// Approving a submission whose checks left warnings needs `true`.
    #[serde(default)]
    pub acknowledge_warnings: bool,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Withdraw {
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Flag {
    /// No new installs; installed copies keep running and show a warning.
    #[serde(default)]
    pub deprecated: bool,
    /// No new installs; every installed copy is flagged.
    #[serde(default)]
    pub yanked: bool,
}

/// A listed integration: its newest installable version (in a detail where every version is
/// deprecated or yanked, the newest).
#[derive(Serialize, ToSchema)]
pub struct ListingBody {
    pub slug: String,
    pub name: String,
    pub version: String,
    pub publisher: String,
    pub short_description: String,
    pub description: String,
    pub categories: Vec<String>,
    pub supported_triggers: Vec<String>,
    /// What a tenant supplies: `[{name, label, description, required}]`.
    #[schema(value_type = Vec<Object>)]
    pub secrets: serde_json::Value,
    /// `[{name, label, description, required, type, default_value, placeholder, options}]`.
    #[schema(value_type = Vec<Object>)]
    pub configuration: serde_json::Value,
    pub network_hosts: Vec<String>,
    pub sha256: String,
}

impl From<Listing> for ListingBody {
    fn from(l: Listing) -> Self {
        let Manifest {
            name,
            slug,
            publisher,
            short_description,
            description,
            categories,
            supported_triggers,
            secrets,
            configuration,
            network,
            ..
        } = l.manifest;
        ListingBody {
            slug,
            name,
            version: l.version,
            publisher,
            short_description,
            description,
            categories,
            supported_triggers,
            secrets: serde_json::to_value(secrets).unwrap_or_default(),
            configuration: serde_json::to_value(configuration).unwrap_or_default(),
            network_hosts: network.hosts,
            sha256: l.sha256,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListingList {
    pub integrations: Vec<ListingBody>,
}

#[derive(Serialize, ToSchema)]
pub struct ListedVersionBody {
    pub version: String,
    pub sha256: String,
    pub published_at: DateTime<Utc>,
    pub deprecated: bool,
    pub yanked: bool,
}

impl From<ListedVersion> for ListedVersionBody {
    fn from(v: ListedVersion) -> Self {
        ListedVersionBody {
            version: v.version,
            sha256: v.sha256,
            published_at: v.published_at,
            deprecated: v.deprecated,
            yanked: v.yanked,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListingDetailBody {
    #[serde(flatten)]
    pub listing: ListingBody,
    pub versions: Vec<ListedVersionBody>,
    pub installation_guide: String,
}

impl From<ListingDetail> for ListingDetailBody {
    fn from(d: ListingDetail) -> Self {
        ListingDetailBody {
            listing: d.listing.into(),
            versions: d.versions.into_iter().map(Into::into).collect(),
            installation_guide: d.installation_guide,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindBody {
    pub trigger: String,
    /// Zero-based; last when absent.
    pub position: Option<usize>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Install {
    /// The integration's slug.
    pub integration: String,
    /// The newest installable version when absent.
    pub version: Option<String>,
    /// The action's name; the slug when absent.
    pub name: Option<String>,
    /// Stored encrypted as the action's secrets; never returned.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// Plain text, given to the code as `event.configuration`.
    #[serde(default)]
    pub configuration: BTreeMap<String, String>,
    pub bind: Option<BindBody>,
}

impl std::fmt::Debug for Install {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Install")
            .field("integration", &self.integration)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Upgrade {
    /// Another published version; values are kept and new required ones must be given.
    pub version: Option<String>,
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    #[serde(default)]
    pub configuration: BTreeMap<String, String>,
}

#[derive(Serialize, ToSchema)]
pub struct InstalledBody {
    pub id: String,
    pub action_id: String,
    pub integration: String,
    /// The version installed (and upgraded to).
    pub version: String,
    /// The version the action's deployed version runs: `version`, or an older one after a
    /// rollback of the action.
    pub running_version: Option<String>,
    #[schema(value_type = Object)]
    pub configuration: serde_json::Value,
    pub secret_names: Vec<String>,
    /// The running version is deprecated: it keeps running; upgrade when you can.
    pub deprecated: bool,
    /// The publisher yanked the running version: upgrade or uninstall it.
    pub yanked: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<InstalledView> for InstalledBody {
    fn from(v: InstalledView) -> Self {
        let i = v.installation;
        InstalledBody {
            id: i.id,
            action_id: i.action_id,
            integration: i.slug,
            version: i.version,
            running_version: v.running_version,
            configuration: i.configuration,
            secret_names: v.secret_names,
            deprecated: v.deprecated,
            yanked: v.yanked,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct InstalledList {
    pub installed: Vec<InstalledBody>,
}
