//! How the API shows an action's draft: its fields, build status and errors, secret names, and
//! whether everything in it is deployed (computed against the deployed version).

use super::error::{ApiResult, BuildErrorBody};
use super::validate::{self, DependencyBody, TriggerRef};
use super::AppState;
use actionflow_store::Action;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use utoipa::ToSchema;

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
}

/// The API view of a draft; reads the deployed version to compute `all_changes_deployed`.
pub async fn action_body(state: &AppState, action: Action) -> ApiResult<ActionBody> {
    let all_changes_deployed = match action.deployed_version {
        None => false,
        Some(number) => {
            deployed_fingerprint(state, &action, number).await?
                == validate::fingerprint_of_draft(&action)
        }
    };
    Ok(ActionBody {
        supported_triggers: action
            .supported_triggers
            .iter()
            .map(|id| TriggerRef::of(id))
            .collect(),
        dependencies: action
            .dependencies
            .into_iter()
            .map(DependencyBody::from)
            .collect(),
        secrets: action
            .secret_names
            .into_iter()
            .map(|name| SecretName { name })
            .collect(),
        status: action.status.to_string(),
        build_errors: action
            .build_errors
            .into_iter()
            .map(|e| BuildErrorBody {
                message: e.message,
                line: e.line,
            })
            .collect(),
        all_changes_deployed,
        id: action.id,
        name: action.name,
        code: action.code,
        runtime: action.runtime,
        deployed_version: action.deployed_version,
        created_at: action.created_at,
        updated_at: action.updated_at,
    })
}

/// Fingerprints of deployed versions by (action id, number). Versions are immutable and neither
/// ids nor numbers are reused, so an entry never goes stale; this spares listing actions one
/// version read per action. Emptied when it reaches `VERSION_FINGERPRINTS_MAX`.
static VERSION_FINGERPRINTS: LazyLock<Mutex<Fingerprints>> = LazyLock::new(Mutex::default);
type Fingerprints = HashMap<(String, i64), [u8; 32]>;
const VERSION_FINGERPRINTS_MAX: usize = 10_000;

async fn deployed_fingerprint(
    state: &AppState,
    action: &Action,
    number: i64,
) -> ApiResult<[u8; 32]> {
    let key = (action.id.clone(), number);
    let cached = VERSION_FINGERPRINTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&key)
        .copied();
    if let Some(fingerprint) = cached {
        return Ok(fingerprint);
    }
    let version = state
        .store
        .get_version(&action.tenant_id, &action.id, number)
        .await?;
    let fingerprint = validate::fingerprint_of_version(&version);
    let mut cache = VERSION_FINGERPRINTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if cache.len() >= VERSION_FINGERPRINTS_MAX {
        cache.clear();
    }
    cache.insert(key, fingerprint);
    Ok(fingerprint)
}
