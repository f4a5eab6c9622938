//! The marketplace's rows: publishers, submissions (package bytes, manifest and check report as
//! given), their state transitions, and tenants' installed copies. States are strings here: the
//! state machine is the marketplace crate's; the store only changes a state conditionally on the
//! states it may come from, with the transition kept in the same transaction.

use async_trait::async_trait;
use sqlx::types::Json;
use sqlx::FromRow;

use crate::db::{begin_write, new_id, now, with_pool};
use crate::error::{foreign_key_as_not_found, unique_as_conflict};
use crate::{Error, Result, SqlStore, Timestamp};

/// An organisation that submits integrations, owned by a tenant (whose tokens submit for it).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Publisher {
    pub id: String,
    pub name: String,
    pub tenant_id: String,
    pub created_at: Timestamp,
}

/// One submitted version of an integration (its package bytes are read apart).
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct Submission {
    pub id: String,
    pub publisher: String,
    pub slug: String,
    pub version: String,
    pub version_major: i64,
    pub version_minor: i64,
    pub version_patch: i64,
    pub state: String,
    #[sqlx(json)]
    pub manifest: serde_json::Value,
    pub sha256: String,
    #[sqlx(json)]
    pub report: serde_json::Value,
    pub deprecated_at: Option<Timestamp>,
    pub yanked_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A submission to store, in its first state.
#[derive(Debug, Clone)]
pub struct NewSubmission {
    pub publisher: String,
    pub slug: String,
    pub version: String,
    pub version_parts: (i64, i64, i64),
    pub state: String,
    pub manifest: serde_json::Value,
    pub package: Vec<u8>,
    pub sha256: String,
    pub actor: String,
}

/// One change of a submission's state: who, when, why.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Transition {
    pub id: String,
    pub submission_id: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor: String,
    pub reason: Option<String>,
    pub at: Timestamp,
}

/// A conditional change of state.
#[derive(Debug, Clone)]
pub struct StateChange<'a> {
    pub submission_id: &'a str,
    /// The states it may come from; `Conflict` otherwise.
    pub from: &'a [&'a str],
    pub to: &'a str,
    pub actor: &'a str,
    pub reason: Option<&'a str>,
    /// Replaces the check report.
    pub report: Option<serde_json::Value>,
}

/// A tenant's installed copy of an integration version: the action it made, and the values of
/// its configuration (plain text; its secrets are the action's secrets).
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct Installation {
    pub id: String,
    pub tenant_id: String,
    pub action_id: String,
    pub submission_id: String,
    pub slug: String,
    pub version: String,
    #[sqlx(json)]
    pub configuration: serde_json::Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const SUBMISSION_COLUMNS: &str = "id, publisher, slug, version, version_major, version_minor, \
    version_patch, state, manifest, sha256, report, deprecated_at, yanked_at, created_at, updated_at";
const INSTALLATION_COLUMNS: &str =
    "id, tenant_id, action_id, submission_id, slug, version, configuration, created_at, updated_at";

/// Publishers, submissions, transitions and installed copies.
#[async_trait]
pub trait MarketplaceStore: Send + Sync {
    /// `Conflict` when the name is taken; `NotFound` for an unknown tenant.
    async fn create_publisher(&self, name: &str, tenant_id: &str) -> Result<Publisher>;
    async fn get_publisher(&self, name: &str) -> Result<Publisher>;
    async fn list_publishers(&self) -> Result<Vec<Publisher>>;
    /// Stores the submission with its first transition; `Conflict` when the slug's version exists.
    async fn insert_submission(&self, new: NewSubmission) -> Result<Submission>;
    async fn get_submission(&self, submission_id: &str) -> Result<Submission>;
    async fn submission_package(&self, submission_id: &str) -> Result<Vec<u8>>;
    /// Newest first; with `publisher`, only theirs; with `state`, only in it.
    async fn list_submissions(
        &self,
        publisher: Option<&str>,
        state: Option<&str>,
    ) -> Result<Vec<Submission>>;
    /// Every version of `slug` ever submitted, whatever became of it.
    async fn slug_versions(&self, slug: &str) -> Result<Vec<(i64, i64, i64)>>;
    /// The highest published version of `slug`.
    async fn latest_published(&self, slug: &str) -> Result<Option<Submission>>;
    /// One transaction: the state changes if it is one of `from` (else `Conflict`), and the
    /// transition is kept.
    async fn change_state(&self, change: StateChange<'_>) -> Result<Submission>;
    /// Oldest first.
    async fn list_transitions(&self, submission_id: &str) -> Result<Vec<Transition>>;
    /// Claims for `owner`, until `lease` from now, up to `limit` submissions in `checking` whose
    /// checks no one holds (never claimed, or the lease ended); their ids, oldest first.
    async fn claim_checks(
        &self,
        owner: &str,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<String>>;
    /// Extends `owner`'s lease on a submission's checks; false when it holds it no more.
    async fn extend_checks(
        &self,
        submission_id: &str,
        owner: &str,
        lease: std::time::Duration,
    ) -> Result<bool>;
    /// Marks a published version deprecated or yanked (first time kept).
    async fn flag_listing(
        &self,
        submission_id: &str,
        deprecated: bool,
        yanked: bool,
    ) -> Result<Submission>;
    async fn create_installation(
        &self,
        tenant_id: &str,
        action_id: &str,
        submission: &Submission,
        configuration: &serde_json::Value,
    ) -> Result<Installation>;
    async fn get_installation(
        &self,
        tenant_id: &str,
        installation_id: &str,
    ) -> Result<Installation>;
    async fn installation_of_action(
        &self,
        tenant_id: &str,
        action_id: &str,
    ) -> Result<Option<Installation>>;
    /// Oldest first.
    async fn list_installations(&self, tenant_id: &str) -> Result<Vec<Installation>>;
    /// Points the copy at another version with its configuration.
    async fn update_installation(
        &self,
        tenant_id: &str,
        installation_id: &str,
        submission: &Submission,
        configuration: &serde_json::Value,
    ) -> Result<Installation>;
}

#[async_trait]
impl MarketplaceStore for SqlStore {
    async fn create_publisher(&self, name: &str, tenant_id: &str) -> Result<Publisher> {
        let publisher = Publisher {
            id: new_id(),
            name: name.to_owned(),
            tenant_id: tenant_id.to_owned(),
            created_at: now(),
        };
        with_pool!(self.db, write, |pool, _pg| {
            sqlx::query(
                "INSERT INTO mk_publishers (id, name, tenant_id, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(&publisher.id)
            .bind(&publisher.name)
            .bind(&publisher.tenant_id)
            .bind(publisher.created_at)
            .execute(pool)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    Error::not_found("tenant")
                }
                _ => unique_as_conflict("a publisher with this name already exists")(e),
            })?;
        });
        Ok(publisher)
    }

    async fn get_publisher(&self, name: &str) -> Result<Publisher> {
        with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, Publisher>(
                "SELECT id, name, tenant_id, created_at FROM mk_publishers WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(pool)
            .await?
        })
        .ok_or(Error::not_found("publisher"))
    }

    async fn list_publishers(&self) -> Result<Vec<Publisher>> {
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, Publisher>(
                "SELECT id, name, tenant_id, created_at FROM mk_publishers ORDER BY name",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    async fn insert_submission(&self, new: NewSubmission) -> Result<Submission> {
        let (id, at) = (new_id(), now());
        let sql = format!(
            "INSERT INTO mk_submissions (id, publisher, slug, version, version_major, \
             version_minor, version_patch, state, manifest, package, sha256, report, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
             RETURNING {SUBMISSION_COLUMNS}"
        );
        with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            let row = sqlx::query_as::<_, Submission>(&sql)
                .bind(&id)
                .bind(&new.publisher)
                .bind(&new.slug)
                .bind(&new.version)
                .bind(new.version_parts.0)
                .bind(new.version_parts.1)
                .bind(new.version_parts.2)
                .bind(&new.state)
                .bind(Json(&new.manifest))
                .bind(&new.package)
                .bind(&new.sha256)
                .bind(Json(serde_json::json!({"findings": []})))
                .bind(at)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                        Error::not_found("publisher")
                    }
                    _ => unique_as_conflict(
                        "this version of the integration was already submitted",
                    )(e),
                })?;
            sqlx::query(
                "INSERT INTO mk_transitions (id, submission_id, from_state, to_state, actor, reason, at) \
                 VALUES ($1, $2, NULL, $3, $4, NULL, $5)",
            )
            .bind(new_id())
            .bind(&id)
            .bind(&new.state)
            .bind(&new.actor)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    async fn get_submission(&self, submission_id: &str) -> Result<Submission> {
        let sql = format!("SELECT {SUBMISSION_COLUMNS} FROM mk_submissions WHERE id = $1");
        with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, Submission>(&sql)
                .bind(submission_id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(Error::not_found("submission"))
    }

    async fn submission_package(&self, submission_id: &str) -> Result<Vec<u8>> {
        with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_scalar::<_, Vec<u8>>("SELECT package FROM mk_submissions WHERE id = $1")
                .bind(submission_id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(Error::not_found("submission"))
    }

    async fn list_submissions(
        &self,
        publisher: Option<&str>,
        state: Option<&str>,
    ) -> Result<Vec<Submission>> {
        let sql = format!(
            "SELECT {SUBMISSION_COLUMNS} FROM mk_submissions \
             WHERE ($1 IS NULL OR publisher = $1) AND ($2 IS NULL OR state = $2) \
             ORDER BY created_at DESC, id DESC"
        );
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, Submission>(&sql)
                .bind(publisher)
                .bind(state)
                .fetch_all(pool)
                .await?
        }))
    }

    async fn slug_versions(&self, slug: &str) -> Result<Vec<(i64, i64, i64)>> {
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, (i64, i64, i64)>(
                "SELECT version_major, version_minor, version_patch FROM mk_submissions WHERE slug = $1",
            )
            .bind(slug)
            .fetch_all(pool)
            .await?
        }))
    }

    async fn latest_published(&self, slug: &str) -> Result<Option<Submission>> {
        let sql = format!(
            "SELECT {SUBMISSION_COLUMNS} FROM mk_submissions WHERE slug = $1 AND state = 'published' \
             ORDER BY version_major DESC, version_minor DESC, version_patch DESC LIMIT 1"
        );
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, Submission>(&sql)
                .bind(slug)
                .fetch_optional(pool)
                .await?
        }))
    }

    async fn change_state(&self, change: StateChange<'_>) -> Result<Submission> {
        let at = now();
        let current = self.get_submission(change.submission_id).await?;
        let sql = format!(
            "UPDATE mk_submissions SET state = $2, updated_at = $3, report = COALESCE($4, report) \
             WHERE id = $1 AND state = $5 RETURNING {SUBMISSION_COLUMNS}"
        );
        if !change.from.contains(&current.state.as_str()) {
            return Err(Error::conflict(format!(
                "the submission is {}; it cannot become {}",
                current.state, change.to
            )));
        }
        with_pool!(self.db, write, |pool, pg| {
            let mut tx = begin_write!(pool, pg);
            let row = sqlx::query_as::<_, Submission>(&sql)
                .bind(change.submission_id)
                .bind(change.to)
                .bind(at)
                .bind(change.report.as_ref().map(Json))
                .bind(&current.state)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| Error::conflict("the submission changed meanwhile; try again"))?;
            sqlx::query(
                "INSERT INTO mk_transitions (id, submission_id, from_state, to_state, actor, reason, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(new_id())
            .bind(change.submission_id)
            .bind(&current.state)
            .bind(change.to)
            .bind(change.actor)
            .bind(change.reason)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    async fn list_transitions(&self, submission_id: &str) -> Result<Vec<Transition>> {
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, Transition>(
                "SELECT id, submission_id, from_state, to_state, actor, reason, at \
                 FROM mk_transitions WHERE submission_id = $1 ORDER BY at, id",
            )
            .bind(submission_id)
            .fetch_all(pool)
            .await?
        }))
    }

    async fn claim_checks(
        &self,
        owner: &str,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<String>> {
        self.claim_checks_impl(owner, lease, limit).await
    }

    async fn extend_checks(
        &self,
        submission_id: &str,
        owner: &str,
        lease: std::time::Duration,
    ) -> Result<bool> {
        self.extend_checks_impl(submission_id, owner, lease).await
    }

    async fn flag_listing(
        &self,
        submission_id: &str,
        deprecated: bool,
        yanked: bool,
    ) -> Result<Submission> {
        let sql = format!(
            "UPDATE mk_submissions SET \
             deprecated_at = CASE WHEN $2 THEN COALESCE(deprecated_at, $4) ELSE deprecated_at END, \
             yanked_at = CASE WHEN $3 THEN COALESCE(yanked_at, $4) ELSE yanked_at END \
             WHERE id = $1 AND state = 'published' RETURNING {SUBMISSION_COLUMNS}"
        );
        with_pool!(self.db, write, |pool, _pg| {
            sqlx::query_as::<_, Submission>(&sql)
                .bind(submission_id)
                .bind(deprecated)
                .bind(yanked)
                .bind(now())
                .fetch_optional(pool)
                .await?
        })
        .ok_or(Error::not_found("submission"))
    }

    async fn create_installation(
        &self,
        tenant_id: &str,
        action_id: &str,
        submission: &Submission,
        configuration: &serde_json::Value,
    ) -> Result<Installation> {
        let at = now();
        let sql = format!(
            "INSERT INTO mk_installations ({INSTALLATION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {INSTALLATION_COLUMNS}"
        );
        with_pool!(self.db, write, |pool, _pg| {
            sqlx::query_as::<_, Installation>(&sql)
                .bind(new_id())
                .bind(tenant_id)
                .bind(action_id)
                .bind(&submission.id)
                .bind(&submission.slug)
                .bind(&submission.version)
                .bind(Json(configuration))
                .bind(at)
                .fetch_one(pool)
                .await
                .map_err(foreign_key_as_not_found("action"))
        })
    }

    async fn get_installation(
        &self,
        tenant_id: &str,
        installation_id: &str,
    ) -> Result<Installation> {
        let sql = format!(
            "SELECT {INSTALLATION_COLUMNS} FROM mk_installations WHERE tenant_id = $1 AND id = $2"
        );
        with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, Installation>(&sql)
                .bind(tenant_id)
                .bind(installation_id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(Error::not_found("installation"))
    }

    async fn installation_of_action(
        &self,
        tenant_id: &str,
        action_id: &str,
    ) -> Result<Option<Installation>> {
        let sql = format!(
            "SELECT {INSTALLATION_COLUMNS} FROM mk_installations WHERE tenant_id = $1 AND action_id = $2"
        );
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, Installation>(&sql)
                .bind(tenant_id)
                .bind(action_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    async fn list_installations(&self, tenant_id: &str) -> Result<Vec<Installation>> {
        let sql = format!(
            "SELECT {INSTALLATION_COLUMNS} FROM mk_installations WHERE tenant_id = $1 \
             ORDER BY created_at, id"
        );
        Ok(with_pool!(self.db, read, |pool, _pg| {
            sqlx::query_as::<_, Installation>(&sql)
                .bind(tenant_id)
                .fetch_all(pool)
                .await?
        }))
    }

    async fn update_installation(
        &self,
        tenant_id: &str,
        installation_id: &str,
        submission: &Submission,
        configuration: &serde_json::Value,
    ) -> Result<Installation> {
        let sql = format!(
            "UPDATE mk_installations SET submission_id = $3, version = $4, configuration = $5, \
             updated_at = $6 WHERE tenant_id = $1 AND id = $2 RETURNING {INSTALLATION_COLUMNS}"
        );
        with_pool!(self.db, write, |pool, _pg| {
            sqlx::query_as::<_, Installation>(&sql)
                .bind(tenant_id)
                .bind(installation_id)
                .bind(&submission.id)
                .bind(&submission.version)
                .bind(Json(configuration))
                .bind(now())
                .fetch_optional(pool)
                .await?
        })
        .ok_or(Error::not_found("installation"))
    }
}
