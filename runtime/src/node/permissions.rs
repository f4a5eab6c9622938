//! The permissions deno_node's ops check: deny by default. Granted: the file system (behind them is
//! the read-only package view, see `fs.rs`) and the network, minus every non-public range
//! unless the embedder allows private addresses. deno_node checks a socket's address before it
//! connects and again after name resolution, so a public name resolving to 127.0.0.1 is refused too.

use deno_permissions::{
    Host, NetDescriptor, Permissions, PermissionsContainer, PermissionsOptions,
    RuntimePermissionDescriptorParser,
};
use std::sync::{Arc, OnceLock};

/// The address ranges [`actionflow_netpolicy::is_public`] refuses, as deny rules. IPv4-mapped IPv6
/// addresses are judged as their IPv4 form by deno_permissions; the IPv6 transition ranges that carry
/// an IPv4 address (NAT64, 6to4, SIIT, Teredo, IPv4-compatible) are refused whole. A test keeps the
/// two rules in step.
pub(crate) const NON_PUBLIC: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/3",
    "::/96",
    "::ffff:0:0:0/96",
    "64:ff9b::/96",
    "64:ff9b:1::/48",
    "2001::/32",
    "2001:db8::/32",
    "2002::/16",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

/// The permissions of an isolate; made once per process for each rule (a container is shared: no
/// permission state changes after it is made, nothing prompts).
pub(crate) fn permissions(allow_private: bool) -> PermissionsContainer {
    static PUBLIC_ONLY: OnceLock<PermissionsContainer> = OnceLock::new();
    static ANY_ADDRESS: OnceLock<PermissionsContainer> = OnceLock::new();
    let cell = if allow_private {
        &ANY_ADDRESS
    } else {
        &PUBLIC_ONLY
    };
    cell.get_or_init(|| make(allow_private, Some(Vec::new())))
        .clone()
}

/// The permissions of an isolate whose code narrowed its network to `hosts`: sockets may connect
/// to those names only (IP literals only when listed), and still never to a non-public address.
pub(crate) fn restricted_permissions(
    allow_private: bool,
    hosts: &crate::net::HostList,
) -> PermissionsContainer {
    let allow: Vec<NetDescriptor> = hosts
        .patterns()
        .iter()
        .filter_map(|p| NetDescriptor::parse_for_list(p).ok())
        .collect();
    // deno_permissions reads an empty allow list as "every host": no host at all is no grant.
    let allow = (!allow.is_empty()).then_some(allow);
    make(allow_private, allow)
}

fn non_public_rules() -> Vec<NetDescriptor> {
    NON_PUBLIC
        .iter()
        .map(|range| {
            // Constants of ours: a failure is a bug, caught by every test.
            #[allow(clippy::expect_used)]
            let net: ipnet::IpNet = range.parse().expect("the non-public ranges parse");
            NetDescriptor(Host::IpSubnet(net), None)
        })
        .collect()
}

/// `net_allow`: the hosts sockets may reach (`Some(empty)` is every host, `None` none).
fn make(allow_private: bool, net_allow: Option<Vec<NetDescriptor>>) -> PermissionsContainer {
    let parser = Arc::new(RuntimePermissionDescriptorParser::new(
        sys_traits::impls::RealSys,
    ));
    let options = PermissionsOptions {
        // The file system behind these is the read-only package view (`fs.rs`), which refuses
        // writes itself, with a message about actions rather than Deno's flags.
        allow_read: Some(vec!["/".to_owned()]),
        allow_write: Some(vec!["/".to_owned()]),
        allow_net: Some(Vec::new()),
        prompt: false,
        ..Default::default()
    };
    // The options are constants of ours: failing to parse them is a bug, caught by every test.
    #[allow(clippy::expect_used)]
    let mut perms = Permissions::from_options(parser.as_ref(), &options)
        .expect("the Node layer's permission options parse");
    // deno_permissions' option parser takes IPv4 ranges only: the deny rules are built directly.
    let deny = (!allow_private).then(non_public_rules);
    perms.net = Permissions::new_unary(net_allow, deny, false);
    PermissionsContainer::new(parser, perms)
}

#[cfg(test)]
mod tests {
    use super::NON_PUBLIC;
    use actionflow_netpolicy::is_public;
    use std::net::IpAddr;

    fn denied(ip: IpAddr) -> bool {
        // deno_permissions judges an IPv4-mapped IPv6 address as its IPv4 form.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        NON_PUBLIC.iter().any(|range| {
            range
                .parse::<ipnet::IpNet>()
                .is_ok_and(|net| net.contains(&ip))
        })
    }

    /// Every address `fetch`'s rule refuses is denied to sockets too; public ones are not, except
    /// inside the IPv6 transition ranges the socket rule refuses whole.
    #[test]
    fn the_socket_rule_refuses_what_fetch_refuses() {
        let samples = [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:1.1.1.1",
            "2a00:1450:4001::1",
        ];
        for sample in samples {
            let ip: IpAddr = sample.parse().expect("samples parse");
            if !is_public(ip) {
                assert!(
                    denied(ip),
                    "{sample} is refused to fetch but not to sockets"
                );
            } else {
                assert!(!denied(ip), "{sample} is public but denied to sockets");
            }
        }
    }
}
