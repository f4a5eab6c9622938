//! A package's files: read from a folder or a `.tgz` (entry by entry, never `unpack`: no absolute
//! paths, no `..`, no links or devices, bounded sizes and bounded decompression), packed back into
//! a deterministic `.tgz` (sorted, zero times and owners) whose sha256 names it.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Component, Path};

use sha2::{Digest, Sha256};

use crate::report::Finding;

pub const CODE_FILE: &str = "integration.action.js";
pub const GUIDE_FILE: &str = "installation_guide.md";
pub const LOGO_FILE: &str = "logo.png";
pub const TESTS_DIR: &str = "tests/";

/// Bounds on a package. Units last.
#[derive(Debug, Clone)]
pub struct PackageLimits {
    /// The action's code.
    pub code_bytes_max: usize,
    /// The `.tgz` as submitted.
    pub package_bytes_max: usize,
    /// Every file unpacked together: what decompression may produce.
    pub unpacked_bytes_max: u64,
    pub logo_bytes_max: usize,
    pub files_max: usize,
    /// `tests/*.json`: each one runs in the checks.
    pub tests_max: usize,
}

impl Default for PackageLimits {
    fn default() -> Self {
        PackageLimits {
            code_bytes_max: 100 * 1024,
            package_bytes_max: 5 * 1024 * 1024,
            unpacked_bytes_max: 20 * 1024 * 1024,
            logo_bytes_max: 512 * 1024,
            files_max: 200,
            tests_max: 20,
        }
    }
}

/// The files of a package by relative path (`tests/welcome.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Package {
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Why a package could not be read at all: one finding a partner can act on.
pub type ReadError = Finding;

fn refuse(code: &str, file: Option<&str>, message: String) -> ReadError {
    let finding = Finding::error(code, message);
    match file {
        Some(file) => finding.in_file(file),
        None => finding,
    }
}

impl Package {
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    pub fn text(&self, path: &str) -> Option<&str> {
        self.file(path).and_then(|b| std::str::from_utf8(b).ok())
    }

    /// `tests/*.json`, by name.
    pub fn tests(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().filter_map(|(path, bytes)| {
            let name = path.strip_prefix(TESTS_DIR)?;
            (name.ends_with(".json") && !name.contains('/'))
                .then_some((path.as_str(), bytes.as_slice()))
        })
    }

    /// Reads a folder (the partner's working copy): regular files only, hidden ones skipped.
    pub fn from_dir(dir: &Path, limits: &PackageLimits) -> Result<Package, ReadError> {
        let mut package = Package::default();
        let mut total = 0u64;
        read_dir_into(dir, "", &mut package, &mut total, limits)?;
        Ok(package)
    }

    /// Reads a `.tgz` safely (see the module's doc).
    pub fn from_tgz(bytes: &[u8], limits: &PackageLimits) -> Result<Package, ReadError> {
        if bytes.len() > limits.package_bytes_max {
            let message = format!(
                "the package is {} bytes, more than the limit of {}",
                bytes.len(),
                limits.package_bytes_max
            );
            return Err(refuse("package_too_large", None, message));
        }
        let gz = flate2::read::GzDecoder::new(bytes);
        let bounded = Bounded {
            inner: gz,
            left: limits.unpacked_bytes_max,
        };
        let mut archive = tar::Archive::new(bounded);
        let mut package = Package::default();
        let unreadable = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::FileTooLarge {
                let message = format!(
                    "the package unpacks to more than {} bytes (a decompression bomb?)",
                    limits.unpacked_bytes_max
                );
                refuse("decompression_limit", None, message)
            } else {
                refuse("archive_invalid", None, format!("not a readable .tgz: {e}"))
            }
        };
        for entry in archive.entries().map_err(unreadable)? {
            let mut entry = entry.map_err(unreadable)?;
            let raw = entry.path_bytes().into_owned();
            let shown = String::from_utf8_lossy(&raw).into_owned();
            let kind = entry.header().entry_type();
            if kind.is_dir() {
                relative_path(&shown)?;
                continue;
            }
            if !kind.is_file() {
                let message = format!(
                    "{shown} is a link or a special file; packages hold regular files only"
                );
                return Err(refuse("archive_link", Some(&shown), message));
            }
            let path = relative_path(&shown)?;
            if package.files.len() >= limits.files_max {
                let message = format!("more than {} files", limits.files_max);
                return Err(refuse("too_many_files", None, message));
            }
            let mut content = Vec::new();
            entry.read_to_end(&mut content).map_err(unreadable)?;
            if package.files.insert(path.clone(), content).is_some() {
                return Err(refuse(
                    "archive_invalid",
                    Some(&path),
                    format!("{path} appears twice"),
                ));
            }
        }
        Ok(package.without_common_root())
    }

    /// `npm pack` and `tar czf x.tgz folder` put everything under one folder: drop it.
    fn without_common_root(self) -> Package {
        let mut roots = self
            .files
            .keys()
            .map(|p| p.split_once('/').map(|(root, _)| root));
        let Some(Some(first)) = roots.next() else {
            return self;
        };
        let first = first.to_owned();
        if !self
            .files
            .keys()
            .all(|p| p.split_once('/').is_some_and(|(r, _)| r == first))
        {
            return self;
        }
        if self.files.contains_key(crate::manifest::MANIFEST_FILE) {
            return self;
        }
        let prefix = format!("{first}/");
        Package {
            files: self
                .files
                .into_iter()
                .map(|(p, b)| (p[prefix.len()..].to_owned(), b))
                .collect(),
        }
    }

    /// The deterministic `.tgz`: files sorted by path, mode 0644, owner 0, time 0, no gzip name or
    /// time. The same files always give the same bytes.
    pub fn pack(&self) -> Vec<u8> {
        let gz = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::new(9));
        let mut builder = tar::Builder::new(gz);
        builder.mode(tar::HeaderMode::Deterministic);
        for (path, bytes) in &self.files {
            let mut header = tar::Header::new_ustar();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            header.set_entry_type(tar::EntryType::Regular);
            // Writing to memory fails only on paths tar cannot store, which our checks refused.
            if let Err(error) = builder.append_data(&mut header, path, bytes.as_slice()) {
                tracing::warn!(%error, path, "packing");
            }
        }
        let gz = builder.into_inner().and_then(|gz| gz.finish());
        gz.unwrap_or_default()
    }
}

/// The hex sha256 of package bytes.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A relative path of plain components only, as `a/b` text.
fn relative_path(shown: &str) -> Result<String, ReadError> {
    let path = Path::new(shown);
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => match part.to_str() {
                Some(part) => parts.push(part.to_owned()),
                None => {
                    return Err(refuse(
                        "archive_invalid",
                        Some(shown),
                        format!("{shown}: the path is not UTF-8"),
                    ))
                }
            },
            Component::CurDir => {}
            Component::ParentDir => {
                let message = format!("{shown} climbs out of the package (`..`)");
                return Err(refuse("path_traversal", Some(shown), message));
            }
            Component::RootDir | Component::Prefix(_) => {
                let message = format!("{shown} is an absolute path");
                return Err(refuse("absolute_path", Some(shown), message));
            }
        }
    }
    if parts.is_empty() {
        return Err(refuse(
            "archive_invalid",
            Some(shown),
            "an entry without a name".to_owned(),
        ));
    }
    Ok(parts.join("/"))
}

fn read_dir_into(
    dir: &Path,
    prefix: &str,
    package: &mut Package,
    total: &mut u64,
    limits: &PackageLimits,
) -> Result<(), ReadError> {
    let io =
        |e: std::io::Error| refuse("folder_unreadable", None, format!("{}: {e}", dir.display()));
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name.starts_with('.') || name.ends_with(".tgz") {
            continue;
        }
        let path = format!("{prefix}{name}");
        let kind = entry.file_type().map_err(io)?;
        if kind.is_symlink() {
            let message = format!("{path} is a link; packages hold regular files only");
            return Err(refuse("archive_link", Some(&path), message));
        }
        if kind.is_dir() {
            read_dir_into(&entry.path(), &format!("{path}/"), package, total, limits)?;
            continue;
        }
        let bytes = std::fs::read(entry.path()).map_err(io)?;
        *total += bytes.len() as u64;
        if *total > limits.unpacked_bytes_max || package.files.len() >= limits.files_max {
            let message = "the folder holds more than a package may".to_owned();
            return Err(refuse("package_too_large", None, message));
        }
        package.files.insert(path, bytes);
    }
    Ok(())
}

/// A reader that fails with `FileTooLarge` past `left` bytes: decompression stops there.
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let n64 = n as u64;
        if n64 > self.left {
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                "decompression limit",
            ));
        }
        self.left -= n64;
        Ok(n)
    }
}

/// Writes `package.pack()` to `path`; returns its digest.
pub fn write_tgz(package: &Package, path: &Path) -> std::io::Result<String> {
    let bytes = package.pack();
    let mut file = std::fs::File::create(path)?;
    file.write_all(&bytes)?;
    Ok(digest(&bytes))
}
