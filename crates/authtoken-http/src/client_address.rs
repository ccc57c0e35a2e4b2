//! Who is logging in: the client's address (the peer's, or behind a proxy the application
//! trusts, the one that proxy forwarded) and its user agent, as a session records them.

use std::net::IpAddr;

use authtoken::{AddressPrecision, ClientInfo};
use http::HeaderMap;
use http::header::USER_AGENT;

/// The most `X-Forwarded-For` hops looked at: a chain of proxies is a few long; a header of
/// thousands is an attack, and only its right end (written by the trusted proxies) matters.
const MAX_FORWARDED_HOPS: usize = 16;

/// How the routes tell a client's address: the connection's peer, unless the peer is a proxy
/// the application named, in which case the address that proxy put in `X-Forwarded-For`.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientAddressing {
    /// Networks (address, prefix length) whose peers are trusted proxies.
    trusted_proxies: Vec<(IpAddr, u8)>,
    precision: AddressPrecision,
}

impl ClientAddressing {
    /// Trusts the peers of `network/prefix` as proxies; a prefix past the address's width is
    /// the whole address.
    pub(crate) fn trust(&mut self, network: IpAddr, prefix: u8) {
        // `::ffff:10.0.0.0/104` is `10.0.0.0/8`.
        let prefix = match (network, network.to_canonical()) {
            (IpAddr::V6(_), IpAddr::V4(_)) => prefix.saturating_sub(96),
            _ => prefix,
        };
        let network = network.to_canonical();
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.min(width);
        self.trusted_proxies.push((masked(network, prefix), prefix));
    }

    pub(crate) fn keep(&mut self, precision: AddressPrecision) {
        self.precision = precision;
    }

    /// The client's address: `peer`, or, while the hop before is a trusted proxy, the address
    /// it says it forwarded for (read from the right of `X-Forwarded-For`, the end the trusted
    /// proxies wrote; what a client wrote itself lies further left and is never reached). `None`
    /// when the walk ends on a trusted proxy (its hop is missing or garbled): the client is then
    /// unknown, and no proxy's address stands in for it (it would be every client's).
    pub(crate) fn resolve(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let mut client = peer?.to_canonical();
        if !self.is_trusted(client) {
            return Some(client);
        }
        // Header lines from the last, each from its right end; a line that is not plain text
        // ends the walk as a garbled hop would (never skipped: a proxy may have merged the
        // client's own line with its).
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .rev()
            .flat_map(|line| match line.to_str() {
                Ok(line) => line.rsplit(',').map(Some).collect::<Vec<_>>(),
                Err(_) => vec![None],
            })
            .take(MAX_FORWARDED_HOPS);
        for hop in hops {
            match hop.and_then(|hop| hop.trim().parse::<IpAddr>().ok()) {
                Some(address) => client = address.to_canonical(),
                None => return None,
            }
            if !self.is_trusted(client) {
                return Some(client);
            }
        }
        None
    }

    /// What the session records of the client: its user agent, its address at the precision
    /// asked for.
    pub(crate) fn client_info(&self, address: Option<IpAddr>, headers: &HeaderMap) -> ClientInfo {
        let mut client = ClientInfo::new();
        if let Some(agent) = headers.get(USER_AGENT) {
            client = client.user_agent(&String::from_utf8_lossy(agent.as_bytes()));
        }
        match address {
            Some(address) if self.precision.keeps_address() => {
                client.address(self.precision.apply(address))
            }
            _ => client,
        }
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|&(network, prefix)| {
            network.is_ipv4() == address.is_ipv4() && masked(address, prefix) == network
        })
    }
}

/// `address` with all but its first `prefix` bits zeroed.
fn masked(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_forged_header_is_ignored_without_a_trusted_proxy() {
        let addressing = ClientAddressing::default();
        let headers = forwarded(&["1.2.3.4"]);
        assert_eq!(addressing.resolve(Some(ip("203.0.113.9")), &headers), Some(ip("203.0.113.9")));
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let mut addressing = ClientAddressing::default();
        addressing.trust(ip("10.0.0.1"), 32);
        // 10.0.0.2 and 10.0.0.3.
        addressing.trust(ip("10.0.0.3"), 31);
        // The client forged "1.2.3.4"; the outer proxy appended the real client, the inner the
        // outer proxy.
        let headers = forwarded(&["1.2.3.4, 198.51.100.7", "10.0.0.2"]);
        assert_eq!(addressing.resolve(Some(ip("10.0.0.1")), &headers), Some(ip("198.51.100.7")));
        // A peer that is not a trusted proxy is the client, whatever it claims.
        assert_eq!(
            addressing.resolve(Some(ip("198.51.100.8")), &headers),
            Some(ip("198.51.100.8"))
        );
        // Garbage where a trusted proxy should have written, or no header: the client is unknown
        // (never the proxy's address, which every client would share).
        let garbage = forwarded(&["not-an-address"]);
        assert_eq!(addressing.resolve(Some(ip("10.0.0.1")), &garbage), None);
        assert_eq!(addressing.resolve(Some(ip("10.0.0.1")), &HeaderMap::new()), None);
        // A line that is not text is garbage too, never skipped for an earlier, forged one.
        let mut mixed = forwarded(&["1.2.3.4"]);
        mixed.append("x-forwarded-for", http::HeaderValue::from_bytes(b"\x80").unwrap());
        assert_eq!(addressing.resolve(Some(ip("10.0.0.1")), &mixed), None);
        // Outside the trusted network: the peer.
        assert_eq!(addressing.resolve(Some(ip("10.0.0.4")), &headers), Some(ip("10.0.0.4")));
    }

    #[test]
    fn networks_match_by_prefix_and_family() {
        let mut addressing = ClientAddressing::default();
        addressing.trust(ip("fd00::"), 8);
        addressing.trust(ip("127.0.0.1"), 200);
        assert!(addressing.is_trusted(ip("fdab::1")));
        assert!(!addressing.is_trusted(ip("fe80::1")));
        assert!(addressing.is_trusted(ip("127.0.0.1")));
        assert!(!addressing.is_trusted(ip("127.0.0.2")));
        assert!(!addressing.is_trusted(ip("::")));
        addressing.trust(ip("::ffff:192.168.0.0"), 112);
        assert!(addressing.is_trusted(ip("192.168.7.9")), "::ffff:a.b.c.d/112 is a /16");
    }

    #[test]
    fn a_long_header_is_walked_a_few_hops_only() {
        let mut addressing = ClientAddressing::default();
        addressing.trust(ip("10.0.0.0"), 8);
        let chain = vec!["10.0.0.9"; 10_000].join(", ");
        let headers = forwarded(&[&format!("198.51.100.1, {chain}")]);
        assert_eq!(addressing.resolve(Some(ip("10.0.0.1")), &headers), None);
        let headers = forwarded(&["198.51.100.1, 10.0.0.9"]);
        assert_eq!(addressing.resolve(Some(ip("10.0.0.1")), &headers), Some(ip("198.51.100.1")));
    }

    #[test]
    fn the_session_keeps_the_address_at_the_precision_asked() {
        let mut addressing = ClientAddressing::default();
        addressing.keep(AddressPrecision::Network);
        let mut headers = HeaderMap::new();
        headers.insert(USER_AGENT, "curl/8.5".parse().unwrap());
        let info = addressing.client_info(Some(ip("198.51.100.7")), &headers);
        assert_eq!(info.user_agent_text(), Some("curl/8.5"));
        assert_eq!(info.address_text().as_deref(), Some("198.51.100.0"));
        addressing.keep(AddressPrecision::None);
        assert_eq!(addressing.client_info(Some(ip("198.51.100.7")), &headers).address_text(), None);
    }
}
