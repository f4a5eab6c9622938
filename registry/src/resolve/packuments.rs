//! Packument loading for one resolution: memoised per name, read from the cache when the network mode
//! allows, revalidated with ETag / Last-Modified otherwise, fetched concurrently per tree level.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures::future::join_all;

use super::{NetworkMode, ResolveOptions};
use crate::cache::{now_ms, Cache};
use crate::packument::Packument;
use crate::source::{PackageSource, PackumentFetch};
use crate::Error;

/// Loaded packuments (or the error loading each produced, so optional dependencies can skip).
pub(crate) struct Packuments<'a> {
    source: &'a dyn PackageSource,
    cache: &'a Cache,
    options: &'a ResolveOptions,
    loaded: HashMap<String, Result<Arc<Packument>, Error>>,
    /// Requests that went to the source (for statistics and tests).
    pub(crate) network_requests: usize,
}

impl<'a> Packuments<'a> {
    pub(crate) fn new(
        source: &'a dyn PackageSource,
        cache: &'a Cache,
        options: &'a ResolveOptions,
    ) -> Self {
        Packuments {
            source,
            cache,
            options,
            loaded: HashMap::new(),
            network_requests: 0,
        }
    }

    /// Loads every name not loaded yet, concurrently.
    pub(crate) async fn load_all(&mut self, names: BTreeSet<String>) {
        let missing: Vec<String> = names
            .into_iter()
            .filter(|n| !self.loaded.contains_key(n))
            .collect();
        let results = join_all(missing.iter().map(|name| self.load_one(name))).await;
        for (name, (result, went_to_network)) in missing.into_iter().zip(results) {
            self.network_requests += usize::from(went_to_network);
            self.loaded.insert(name, result.map(Arc::new));
        }
    }

    /// A loaded packument, or why it could not be loaded. `load_all` must have been called for the name.
    pub(crate) fn get(&self, name: &str) -> Option<Result<Arc<Packument>, &Error>> {
        self.loaded.get(name).map(|r| r.as_ref().map(Arc::clone))
    }

    /// Takes the loading error of `name` out (the resolution is being abandoned because of it).
    pub(crate) fn take_error(&mut self, name: &str) -> Option<Error> {
        match self.loaded.remove(name) {
            Some(Err(error)) => Some(error),
            Some(ok) => {
                self.loaded.insert(name.to_string(), ok);
                None
            }
            None => None,
        }
    }

    async fn load_one(&self, name: &str) -> (Result<Packument, Error>, bool) {
        let origin = self.source.origin_of(name);
        let cached = self.cache.read_packument(&origin, name);
        let fresh = cached.as_ref().is_some_and(|c| match self.options.network {
            NetworkMode::Online => {
                now_ms().saturating_sub(c.fetched_ms) < self.options.packument_max_age_ms
            }
            NetworkMode::PreferOffline | NetworkMode::Offline => true,
        });
        if let Some(cached) = cached.as_ref().filter(|_| fresh) {
            match Packument::parse(name, &cached.body) {
                Ok(packument) => return (Ok(packument), false),
                // A damaged cache file is refetched rather than trusted or fatal.
                Err(error) => {
                    tracing::warn!(%error, package = name, "ignoring unreadable cached packument")
                }
            }
        }
        if self.options.network == NetworkMode::Offline {
            return (
                Err(Error::NotCachedOffline {
                    package: name.to_string(),
                }),
                false,
            );
        }
        let validators = cached.as_ref().map(|c| &c.validators);
        let result = match self.source.packument(name, validators).await {
            Ok(PackumentFetch::Modified { body, validators }) => {
                let parsed = Packument::parse(name, &body);
                if parsed.is_ok() {
                    if let Err(error) =
                        self.cache
                            .write_packument(&origin, name, &validators, &body)
                    {
                        tracing::warn!(%error, package = name, "could not cache packument");
                    }
                }
                parsed
            }
            Ok(PackumentFetch::NotModified) => match cached {
                Some(cached) => {
                    if let Err(error) = self.cache.touch_packument(&origin, name, &cached) {
                        tracing::warn!(%error, package = name, "could not refresh cached packument");
                    }
                    Packument::parse(name, &cached.body)
                }
                None => Err(Error::InvalidPackument {
                    package: name.to_string(),
                    message: "the registry answered 304 to an unconditional request".into(),
                }),
            },
            // Like npm: a registry outage falls back to a stale cached copy, with a warning.
            Err(error @ (Error::Network { .. } | Error::HttpStatus { .. })) => match cached {
                Some(cached) => {
                    tracing::warn!(%error, package = name, "registry unreachable, using cached packument");
                    Packument::parse(name, &cached.body)
                }
                None => Err(error),
            },
            Err(error) => Err(error),
        };
        (result, true)
    }
}
