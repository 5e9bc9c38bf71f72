//! Which addresses a feed may be fetched from: public ones only, so that a user cannot make the
//! server read its own network. A literal address is checked in the URL (before the fetch and at
//! every redirect), a name once resolved (the connection goes to the addresses checked, so a name
//! that changes its answer between two lookups gains nothing).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// An http(s) URL whose host, when it is an address, is a public one.
pub(super) fn allowed_url(url: &reqwest::Url, allow_private: bool) -> bool {
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) => allow_private || is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => allow_private || is_public(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => true,
        None => false,
    }
}

/// Resolves names to their public addresses only: a name with none is not fetched.
#[derive(Debug)]
pub(super) struct PublicOnly {
    pub(super) allow_private: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether an address is one of the public Internet's (not loopback, private, link-local, shared,
/// documentation, benchmarking, multicast, reserved or unspecified).
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
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || (a == 192 && b == 0 && c == 0))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        // NAT64 and other translations of IPv4 addresses name a v4 host: not checked here.
        || first == 0x0064
        || first == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn only_public_addresses_are_public() {
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "100.128.0.1",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "192.0.0.8",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(ip(inside)), "{inside}");
        }
    }

    #[test]
    fn only_http_urls_to_public_or_named_hosts_are_fetched() {
        let url = |u: &str| reqwest::Url::parse(u).expect("a URL");
        assert!(allowed_url(&url("https://feeds.example.org/a.xml"), false));
        assert!(allowed_url(&url("http://93.184.216.34/a.xml"), false));
        assert!(!allowed_url(&url("http://127.0.0.1:8080/a.xml"), false));
        assert!(!allowed_url(&url("http://[::1]/a.xml"), false));
        assert!(!allowed_url(&url("http://169.254.169.254/latest"), false));
        assert!(!allowed_url(&url("file:///etc/passwd"), false));
        assert!(!allowed_url(&url("ftp://feeds.example.org/a.xml"), false));
        assert!(allowed_url(&url("http://127.0.0.1:8080/a.xml"), true));
    }

    #[tokio::test]
    async fn a_name_of_a_private_address_is_not_resolved() {
        use reqwest::dns::Resolve as _;
        let name: reqwest::dns::Name = "localhost".parse().expect("a name");
        let refused = PublicOnly {
            allow_private: false,
        }
        .resolve(name)
        .await;
        assert!(refused.is_err());
        let name: reqwest::dns::Name = "localhost".parse().expect("a name");
        let allowed = PublicOnly {
            allow_private: true,
        }
        .resolve(name)
        .await;
        assert!(allowed.is_ok_and(|mut a| a.next().is_some()));
    }
}
