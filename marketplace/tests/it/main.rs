//! The marketplace's packages and checks, over the real runtime: the reference package passes,
//! and each refused package gets the finding a partner can act on.

mod archive;
mod checks;
mod wrap;

use std::path::PathBuf;

use actionflow_marketplace::{Package, PackageLimits};
use actionflow_runtime::{Limits, PoolConfig, Runtime};

pub fn ses_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../integrations/packages/ses-welcome-email")
}

pub fn ses_package() -> Package {
    Package::from_dir(&ses_dir(), &PackageLimits::default()).expect("the reference package reads")
}

/// The same package written as an ES module.
pub fn ses_esm_package() -> Package {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../integrations/packages/ses-welcome-email-esm");
    Package::from_dir(&dir, &PackageLimits::default()).expect("the ES module package reads")
}

pub fn runtime() -> Runtime {
    Runtime::new(PoolConfig::default()).expect("a runtime")
}

/// Tight enough that a looping test ends fast.
pub fn limits() -> Limits {
    Limits {
        wall_ms_max: 3_000,
        cpu_ms_max: 1_000,
        ..Limits::default()
    }
}
