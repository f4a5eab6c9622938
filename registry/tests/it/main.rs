//! Integration tests of actionflow-registry against a registry served by the test harness itself.
#![allow(clippy::unwrap_used)]

mod api;
mod auth;
mod cache_reuse;
mod config;
mod errors;
mod npm_parity;
mod ranges;
mod real_registry;
mod resolve;
mod support;
mod tarballs;
