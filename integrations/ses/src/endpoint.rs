//! Where a client may send: the region and endpoint an action gives are checked, and names are resolved
//! to public addresses only (unless the embedder allows private ones), so `endpoint` cannot be used to
//! reach the host's loopback or internal network.

use crate::errors::SesError;
use aws_smithy_runtime_api::client::dns::{DnsFuture, ResolveDns, ResolveDnsError};
use std::net::IpAddr;

/// Checks a region name (`us-east-1`): it becomes part of the default endpoint's host name.
pub fn check_region(region: &str) -> Result<(), SesError> {
    let valid = (1..=32).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(invalid(
            "region",
            "must look like `us-east-1` (lowercase letters, digits and dashes)",
        ))
    }
}

/// Checks an endpoint URL given by the action.
pub fn check_endpoint(endpoint: &str, allow_private: bool) -> Result<(), SesError> {
    let url = url::Url::parse(endpoint)
        .map_err(|e| invalid("endpoint", &format!("is not a URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(invalid("endpoint", "must be an http(s):// URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "endpoint",
            "must not carry a user name or password",
        ));
    }
    if allow_private {
        return Ok(());
    }
    if url.scheme() != "https" {
        return Err(invalid("endpoint", "must be https://"));
    }
    let private = match url.host() {
        Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => true,
    };
    if private {
        return Err(invalid(
            "endpoint",
            "is a loopback or private address, which actions may not reach",
        ));
    }
    Ok(())
}

fn invalid(field: &str, problem: &str) -> SesError {
    SesError::InvalidArgument {
        call: "createClient",
        field: field.to_owned(),
        problem: problem.to_owned(),
    }
}

/// Resolves host names with the system resolver, keeping only public addresses unless allowed.
#[derive(Debug, Clone)]
pub struct Resolver {
    pub allow_private: bool,
}

impl ResolveDns for Resolver {
    fn resolve_dns<'a>(&'a self, name: &'a str) -> DnsFuture<'a> {
        let allow_private = self.allow_private;
        DnsFuture::new(async move {
            let found = tokio::net::lookup_host((name, 0))
                .await
                .map_err(ResolveDnsError::new)?;
            let ips: Vec<IpAddr> = found
                .map(|a| a.ip())
                .filter(|ip| allow_private || is_public(*ip))
                .collect();
            if ips.is_empty() {
                let why = format!("{name} has no public address");
                return Err(ResolveDnsError::new(std::io::Error::other(why)));
            }
            Ok(ips)
        })
    }
}

/// Whether an address is on the public internet: exactly the ranges the runtime's `fetch` allows.
pub use actionflow_runtime::is_public_address as is_public;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_endpoints_need_the_embedders_permission() {
        for endpoint in [
            "http://127.0.0.1:4566",
            "https://127.0.0.1",
            "https://localhost:8443",
            "https://[::1]/",
            "https://169.254.169.254/",
            "https://10.0.0.3",
        ] {
            assert!(check_endpoint(endpoint, false).is_err(), "{endpoint}");
        }
        assert!(check_endpoint("http://127.0.0.1:4566", true).is_ok());
        assert!(check_endpoint("https://email.eu-west-1.amazonaws.com", false).is_ok());
        for endpoint in ["ftp://x.test", "not a url", "https://u:p@email.test"] {
            assert!(check_endpoint(endpoint, true).is_err(), "{endpoint}");
        }
    }

    #[test]
    fn regions_are_plain_names() {
        assert!(check_region("eu-west-1").is_ok());
        for region in ["", "EU", "us-east-1.evil.test", "a/b"] {
            assert!(check_region(region).is_err(), "{region:?}");
        }
    }
}
