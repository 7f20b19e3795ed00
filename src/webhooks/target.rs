//! Where a webhook may be sent. Only https, to globally reachable addresses: a subscription
//! must not turn the service into a way to reach the private network it runs in, nor anything
//! the IANA special-purpose registries set aside. Names are checked again each time they are
//! resolved, so that a name re-pointed at a private address after it was accepted is still
//! refused. A setting allows private addresses, and plain http to loopback, for local
//! development and tests.
//!
//! Refusals never name the address: an organisation must not learn from the service what its
//! names resolve to inside the network the service runs in. The details go to the service log.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use Reach::{Private, Special};
use url::{Host, Url};

/// Checks a subscription's URL; answers why it is refused.
pub fn check_url(raw: &str, allow_private: bool) -> Result<Url, String> {
    if raw.len() > 2000 {
        return Err("must be at most 2000 characters".into());
    }
    let url = Url::parse(raw).map_err(|e| format!("is not a URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    let host = url.host().ok_or("must name a host")?;
    let loopback = match &host {
        Host::Domain(name) => is_localhost(name),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    };
    match url.scheme() {
        "https" => {}
        "http" if allow_private && loopback => {}
        "http" => return Err("must use https".into()),
        _ => return Err("must be an https URL".into()),
    }
    let ip = match host {
        Host::Domain(name) if is_localhost(name) => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        Host::Domain(_) => None,
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
    };
    if let Some(ip) = ip {
        allowed(ip, allow_private).map_err(str::to_owned)?;
    }
    Ok(url)
}

fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// How far an address reaches, as far as webhooks are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Globally reachable: a receiver may be there.
    Public,
    /// Loopback, private-use (RFC 1918), link-local, unique local or shared (carrier-grade
    /// NAT) space: the networks the service itself runs in. Allowed only for development.
    Private,
    /// Any other special-purpose address (documentation, benchmarking, multicast, reserved,
    /// protocol assignments, …): never a receiver.
    Special,
}

/// Whether the service may connect to an address; the refusal names the kind of address,
/// never the address itself.
pub fn allowed(ip: IpAddr, allow_private: bool) -> Result<(), &'static str> {
    match reach(ip) {
        Reach::Public => Ok(()),
        Reach::Private if allow_private => Ok(()),
        Reach::Private => Err("must not point at a private, loopback or link-local address"),
        Reach::Special => Err("must point at a public address: this one cannot receive webhooks"),
    }
}

/// Classifies an address after the IANA IPv4 and IPv6 Special-Purpose Address Registries.
/// IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) reach wherever
/// that address does, so they are judged by it.
pub fn reach(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => reach_v4(v4),
        IpAddr::V6(v6) => reach_v6(v6),
    }
}

/// IPv4 blocks that are not globally reachable, and a few that are but can be no receiver
/// (AS112 and AMT anycast, the 6to4 relay anycast); the rest of the space is public.
const V4_BLOCKS: &[([u8; 4], u8, Reach)] = &[
    ([0, 0, 0, 0], 8, Special),       // "this network"
    ([10, 0, 0, 0], 8, Private),      // private use
    ([100, 64, 0, 0], 10, Private),   // shared address space (carrier-grade NAT)
    ([127, 0, 0, 0], 8, Private),     // loopback
    ([169, 254, 0, 0], 16, Private),  // link-local
    ([172, 16, 0, 0], 12, Private),   // private use
    ([192, 0, 0, 0], 24, Special),    // IETF protocol assignments
    ([192, 0, 2, 0], 24, Special),    // documentation (TEST-NET-1)
    ([192, 31, 196, 0], 24, Special), // AS112
    ([192, 52, 193, 0], 24, Special), // AMT
    ([192, 88, 99, 0], 24, Special),  // 6to4 relay anycast (deprecated)
    ([192, 168, 0, 0], 16, Private),  // private use
    ([192, 175, 48, 0], 24, Special), // AS112 direct delegation
    ([198, 18, 0, 0], 15, Special),   // benchmarking
    ([198, 51, 100, 0], 24, Special), // documentation (TEST-NET-2)
    ([203, 0, 113, 0], 24, Special),  // documentation (TEST-NET-3)
    ([224, 0, 0, 0], 4, Special),     // multicast
    ([240, 0, 0, 0], 4, Special),     // reserved, and the limited broadcast address
];

fn reach_v4(ip: Ipv4Addr) -> Reach {
    let bits = u32::from(ip);
    V4_BLOCKS
        .iter()
        .find(|(network, length, _)| {
            let shift = 32 - u32::from(*length);
            bits >> shift == u32::from_be_bytes(*network) >> shift
        })
        .map_or(Reach::Public, |(_, _, reach)| *reach)
}

const fn v6(segments: [u16; 8]) -> u128 {
    let mut bits = 0u128;
    let mut i = 0;
    while i < 8 {
        bits = (bits << 16) | segments[i] as u128;
        i += 1;
    }
    bits
}

/// IPv6 blocks inside the unicast space that are not globally reachable, or can be no
/// receiver. Everything outside 2000::/3 that is not listed here or carries an IPv4 address
/// is unassigned or reserved, and refused as well.
const V6_BLOCKS: &[(u128, u8, Reach)] = &[
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]), 48, Special), // IPv4/IPv6 translation, local use
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0]), 64, Special),     // discard only
    (v6([0x100, 0, 0, 1, 0, 0, 0, 0]), 64, Special),     // dummy prefix
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 23, Special), // IETF protocol assignments, Teredo included
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]), 32, Special), // documentation
    (v6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0]), 48, Special), // AS112 direct delegation
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]), 20, Special), // documentation
    (v6([0x5f00, 0, 0, 0, 0, 0, 0, 0]), 16, Special), // segment routing (SRv6) SIDs
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]), 7, Private),  // unique local
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]), 10, Private), // link-local
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]), 10, Special), // site-local (deprecated)
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0]), 8, Special),  // multicast
];

fn in_block(bits: u128, network: u128, length: u8) -> bool {
    let shift = 128 - u32::from(length);
    bits >> shift == network >> shift
}

fn reach_v6(ip: Ipv6Addr) -> Reach {
    if ip.is_unspecified() {
        return Special;
    }
    if ip.is_loopback() {
        return Private;
    }
    if let Some(v4) = embedded_v4(ip) {
        return reach_v4(v4);
    }
    let bits = u128::from(ip);
    if let Some((_, _, reach)) = V6_BLOCKS
        .iter()
        .find(|(network, length, _)| in_block(bits, *network, *length))
    {
        return *reach;
    }
    // Only 2000::/3 is global unicast.
    if in_block(bits, v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3) {
        Reach::Public
    } else {
        Special
    }
}

/// The IPv4 address an IPv6 address carries, for the forms that reach it: IPv4-mapped
/// (::ffff:0:0/96), IPv4-compatible (::/96, deprecated), NAT64 (64:ff9b::/96) and 6to4
/// (2002::/16).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let low = Ipv4Addr::from(bits as u32);
    if in_block(bits, v6([0, 0, 0, 0, 0, 0xffff, 0, 0]), 96)
        || in_block(bits, 0, 96)
        || in_block(bits, v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96)
    {
        return Some(low);
    }
    if in_block(bits, v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16) {
        return Some(Ipv4Addr::from((bits >> 80) as u32));
    }
    None
}

/// A host that resolves to no address a webhook may go to: the lookup failed, found nothing,
/// or found only refused addresses. It displays only what the organisation may be told (the
/// same whichever it was, so that the deliveries log cannot be used to probe names inside
/// the service's network); [`NoUsableAddress::detail`] is for the service log.
#[derive(Debug)]
pub struct NoUsableAddress {
    detail: String,
}

impl NoUsableAddress {
    /// What the organisation is told.
    pub const MESSAGE: &'static str =
        "the URL's host resolves to no address that may receive webhooks";

    /// What happened, with the addresses found: for the service log only.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for NoUsableAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::MESSAGE)
    }
}

impl std::error::Error for NoUsableAddress {}

/// Resolves names for delivery, keeping only the addresses that may be reached.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), 0)).await {
                Ok(found) => found.collect(),
                Err(error) => {
                    return Err(Box::new(NoUsableAddress {
                        detail: format!("{host}: lookup failed: {error}"),
                    })
                        as Box<dyn std::error::Error + Send + Sync>);
                }
            };
            let (usable, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = found
                .into_iter()
                .partition(|addr| allowed(addr.ip(), allow_private).is_ok());
            if usable.is_empty() {
                let refused: Vec<String> = refused
                    .iter()
                    .map(|addr| format!("{} ({:?})", addr.ip(), reach(addr.ip())))
                    .collect();
                return Err(Box::new(NoUsableAddress {
                    detail: format!("{host}: refused addresses [{}]", refused.join(", ")),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(usable.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn public_https_is_accepted() {
        assert!(check_url("https://hooks.example.org/passport", false).is_ok());
        // Public addresses of well-known resolvers, and NAT64 / 6to4 / mapped forms of one.
        for url in [
            "https://8.8.8.8/hook",
            "https://1.1.1.1/hook",
            "https://[2606:4700:4700::1111]/hook",
            "https://[64:ff9b::808:808]/hook",
            "https://[2002:808:808::1]/hook",
            "https://[::ffff:8.8.8.8]/hook",
        ] {
            assert!(check_url(url, false).is_ok(), "{url} was refused");
        }
    }

    #[test]
    fn private_loopback_and_link_local_addresses_are_refused() {
        for url in [
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://127.0.0.1/",
            "https://localhost/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            // Other spellings of loopback, as the URL parser reads them.
            "https://0x7f.0.0.1/",
            "https://2130706433/",
            "https://[::127.0.0.1]/",
        ] {
            assert!(check_url(url, false).is_err(), "{url} was accepted");
        }
    }

    #[test]
    fn refusals_do_not_echo_the_address() {
        for url in [
            "https://10.1.2.3/",
            "https://[fd00::1]/",
            "https://203.0.113.9/",
            "https://[2001:db8::1]/",
        ] {
            let why = check_url(url, false).unwrap_err();
            let host = url.trim_start_matches("https://").trim_end_matches('/');
            let host = host.trim_start_matches('[').trim_end_matches(']');
            assert!(!why.contains(host), "{why}");
        }
    }

    #[test]
    fn the_special_purpose_registries_are_never_reachable() {
        for address in [
            "0.0.0.0",
            "0.1.2.3",
            "192.0.0.1",
            "192.0.0.9",
            "192.0.0.170",
            "192.0.2.1",
            "192.31.196.1",
            "192.52.193.1",
            "192.88.99.1",
            "192.175.48.1",
            "198.18.0.1",
            "198.19.255.254",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "64:ff9b:1::1",
            "100::1",
            "100:0:0:1::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:2::1",
            "2001:20::1",
            "2001:db8::1",
            "2620:4f:8000::1",
            "3fff::1",
            "3fff:fff::1",
            "5f00::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
            "4000::1",
            "::ffff:0:0:0",
            "::ffff:192.0.2.1",
            "64:ff9b::192.0.2.1",
            "64:ff9b::c000:201",
            "2002:c000:201::1",
            "::198.51.100.1",
        ] {
            assert_eq!(reach(ip(address)), Reach::Special, "{address}");
            assert!(allowed(ip(address), true).is_err(), "{address}");
        }
    }

    #[test]
    fn private_networks_are_reachable_only_when_allowed() {
        for address in [
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "::10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:a00:1::1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
        ] {
            assert_eq!(reach(ip(address)), Reach::Private, "{address}");
            assert!(allowed(ip(address), false).is_err(), "{address}");
            assert!(allowed(ip(address), true).is_ok(), "{address}");
        }
    }

    #[test]
    fn the_edges_of_the_blocks_are_public() {
        for address in [
            "1.1.1.1",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.0.3.1",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "203.0.112.255",
            "203.0.114.0",
            "223.255.255.255",
            "2001:200::1",
            "2001:4860:4860::8888",
            "2606:4700::1111",
            "2a00:1450:4009::200e",
            "2a01:4f8::1",
            "64:ff9b::8.8.8.8",
            "2002:808:808::",
            "::ffff:1.1.1.1",
        ] {
            assert_eq!(reach(ip(address)), Reach::Public, "{address}");
            assert!(allowed(ip(address), false).is_ok(), "{address}");
        }
    }

    #[test]
    fn plain_http_only_to_loopback_and_only_when_allowed() {
        assert!(check_url("http://127.0.0.1:9000/hook", false).is_err());
        assert!(check_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(check_url("http://localhost:9000/hook", true).is_ok());
        assert!(check_url("http://hooks.example.org/hook", true).is_err());
        assert!(check_url("http://10.0.0.1/hook", true).is_err());
        assert!(check_url("ftp://hooks.example.org/", true).is_err());
        assert!(check_url("https://user:pw@hooks.example.org/", false).is_err());
        // Special addresses stay refused even in development.
        assert!(check_url("https://192.0.2.1/hook", true).is_err());
    }

    #[actix_web::test]
    async fn names_resolving_to_private_addresses_are_refused_at_delivery() {
        use reqwest::dns::Resolve;
        let name = || -> reqwest::dns::Name { "localhost".parse().unwrap() };
        let refused = GuardedResolver {
            allow_private: false,
        }
        .resolve(name())
        .await
        .err()
        .unwrap();
        // The organisation is told the category; the log gets the addresses.
        assert_eq!(refused.to_string(), NoUsableAddress::MESSAGE);
        let detail = refused.downcast_ref::<NoUsableAddress>().unwrap().detail();
        assert!(
            detail.contains("127.0.0.1") || detail.contains("::1"),
            "{detail}"
        );
        let allowed = GuardedResolver {
            allow_private: true,
        }
        .resolve(name())
        .await;
        assert!(allowed.is_ok());
    }
}
