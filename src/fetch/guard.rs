//! Address guard: refuses targets that resolve to loopback, private, link-local, unspecified
//! or otherwise non-public addresses (unless `allow_private_networks`). The check runs on the
//! *resolved* addresses inside the DNS resolver the HTTP client uses, so a public-looking
//! name that points at 127.0.0.1 is refused too, and no second lookup can be swapped in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The error the resolver returns for a refused name; `fetch` finds it in the error chain.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to non-public addresses ({addrs})")]
pub struct BlockedAddress {
    /// The host name.
    pub host: String,
    /// What it resolved to.
    pub addrs: String,
}

/// The error the resolver returns when the name does not resolve at all; `fetch` finds it in
/// the error chain and reports a `dns` failure.
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve {host}")]
pub struct ResolveFailed {
    /// The host name.
    pub host: String,
    /// The system resolver's error.
    #[source]
    pub source: std::io::Error,
}

/// Whether an address is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || first == 0x2001 && ip.segments()[1] == 0x0db8)
}

/// DNS resolver that drops non-public addresses unless allowed.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    /// Whether private targets are allowed (tests, demo).
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let looked_up = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map(Iterator::collect::<Vec<SocketAddr>>);
            let addrs = match looked_up {
                Ok(found) => found,
                Err(source) => {
                    return Err(Box::new(ResolveFailed { host, source })
                        as Box<dyn std::error::Error + Send + Sync>);
                }
            };
            let ok: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| allow || is_public(a.ip()))
                .collect();
            if ok.is_empty() {
                let list = addrs
                    .iter()
                    .map(|a| a.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(Box::new(BlockedAddress { host, addrs: list })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(ok.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::",
        ] {
            assert!(!is_public(s.parse().unwrap()), "{s}");
        }
        for s in ["8.8.8.8", "93.184.216.34", "2a00:1450:4001::200e"] {
            assert!(is_public(s.parse().unwrap()), "{s}");
        }
    }

    #[tokio::test]
    async fn resolver_refuses_localhost_unless_allowed() {
        let name = || "localhost".parse::<Name>().unwrap();
        let refused = GuardedResolver {
            allow_private: false,
        }
        .resolve(name())
        .await;
        let err = refused.err().expect("localhost must be refused");
        assert!(err.to_string().contains("non-public"), "{err}");
        let allowed = GuardedResolver {
            allow_private: true,
        }
        .resolve(name())
        .await
        .unwrap();
        assert!(allowed.count() > 0);
    }
}
