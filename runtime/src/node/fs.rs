//! `fs` for actions: a read-only view of the action's own package files, at the virtual paths
//! `require` uses (`/node_modules/x/package.json`). Reads, `stat`, `readdir`, `exists` and `realpath`
//! work there; every write, and every other path, fails with a clear error. Nothing here touches the
//! host's file system except through the `ModuleFiles` the action was given.

use crate::modules::ModuleFiles;
use deno_fs::{FileSystem, FsDirEntry, FsFileType, FsReadDir, FsReadDirRc, OpenOptions};
use deno_io::fs::{File, FsError, FsResult, FsStat, FsStatFs};
use deno_permissions::{CheckedPath, CheckedPathBuf};
use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

pub(crate) struct PackageFs {
    files: std::cell::RefCell<Arc<dyn ModuleFiles>>,
}

impl std::fmt::Debug for PackageFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PackageFs")
    }
}

impl PackageFs {
    /// A view of nothing, until `set_files` (an isolate is made before it is given an action).
    pub fn empty() -> PackageFs {
        PackageFs {
            files: std::cell::RefCell::new(Arc::new(crate::modules::NoFiles)),
        }
    }

    pub fn set_files(&self, files: Arc<dyn ModuleFiles>) {
        *self.files.borrow_mut() = files;
    }

    fn files(&self) -> Arc<dyn ModuleFiles> {
        self.files.borrow().clone()
    }

    fn stat(&self, path: &Path) -> FsResult<FsStat> {
        let p = virtual_path(path)?;
        if self.files().is_dir(&p) {
            return Ok(stat(false, 0));
        }
        match self.files().file_size(&p) {
            Some(size) => Ok(stat(true, size)),
            None => Err(not_found(&p)),
        }
    }

    fn read(&self, path: &Path) -> FsResult<Cow<'static, [u8]>> {
        let p = virtual_path(path)?;
        if self.files().is_dir(&p) {
            return Err(FsError::Io(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("EISDIR: illegal operation on a directory, read '{p}'"),
            )));
        }
        self.files()
            .read_bytes(&p)
            .map(Cow::Owned)
            .ok_or_else(|| not_found(&p))
    }

    /// Read-only opens of package files; anything that would write is refused.
    fn open(&self, path: &Path, options: OpenOptions) -> FsResult<Rc<dyn File>> {
        if options.write
            || options.append
            || options.create
            || options.create_new
            || options.truncate
        {
            return Err(read_only());
        }
        let p = virtual_path(path)?;
        let file = self.files().open(&p).ok_or_else(|| not_found(&p))?;
        Ok(Rc::new(deno_io::StdFileResourceInner::file(
            file,
            Some(PathBuf::from(p)),
        )))
    }

    fn read_dir(&self, path: &Path) -> FsResult<Vec<FsDirEntry>> {
        let p = virtual_path(path)?;
        let entries = self.files().read_dir(&p).ok_or_else(|| not_found(&p))?;
        Ok(entries
            .into_iter()
            .map(|(name, is_directory)| FsDirEntry {
                name,
                is_file: !is_directory,
                is_directory,
                is_symlink: false,
            })
            .collect())
    }

    fn realpath(&self, path: &Path) -> FsResult<PathBuf> {
        let p = virtual_path(path)?;
        if self.files().is_dir(&p) || self.files().is_file(&p) {
            Ok(PathBuf::from(p))
        } else {
            Err(not_found(&p))
        }
    }
}

/// The normalised absolute virtual path (`..` cannot climb above `/`).
fn virtual_path(path: &Path) -> FsResult<String> {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            std::path::Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            std::path::Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

fn not_found(path: &str) -> FsError {
    FsError::Io(io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "ENOENT: no such file or directory, '{path}' (actions see only their package files)"
        ),
    ))
}

fn read_only() -> FsError {
    FsError::Io(io::Error::new(
        io::ErrorKind::PermissionDenied,
        "EACCES: the file system is not writable in actions (it is a read-only view of the action's package files)",
    ))
}

fn stat(is_file: bool, size: u64) -> FsStat {
    FsStat {
        is_file,
        is_directory: !is_file,
        is_symlink: false,
        size,
        mtime: Some(0),
        atime: Some(0),
        birthtime: Some(0),
        ctime: Some(0),
        dev: 0,
        ino: Some(0),
        mode: if is_file { 0o100444 } else { 0o040555 },
        nlink: Some(1),
        uid: 0,
        gid: 0,
        rdev: 0,
        blksize: 4096,
        blocks: Some(size.div_ceil(512)),
        is_block_device: false,
        is_char_device: false,
        is_fifo: false,
        is_socket: false,
    }
}

/// `readdir` through the async API: the entries read at once, handed out one by one.
#[derive(Debug)]
struct Entries(std::cell::RefCell<std::vec::IntoIter<FsDirEntry>>);

#[async_trait::async_trait(?Send)]
impl FsReadDir for Entries {
    async fn next(&self) -> FsResult<Option<FsDirEntry>> {
        Ok(self.0.borrow_mut().next())
    }
}

macro_rules! refuse {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        $(fn $name(&self, $(_: $ty),*) -> FsResult<$ret> { Err(read_only()) })*
    };
}

#[async_trait::async_trait(?Send)]
impl FileSystem for PackageFs {
    fn cwd(&self) -> FsResult<PathBuf> {
        Ok(PathBuf::from("/"))
    }
    fn tmp_dir(&self) -> FsResult<PathBuf> {
        Ok(PathBuf::from("/tmp"))
    }
    fn umask(&self, _mask: Option<u32>) -> FsResult<u32> {
        Ok(0o022)
    }

    fn open_sync(&self, path: &CheckedPath, options: OpenOptions) -> FsResult<Rc<dyn File>> {
        self.open(path, options)
    }
    async fn open_async<'a>(
        &'a self,
        path: CheckedPathBuf,
        options: OpenOptions,
    ) -> FsResult<Rc<dyn File>> {
        self.open(&path, options)
    }

    refuse! {
        chdir(path: &CheckedPath) -> ();
        mkdir_sync(path: &CheckedPath, recursive: bool, mode: Option<u32>) -> ();
        chmod_sync(path: &CheckedPath, mode: u32) -> ();
        chown_sync(path: &CheckedPath, uid: Option<u32>, gid: Option<u32>) -> ();
        lchmod_sync(path: &CheckedPath, mode: u32) -> ();
        lchown_sync(path: &CheckedPath, uid: Option<u32>, gid: Option<u32>) -> ();
        remove_sync(path: &CheckedPath, recursive: bool) -> ();
        copy_file_sync(from: &CheckedPath, to: &CheckedPath) -> ();
        cp_sync(from: &CheckedPath, to: &CheckedPath) -> ();
        rename_sync(from: &CheckedPath, to: &CheckedPath) -> ();
        rmdir_sync(path: &CheckedPath) -> ();
        link_sync(from: &CheckedPath, to: &CheckedPath) -> ();
        symlink_sync(from: &CheckedPath, to: &CheckedPath, kind: Option<FsFileType>) -> ();
        truncate_sync(path: &CheckedPath, len: u64) -> ();
        utime_sync(path: &CheckedPath, a: i64, an: u32, m: i64, mn: u32) -> ();
        lutime_sync(path: &CheckedPath, a: i64, an: u32, m: i64, mn: u32) -> ();
        write_file_sync(path: &CheckedPath, options: OpenOptions, data: &[u8]) -> ();
    }

    async fn mkdir_async(
        &self,
        _path: CheckedPathBuf,
        _recursive: bool,
        _mode: Option<u32>,
    ) -> FsResult<()> {
        Err(read_only())
    }
    async fn chmod_async(&self, _path: CheckedPathBuf, _mode: u32) -> FsResult<()> {
        Err(read_only())
    }
    async fn chown_async(
        &self,
        _path: CheckedPathBuf,
        _uid: Option<u32>,
        _gid: Option<u32>,
    ) -> FsResult<()> {
        Err(read_only())
    }
    async fn lchmod_async(&self, _path: CheckedPathBuf, _mode: u32) -> FsResult<()> {
        Err(read_only())
    }
    async fn lchown_async(
        &self,
        _path: CheckedPathBuf,
        _uid: Option<u32>,
        _gid: Option<u32>,
    ) -> FsResult<()> {
        Err(read_only())
    }
    async fn remove_async(&self, _path: CheckedPathBuf, _recursive: bool) -> FsResult<()> {
        Err(read_only())
    }
    async fn copy_file_async(&self, _from: CheckedPathBuf, _to: CheckedPathBuf) -> FsResult<()> {
        Err(read_only())
    }
    async fn cp_async(&self, _from: CheckedPathBuf, _to: CheckedPathBuf) -> FsResult<()> {
        Err(read_only())
    }
    async fn rename_async(&self, _from: CheckedPathBuf, _to: CheckedPathBuf) -> FsResult<()> {
        Err(read_only())
    }
    async fn rmdir_async(&self, _path: CheckedPathBuf) -> FsResult<()> {
        Err(read_only())
    }
    async fn link_async(&self, _from: CheckedPathBuf, _to: CheckedPathBuf) -> FsResult<()> {
        Err(read_only())
    }
    async fn symlink_async(
        &self,
        _from: CheckedPathBuf,
        _to: CheckedPathBuf,
        _kind: Option<FsFileType>,
    ) -> FsResult<()> {
        Err(read_only())
    }
    async fn truncate_async(&self, _path: CheckedPathBuf, _len: u64) -> FsResult<()> {
        Err(read_only())
    }
    async fn utime_async(
        &self,
        _path: CheckedPathBuf,
        _a: i64,
        _an: u32,
        _m: i64,
        _mn: u32,
    ) -> FsResult<()> {
        Err(read_only())
    }
    async fn lutime_async(
        &self,
        _path: CheckedPathBuf,
        _a: i64,
        _an: u32,
        _m: i64,
        _mn: u32,
    ) -> FsResult<()> {
        Err(read_only())
    }

    async fn write_file_async<'a>(
        &'a self,
        _path: CheckedPathBuf,
        _options: OpenOptions,
        _data: Box<[u8]>,
    ) -> FsResult<()> {
        Err(read_only())
    }

    fn stat_sync(&self, path: &CheckedPath) -> FsResult<FsStat> {
        self.stat(path)
    }
    async fn stat_async(&self, path: CheckedPathBuf) -> FsResult<FsStat> {
        self.stat(&path)
    }
    fn lstat_sync(&self, path: &CheckedPath) -> FsResult<FsStat> {
        self.stat(path)
    }
    async fn lstat_async(&self, path: CheckedPathBuf) -> FsResult<FsStat> {
        self.stat(&path)
    }
    fn statfs_sync(&self, _path: &CheckedPath, _bigint: bool) -> FsResult<FsStatFs> {
        Err(FsError::NotSupported)
    }
    async fn statfs_async(&self, _path: CheckedPathBuf, _bigint: bool) -> FsResult<FsStatFs> {
        Err(FsError::NotSupported)
    }
    fn realpath_sync(&self, path: &CheckedPath) -> FsResult<PathBuf> {
        self.realpath(path)
    }
    async fn realpath_async(&self, path: CheckedPathBuf) -> FsResult<PathBuf> {
        self.realpath(&path)
    }
    fn read_dir_sync(&self, path: &CheckedPath) -> FsResult<Vec<FsDirEntry>> {
        self.read_dir(path)
    }
    async fn read_dir_async(&self, path: CheckedPathBuf) -> FsResult<FsReadDirRc> {
        let entries = self.read_dir(&path)?;
        let entries: Rc<dyn FsReadDir> =
            Rc::new(Entries(std::cell::RefCell::new(entries.into_iter())));
        Ok(entries)
    }
    fn read_link_sync(&self, path: &CheckedPath) -> FsResult<PathBuf> {
        Err(not_found(&virtual_path(path)?))
    }
    async fn read_link_async(&self, path: CheckedPathBuf) -> FsResult<PathBuf> {
        Err(not_found(&virtual_path(&path)?))
    }
    fn read_file_sync(
        &self,
        path: &CheckedPath,
        _options: OpenOptions,
    ) -> FsResult<Cow<'static, [u8]>> {
        self.read(path)
    }
    async fn read_file_async<'a>(
        &'a self,
        path: CheckedPathBuf,
        _options: OpenOptions,
    ) -> FsResult<Cow<'static, [u8]>> {
        self.read(&path)
    }
    fn exists_sync(&self, path: &CheckedPath) -> bool {
        self.stat(path).is_ok()
    }
    async fn exists_async(&self, path: CheckedPathBuf) -> FsResult<bool> {
        Ok(self.stat(&path).is_ok())
    }
}
