//! Rows and new-row types exchanged at the store boundary: tenants, tokens, actions, versions,
//! secrets, pages. Bindings and executions live in [`flow`].

mod enums;
pub mod flow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;

pub use enums::{BuildStatus, ExecutionStatus, OnError, UnknownValue};

/// All store timestamps are UTC, stored with microsecond precision.
pub type Timestamp = DateTime<Utc>;

/// A tenant: the owner of actions, tokens, bindings and executions.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
    /// The tenant's own CPU limit per execution, in milliseconds; `None`: the server's default.
    pub cpu_ms_max: Option<i64>,
}

/// A tenant API token. The store only ever sees the hash of the token.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ApiToken {
    pub id: String,
    pub tenant_id: String,
    pub token_hash: Vec<u8>,
    #[sqlx(json)]
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// One declared npm dependency: `name@version` where `version` is a semver range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub name: String,
    pub version: String,
}

/// One build failure of a draft, with the 1-based source line when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildError {
    pub message: String,
    pub line: Option<u32>,
}

/// An action's mutable draft.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct Action {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    #[sqlx(json)]
    pub supported_triggers: Vec<String>,
    pub code: String,
    #[sqlx(json)]
    pub dependencies: Vec<Dependency>,
    pub runtime: String,
    #[sqlx(json)]
    pub secret_names: Vec<String>,
    #[sqlx(try_from = "String")]
    pub status: BuildStatus,
    #[sqlx(json)]
    pub build_errors: Vec<BuildError>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Number of the current deployed version, `None` until the first deploy.
    pub deployed_version: Option<i64>,
}

/// What a new draft holds; it starts `pending` with no build errors.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAction {
    pub name: String,
    pub supported_triggers: Vec<String>,
    pub code: String,
    pub dependencies: Vec<Dependency>,
    pub runtime: String,
    pub secret_names: Vec<String>,
}

/// A partial update of a draft: `None` leaves the field as it is. The domain decides the status
/// (e.g. back to `pending` after an edit, `failed` with errors), except while a build is in flight:
/// then `status` and `build_errors` are the build's, and a patch's are ignored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionPatch {
    pub name: Option<String>,
    pub supported_triggers: Option<Vec<String>>,
    pub code: Option<String>,
    pub dependencies: Option<Vec<Dependency>>,
    pub runtime: Option<String>,
    pub secret_names: Option<Vec<String>>,
    pub status: Option<BuildStatus>,
    pub build_errors: Option<Vec<BuildError>>,
}

/// Filters of the action list; `None` means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionFilter {
    pub trigger_id: Option<String>,
    pub name: Option<String>,
    /// `Some(true)`: only actions with a deployed version; `Some(false)`: only never-deployed ones.
    pub deployed: Option<bool>,
}

/// An immutable, numbered snapshot of an action (1, 2, 3, … per action, never reused).
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct ActionVersion {
    pub id: String,
    pub tenant_id: String,
    pub action_id: String,
    pub number: i64,
    pub code: String,
    #[sqlx(json)]
    pub dependencies: Vec<Dependency>,
    #[sqlx(json)]
    pub lockfile: serde_json::Value,
    pub runtime: String,
    #[sqlx(json)]
    pub secret_names: Vec<String>,
    #[sqlx(json)]
    pub supported_triggers: Vec<String>,
    /// For a rollback: the number of the version this one copies.
    pub copied_from: Option<i64>,
    pub created_at: Timestamp,
    /// Whether this is the action's deployed version now.
    pub is_current: bool,
}

/// The content of a version about to be deployed (the built draft plus its lockfile).
#[derive(Debug, Clone, PartialEq)]
pub struct NewVersion {
    pub code: String,
    pub dependencies: Vec<Dependency>,
    pub lockfile: serde_json::Value,
    pub runtime: String,
    pub secret_names: Vec<String>,
    pub supported_triggers: Vec<String>,
}

/// A secret's name and last change; what the API may show.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct SecretMeta {
    pub name: String,
    pub updated_at: Timestamp,
}

/// An encrypted secret value as the domain sealed it (AEAD ciphertext and its nonce).
#[derive(Clone, PartialEq, Eq, FromRow)]
pub struct SealedSecret {
    pub name: String,
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
    pub updated_at: Timestamp,
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSecret")
            .field("name", &self.name)
            .field("ciphertext", &"<redacted>")
            .field("nonce", &"<redacted>")
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// A sealed secret value to store (the binary sealed it with the tenant, action and name bound).
#[derive(Clone, PartialEq, Eq)]
pub struct NewSecret {
    pub name: String,
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSecret")
            .field("name", &self.name)
            .field("ciphertext", &"<redacted>")
            .field("nonce", &"<redacted>")
            .finish()
    }
}

/// A deploy's build in flight, as [`crate::ActionStore::begin_build`] started it.
#[derive(Debug, Clone, PartialEq)]
pub struct Build {
    /// The build's stamp: only the build holding it records the end.
    pub id: String,
    pub started_at: Timestamp,
    /// The draft when the build began, its secret names copied from the secrets table: what the
    /// version will hold, whatever edits the draft gets meanwhile.
    pub draft: Action,
}

/// A known value sealed with the master key this database was first written with.
#[derive(Clone, PartialEq, Eq, FromRow)]
pub struct KeyCanary {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
    pub created_at: Timestamp,
}

impl std::fmt::Debug for KeyCanary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCanary")
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A stored secret with the action it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedSecret {
    pub tenant_id: String,
    pub action_id: String,
    pub secret: SealedSecret,
}

/// A zero-based page request (Auth0's `page`/`per_page`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub per_page: u32,
}

impl Page {
    pub fn new(page: u32, per_page: u32) -> Self {
        Self { page, per_page }
    }

    pub(crate) fn limit(self) -> i64 {
        i64::from(self.per_page)
    }

    pub(crate) fn offset(self) -> i64 {
        i64::from(self.page) * i64::from(self.per_page)
    }
}

impl Default for Page {
    fn default() -> Self {
        Self::new(0, 50)
    }
}

/// One page of a list and the total number of matching rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

impl<T> Paged<T> {
    pub(crate) fn new(items: Vec<T>, total: i64, page: Page) -> Self {
        Self {
            items,
            total: u64::try_from(total).unwrap_or(0),
            page: page.page,
            per_page: page.per_page,
        }
    }
}
