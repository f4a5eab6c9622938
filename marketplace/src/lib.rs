//! `actionflow-marketplace` owns the marketplace: integration packages (a folder or its `.tgz`:
//! `integration.json`, `integration.action.js`, `installation_guide.md`, `logo.png`,
//! `tests/*.json`), reading them safely, packing them deterministically, the automated checks and
//! the package tests in the real runtime (run in the background, outside the submit request), the
//! code that runs an installed copy (the partner's CommonJS or ES module, wrapped to receive
//! `event.configuration` and held to `network.hosts`).
//!
//! It knows nothing of HTTP, utoipa, SQL or the environment: the embedder hands it the runtime,
//! the store and every limit. Installed copies are actions made through the `actions` lifecycle,
//! the same path as any action.

mod catalog;
mod checker;
pub mod checks;
mod compat;
mod decide;
mod error;
mod esm;
pub mod harness;
mod install;
pub mod manifest;
pub mod package;
mod reads;
pub mod report;
pub mod review;
pub mod scaffold;
pub mod scan;
mod service;
mod submit;
mod text_edits;
mod values;
pub mod wrap;

pub use catalog::{CatalogQuery, ListedVersion, Listing, ListingDetail};
pub use checker::CheckSettings;
pub use checks::{check_package, static_checks, History};
pub use compat::breaking_changes;
pub use error::{Error, Result};
pub use install::{Bind, InstallRequest, InstalledView, UpgradeRequest};
pub use manifest::{Manifest, Version};
pub use package::{digest, Package, PackageLimits};
pub use report::{Finding, Report, Severity};
pub use review::{Decision, State};
pub use service::{
    report_of, Actor, Marketplace, MarketplaceLimits, ReviewMaterial, SubmissionView, Viewer,
    TEST_WALL_MS_MAX,
};
