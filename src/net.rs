//! Addresses: whether a URL stays on this machine (plain http and the
//! test providers are allowed only there).

use url::Url;

/// Whether a URL names this machine: `localhost` or a loopback address
/// (for schemes the URL standard does not know, such as `smtp`, an address
/// arrives as a name and is read as one).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    }
}
