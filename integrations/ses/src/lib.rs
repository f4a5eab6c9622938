//! The `actionflow:ses` host module: actions send email through Amazon SES v2 (`aws-sdk-sesv2`) with a
//! `node-ses`-shaped surface, `createClient({ key, secret, region?, endpoint? }).sendEmail({ to, from,
//! subject, message, altText, cc?, bcc?, replyTo? })` resolving to `{ messageId }`.
//!
//! This crate owns the module's JavaScript face, argument checks, the bounded cache of SES clients and
//! the mapping of SES failures to JavaScript errors. Credentials come only from what the action passes:
//! it must never read the host's environment, AWS profile files or instance metadata (no
//! `aws_config::load_from_env`), so a tenant can never send mail as the host or as another tenant. It
//! knows nothing about tenants, storage, triggers or HTTP serving; the runtime runs its calls, bounds
//! them by the execution's deadline and redacts secrets from logs.
//!
//! ```text
//! JS sendEmail ─► call("sendEmail") ─► SesModule::call ─► Clients (LRU per key/region/endpoint) ─► SES
//! ```

mod clients;
mod email;
mod endpoint;
mod errors;
mod send;

pub use errors::SesError;

use actionflow_runtime::{HostCallContext, HostError, HostFuture, HostModule};
use clients::Clients;
use std::sync::Arc;

/// The module's settings, chosen by the embedder.
#[derive(Debug, Clone)]
pub struct SesConfig {
    /// How many SES clients (one per access key, region and endpoint) are kept for reuse.
    pub clients_max: usize,
    /// Let an action's `endpoint` be `http://` or a loopback/private address (local SES emulators in
    /// development and tests). Off in production: an endpoint is then `https://` on a public address.
    pub allow_private_endpoints: bool,
    /// The region when the action gives none (node-ses talks to us-east-1 by default).
    pub region_default: String,
}

impl Default for SesConfig {
    fn default() -> SesConfig {
        SesConfig {
            clients_max: 64,
            allow_private_endpoints: false,
            region_default: "us-east-1".to_owned(),
        }
    }
}

/// `actionflow:ses`, to register with `Runtime::with_host_modules`.
pub struct SesModule {
    clients: Arc<Clients>,
}

impl SesModule {
    pub fn new(config: SesConfig) -> SesModule {
        SesModule {
            clients: Arc::new(Clients::new(config)),
        }
    }
}

impl Default for SesModule {
    fn default() -> SesModule {
        SesModule::new(SesConfig::default())
    }
}

impl HostModule for SesModule {
    fn name(&self) -> &'static str {
        "actionflow:ses"
    }

    fn source(&self) -> &'static str {
        include_str!("ses.js")
    }

    fn exports(&self) -> &'static [&'static str] {
        &["createClient"]
    }

    fn call(&self, method: &str, args: serde_json::Value, context: HostCallContext) -> HostFuture {
        let clients = self.clients.clone();
        let method = method.to_owned();
        Box::pin(async move {
            match method.as_str() {
                "sendEmail" => send::send_email(&clients, args, context.deadline)
                    .await
                    .map_err(HostError::from),
                other => Err(HostError::type_error(format!(
                    "actionflow:ses has no method {other:?}"
                ))),
            }
        })
    }
}
