//! The store's error type: what went wrong, never how the SQL looked.

/// Result of every store operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Failures of the store. `Display` never carries SQL text or driver messages, so the API may show
/// `NotFound`/`Conflict`/`LimitReached` to users and must answer `Database`/`Migrate`/`Io` with a
/// generic 5xx; the driver error stays reachable through `source()` for logs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object does not exist, or belongs to another tenant (the two are indistinguishable).
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// The change collides with stored state (duplicate name, bound action, lost lease, …).
    #[error("conflict: {what}")]
    Conflict { what: String },
    /// A per-object limit would be exceeded.
    #[error("limit reached: at most {max} {what}")]
    LimitReached { what: &'static str, max: u32 },
    /// The database failed or returned data the store cannot decode.
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// Embedded migrations could not be applied.
    #[error("database migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// The SQLite file or its directory could not be created.
    #[error("cannot create the database directory {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The database URL or path given to [`crate::open`] is not usable.
    #[error("invalid database location: {reason}")]
    InvalidLocation { reason: String },
}

impl Error {
    pub(crate) fn not_found(what: &'static str) -> Self {
        Self::NotFound { what }
    }

    pub(crate) fn conflict(what: impl Into<String>) -> Self {
        Self::Conflict { what: what.into() }
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        Self::Migrate(error)
    }
}

/// Maps a unique-constraint violation to `Conflict { what }`, any other failure to `Database`.
pub(crate) fn unique_as_conflict(what: &str) -> impl FnOnce(sqlx::Error) -> Error + '_ {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::conflict(what),
        _ => Error::Database(error),
    }
}

/// Maps a foreign-key violation to `NotFound { what }`, any other failure to `Database`.
pub(crate) fn foreign_key_as_not_found(what: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => Error::not_found(what),
        _ => Error::Database(error),
    }
}
