//! Making a lockfile's packages present in the cache: download what is missing (bounded concurrency),
//! verify it against the lockfile's integrity, unpack it atomically; enforce the size limits.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::stream::{self, StreamExt as _};

use crate::cache::Cache;
use crate::integrity::{Algorithm, Integrity};
use crate::lockfile::{install_name, Lockfile};
use crate::resolve::{NetworkMode, ResolveOptions};
use crate::source::PackageSource;
use crate::unpack::UnpackLimits;
use crate::Error;

/// What [`ensure_cached`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Distinct tarballs downloaded.
    pub downloaded: usize,
    /// Distinct packages already in the cache.
    pub cached: usize,
    /// Unpacked bytes of all distinct packages.
    pub unpacked_bytes: u64,
}

struct Job {
    label: String,
    name: String,
    version: String,
    url: String,
    integrity: Integrity,
    /// Lockfile keys holding this content.
    keys: Vec<String>,
    /// Every one of those keys is present only through optional dependencies.
    optional: bool,
}

/// An optional package that could not be made present, and why.
#[derive(Debug, Clone)]
pub(crate) struct Skipped {
    pub keys: Vec<String>,
    pub message: String,
}

/// Ensures every package of `lockfile` is in `cache`, downloading and verifying missing ones.
pub async fn ensure_cached(
    source: &dyn PackageSource,
    cache: &Cache,
    lockfile: &Lockfile,
    options: &ResolveOptions,
) -> Result<FetchStats, Error> {
    fetch(source, cache, lockfile, options, false)
        .await
        .map(|(stats, _)| stats)
}

/// [`ensure_cached`]; with `skip_optional`, a failure of a package present only through optional
/// dependencies is returned as [`Skipped`] instead of failing (npm drops such packages).
pub(crate) async fn fetch(
    source: &dyn PackageSource,
    cache: &Cache,
    lockfile: &Lockfile,
    options: &ResolveOptions,
    skip_optional: bool,
) -> Result<(FetchStats, Vec<Skipped>), Error> {
    let total = Arc::new(AtomicU64::new(0));
    let mut stats = FetchStats::default();
    let mut missing = Vec::new();
    for job in jobs(lockfile)? {
        match cache.package_meta(&job.integrity) {
            Some(meta) => {
                stats.cached += 1;
                add_bytes(&total, meta.unpacked_bytes, &job.label, options)?;
            }
            None if options.network == NetworkMode::Offline => {
                return Err(Error::NotCachedOffline { package: job.label });
            }
            None => missing.push(job),
        }
    }
    let mut downloads = stream::iter(missing.into_iter().map(|job| {
        let total = Arc::clone(&total);
        async move {
            let (keys, optional, label) = (job.keys.clone(), job.optional, job.label.clone());
            (
                keys,
                optional,
                label,
                download(source, cache, job, options, total).await,
            )
        }
    }))
    .buffer_unordered(options.concurrency_max.max(1));
    let mut skipped = Vec::new();
    while let Some((keys, optional, label, result)) = downloads.next().await {
        match result {
            Ok(()) => stats.downloaded += 1,
            Err(error) if optional && skip_optional => {
                let message = format!("skipped optional package {label}: {error}");
                tracing::warn!("{message}");
                skipped.push(Skipped { keys, message });
            }
            Err(error) => return Err(error),
        }
    }
    stats.unpacked_bytes = total.load(Ordering::Relaxed);
    Ok((stats, skipped))
}

/// One job per distinct content (the same name@version may sit at several keys).
fn jobs(lockfile: &Lockfile) -> Result<Vec<Job>, Error> {
    lockfile.validate()?;
    let mut jobs: BTreeMap<(Algorithm, String), Job> = BTreeMap::new();
    for (key, entry) in lockfile.packages.iter().filter(|(k, _)| !k.is_empty()) {
        let name = entry
            .name
            .clone()
            .unwrap_or_else(|| install_name(key).unwrap_or(key).to_string());
        let version = entry.version.clone().unwrap_or_default();
        let integrity = entry
            .integrity
            .as_deref()
            .and_then(Integrity::parse)
            .ok_or_else(|| Error::BadIntegrity {
                package: format!("{name}@{version}"),
                reason: "the lockfile has no usable integrity".into(),
            })?;
        let job = jobs
            .entry((integrity.algorithm, integrity.hex()))
            .or_insert(Job {
                label: format!("{name}@{version}"),
                name,
                version,
                url: entry.resolved.clone().unwrap_or_default(),
                integrity,
                keys: Vec::new(),
                optional: true,
            });
        job.keys.push(key.clone());
        job.optional &= entry.optional;
    }
    Ok(jobs.into_values().collect())
}

fn add_bytes(
    total: &AtomicU64,
    bytes: u64,
    label: &str,
    options: &ResolveOptions,
) -> Result<(), Error> {
    let now = total.fetch_add(bytes, Ordering::Relaxed) + bytes;
    if now > options.unpacked_bytes_max {
        return Err(Error::LimitExceeded {
            package: label.to_string(),
            limit: "unpacked_bytes_max",
            value: now,
            max: options.unpacked_bytes_max,
        });
    }
    Ok(())
}

async fn download(
    source: &dyn PackageSource,
    cache: &Cache,
    job: Job,
    options: &ResolveOptions,
    total: Arc<AtomicU64>,
) -> Result<(), Error> {
    let bytes = source
        .tarball(&job.label, &job.url, options.tarball_bytes_max)
        .await?;
    let limits = UnpackLimits {
        entry_bytes_max: options.entry_bytes_max,
        unpacked_bytes_max: options
            .unpacked_bytes_max
            .saturating_sub(total.load(Ordering::Relaxed)),
        entries_max: options.tarball_entries_max,
    };
    let cache = cache.clone();
    let label = job.label.clone();
    let unpacked = tokio::task::spawn_blocking(move || {
        let verified = job.integrity.verify(&job.label, &bytes)?;
        cache.store_package(&job.name, &job.version, &verified, &bytes, &limits)
    })
    .await
    .map_err(|e| Error::CorruptTarball {
        package: label.clone(),
        message: format!("unpacking task failed: {e}"),
    })??;
    add_bytes(&total, unpacked, &label, options)
}
