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
///
/// An IPv6 address that carries an IPv4 address inside it is judged by that IPv4 address,
/// since a relay or translator on the path delivers the packet there: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`), 6to4
/// (`2002::/16`, the address in bits 16–47) and Teredo (`2001::/32`, the server in bits 32–63
/// and the client as the bit-inverted last 32 bits; both must be public).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Embedded::None => is_public_v6(v6),
            Embedded::One(v4) => is_public_v4(v4),
            Embedded::Teredo { server, client } => is_public_v4(server) && is_public_v4(client),
        },
    }
}

/// The IPv4 address(es) an IPv6 address embeds, by its prefix.
#[derive(Debug, PartialEq, Eq)]
enum Embedded {
    /// A native IPv6 address.
    None,
    /// Mapped, compatible, NAT64 or 6to4: one IPv4 address.
    One(Ipv4Addr),
    /// Teredo: the relay server and the (de-obfuscated) client.
    Teredo {
        /// The Teredo server (bits 32–63).
        server: Ipv4Addr,
        /// The client's public address (last 32 bits, inverted).
        client: Ipv4Addr,
    },
}

fn embedded_v4(ip: Ipv6Addr) -> Embedded {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        // `::` and `::1` are the IPv6 unspecified and loopback addresses, judged as such.
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => Embedded::None,
        [0, 0, 0, 0, 0, 0xffff | 0, hi, lo] | [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => {
            Embedded::One(v4(hi, lo))
        }
        [0x2002, hi, lo, ..] => Embedded::One(v4(hi, lo)),
        [0x2001, 0, shi, slo, _, _, chi, clo] => Embedded::Teredo {
            server: v4(shi, slo),
            client: v4(!chi, !clo),
        },
        _ => Embedded::None,
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
    let s = ip.segments();
    let first = s[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first & 0xffc0) == 0xfec0 // deprecated site-local fec0::/10
        || (first == 0x2001 && s[1] == 0x0db8) // documentation
        || (first == 0x0064 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64 64:ff9b:1::/48
        || (first == 0x0100 && s[1..4] == [0, 0, 0])) // discard-only 100::/64
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

    /// Issue 9 item 12: IPv4 carried inside IPv6 is judged by the IPv4 address.
    // See: issues show 9
    #[test]
    fn issue_9_embedded_ipv4_is_judged_by_the_ipv4_address() {
        let private = [
            "::127.0.0.1",                          // IPv4-compatible loopback
            "::10.0.0.1",                           // IPv4-compatible private
            "::ffff:192.168.0.1",                   // IPv4-mapped private
            "64:ff9b::7f00:1",                      // NAT64 of 127.0.0.1
            "64:ff9b::a9fe:a9fe",                   // NAT64 of 169.254.169.254
            "2002:7f00:1::1",                       // 6to4 of 127.0.0.1
            "2002:c0a8:101::",                      // 6to4 of 192.168.1.1
            "2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo client 127.0.0.1 (inverted)
            "2001:0:a00:1:8000:63bf:f7f7:f7f6",     // Teredo via server 10.0.0.1
            "64:ff9b:1::1",                         // local-use NAT64
            "fec0::1",                              // site-local
        ];
        for s in private {
            assert!(!is_public(s.parse().unwrap()), "{s} must not be public");
        }
        let public = [
            "::8.8.8.8",
            "64:ff9b::808:808",                     // NAT64 of 8.8.8.8
            "2002:808:808::1",                      // 6to4 of 8.8.8.8
            "2001:0:4136:e378:8000:63bf:f7f7:f7f7", // Teredo client 8.8.8.8, server 65.54.227.120
        ];
        for s in public {
            assert!(is_public(s.parse().unwrap()), "{s} must be public");
        }
        assert_eq!(
            embedded_v4("2001:0:4136:e378:8000:63bf:3fff:fdd2".parse().unwrap()),
            Embedded::Teredo {
                server: Ipv4Addr::new(65, 54, 227, 120),
                client: Ipv4Addr::new(192, 0, 2, 45),
            }
        );
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
