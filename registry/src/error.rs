//! The crate's single error type: every variant names the package, file or URL it is about.

use std::path::PathBuf;

/// Everything that can go wrong while configuring, resolving, downloading, caching or laying out packages.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No registry was found in any configuration source.
    #[error(
        "no npm registry is configured: pass --registry URL, set NPM_CONFIG_REGISTRY, \
         or add `registry=URL` to the project's or your user .npmrc"
    )]
    NoRegistryConfigured,

    /// A registry URL (from `origin`) is not an absolute http(s) URL.
    #[error("invalid registry URL {value:?} from {origin}: {reason}")]
    InvalidRegistryUrl {
        origin: String,
        value: String,
        reason: String,
    },

    /// A line of an `.npmrc` file could not be understood.
    #[error("{path}:{line}: {message}")]
    Npmrc {
        path: String,
        line: usize,
        message: String,
    },

    /// A dependency specification (`name@range`) is malformed or of an unsupported kind.
    #[error("invalid dependency {package}@{spec:?}: {reason}")]
    InvalidSpec {
        package: String,
        spec: String,
        reason: String,
    },

    /// The registry does not know the package.
    #[error("package {package} was not found in the registry ({url}){wanted}")]
    UnknownPackage {
        package: String,
        url: String,
        /// Who wanted it, e.g. ` (wanted as "^1" by node_modules/a)`; empty when not known.
        wanted: String,
    },

    /// The package exists but no published version satisfies the range.
    #[error("no version of {package} matches {range:?} (latest is {latest})")]
    NoMatchingVersion {
        package: String,
        range: String,
        latest: String,
    },

    /// A transport failure that persisted after the retries.
    #[error("request to {url} failed after {attempts} attempt(s): {message}")]
    Network {
        url: String,
        attempts: u32,
        message: String,
    },

    /// The registry refused the credentials (or their absence).
    #[error(
        "request to {url} returned HTTP {status}: check the `//host/:_authToken=` for this registry in .npmrc"
    )]
    Unauthorized { url: String, status: u16 },

    /// The registry answered with an unexpected HTTP status.
    #[error("request to {url} returned HTTP {status}")]
    HttpStatus { url: String, status: u16 },

    /// A packument could not be decoded.
    #[error("invalid packument for {package}: {message}")]
    InvalidPackument { package: String, message: String },

    /// A tarball's bytes do not match the integrity the registry published.
    #[error("integrity check failed for {package}: expected {expected}, got {actual}")]
    IntegrityMismatch {
        package: String,
        expected: String,
        actual: String,
    },

    /// A version has neither `dist.integrity` nor `dist.shasum`, or an unusable one.
    #[error("refusing {package}: {reason}")]
    BadIntegrity { package: String, reason: String },

    /// A tarball contains an entry we refuse to unpack.
    #[error("refusing tarball of {package}: entry {entry:?} {reason}")]
    UnsafeTarball {
        package: String,
        entry: String,
        reason: String,
    },

    /// A tarball could not be decompressed or read.
    #[error("corrupt tarball of {package}: {message}")]
    CorruptTarball { package: String, message: String },

    /// A configured limit was exceeded.
    #[error("{package}: {limit} exceeded ({value} > {max})")]
    LimitExceeded {
        package: String,
        limit: &'static str,
        value: u64,
        max: u64,
    },

    /// Offline mode and the packument is not in the cache.
    #[error("{package} is not in the cache and the network is not allowed (offline mode)")]
    NotCachedOffline { package: String },

    /// A lockfile package is missing from the cache during `layout`.
    #[error("{key} ({package}@{version}) is not in the cache; install the lockfile first")]
    NotCached {
        key: String,
        package: String,
        version: String,
    },

    /// A lockfile is malformed.
    #[error("invalid lockfile: {0}")]
    Lockfile(String),

    /// The certificate authorities file (`cafile`) is unreadable or not PEM.
    #[error("cafile {path}: {message}")]
    CaFile { path: PathBuf, message: String },

    /// A filesystem operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with the operation and path it concerns.
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { op, path, source }
    }
}
