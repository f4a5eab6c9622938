//! Installing a published version in a tenant: the values checked against that version's
//! manifest (naming the field), then an action made through the lifecycle — the wrapped partner
//! code, the secrets as the action's secrets, deployed like any action — bound if asked. Upgrades
//! keep the values and are new action versions (so rollback works); uninstalling unbinds the
//! action everywhere (new bindings revisions) and deletes it.

use std::collections::BTreeMap;

use actionflow_actions::{DraftPatch, NewDraft, TriggerRef};
use actionflow_store::{Installation, Submission};
use actionflow_triggers::{ActionRef, BindingRequest, RefKind};

use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::package::CODE_FILE;
use crate::review::State;
use crate::service::Marketplace;
use crate::values::{check_secrets, dependencies, manifest_of, secret_inputs, values};
use crate::wrap::{wrap, Mode};

/// Longest configuration value kept.
pub const CONFIG_VALUE_CHARS_MAX: usize = 2_048;

/// What a tenant asks to install.
#[derive(Debug, Clone, Default)]
pub struct InstallRequest {
    pub integration: String,
    /// The latest published version that is neither deprecated nor yanked when `None`.
    pub version: Option<String>,
    /// The action's name; the slug when `None`.
    pub name: Option<String>,
    pub secrets: BTreeMap<String, String>,
    pub configuration: BTreeMap<String, String>,
    pub bind: Option<Bind>,
    pub bindings_max: usize,
}

#[derive(Debug, Clone)]
pub struct Bind {
    pub trigger: String,
    /// Last when `None`.
    pub position: Option<usize>,
}

/// A change of an installed copy: another version and/or new values (kept values stay).
#[derive(Debug, Clone, Default)]
pub struct UpgradeRequest {
    pub version: Option<String>,
    pub secrets: BTreeMap<String, String>,
    pub configuration: BTreeMap<String, String>,
}

/// An installed copy with what its tenant should know about its version.
#[derive(Debug, Clone)]
pub struct InstalledView {
    pub installation: Installation,
    pub secret_names: Vec<String>,
    /// The integration version the action's deployed version runs: the installed one, or an
    /// older one after the tenant rolled the action back.
    pub running_version: Option<String>,
    /// Whether the running version is deprecated or yanked.
    pub deprecated: bool,
    pub yanked: bool,
}

impl Marketplace {
    /// The published version to install (`None`: the newest installable one).
    async fn installable(&self, slug: &str, version: Option<&str>) -> Result<Submission> {
        let published = self
            .store()
            .list_submissions(None, Some(State::Published.as_str()))
            .await?;
        let mut versions: Vec<Submission> =
            published.into_iter().filter(|s| s.slug == slug).collect();
        if versions.is_empty() {
            return Err(Error::not_found("integration", "integration"));
        }
        versions.sort_by_key(|s| {
            std::cmp::Reverse((s.version_major, s.version_minor, s.version_patch))
        });
        let chosen = match version {
            Some(v) => versions
                .into_iter()
                .find(|s| s.version == v)
                .ok_or_else(|| Error::not_found("version", "version"))?,
            None => versions
                .into_iter()
                .find(|s| s.deprecated_at.is_none() && s.yanked_at.is_none())
                .ok_or_else(|| {
                    Error::invalid("integration", "every version is deprecated or yanked")
                })?,
        };
        if chosen.yanked_at.is_some() || chosen.deprecated_at.is_some() {
            let message = format!(
                "version {} is deprecated or yanked: no new installs",
                chosen.version
            );
            return Err(Error::invalid("version", message));
        }
        Ok(chosen)
    }

    pub async fn install(&self, tenant_id: &str, request: InstallRequest) -> Result<InstalledView> {
        let submission = self
            .installable(&request.integration, request.version.as_deref())
            .await?;
        let manifest = manifest_of(&submission)?;
        let configuration = values(&manifest, &BTreeMap::new(), &request.configuration)?;
        check_secrets(&manifest, &[], &request.secrets)?;
        if let Some(bind) = &request.bind {
            if !manifest.supported_triggers.contains(&bind.trigger) {
                let message = format!("the integration does not support {}", bind.trigger);
                return Err(Error::invalid("bind.trigger", message));
            }
        }
        let code = self
            .installed_code(&submission, &manifest, &configuration)
            .await?;
        let draft = NewDraft {
            name: request
                .name
                .clone()
                .unwrap_or_else(|| manifest.slug.clone()),
            supported_triggers: manifest
                .supported_triggers
                .iter()
                .map(|t| TriggerRef::of(t))
                .collect(),
            code,
            dependencies: dependencies(&manifest),
            runtime: None,
            secrets: secret_inputs(&request.secrets),
        };
        let actions = &self.inner.actions;
        let view = actions
            .create(tenant_id, draft)
            .await
            .map_err(|e| match e.code() {
                actionflow_actions::Code::Conflict => Error::conflict(
                    "name",
                    "an action of that name exists: give the install a name",
                ),
                _ => Error::Lifecycle(e),
            })?;
        let action_id = view.action.id.clone();
        let installed = self
            .finish_install(tenant_id, &action_id, &submission, &configuration, &request)
            .await;
        match installed {
            Ok(view) => Ok(view),
            Err(error) => {
                // Nothing half-installed stays behind.
                if let Err(e) = actions.delete(tenant_id, &action_id, true).await {
                    tracing::warn!(error = %e, %action_id, "removing a failed install");
                }
                Err(error)
            }
        }
    }

    async fn finish_install(
        &self,
        tenant_id: &str,
        action_id: &str,
        submission: &Submission,
        configuration: &serde_json::Map<String, serde_json::Value>,
        request: &InstallRequest,
    ) -> Result<InstalledView> {
        let config = serde_json::Value::Object(configuration.clone());
        let installation = self
            .store()
            .create_installation(tenant_id, action_id, submission, &config)
            .await?;
        self.inner.actions.deploy(tenant_id, action_id).await?;
        if let Some(bind) = &request.bind {
            let binding = BindingRequest {
                action: ActionRef {
                    kind: RefKind::ActionId,
                    value: action_id.to_owned(),
                },
                display_name: None,
                on_error: None,
            };
            let store = self.store().as_ref();
            actionflow_triggers::bindings::insert(
                store,
                tenant_id,
                &bind.trigger,
                &binding,
                bind.position,
                request.bindings_max,
            )
            .await?;
        }
        self.installed_view(installation).await
    }

    /// The partner's code, wrapped with the configuration and the declared hosts.
    async fn installed_code(
        &self,
        submission: &Submission,
        manifest: &Manifest,
        configuration: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<String> {
        let package = self.stored_package(submission).await?;
        let code = package.text(CODE_FILE).unwrap_or_default();
        Ok(wrap(
            code,
            &manifest.supported_triggers,
            configuration,
            &manifest.network.hosts,
            Mode::Installed {
                integration: &manifest.slug,
                version: &manifest.version,
            },
        ))
    }

    async fn installed_view(&self, installation: Installation) -> Result<InstalledView> {
        let running_version = self.running_version(&installation).await?;
        let mut submission = self
            .store()
            .get_submission(&installation.submission_id)
            .await?;
        if let Some(running) = running_version
            .as_ref()
            .filter(|v| **v != installation.version)
        {
            let published = self
                .store()
                .list_submissions(None, Some("published"))
                .await?;
            let found = published
                .into_iter()
                .find(|s| s.slug == installation.slug && s.version == *running);
            if let Some(found) = found {
                submission = found;
            }
        }
        let secrets = self
            .inner
            .actions
            .list_secrets(&installation.tenant_id, &installation.action_id)
            .await?;
        Ok(InstalledView {
            secret_names: secrets.into_iter().map(|s| s.name).collect(),
            running_version,
            deprecated: submission.deprecated_at.is_some(),
            yanked: submission.yanked_at.is_some(),
            installation,
        })
    }

    /// What the action's deployed version runs, read from its code.
    async fn running_version(&self, installation: &Installation) -> Result<Option<String>> {
        let store = self.store();
        let action = store
            .get_action(&installation.tenant_id, &installation.action_id)
            .await?;
        let Some(number) = action.deployed_version else {
            return Ok(None);
        };
        let version = store
            .get_version(&installation.tenant_id, &installation.action_id, number)
            .await?;
        Ok(crate::wrap::running_integration(&version.code).map(|(_, v)| v))
    }

    pub async fn installed(&self, tenant_id: &str, id: &str) -> Result<InstalledView> {
        let installation = self.store().get_installation(tenant_id, id).await?;
        self.installed_view(installation).await
    }

    pub async fn list_installed(&self, tenant_id: &str) -> Result<Vec<InstalledView>> {
        let mut out = Vec::new();
        for installation in self.store().list_installations(tenant_id).await? {
            out.push(self.installed_view(installation).await?);
        }
        Ok(out)
    }

    /// Another version and/or new values; refused (naming them) while a required value of the
    /// target version is missing. A new action version either way.
    pub async fn upgrade(
        &self,
        tenant_id: &str,
        id: &str,
        request: UpgradeRequest,
    ) -> Result<InstalledView> {
        let installation = self.store().get_installation(tenant_id, id).await?;
        let submission = match &request.version {
            Some(v) if *v == installation.version => {
                self.store()
                    .get_submission(&installation.submission_id)
                    .await?
            }
            Some(v) => self.installable(&installation.slug, Some(v)).await?,
            None => {
                self.store()
                    .get_submission(&installation.submission_id)
                    .await?
            }
        };
        let manifest = manifest_of(&submission)?;
        let kept: BTreeMap<String, String> = installation
            .configuration
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let configuration = values(&manifest, &kept, &request.configuration)?;
        let existing = self
            .inner
            .actions
            .list_secrets(tenant_id, &installation.action_id)
            .await?;
        let existing: Vec<String> = existing.into_iter().map(|s| s.name).collect();
        check_secrets(&manifest, &existing, &request.secrets)?;
        let code = self
            .installed_code(&submission, &manifest, &configuration)
            .await?;
        let patch = DraftPatch {
            supported_triggers: Some(
                manifest
                    .supported_triggers
                    .iter()
                    .map(|t| TriggerRef::of(t))
                    .collect(),
            ),
            code: Some(code),
            dependencies: Some(dependencies(&manifest)),
            secrets: (!request.secrets.is_empty()).then(|| secret_inputs(&request.secrets)),
            ..DraftPatch::default()
        };
        let actions = &self.inner.actions;
        actions
            .patch(tenant_id, &installation.action_id, patch)
            .await?;
        actions.deploy(tenant_id, &installation.action_id).await?;
        let config = serde_json::Value::Object(configuration);
        let updated = self
            .store()
            .update_installation(tenant_id, id, &submission, &config)
            .await?;
        self.installed_view(updated).await
    }

    /// Removes the copy from every flow (each a new bindings revision) and deletes its action.
    pub async fn uninstall(&self, tenant_id: &str, id: &str) -> Result<()> {
        let installation = self.store().get_installation(tenant_id, id).await?;
        self.inner
            .actions
            .delete(tenant_id, &installation.action_id, true)
            .await?;
        Ok(())
    }

    /// Refuses a change of an installed copy's code, triggers or dependencies: they are the
    /// reviewed package's. Its secrets may change; its version may be rolled back.
    pub async fn guard_action_edit(&self, tenant_id: &str, action_id: &str) -> Result<()> {
        if let Some(installation) = self
            .store()
            .installation_of_action(tenant_id, action_id)
            .await?
        {
            let message = format!(
                "this action is installed from the integration {}@{}: its code is read-only; \
                 change its configuration or upgrade it through /v1/integrations/installed/{}",
                installation.slug, installation.version, installation.id
            );
            return Err(Error::conflict("code", message));
        }
        Ok(())
    }
}
