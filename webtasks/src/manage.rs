//! Extend's management operations: create or replace an extension (secrets sealed, dependencies
//! resolved and locked now, so a run resolves nothing), change part of one (secrets one by one,
//! the others kept sealed), read, discover by metadata in a container or in all of a tenant's,
//! delete, and the storage document read and written by a tenant or by an execution's storage
//! token.

use crate::error::{Error, Result};
use crate::{rules, seal, wrap, Webtasks};
use actionflow_registry::Lockfile;
use actionflow_store::{Extension, NewExtension, StorageDoc, StorageWrite};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// `PUT /api/webtask/{container}/{name}`'s content.
#[derive(Debug, Clone, Default)]
pub struct PutExtension {
    pub code: String,
    pub secrets: BTreeMap<String, String>,
    /// `None` clears the metadata, as on Extend.
    pub meta: Option<BTreeMap<String, String>>,
    /// Overrides `meta['wt-node-dependencies']`.
    pub dependencies: Option<BTreeMap<String, String>>,
}

/// `PATCH /api/webtask/{container}/{name}`'s content: the fields given replace the stored ones,
/// the others are kept. Secrets change one by one, so a caller that never sees their values (the
/// dashboard) can edit the code or the metadata without losing them.
#[derive(Clone, Default)]
pub struct PatchExtension {
    pub code: Option<String>,
    /// Replaces the whole metadata when given.
    pub meta: Option<BTreeMap<String, String>>,
    /// A value sets or replaces that secret, `None` deletes it; the secrets not named are kept.
    pub secrets: BTreeMap<String, Option<String>>,
    /// Replaces the dependencies (then resolved and locked again) when given.
    pub dependencies: Option<BTreeMap<String, String>>,
}

impl std::fmt::Debug for PatchExtension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatchExtension")
            .field("code", &self.code.as_ref().map(String::len))
            .field("meta", &self.meta)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("dependencies", &self.dependencies)
            .finish()
    }
}

/// What an extension is written with, checked.
struct Content {
    code: String,
    meta: BTreeMap<String, String>,
    /// Sealed, as the store keeps them.
    secrets: String,
    dependencies: BTreeMap<String, String>,
    /// The lockfile of `dependencies` when it is already known (a patch that keeps them).
    lockfile: Option<Option<String>>,
}

/// An extension as the API shows it (never its secret values).
#[derive(Debug, Clone)]
pub struct ExtensionView {
    pub container: String,
    pub name: String,
    pub meta: BTreeMap<String, String>,
    pub webtask_url: String,
    pub secret_names: Vec<String>,
    pub dependencies: BTreeMap<String, String>,
    pub code: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A discovery: the metadata pairs that must all match, and the page.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub meta: Vec<(String, String)>,
    pub offset: usize,
    pub limit: usize,
}

impl Default for Discovery {
    fn default() -> Self {
        Discovery {
            meta: Vec::new(),
            offset: 0,
            limit: usize::MAX,
        }
    }
}

/// Who reads or writes a storage document: a tenant (its token's tenant) or an execution (its
/// storage token).
#[derive(Debug, Clone, Copy)]
pub enum StorageAccess<'a> {
    Tenant(&'a str),
    Token(&'a str),
}

pub(crate) fn parse_meta(text: &str) -> BTreeMap<String, String> {
    serde_json::from_str(text).unwrap_or_default()
}

impl Webtasks {
    fn view(&self, row: Extension) -> ExtensionView {
        ExtensionView {
            webtask_url: self.webtask_url(&row.container, &row.name),
            meta: parse_meta(&row.meta),
            secret_names: seal::secret_names(&row.secrets),
            dependencies: serde_json::from_str(&row.dependencies).unwrap_or_default(),
            container: row.container,
            name: row.name,
            code: row.code,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }

    /// Creates or replaces the extension.
    pub async fn put(
        &self,
        tenant_id: &str,
        container: &str,
        name: &str,
        put: PutExtension,
    ) -> Result<ExtensionView> {
        let limits = self.limits();
        rules::name("container", container)?;
        rules::name("name", name)?;
        rules::code(&put.code, limits)?;
        let meta = put.meta.unwrap_or_default();
        rules::meta(&meta, limits)?;
        rules::secrets(&put.secrets, limits)?;
        let dependencies = rules::dependencies(put.dependencies.as_ref(), &meta, limits)?;
        let secrets = seal::seal_secrets(self.sealer(), tenant_id, container, name, &put.secrets)?;
        let content = Content {
            code: put.code,
            meta,
            secrets,
            dependencies,
            lockfile: None,
        };
        self.write(tenant_id, container, name, content).await
    }

    /// Changes what `patch` names and keeps the rest (the secrets not named keep their sealed
    /// values; unchanged dependencies keep their lockfile). Last writer wins, as with `put`.
    pub async fn patch(
        &self,
        tenant_id: &str,
        container: &str,
        name: &str,
        patch: PatchExtension,
    ) -> Result<ExtensionView> {
        let limits = self.limits();
        let row = self
            .store()
            .get_extension(Some(tenant_id), container, name)
            .await?;
        let code = patch.code.unwrap_or(row.code);
        rules::code(&code, limits)?;
        let old_meta = parse_meta(&row.meta);
        let meta = patch.meta.unwrap_or_else(|| old_meta.clone());
        rules::meta(&meta, limits)?;
        let set: BTreeMap<String, String> = patch
            .secrets
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
            .collect();
        rules::secrets(&set, limits)?;
        let secrets = seal::merge_secrets(
            self.sealer(),
            tenant_id,
            container,
            name,
            &row.secrets,
            &patch.secrets,
        )?;
        if seal::secret_names(&secrets).len() > limits.secrets_max {
            return Err(Error::invalid(
                "secrets",
                format!("at most {} secrets", limits.secrets_max),
            ));
        }
        let stored: BTreeMap<String, String> =
            serde_json::from_str(&row.dependencies).unwrap_or_default();
        // Kept unless given, or unless they come (or came) from `meta['wt-node-dependencies']`.
        let from_meta = |m: &BTreeMap<String, String>| m.contains_key(rules::META_DEPENDENCIES);
        let field = match patch.dependencies {
            Some(given) => Some(given),
            None if from_meta(&meta) || from_meta(&old_meta) => None,
            None => Some(stored.clone()),
        };
        let dependencies = rules::dependencies(field.as_ref(), &meta, limits)?;
        let lockfile = (dependencies == stored).then_some(row.lockfile);
        let content = Content {
            code,
            meta,
            secrets,
            dependencies,
            lockfile,
        };
        self.write(tenant_id, container, name, content).await
    }

    /// Locks the dependencies (unless known) and stores the extension.
    async fn write(
        &self,
        tenant_id: &str,
        container: &str,
        name: &str,
        content: Content,
    ) -> Result<ExtensionView> {
        let lockfile = match content.lockfile {
            Some(known) => known,
            None => self.lock(&content.dependencies).await?,
        };
        let meta_text =
            serde_json::to_string(&content.meta).map_err(|e| Error::Internal(e.to_string()))?;
        let deps_text = serde_json::to_string(&content.dependencies)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let version = version_of(&content.code, lockfile.as_deref(), &meta_text);
        let row = self
            .store()
            .put_extension(
                tenant_id,
                NewExtension {
                    container: container.to_owned(),
                    name: name.to_owned(),
                    code: content.code,
                    meta: meta_text,
                    secrets: content.secrets,
                    dependencies: deps_text,
                    lockfile,
                    version,
                },
            )
            .await?;
        Ok(self.view(row))
    }

    /// Resolves and locks the dependencies (none: no lockfile).
    async fn lock(&self, dependencies: &BTreeMap<String, String>) -> Result<Option<String>> {
        if dependencies.is_empty() {
            return Ok(None);
        }
        let (lockfile, _tree) = self
            .packages()
            .install(dependencies)
            .await
            .map_err(|error| {
                Error::Dependencies(actionflow_actions::packages::tenant_safe_message(
                    &error, "webtask",
                ))
            })?;
        Ok(Some(lockfile.to_json()))
    }

    pub async fn get(&self, tenant_id: &str, container: &str, name: &str) -> Result<ExtensionView> {
        let row = self
            .store()
            .get_extension(Some(tenant_id), container, name)
            .await?;
        Ok(self.view(row))
    }

    /// The container's extensions whose metadata has every pair asked for, by name.
    pub async fn list(
        &self,
        tenant_id: &str,
        container: &str,
        discovery: &Discovery,
    ) -> Result<Vec<ExtensionView>> {
        let rows = self.store().list_extensions(tenant_id, container).await?;
        Ok(self.discover(rows, discovery))
    }

    /// Every extension of the tenant's containers whose metadata has every pair asked for, by
    /// container then name.
    pub async fn list_all(
        &self,
        tenant_id: &str,
        discovery: &Discovery,
    ) -> Result<Vec<ExtensionView>> {
        let rows = self.store().list_tenant_extensions(tenant_id).await?;
        Ok(self.discover(rows, discovery))
    }

    fn discover(&self, rows: Vec<Extension>, discovery: &Discovery) -> Vec<ExtensionView> {
        rows.into_iter()
            .map(|row| self.view(row))
            .filter(|view| {
                discovery
                    .meta
                    .iter()
                    .all(|(k, v)| view.meta.get(k).is_some_and(|have| have == v))
            })
            .skip(discovery.offset)
            .take(discovery.limit.min(self.limits().list_max))
            .collect()
    }

    /// Deletes the extension with its storage and cron job.
    pub async fn delete(&self, tenant_id: &str, container: &str, name: &str) -> Result<()> {
        Ok(self
            .store()
            .delete_extension(tenant_id, container, name)
            .await?)
    }

    /// Whether `access` may use the extension's storage; `NotFound` otherwise (a token of another
    /// extension or tenant learns nothing).
    async fn storage_allowed(
        &self,
        access: StorageAccess<'_>,
        container: &str,
        name: &str,
    ) -> Result<()> {
        let denied = || Error::not_found("name", "webtask");
        match access {
            StorageAccess::Tenant(tenant_id) => {
                self.store()
                    .get_extension(Some(tenant_id), container, name)
                    .await?;
            }
            StorageAccess::Token(token) => {
                let row = self.store().get_extension(None, container, name).await?;
                let now = chrono::Utc::now().timestamp();
                if !seal::check_storage_token(
                    self.sealer(),
                    &row.tenant_id,
                    container,
                    name,
                    token,
                    now,
                ) {
                    return Err(denied());
                }
            }
        }
        Ok(())
    }

    /// The document (`None`: never written).
    pub async fn read_storage(
        &self,
        access: StorageAccess<'_>,
        container: &str,
        name: &str,
    ) -> Result<Option<StorageDoc>> {
        self.storage_allowed(access, container, name).await?;
        Ok(self.store().read_storage(container, name).await?)
    }

    /// Writes the document (JSON text) if its etag is still `etag` (`None`: unconditionally).
    pub async fn write_storage(
        &self,
        access: StorageAccess<'_>,
        container: &str,
        name: &str,
        data: &str,
        etag: Option<i64>,
    ) -> Result<StorageWrite> {
        self.storage_allowed(access, container, name).await?;
        if data.len() > self.limits().storage_bytes_max {
            return Err(Error::too_large(
                "data",
                format!(
                    "the storage document is {} bytes, more than the limit of {} bytes",
                    data.len(),
                    self.limits().storage_bytes_max
                ),
            ));
        }
        if serde_json::from_str::<serde::de::IgnoredAny>(data).is_err() {
            return Err(Error::invalid("data", "data must be JSON text"));
        }
        Ok(self
            .store()
            .write_storage(container, name, data, etag)
            .await?)
    }
}

/// What identifies the code that runs: warm isolates are reused only for the same version.
fn version_of(code: &str, lockfile: Option<&str>, meta: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(code.as_bytes());
    hash.update([0]);
    hash.update(lockfile.unwrap_or("").as_bytes());
    hash.update([0]);
    hash.update(meta.as_bytes());
    hash.update([0]);
    hash.update(wrap::models_digest().as_bytes());
    format!("wt-{}", hex::encode(&hash.finalize()[..12]))
}

/// A stored lockfile, read back for a run.
pub(crate) fn lockfile_of(text: &str) -> Result<Lockfile> {
    Lockfile::from_json(text).map_err(|e| Error::Internal(format!("stored lockfile: {e}")))
}
