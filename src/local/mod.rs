//! Subcommands that work on local files, without a server.

pub mod run;
pub mod triggers;
pub mod wt_serve;
