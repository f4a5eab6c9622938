//! Read-only access to an action's package files by virtual path (`/node_modules/ms/index.js`).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// The files an action may load. Paths are absolute, normalised, `/`-separated virtual paths.
pub trait ModuleFiles: Send + Sync {
    fn read(&self, path: &str) -> Option<String>;
    fn is_file(&self, path: &str) -> bool;
    fn is_dir(&self, path: &str) -> bool;
    /// A file's bytes (`fs.readFileSync` of a package's data file need not be UTF-8).
    fn read_bytes(&self, path: &str) -> Option<Vec<u8>> {
        self.read(path).map(String::into_bytes)
    }
    /// A file's size in bytes, `None` when it is not a file.
    fn file_size(&self, path: &str) -> Option<u64> {
        self.read_bytes(path).map(|b| b.len() as u64)
    }
    /// The entries of a directory: (name, is a directory). `None` when it is not one.
    fn read_dir(&self, _path: &str) -> Option<Vec<(String, bool)>> {
        None
    }
    /// A file opened read-only, for streaming reads (`fs.createReadStream`, file handles). `None`
    /// when it is not a file on disk.
    fn open(&self, _path: &str) -> Option<std::fs::File> {
        None
    }
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

    fn read_bytes(&self, path: &str) -> Option<Vec<u8>> {
        let disk = self.disk_path(path)?;
        let meta = std::fs::symlink_metadata(&disk).ok()?;
        if !meta.is_file() || meta.len() > self.file_bytes_max {
            return None;
        }
        std::fs::read(disk).ok()
    }

    fn file_size(&self, path: &str) -> Option<u64> {
        let meta = std::fs::symlink_metadata(self.disk_path(path)?).ok()?;
        (meta.is_file() && meta.len() <= self.file_bytes_max).then_some(meta.len())
    }

    fn open(&self, path: &str) -> Option<std::fs::File> {
        let disk = self.disk_path(path)?;
        if !std::fs::symlink_metadata(&disk).ok()?.is_file() {
            return None;
        }
        std::fs::File::open(disk).ok()
    }

    fn read_dir(&self, path: &str) -> Option<Vec<(String, bool)>> {
        let path = path.trim_end_matches('/');
        let as_parent = format!("{path}/");
        // Mounts below `path` show as directories (`/node_modules` holds no disk directory itself).
        let mut entries: BTreeMap<String, bool> = self
            .mounts
            .range(as_parent.clone()..)
            .take_while(|(k, _)| k.starts_with(&as_parent))
            .filter_map(|(k, _)| {
                k[as_parent.len()..]
                    .split('/')
                    .next()
                    .map(|n| (n.to_owned(), true))
            })
            .collect();
        let disk = self.disk_path(path).filter(|p| p.is_dir());
        if disk.is_none() && entries.is_empty() {
            return None;
        }
        if let Some(dir) = disk {
            for entry in std::fs::read_dir(dir).ok()?.flatten() {
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_symlink() {
                    continue;
                }
                entries
                    .entry(entry.file_name().to_string_lossy().into_owned())
                    .or_insert(kind.is_dir());
            }
        }
        Some(entries.into_iter().collect())
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
