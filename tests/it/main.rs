//! End-to-end tests of `actionflow serve`: the real binary on 127.0.0.1:0, driven over HTTP, on
//! SQLite and on PostgreSQL (`ACTIONFLOW_TEST_DATABASE_URL`, a fresh database per test).
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

mod bad_input;
mod cli;
mod cli_run;
mod config;
mod crash;
mod cycle;
mod deploys;
mod flows;
mod log_cli;
mod marketplace;
mod master_key;
/// moto, the SES v2-compatible server of actionflow-ses's tests (one harness for both suites).
#[allow(dead_code)] // this suite uses only part of it
#[path = "../../integrations/ses/tests/it/moto.rs"]
mod moto;
mod node_ses;
mod openapi;
mod sandbox;
mod secrets;
mod ses;
mod tenancy;
mod tenant_logs;
mod webtasks;
