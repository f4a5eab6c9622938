//! The automated checks, the same for `actionflow integration test` and the server: the files and
//! their sizes, the manifest's schema, the version against every version of the slug ever
//! submitted, what the code reads against what it declares, breaking changes against the latest
//! published version, then (in the runtime) that the code loads and exports its handlers and that
//! its tests pass.

use std::sync::Arc;

use actionflow_actions::Packages;
use actionflow_runtime::{
    Engine, Event, ExecutionRequest, Limits, ModuleFiles, NoFiles, Secrets, Status,
};

use crate::compat::{breaking_findings, version_findings};
use crate::harness::run_tests;
use crate::manifest::{Manifest, Version, MANIFEST_FILE};
use crate::package::{Package, PackageLimits, CODE_FILE, GUIDE_FILE, LOGO_FILE, TESTS_DIR};
use crate::reads::read_findings;
use crate::report::{Finding, Report};
use crate::wrap::{wrap, Mode};

/// What the checks compare a submission with.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Every version of the slug ever submitted (whatever became of it).
    pub versions: Vec<Version>,
    /// The manifest of the latest published version.
    pub latest_published: Option<Manifest>,
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The checks that need no runtime. The manifest is returned when it parsed.
pub fn static_checks(
    package: &Package,
    limits: &PackageLimits,
    history: &History,
) -> (Report, Option<Manifest>) {
    let mut report = Report::default();
    for (file, what) in [
        (MANIFEST_FILE, "the manifest"),
        (CODE_FILE, "the action's code"),
        (GUIDE_FILE, "the installation guide"),
        (LOGO_FILE, "the logo (PNG)"),
    ] {
        if package.file(file).is_none() {
            report.push(
                Finding::error("file_missing", format!("{file} ({what}) is missing")).in_file(file),
            );
        }
    }
    let tests = package.tests().count();
    if tests > limits.tests_max {
        let message = format!("{tests} tests, more than the limit of {}", limits.tests_max);
        report.push(Finding::error("too_many_tests", message).in_file(TESTS_DIR));
    }
    if package.tests().next().is_none() {
        report.push(
            Finding::error("tests_missing", "the package has no tests/*.json").in_file(TESTS_DIR),
        );
    }
    for path in package.files.keys() {
        let known = [MANIFEST_FILE, CODE_FILE, GUIDE_FILE, LOGO_FILE, "README.md"]
            .contains(&path.as_str())
            || (path.starts_with(TESTS_DIR) && path.ends_with(".json"));
        if !known {
            report.push(
                Finding::warning(
                    "unexpected_file",
                    format!("{path} is not part of a package and is ignored"),
                )
                .in_file(path),
            );
        }
    }
    if let Some(logo) = package.file(LOGO_FILE) {
        if !logo.starts_with(PNG_SIGNATURE) {
            report.push(
                Finding::error("logo_not_png", "logo.png is not a PNG image").in_file(LOGO_FILE),
            );
        }
        if logo.len() > limits.logo_bytes_max {
            let message = format!(
                "the logo is {} bytes, more than {}",
                logo.len(),
                limits.logo_bytes_max
            );
            report.push(Finding::error("logo_too_large", message).in_file(LOGO_FILE));
        }
    }
    let code = match package.file(CODE_FILE) {
        Some(bytes) if bytes.len() > limits.code_bytes_max => {
            let message = format!(
                "the code is {} bytes, more than {}",
                bytes.len(),
                limits.code_bytes_max
            );
            report.push(Finding::error("code_too_large", message).in_file(CODE_FILE));
            None
        }
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(code) => Some(code),
            Err(_) => {
                report.push(
                    Finding::error("code_invalid", "the code is not UTF-8 text").in_file(CODE_FILE),
                );
                None
            }
        },
        None => None,
    };
    let manifest = match package.file(MANIFEST_FILE).map(Manifest::parse) {
        Some(Ok(manifest)) => Some(manifest),
        Some(Err(finding)) => {
            report.push(finding);
            None
        }
        None => None,
    };
    let Some(manifest) = manifest else {
        return (report, None);
    };
    report.extend(manifest.check());
    if let Some(version) = manifest.semver() {
        report.extend(version_findings(version, history));
        if let Some(previous) = &history.latest_published {
            report.extend(breaking_findings(previous, &manifest, version));
        }
    }
    if let Some(code) = code {
        report.extend(read_findings(code, &manifest));
    }
    (report, Some(manifest))
}

/// Longest the dependencies of a package may take to resolve and download.
pub const DEPENDENCIES_MS_MAX: u64 = 60_000;

/// Resolves the pinned dependencies with `packages` (when given): each must resolve and be locked
/// with an integrity; the installed files are what the code loads and the tests run with.
async fn dependency_files(
    manifest: &Manifest,
    packages: Option<&Packages>,
    report: &mut Report,
) -> Option<Arc<dyn ModuleFiles>> {
    if manifest.dependencies.is_empty() {
        return Some(Arc::new(NoFiles));
    }
    let Some(packages) = packages else {
        let message = "the dependencies were not resolved here; the server resolves them";
        report.push(Finding::warning("dependencies_not_resolved", message).in_file(MANIFEST_FILE));
        return Some(Arc::new(NoFiles));
    };
    let wanted = manifest
        .dependencies
        .iter()
        .map(|d| (d.name.clone(), d.version.clone()))
        .collect();
    let wall = std::time::Duration::from_millis(DEPENDENCIES_MS_MAX);
    let installed = match tokio::time::timeout(wall, packages.install(&wanted)).await {
        Ok(Ok(installed)) => installed,
        Ok(Err(error)) => {
            let message = actionflow_actions::packages::tenant_safe_message(&error, &manifest.slug);
            report.push(Finding::error("dependency_unresolvable", message).in_file(MANIFEST_FILE));
            return None;
        }
        Err(_) => {
            let message =
                format!("the dependencies took longer than {DEPENDENCIES_MS_MAX} ms to install");
            report.push(Finding::error("dependency_unresolvable", message).in_file(MANIFEST_FILE));
            return None;
        }
    };
    let (lockfile, tree) = installed;
    for (key, entry) in &lockfile.packages {
        if !key.is_empty() && entry.integrity.is_none() {
            let message =
                format!("{key} has no integrity in the registry's answer: it cannot be locked");
            report.push(Finding::error("dependency_not_locked", message).in_file(MANIFEST_FILE));
        }
    }
    Some(actionflow_actions::packages::module_files(&tree))
}

/// Every check: [`static_checks`], the dependencies resolved (with `packages`), then in `runtime`
/// (under `limits`) the code loads and exports each supported trigger's handler, and the tests pass
/// with one success path among them.
pub async fn check_package(
    runtime: &dyn Engine,
    package: &Package,
    package_limits: &PackageLimits,
    history: &History,
    limits: &Limits,
    packages: Option<&Packages>,
) -> Report {
    let (mut report, manifest) = static_checks(package, package_limits, history);
    let Some(manifest) = manifest else {
        return report.sorted();
    };
    let code = package.text(CODE_FILE);
    let runnable = code.is_some()
        && !report.has("code_too_large")
        && !report.has("too_many_tests")
        && !report.has("esm_reexport")
        && !report.has("code_invalid")
        && !report.has("manifest_invalid");
    if !runnable {
        return report.sorted();
    }
    let code = code.unwrap_or_default();
    let Some(files) = dependency_files(&manifest, packages, &mut report).await else {
        return report.sorted();
    };
    if !load_findings(runtime, code, &manifest, limits, files.clone(), &mut report).await {
        return report.sorted();
    }
    let results = run_tests(runtime, package, &manifest, limits, files).await;
    if !results.is_empty() && !results.iter().any(|r| r.success_path && r.passed) {
        let message = "no passing test covers a success path (a run that completes without a deny)";
        report.push(Finding::error("no_success_test", message).in_file(TESTS_DIR));
    }
    for result in results {
        report.extend(result.findings);
    }
    report.sorted()
}

/// Loads the code for each trigger; false when it does not load.
async fn load_findings(
    runtime: &dyn Engine,
    code: &str,
    manifest: &Manifest,
    limits: &Limits,
    files: Arc<dyn ModuleFiles>,
    report: &mut Report,
) -> bool {
    let fixtures = serde_json::Value::Array(Vec::new());
    let wrapped: Arc<str> = Arc::from(wrap(
        code,
        &manifest.supported_triggers,
        &Default::default(),
        &manifest.network.hosts,
        Mode::Test {
            fixtures: &fixtures,
        },
    ));
    let mut loads = true;
    for trigger in &manifest.supported_triggers {
        let request = ExecutionRequest {
            tenant: "marketplace-checks".to_owned(),
            action: manifest.slug.clone(),
            version: String::new(),
            code: wrapped.clone(),
            files: files.clone(),
            trigger_id: trigger.clone(),
            event: Event::empty(),
            secrets: Secrets::default(),
            limits: limits.clone(),
        };
        match runtime.check(request).await {
            Ok(outcome) if outcome.status == Status::Completed => {}
            Ok(outcome) => {
                loads = false;
                let (message, line) = outcome
                    .error
                    .map(|e| (format!("{}: {}", e.name, e.message), e.line))
                    .unwrap_or_else(|| {
                        (
                            format!("the code did not load ({:?})", outcome.status),
                            None,
                        )
                    });
                let mut finding =
                    Finding::error("code_invalid", format!("for {trigger}: {message}"))
                        .in_file(CODE_FILE);
                // A line past the partner's code is the wrapper's own.
                if let Some(line) = line.filter(|l| (*l as usize) <= code.lines().count()) {
                    finding = finding.at_line(line);
                }
                report.push(finding);
            }
            Err(e) => {
                loads = false;
                report.push(
                    Finding::error("code_invalid", format!("for {trigger}: {e}"))
                        .in_file(CODE_FILE),
                );
            }
        }
    }
    loads
}
