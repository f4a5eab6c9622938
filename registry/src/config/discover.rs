//! Registry discovery from explicit inputs, with npm's precedence:
//! `--registry` flag > `npm_config_registry` / `NPM_CONFIG_REGISTRY` > project `.npmrc` > user `.npmrc`
//! > `npm config get registry` (only when nothing else is set and npm is found) > an error saying how to set one.
//!
//! Scoped registries and credentials are merged from both `.npmrc` files (the project's win).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::npmrc::{self, Npmrc};
use super::{parse_registry_url, RegistryConfig};
use crate::Error;

/// Everything discovery looks at; the caller gathers it (this crate never reads the process environment).
#[derive(Debug, Clone, Default)]
pub struct DiscoveryInputs {
    /// The `--registry` flag or config-file value, if any.
    pub registry_flag: Option<String>,
    /// Environment variables: `npm_config_registry`, `NPM_CONFIG_REGISTRY`, `PATH` (to find npm) and any
    /// variable an `.npmrc` expands with `${VAR}`.
    pub env: BTreeMap<String, String>,
    /// Directory whose `.npmrc` is the project configuration.
    pub project_dir: Option<PathBuf>,
    /// Home directory whose `.npmrc` is the user configuration.
    pub home_dir: Option<PathBuf>,
    /// The npm executable to ask last; `None` looks for `npm` in `env["PATH"]`.
    pub npm_program: Option<PathBuf>,
}

/// Finds the registry configuration. See the module documentation for the precedence.
pub fn discover(inputs: &DiscoveryInputs) -> Result<RegistryConfig, Error> {
    let user = read_npmrc(inputs.home_dir.as_deref(), &inputs.env)?;
    let project = read_npmrc(inputs.project_dir.as_deref(), &inputs.env)?;
    let (value, origin) = match pick_registry(inputs, &project, &user) {
        Some(found) => found,
        None => ask_npm(inputs)?.ok_or(Error::NoRegistryConfigured)?,
    };
    let mut config = RegistryConfig::new(&value, &origin)?;
    for (rc, path) in [(user, &inputs.home_dir), (project, &inputs.project_dir)] {
        let Some(rc) = rc else { continue };
        let origin = npmrc_path(path.as_deref()).display().to_string();
        for (scope, url) in rc.scopes {
            let url = parse_registry_url(&url, &format!("{origin} ({scope}:registry)"))?;
            config.scopes.insert(scope, url);
        }
        config.credentials.extend(rc.credentials);
        if let Some(cafile) = rc.cafile.filter(|c| !c.trim().is_empty()) {
            config.ca_file = Some(PathBuf::from(cafile));
        }
    }
    Ok(config)
}

fn pick_registry(
    inputs: &DiscoveryInputs,
    project: &Option<Npmrc>,
    user: &Option<Npmrc>,
) -> Option<(String, String)> {
    let nonempty = |v: &Option<String>| v.as_ref().filter(|s| !s.trim().is_empty()).cloned();
    if let Some(flag) = nonempty(&inputs.registry_flag) {
        return Some((flag, "--registry".into()));
    }
    for var in ["npm_config_registry", "NPM_CONFIG_REGISTRY"] {
        if let Some(value) = nonempty(&inputs.env.get(var).cloned()) {
            return Some((value, var.into()));
        }
    }
    for (rc, dir) in [(project, &inputs.project_dir), (user, &inputs.home_dir)] {
        if let Some(value) = rc.as_ref().and_then(|rc| nonempty(&rc.registry)) {
            return Some((value, npmrc_path(dir.as_deref()).display().to_string()));
        }
    }
    None
}

fn npmrc_path(dir: Option<&Path>) -> PathBuf {
    dir.map(|d| d.join(".npmrc")).unwrap_or_default()
}

fn read_npmrc(dir: Option<&Path>, env: &BTreeMap<String, String>) -> Result<Option<Npmrc>, Error> {
    let Some(dir) = dir else { return Ok(None) };
    let path = dir.join(".npmrc");
    match std::fs::read_to_string(&path) {
        Ok(text) => npmrc::parse(&text, &path.display().to_string(), env).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("reading", path)(e)),
    }
}

/// Runs `npm config get registry`; `Ok(None)` when npm is not available or prints nothing useful.
fn ask_npm(inputs: &DiscoveryInputs) -> Result<Option<(String, String)>, Error> {
    let program = match &inputs.npm_program {
        Some(p) => Some(p.clone()),
        None => find_on_path("npm", inputs.env.get("PATH").map(String::as_str)),
    };
    let Some(program) = program else {
        return Ok(None);
    };
    let mut command = Command::new(&program);
    command.args(["config", "get", "registry"]);
    if let Some(dir) = inputs.project_dir.as_ref().filter(|d| d.is_dir()) {
        command.current_dir(dir);
    }
    let output = match command.output() {
        Ok(output) if output.status.success() => output,
        Ok(output) => {
            tracing::warn!(status = %output.status, "`npm config get registry` failed");
            return Ok(None);
        }
        Err(error) => {
            tracing::warn!(%error, program = %program.display(), "could not run npm");
            return Ok(None);
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = stdout
        .lines()
        .map(str::trim)
        .rfind(|l| l.starts_with("http://") || l.starts_with("https://"));
    Ok(value.map(|v| (v.to_string(), "`npm config get registry`".to_string())))
}

fn find_on_path(name: &str, path: Option<&str>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
