//! Integration tests of the store: every story runs once on SQLite and once on PostgreSQL.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod harness;

mod actions;
mod bindings;
mod builds;
mod clock;
mod executions;
mod finish;
mod logs;
mod marketplace;
mod open;
mod queue;
mod secrets;
mod sessions;
mod tenants;
mod versions;
