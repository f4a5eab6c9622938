//! `actionflow-netpolicy` owns one rule: which addresses tenants' code (an action's `fetch`) and
//! tenants' endpoints (log-stream sinks) may reach — the public internet only, unless the embedder
//! allows private networks. It is enforced at DNS resolution (so a public name resolving to
//! 127.0.0.1 is refused too), for IP literals, and by callers on every redirect.
//!
//! It must not know what is being fetched or why: no HTTP semantics beyond the URL's host, no
//! configuration of its own (the embedder passes `allow_private`).

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether an address is on the public internet (what an action may reach by default).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => is_public_v4(a),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(a),
        },
    }
}

fn is_public_v4(a: Ipv4Addr) -> bool {
    let [o0, o1, o2, _] = a.octets();
    !(a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_broadcast()
        || a.is_unspecified()
        || a.is_multicast()
        || a.is_documentation()
        || o0 == 0
        || (o0 == 100 && (64..128).contains(&o1)) // carrier-grade NAT
        || (o0 == 192 && o1 == 0 && o2 == 0)
        || (o0 == 198 && (18..20).contains(&o1))
        || o0 >= 240)
}

fn is_public_v6(a: Ipv6Addr) -> bool {
    let seg = a.segments();
    // IPv4 carried inside IPv6: NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the embedded address.
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && !is_public_v4(embedded(seg[6], seg[7])) {
        return false;
    }
    if seg[0] == 0x2002 && !is_public_v4(embedded(seg[1], seg[2])) {
        return false;
    }
    !(a.is_loopback()
        || a.is_unspecified()
        || a.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local
        || (seg[0] & 0xffc0) == 0xfe80 // link local
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || (seg[0] == 0x2001 && seg[1] == 0) // Teredo: tunnels to any IPv4 address
        || seg[..3] == [0x64, 0xff9b, 1] // local-use NAT64
        || seg[..6] == [0, 0, 0, 0, 0xffff, 0] // SIIT (::ffff:0:a.b.c.d)
        || a.to_ipv4().is_some_and(|v4| !is_public_v4(v4)))
}

/// A name whose every address is non-public.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to loopback or private addresses only, which are not reachable")]
pub struct PrivateAddress {
    pub host: String,
}

/// Resolves `host` with the system resolver and keeps its public addresses; `PrivateAddress` when
/// none is left.
pub async fn resolve_public(host: &str) -> Result<Vec<SocketAddr>, ResolveError> {
    let addrs = tokio::net::lookup_host((host, 0)).await?;
    let public: Vec<SocketAddr> = addrs.filter(|a| is_public(a.ip())).collect();
    if public.is_empty() {
        return Err(ResolveError::Private(PrivateAddress {
            host: host.to_owned(),
        }));
    }
    Ok(public)
}

/// Why [`resolve_public`] found no address to use.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Private(PrivateAddress),
    #[error("name resolution failed: {0}")]
    Lookup(#[from] std::io::Error),
}

/// A reqwest resolver that drops non-public addresses (see [`resolve_public`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let public = resolve_public(name.as_str()).await?;
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// The IP address a URL names literally, if it does.
pub fn literal_ip(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(a) => Some(IpAddr::V4(a)),
        url::Host::Ipv6(a) => Some(IpAddr::V6(a)),
        url::Host::Domain(_) => None,
    }
}

/// Whether `url` names a non-public IP literal that the policy refuses (names are judged at
/// resolution, by [`PublicOnly`]).
pub fn refuses_literal(url: &url::Url, allow_private: bool) -> bool {
    !allow_private && literal_ip(url).is_some_and(|ip| !is_public(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:5",
            "2002:a00:5::1",
            "2001:0:4136:e378::1",
            "::ffff:0:a00:5",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "93.184.216.34", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
