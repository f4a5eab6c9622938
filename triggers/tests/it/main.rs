//! Integration tests of the triggers crate: bindings, sync flows and async delivery on both store
//! backends, with the real V8 runtime executing the actions.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod harness;

mod bindings;
mod dispatch;
mod hook;
mod rules;
mod shared_queue;
mod worker;
