//! `actionflow-marketplace` owns the marketplace: integration packages (a folder or its `.tgz`:
//! `integration.json`, `integration.action.js`, `installation_guide.md`, `logo.png`,
//! `tests/*.json`), reading them safely, packing them deterministically, the automated checks and
//! the package tests in the real runtime, the code that runs an installed copy (the partner's
//! bytes, wrapped to receive `event.configuration` and held to `network.hosts`).
//!
//! It knows nothing of HTTP, utoipa, SQL or the environment: the embedder hands it the runtime,
//! the store and every limit. Installed copies are actions made through the `actions` lifecycle,
//! the same path as any action.

pub mod checks;
pub mod harness;
pub mod manifest;
pub mod package;
pub mod report;
pub mod scan;
pub mod wrap;

pub use checks::{breaking_changes, check_package, static_checks, History};
pub use manifest::{Manifest, Version};
pub use package::{digest, Package, PackageLimits};
pub use report::{Finding, Report, Severity};
