//! The dashboard, end to end, in its own test binary so that the browser's CPU never runs beside
//! the `it` suite's timing-sensitive tests (cargo runs test binaries one after another): its
//! session and CSRF rules over HTTP on both backends (`session.rs`), and a real browser — Debian's
//! headless chromium through chromedriver (`browser.rs`) — through a tenant's journey
//! (`journey.rs`), the marketplace's pages (`marketplace.rs`), extensions (`extensions.rs`), the
//! tenant log (`logs.rs`) and log streams (`streams.rs`). The servers and clients are the
//! `it` suite's (`tests/it/support`).
//!
//! `ACTIONFLOW_SCREENSHOTS=docs cargo test --test dashboard` also saves the screenshots of the main
//! pages the docs show.
#![allow(clippy::unwrap_used)]

#[macro_use]
#[path = "../it/support/mod.rs"]
#[allow(dead_code)] // this suite uses only part of it
mod support;

mod browser;
mod extensions;
mod journey;
mod logs;
mod marketplace;
mod session;
mod streams;
