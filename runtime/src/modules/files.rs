//! Read-only access to an action's package files by virtual path (`/node_modules/ms/index.js`).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// The files an action may load. Paths are absolute, normalised, `/`-separated virtual paths.
pub trait ModuleFiles: Send + Sync {
    fn read(&self, path: &str) -> Option<String>;
    fn is_file(&self, path: &str) -> bool;
    fn is_dir(&self, path: &str) -> bool;
    /// The package directories on disk behind these files, by virtual mount path, for an engine that
    /// hands them to another process (which opens them itself, read-only). `None`: these files
    /// cannot be described so (they are not on disk), and such an engine refuses the execution.
    fn mounts(&self) -> Option<BTreeMap<String, PathBuf>>;
}

/// An action without packages.
pub struct NoFiles;

impl ModuleFiles for NoFiles {
    fn read(&self, _: &str) -> Option<String> {
        None
    }
    fn is_file(&self, _: &str) -> bool {
        false
    }
    fn is_dir(&self, _: &str) -> bool {
        false
    }
    fn mounts(&self) -> Option<BTreeMap<String, PathBuf>> {
        Some(BTreeMap::new())
    }
}

/// Package directories on disk (unpacked, verified, in the registry's cache) mounted at virtual paths
/// such as `/node_modules/a` or `/node_modules/a/node_modules/b`.
pub struct PackageMounts {
    mounts: BTreeMap<String, PathBuf>,
    file_bytes_max: u64,
}

impl PackageMounts {
    pub fn new(mounts: BTreeMap<String, PathBuf>) -> PackageMounts {
        PackageMounts {
            mounts,
            file_bytes_max: 16 * 1024 * 1024,
        }
    }

    /// The disk path behind a virtual path: the longest mount that is a prefix at a `/` boundary.
    fn disk_path(&self, path: &str) -> Option<PathBuf> {
        let mut prefix = path;
        loop {
            if let Some(dir) = self.mounts.get(prefix) {
                let rest = &path[prefix.len()..];
                let rel = Path::new(rest.trim_start_matches('/'));
                if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
                    return None;
                }
                return Some(dir.join(rel));
            }
            prefix = &prefix[..prefix.rfind('/')?];
            if prefix.is_empty() {
                return None;
            }
        }
    }
}

impl ModuleFiles for PackageMounts {
    fn mounts(&self) -> Option<BTreeMap<String, PathBuf>> {
        Some(self.mounts.clone())
    }

    fn read(&self, path: &str) -> Option<String> {
        let disk = self.disk_path(path)?;
        let meta = std::fs::symlink_metadata(&disk).ok()?;
        if !meta.is_file() || meta.len() > self.file_bytes_max {
            return None;
        }
        std::fs::read_to_string(disk).ok()
    }

    fn is_file(&self, path: &str) -> bool {
        self.disk_path(path)
            .and_then(|p| std::fs::symlink_metadata(p).ok())
            .is_some_and(|m| m.is_file())
    }

    fn is_dir(&self, path: &str) -> bool {
        let as_parent = format!("{path}/");
        if self
            .mounts
            .range(as_parent.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&as_parent))
        {
            return true;
        }
        self.disk_path(path)
            .and_then(|p| std::fs::symlink_metadata(p).ok())
            .is_some_and(|m| m.is_dir())
    }
}
