//! `actionflow-logs` owns the tenant log and its streams to webhooks: the table of log type codes
//! and levels (`codes`), how a host's events are checked (`event`), the search language (`query`),
//! a stream's settings and rules (`stream`), Standard Webhooks signatures (`sign`), the seam for
//! sealing stream secrets (`seal`), the domain calls the API makes (`service`), the delivery worker
//! (`deliver`: lease, checkpoint, batches in `log_id` order, backoff, suspension) and the
//! write-behind writer and retention purge (`writer`).
//!
//! It knows the store and the address policy; it must not know HTTP servers, axum, utoipa, the
//! binary's configuration or the master key: secrets are sealed through [`seal::SecretSeal`], which
//! the embedder implements, and settings arrive as plain values.

pub mod codes;
pub mod deliver;
mod error;
pub mod event;
pub mod query;
pub mod seal;
pub mod service;
pub mod sign;
pub mod stream;
pub mod writer;

pub use deliver::{Deliverer, DeliverySettings};
pub use error::{Error, Result};
pub use event::IncomingEvent;
pub use seal::{SecretSeal, SecretSlot};
pub use service::{ChangeStream, CreateStream, Health, Logs, StreamView};
pub use sign::SigningKey;
pub use writer::{LogWriter, WriterTask};
