//! Which addresses an action may reach: the shared policy of `actionflow-netpolicy` (public
//! internet only, unless the embedder allows private networks), with this crate's error for a
//! refused name. Enforced at DNS resolution, for IP literals, and on every redirect.

use super::FetchError;
pub use actionflow_netpolicy::{is_public, literal_ip};
use actionflow_netpolicy::{resolve_public, ResolveError};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// A resolver that drops non-public addresses, so a public name pointing at 127.0.0.1 is refused too.
pub(super) struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            match resolve_public(&host).await {
                Ok(public) => Ok(Box::new(public.into_iter()) as Addrs),
                Err(ResolveError::Private(_)) => {
                    Err(Box::new(FetchError::PrivateAddress(host)) as Box<_>)
                }
                Err(ResolveError::Lookup(error)) => Err(Box::new(error) as Box<_>),
            }
        })
    }
}
