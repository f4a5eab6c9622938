//! The on-disk cache: packuments keyed by registry and name, and unpacked packages addressed by the hash of
//! their tarball (`content/<algorithm>/<hex>/package/`).
//!
//! Every write goes to `tmp/` on the same filesystem and is renamed into place, so a crash leaves either
//! nothing or a complete entry — never a half package that looks valid.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::integrity::Integrity;
use crate::source::Validators;
use crate::unpack::{unpack, UnpackLimits};
use crate::Error;

/// A cache directory. Cheap to clone; safe to share between processes.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

/// A cached packument body with its validators and age.
#[derive(Debug)]
pub struct CachedPackument {
    pub fetched_ms: u64,
    pub validators: Validators,
    pub body: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct PackumentMeta {
    fetched_ms: u64,
    etag: Option<String>,
    last_modified: Option<String>,
}

/// `meta.json` next to an unpacked package.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageMeta {
    pub name: String,
    pub version: String,
    pub unpacked_bytes: u64,
}

impl Cache {
    /// Opens (creating if needed) a cache rooted at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Cache, Error> {
        let root = root.into();
        for sub in ["content", "packuments", "tmp"] {
            let dir = root.join(sub);
            fs::create_dir_all(&dir).map_err(Error::io("creating", &dir))?;
        }
        let cache = Cache { root };
        cache.remove_stale_temporaries();
        Ok(cache)
    }

    /// Removes what crashed writers left in `tmp/` (older than an hour, so live writers are untouched).
    fn remove_stale_temporaries(&self) {
        let Ok(entries) = fs::read_dir(self.root.join("tmp")) else {
            return;
        };
        let hour_ago = SystemTime::now() - std::time::Duration::from_secs(3600);
        for entry in entries.flatten() {
            let modified = entry.metadata().and_then(|m| m.modified());
            if modified.is_ok_and(|m| m < hour_ago) {
                let path = entry.path();
                let removed = if path.is_dir() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
                if let Err(error) = removed {
                    tracing::warn!(%error, path = %path.display(), "could not remove a stale temporary");
                }
            }
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `content/<algorithm>/<hex>`: the entry for a tarball with this integrity.
    fn entry_dir(&self, integrity: &Integrity) -> PathBuf {
        self.root
            .join("content")
            .join(integrity.algorithm.name())
            .join(integrity.hex())
    }

    /// The cached entry of any digest the integrity lists. An entry is only ever stored under the
    /// digest its tarball actually has (see `Integrity::verify`), so any listed one is a match.
    fn cached_entry(&self, integrity: &Integrity) -> Option<(PathBuf, PackageMeta)> {
        integrity.each().find_map(|one| {
            let dir = self.entry_dir(&one);
            let bytes = fs::read(dir.join("meta.json")).ok()?;
            serde_json::from_slice(&bytes).ok().map(|meta| (dir, meta))
        })
    }

    /// The directory holding the unpacked files of the package with this integrity.
    pub fn package_dir(&self, integrity: &Integrity) -> PathBuf {
        self.cached_entry(integrity)
            .map_or_else(|| self.entry_dir(integrity), |(dir, _)| dir)
            .join("package")
    }

    /// The metadata of a cached package, `None` when it is not (completely) cached.
    pub fn package_meta(&self, integrity: &Integrity) -> Option<PackageMeta> {
        self.cached_entry(integrity).map(|(_, meta)| meta)
    }

    /// Unpacks a verified tarball into the cache and renames it into place. Returns its unpacked size.
    /// `integrity` is what `Integrity::verify` returned for `tgz`: the one digest it has.
    pub fn store_package(
        &self,
        meta_name: &str,
        version: &str,
        integrity: &Integrity,
        tgz: &[u8],
        limits: &UnpackLimits,
    ) -> Result<u64, Error> {
        let label = format!("{meta_name}@{version}");
        let tmp = self.temp_dir()?;
        let staging = tmp.path().join("entry");
        let package_dir = staging.join("package");
        fs::create_dir_all(&package_dir).map_err(Error::io("creating", &package_dir))?;
        let unpacked_bytes = unpack(&label, tgz, &package_dir, limits)?;
        let meta = PackageMeta {
            name: meta_name.to_string(),
            version: version.to_string(),
            unpacked_bytes,
        };
        let meta_path = staging.join("meta.json");
        let meta_json =
            serde_json::to_vec(&meta).map_err(|e| Error::io("encoding", &meta_path)(e.into()))?;
        fs::write(&meta_path, meta_json).map_err(Error::io("writing", &meta_path))?;
        let target = self.entry_dir(integrity);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(Error::io("creating", parent))?;
        }
        match fs::rename(&staging, &target) {
            Ok(()) => Ok(unpacked_bytes),
            // Another process stored the same content first: identical by construction, keep theirs.
            Err(_) if target.join("meta.json").is_file() => Ok(unpacked_bytes),
            // A directory without `meta.json` is not an entry we wrote (they appear only complete): replace it.
            Err(_) if target.is_dir() => {
                fs::remove_dir_all(&target)
                    .map_err(Error::io("removing an incomplete entry", &target))?;
                fs::rename(&staging, &target).map_err(Error::io("renaming into", &target))?;
                Ok(unpacked_bytes)
            }
            Err(e) => Err(Error::io("renaming into", &target)(e)),
        }
    }

    fn temp_dir(&self) -> Result<tempfile::TempDir, Error> {
        let tmp = self.root.join("tmp");
        tempfile::Builder::new()
            .prefix("af-")
            .tempdir_in(&tmp)
            .map_err(Error::io("creating a temporary directory in", &tmp))
    }

    fn packument_path(&self, origin: &str, package: &str) -> PathBuf {
        let mut hasher = Sha256::new();
        hasher.update(origin.as_bytes());
        hasher.update([0]);
        hasher.update(package.as_bytes());
        let hex: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.root.join("packuments").join(format!("{hex}.json"))
    }

    /// The cached packument of `package` from `origin`, if any (an unreadable file counts as absent).
    pub fn read_packument(&self, origin: &str, package: &str) -> Option<CachedPackument> {
        let bytes = fs::read(self.packument_path(origin, package)).ok()?;
        let newline = bytes.iter().position(|b| *b == b'\n')?;
        let meta: PackumentMeta = serde_json::from_slice(&bytes[..newline]).ok()?;
        Some(CachedPackument {
            fetched_ms: meta.fetched_ms,
            validators: Validators {
                etag: meta.etag,
                last_modified: meta.last_modified,
            },
            body: bytes[newline + 1..].to_vec(),
        })
    }

    /// Stores a packument body (meta line, newline, body) atomically.
    pub fn write_packument(
        &self,
        origin: &str,
        package: &str,
        validators: &Validators,
        body: &[u8],
    ) -> Result<(), Error> {
        let meta = PackumentMeta {
            fetched_ms: now_ms(),
            etag: validators.etag.clone(),
            last_modified: validators.last_modified.clone(),
        };
        let path = self.packument_path(origin, package);
        let mut data =
            serde_json::to_vec(&meta).map_err(|e| Error::io("encoding", &path)(e.into()))?;
        data.push(b'\n');
        data.extend_from_slice(body);
        self.write_atomically(&path, &data)
    }

    /// Marks a cached packument as just revalidated (after a 304).
    pub fn touch_packument(
        &self,
        origin: &str,
        package: &str,
        cached: &CachedPackument,
    ) -> Result<(), Error> {
        self.write_packument(origin, package, &cached.validators, &cached.body)
    }

    fn write_atomically(&self, path: &Path, data: &[u8]) -> Result<(), Error> {
        let tmp = self.root.join("tmp");
        let file = tempfile::NamedTempFile::new_in(&tmp)
            .map_err(Error::io("creating a temporary file in", &tmp))?;
        fs::write(file.path(), data).map_err(Error::io("writing", file.path()))?;
        file.persist(path)
            .map_err(|e| Error::io("renaming into", path)(e.error))?;
        Ok(())
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
