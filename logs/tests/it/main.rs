//! Integration tests of the log domain: ingestion, streams and delivery to a webhook server the
//! tests start on 127.0.0.1, each story on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used)]

mod support;

mod delivery;
mod failures;
