//! The lifecycle driven as a caller other than the HTTP API would drive it (the marketplace's
//! install, an extension's deploy): no server, no HTTP types — the store, a runtime, a master key.
#![allow(clippy::unwrap_used)]

mod lifecycle;
