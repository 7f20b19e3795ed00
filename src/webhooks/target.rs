//! Where a webhook may be sent. Only https, to public addresses: a subscription must not turn
//! the service into a way to reach the private network it runs in. Names are checked again each
//! time they are resolved, so that a name re-pointed at a private address after it was accepted
//! is still refused. A setting allows private addresses, and plain http to loopback, for local
//! development and tests.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

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
        allowed(ip, allow_private)?;
    }
    Ok(url)
}

fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Whether the service may connect to an address.
pub fn allowed(ip: IpAddr, allow_private: bool) -> Result<(), String> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    let (never, private) = match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    };
    if never {
        Err(format!("points at {ip}, which cannot receive webhooks"))
    } else if private && !allow_private {
        Err(format!(
            "points at {ip}, a private, loopback or link-local address"
        ))
    } else {
        Ok(())
    }
}

/// (never reachable, private)
fn classify_v4(ip: Ipv4Addr) -> (bool, bool) {
    let [a, b, ..] = ip.octets();
    let never = ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || a == 0;
    let private = ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        // Shared address space (carrier-grade NAT), benchmarking, and reserved ranges.
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240;
    (never, private)
}

fn classify_v6(ip: Ipv6Addr) -> (bool, bool) {
    let first = ip.segments()[0];
    let never = ip.is_unspecified() || ip.is_multicast();
    let private = ip.is_loopback()
        // Unique local (fc00::/7) and link-local (fe80::/10).
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80;
    (never, private)
}

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
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusal = None;
            let usable: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| match allowed(addr.ip(), allow_private) {
                    Ok(()) => true,
                    Err(why) => {
                        refusal = Some(why);
                        false
                    }
                })
                .collect();
            if usable.is_empty() {
                let why = refusal.unwrap_or_else(|| "resolves to no address".into());
                return Err(format!("{host} {why}").into());
            }
            Ok(Box::new(usable.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_https_is_accepted() {
        assert!(check_url("https://hooks.example.org/passport", false).is_ok());
        assert!(check_url("https://203.0.113.9/hook", false).is_ok());
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
        ] {
            assert!(check_url(url, false).is_err(), "{url} was accepted");
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
    }

    #[actix_web::test]
    async fn names_resolving_to_private_addresses_are_refused_at_delivery() {
        use reqwest::dns::Resolve;
        let name = || -> reqwest::dns::Name { "localhost".parse().unwrap() };
        let refused = GuardedResolver {
            allow_private: false,
        }
        .resolve(name())
        .await;
        assert!(refused.is_err());
        let allowed = GuardedResolver {
            allow_private: true,
        }
        .resolve(name())
        .await;
        assert!(allowed.is_ok());
    }
}
