//! The `PackageSource` seam: where packuments and tarballs come from. [`HttpSource`] talks to npm
//! registries; [`MemorySource`] serves bytes held in memory (unit tests, embedding).

mod http;
mod memory;
mod transport;

pub use http::{HttpOptions, HttpSource};
pub use memory::MemorySource;

use futures::future::BoxFuture;

use crate::Error;

/// Cache validators from a previous packument response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The result of a (possibly conditional) packument request.
#[derive(Debug)]
pub enum PackumentFetch {
    /// A new body, with validators for next time.
    Modified {
        body: Vec<u8>,
        validators: Validators,
    },
    /// The cached copy is still current (HTTP 304).
    NotModified,
}

/// A registry: packuments by name, tarballs by URL.
pub trait PackageSource: Send + Sync {
    /// Where `package` comes from (its registry URL); the packument cache is keyed by this and the name.
    fn origin_of(&self, package: &str) -> String;

    /// Fetches the abbreviated packument of `package`, conditionally when `validators` are given.
    fn packument<'a>(
        &'a self,
        package: &'a str,
        validators: Option<&'a Validators>,
    ) -> BoxFuture<'a, Result<PackumentFetch, Error>>;

    /// Fetches a tarball; more than `bytes_max` bytes is an error naming `package`.
    fn tarball<'a>(
        &'a self,
        package: &'a str,
        url: &'a str,
        bytes_max: u64,
    ) -> BoxFuture<'a, Result<Vec<u8>, Error>>;
}
