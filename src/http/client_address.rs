//! The caller's address, which rate limits and failed-authentication budgets are keyed by
//! before a credential has been verified.
//!
//! The connection's peer is the caller, unless the peer is one of the configured trusted
//! reverse proxies: then the proxies' `Forwarded` (RFC 7239) or `X-Forwarded-For` header is
//! read from the right, skipping trusted hops, and the first address that is not a trusted
//! proxy is the caller. Headers from anyone else are ignored, so that a client cannot choose
//! its own address.

use std::net::IpAddr;

use actix_web::HttpMessage;
use actix_web::dev::ServiceRequest;
use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

use crate::error::Error;

/// The reverse proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses addresses and CIDR ranges (`10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32`).
    pub fn parse(entries: &[String]) -> Result<Self, Error> {
        let mut nets = Vec::new();
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => entry.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                    Error::Internal(format!(
                        "PASSPORT_TRUSTED_PROXIES: `{entry}` is not an IP address or CIDR range"
                    ))
                })?,
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The caller's address, given the connection's peer and the request's headers.
    pub fn caller(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = canonical(peer?);
        if !self.trusts(peer) {
            return Some(peer);
        }
        let hops = forwarded_for(headers);
        // From the nearest hop outwards: the first one no trusted proxy vouches for.
        let mut caller = peer;
        for hop in hops.into_iter().rev() {
            caller = hop;
            if !self.trusts(hop) {
                break;
            }
        }
        Some(caller)
    }
}

/// An IPv4 address mapped into IPv6 is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The addresses a request passed through, oldest first: `Forwarded`'s `for=` parameters if
/// the header is present, otherwise `X-Forwarded-For`. A hop that is not an address (`unknown`,
/// an obfuscated identifier) ends the list there, since nothing beyond it can be placed.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .filter_map(|v| v.to_str().ok())
        .collect();
    let raw: Vec<String> = if forwarded.is_empty() {
        headers
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_owned())
            .collect()
    } else {
        forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (name, value) = pair.trim().split_once('=')?;
                    name.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| value.trim().trim_matches('"').to_owned())
                })
            })
            .collect()
    };
    let mut hops = Vec::new();
    for value in raw {
        match parse_node(&value) {
            Some(ip) => hops.push(canonical(ip)),
            None => hops.clear(),
        }
    }
    hops
}

/// `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711` or `2001:db8::1`.
fn parse_node(value: &str) -> Option<IpAddr> {
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    value.rsplit_once(':')?.0.parse().ok()
}

/// The caller's address as the request-admission middleware placed it in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerAddress(pub Option<IpAddr>);

/// Works out the caller's address of a request and keeps it with the request.
pub fn resolve(req: &ServiceRequest, proxies: &TrustedProxies) -> CallerAddress {
    let address = CallerAddress(proxies.caller(req.peer_addr().map(|a| a.ip()), req.headers()));
    req.extensions_mut().insert(address);
    address
}

/// The caller's address of a request that went through the middleware.
pub fn of(req: &actix_web::HttpRequest) -> CallerAddress {
    req.extensions()
        .get::<CallerAddress>()
        .copied()
        .unwrap_or_else(|| CallerAddress(req.peer_addr().map(|a| canonical(a.ip()))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_caller_whatever_the_headers_say() {
        let proxies = TrustedProxies::default();
        let spoofed = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            ("forwarded", "for=1.2.3.4"),
        ]);
        assert_eq!(
            proxies.caller(Some(ip("203.0.113.9")), &spoofed),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn a_trusted_proxy_is_believed_and_trusted_hops_are_skipped() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into(), "192.0.2.1".into()]).unwrap();
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.50, 10.1.1.1")]);
        // The client claims 1.2.3.4, but the first hop no trusted proxy vouches for is 203.0.113.50.
        assert_eq!(
            proxies.caller(Some(ip("192.0.2.1")), &chain),
            Some(ip("203.0.113.50"))
        );
        let forwarded = headers(&[(
            "forwarded",
            "for=\"[2001:db8::17]:4711\";proto=https, for=10.2.2.2",
        )]);
        assert_eq!(
            proxies.caller(Some(ip("10.9.9.9")), &forwarded),
            Some(ip("2001:db8::17"))
        );
        // A peer outside the trusted ranges is the caller.
        assert_eq!(
            proxies.caller(Some(ip("198.51.100.1")), &chain),
            Some(ip("198.51.100.1"))
        );
    }

    #[test]
    fn an_unknown_hop_stops_the_walk() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap();
        let chain = headers(&[("forwarded", "for=unknown, for=10.0.0.5")]);
        assert_eq!(
            proxies.caller(Some(ip("10.0.0.1")), &chain),
            Some(ip("10.0.0.5"))
        );
        assert!(TrustedProxies::parse(&["not-an-address".into()]).is_err());
    }
}
