//! Safe tarball extraction: gunzip and untar entry by entry (never `Archive::unpack`), stripping the single
//! top folder, refusing absolute paths, `..`, links, devices and oversize entries.

use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;
use tar::{Archive, EntryType};

use crate::Error;

/// Bounds on one extraction.
#[derive(Debug, Clone, Copy)]
pub struct UnpackLimits {
    /// Largest single file.
    pub entry_bytes_max: u64,
    /// Total bytes this tarball may unpack to (the caller passes what is left of its overall budget).
    pub unpacked_bytes_max: u64,
    /// Number of entries.
    pub entries_max: u64,
}

/// Extracts a gzipped npm tarball into `dest` (which must exist and be empty). Returns the bytes written.
pub fn unpack(package: &str, tgz: &[u8], dest: &Path, limits: &UnpackLimits) -> Result<u64, Error> {
    // tar reads extension headers (PAX, GNU long names) whole before yielding an entry, outside the
    // per-entry limits: bound the decompressed stream itself, so a small gzip cannot expand forever.
    let stream_bytes_max = limits
        .unpacked_bytes_max
        .saturating_add(limits.entries_max.saturating_mul(4096))
        .saturating_add(1 << 20);
    let mut archive = Archive::new(io::Read::take(GzDecoder::new(tgz), stream_bytes_max));
    let corrupt = |e: io::Error| Error::CorruptTarball {
        package: package.to_string(),
        message: e.to_string(),
    };
    let mut total: u64 = 0;
    let mut count: u64 = 0;
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        count += 1;
        if count > limits.entries_max {
            return Err(limit(package, "entries_max", count, limits.entries_max));
        }
        let raw_path = entry.path().map_err(corrupt)?.into_owned();
        let shown = raw_path.display().to_string();
        let unsafe_entry = |reason: &str| Error::UnsafeTarball {
            package: package.to_string(),
            entry: shown.clone(),
            reason: reason.to_string(),
        };
        let kind = entry.header().entry_type();
        match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::Directory => {}
            // pax headers carry metadata for the next entry; the tar crate already applied them.
            EntryType::XGlobalHeader | EntryType::XHeader => continue,
            EntryType::Symlink | EntryType::Link => return Err(unsafe_entry("is a link")),
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                return Err(unsafe_entry("is a device or fifo"))
            }
            _ => return Err(unsafe_entry("has an unsupported entry type")),
        }
        let Some(relative) = strip_top(&raw_path).map_err(unsafe_entry)? else {
            continue;
        };
        let target = dest.join(&relative);
        if kind == EntryType::Directory {
            fs::create_dir_all(&target).map_err(Error::io("creating", &target))?;
            continue;
        }
        let size = entry.header().size().map_err(corrupt)?;
        if size > limits.entry_bytes_max {
            return Err(limit(
                &format!("{package} ({shown})"),
                "entry_bytes_max",
                size,
                limits.entry_bytes_max,
            ));
        }
        total += size;
        if total > limits.unpacked_bytes_max {
            return Err(limit(
                package,
                "unpacked_bytes_max",
                total,
                limits.unpacked_bytes_max,
            ));
        }
        write_file(&mut entry, &target, size).map_err(|e| match e {
            WriteError::Read(e) => corrupt(e),
            WriteError::Write(e) => Error::io("writing", &target)(e),
        })?;
    }
    Ok(total)
}

fn limit(package: &str, limit: &'static str, value: u64, max: u64) -> Error {
    Error::LimitExceeded {
        package: package.to_string(),
        limit,
        value,
        max,
    }
}

/// Drops the first path component (npm's `strip: 1`); `None` for the top folder itself or a top-level file.
fn strip_top(path: &Path) -> Result<Option<PathBuf>, &'static str> {
    let mut out = PathBuf::new();
    let mut seen_top = false;
    for component in path.components() {
        match component {
            Component::Normal(_) if !seen_top => seen_top = true,
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("contains `..`"),
            Component::RootDir | Component::Prefix(_) => return Err("is an absolute path"),
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

enum WriteError {
    Read(io::Error),
    Write(io::Error),
}

fn write_file(entry: &mut impl Read, target: &Path, size: u64) -> Result<(), WriteError> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(WriteError::Write)?;
    }
    // The header's size bounds what we read, whatever the stream claims afterwards.
    let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(1 << 20));
    entry
        .take(size)
        .read_to_end(&mut data)
        .map_err(WriteError::Read)?;
    fs::write(target, &data).map_err(WriteError::Write)
}
