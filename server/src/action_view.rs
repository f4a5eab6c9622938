//! How the API shows an action and what it accepts for one: the DTOs shared by the actions,
//! versions, diff, secrets and test-run resources, with their conversions to and from the
//! lifecycle's types.

use super::error::BuildErrorBody;
use actionflow_actions::{ActionView, SecretInput as DomainSecret, TriggerRef as DomainTrigger};
use actionflow_runtime::trigger;
use actionflow_store::Dependency;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A trigger an action supports, e.g. `{"id": "post-login", "version": "v3"}`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerRef {
    pub id: String,
    /// The catalog's version of the trigger; optional in requests.
    pub version: Option<String>,
}

impl TriggerRef {
    pub fn of(id: &str) -> TriggerRef {
        TriggerRef {
            id: id.to_owned(),
            version: trigger::find(id).map(|t| t.version.to_owned()),
        }
    }
}

impl From<TriggerRef> for DomainTrigger {
    fn from(t: TriggerRef) -> Self {
        DomainTrigger {
            id: t.id,
            version: t.version,
        }
    }
}

/// An npm dependency: `name` and a semver range in `version`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DependencyBody {
    pub name: String,
    pub version: String,
}

impl From<Dependency> for DependencyBody {
    fn from(d: Dependency) -> Self {
        DependencyBody {
            name: d.name,
            version: d.version,
        }
    }
}

impl From<DependencyBody> for Dependency {
    fn from(d: DependencyBody) -> Self {
        Dependency {
            name: d.name,
            version: d.version,
        }
    }
}

/// A secret to store: write-only.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretInput {
    /// Letters, digits and `_`, not starting with a digit; at most 128 characters.
    #[schema(pattern = "^[A-Za-z_][A-Za-z0-9_]*$", min_length = 1, max_length = 128)]
    pub name: String,
    /// At most 4 KiB.
    #[schema(max_length = 4096)]
    pub value: String,
}

impl std::fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SecretInput {{ name: {:?}, value: <redacted> }}",
            self.name
        )
    }
}

impl From<SecretInput> for DomainSecret {
    fn from(s: SecretInput) -> Self {
        DomainSecret {
            name: s.name,
            value: s.value,
        }
    }
}

/// Converts a list of DTOs into the lifecycle's values.
pub fn into_all<T, U: From<T>>(items: Vec<T>) -> Vec<U> {
    items.into_iter().map(U::from).collect()
}

#[derive(Serialize, ToSchema)]
pub struct SecretName {
    pub name: String,
}

/// An action's draft as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct ActionBody {
    pub id: String,
    pub name: String,
    pub supported_triggers: Vec<TriggerRef>,
    pub code: String,
    pub dependencies: Vec<DependencyBody>,
    pub runtime: String,
    /// Names only; values are write-only.
    pub secrets: Vec<SecretName>,
    /// `pending` → `building` → `built` | `failed`.
    pub status: String,
    /// Why the last build failed.
    pub build_errors: Vec<BuildErrorBody>,
    /// Whether the deployed version has exactly the draft's code, dependencies, runtime, triggers
    /// and secret names.
    pub all_changes_deployed: bool,
    /// Number of the deployed version.
    pub deployed_version: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set when the action is an installed marketplace integration (its code is read-only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed_from: Option<InstalledFrom>,
}

/// The integration version an installed action was made from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstalledFrom {
    pub integration: String,
    pub version: String,
    /// `GET /v1/integrations/installed/{id}`.
    pub installed_id: String,
}

impl From<actionflow_store::Installation> for InstalledFrom {
    fn from(i: actionflow_store::Installation) -> Self {
        InstalledFrom {
            integration: i.slug,
            version: i.version,
            installed_id: i.id,
        }
    }
}

impl From<ActionView> for ActionBody {
    fn from(view: ActionView) -> Self {
        let action = view.action;
        ActionBody {
            supported_triggers: action
                .supported_triggers
                .iter()
                .map(|id| TriggerRef::of(id))
                .collect(),
            dependencies: into_all(action.dependencies),
            secrets: action
                .secret_names
                .into_iter()
                .map(|name| SecretName { name })
                .collect(),
            installed_from: None,
            status: action.status.to_string(),
            build_errors: action
                .build_errors
                .into_iter()
                .map(|e| BuildErrorBody {
                    message: e.message,
                    line: e.line,
                })
                .collect(),
            all_changes_deployed: view.all_changes_deployed,
            id: action.id,
            name: action.name,
            code: action.code,
            runtime: action.runtime,
            deployed_version: action.deployed_version,
            created_at: action.created_at,
            updated_at: action.updated_at,
        }
    }
}
