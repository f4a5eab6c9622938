//! An in-memory `PackageSource`: packuments and tarballs held in maps, with request counters.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::future::BoxFuture;
use futures::FutureExt as _;

use super::{PackageSource, PackumentFetch, Validators};
use crate::Error;

/// Serves what was put in it; unknown names and URLs behave like a registry's 404.
#[derive(Debug, Default)]
pub struct MemorySource {
    packuments: BTreeMap<String, Vec<u8>>,
    tarballs: BTreeMap<String, Vec<u8>>,
    requests: AtomicUsize,
}

impl MemorySource {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a packument body.
    pub fn add_packument(&mut self, package: &str, body: Vec<u8>) {
        self.packuments.insert(package.to_string(), body);
    }

    /// Adds (or replaces) a tarball served at `url`.
    pub fn add_tarball(&mut self, url: &str, bytes: Vec<u8>) {
        self.tarballs.insert(url.to_string(), bytes);
    }

    /// How many requests were answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

impl PackageSource for MemorySource {
    fn origin_of(&self, _package: &str) -> String {
        "memory:".to_string()
    }

    fn packument<'a>(
        &'a self,
        package: &'a str,
        _validators: Option<&'a Validators>,
    ) -> BoxFuture<'a, Result<PackumentFetch, Error>> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let found = self.packuments.get(package).cloned();
        async move {
            let body = found.ok_or_else(|| Error::UnknownPackage {
                package: package.to_string(),
                url: format!("memory:{package}"),
                wanted: String::new(),
            })?;
            Ok(PackumentFetch::Modified {
                body,
                validators: Validators::default(),
            })
        }
        .boxed()
    }

    fn tarball<'a>(
        &'a self,
        package: &'a str,
        url: &'a str,
        bytes_max: u64,
    ) -> BoxFuture<'a, Result<Vec<u8>, Error>> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let found = self.tarballs.get(url).cloned();
        async move {
            let bytes = found.ok_or_else(|| Error::HttpStatus {
                url: url.to_string(),
                status: 404,
            })?;
            if bytes.len() as u64 > bytes_max {
                return Err(Error::LimitExceeded {
                    package: package.to_string(),
                    limit: "tarball_bytes_max",
                    value: bytes.len() as u64,
                    max: bytes_max,
                });
            }
            Ok(bytes)
        }
        .boxed()
    }
}
