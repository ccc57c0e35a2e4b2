//! What a session shows of the client that logged in: its user agent and its address, cleaned
//! and cut to fit their columns before anything is stored.

use std::net::IpAddr;

/// The longest user agent kept, in characters (the `user_agent` column is `VARCHAR(255)`);
/// longer ones are cut, never refused.
pub const MAX_USER_AGENT_CHARS: usize = 255;

/// The client a token was issued to, as a sessions page shows it ("Firefox on Linux, from
/// 203.0.113.7"). Informational: it grants nothing and is checked against nothing, so a store
/// without the `user_agent` and `address` columns simply does not keep it.
///
/// ```
/// use std::net::IpAddr;
/// use authtoken::{AddressPrecision, ClientInfo};
///
/// let address: IpAddr = "203.0.113.7".parse().unwrap();
/// let client = ClientInfo::new()
///     .user_agent("Mozilla/5.0\r\nX-Injected: 1")
///     .address(AddressPrecision::Network.apply(address));
/// assert_eq!(client.user_agent_text(), Some("Mozilla/5.0X-Injected: 1"));
/// assert_eq!(client.address_text().as_deref(), Some("203.0.113.0"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    user_agent: Option<String>,
    address: Option<IpAddr>,
}

impl ClientInfo {
    /// Nothing known of the client.
    pub fn new() -> Self {
        Self::default()
    }

    /// The client's `User-Agent`: control characters removed, anything but printable ASCII
    /// (what HTTP header values are made of) replaced by `?`, cut to [`MAX_USER_AGENT_CHARS`],
    /// blank taken as none. ASCII fits every column's character set, and keeps bidirectional
    /// overrides and look-alike letters off a sessions page.
    pub fn user_agent(mut self, user_agent: &str) -> Self {
        let cleaned: String = user_agent
            .chars()
            .filter(|c| !c.is_control())
            .map(|c| if c.is_ascii() { c } else { '?' })
            .take(MAX_USER_AGENT_CHARS)
            .collect::<String>()
            .trim()
            .to_owned();
        self.user_agent = (!cleaned.is_empty()).then_some(cleaned);
        self
    }

    /// The client's address, as the web layer determined it (see [`AddressPrecision`]).
    pub fn address(mut self, address: IpAddr) -> Self {
        self.address = Some(address.to_canonical());
        self
    }

    /// The cleaned user agent.
    pub fn user_agent_text(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    /// The address as it is stored (`203.0.113.7`, `2001:db8::1`).
    pub fn address_text(&self) -> Option<String> {
        self.address.map(|address| address.to_string())
    }
}

/// How much of a client's address a session keeps.
///
/// ```
/// use authtoken::AddressPrecision;
/// let v6 = "2001:db8:1:2:3:4:5:6".parse().unwrap();
/// assert_eq!(AddressPrecision::Network.apply(v6).to_string(), "2001:db8:1::");
/// assert_eq!(AddressPrecision::Full.apply(v6), v6);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AddressPrecision {
    /// The whole address.
    #[default]
    Full,
    /// Its network only, for privacy: the /24 of an IPv4 address, the /48 of an IPv6 one
    /// (a site, in IPv6 allocation terms), the rest zeroed.
    Network,
    /// No address at all.
    None,
}

impl AddressPrecision {
    /// `address` cut to this precision (with [`None`](Self::None), unchanged: the caller
    /// keeps no address, see [`keeps_address`](Self::keeps_address)).
    pub fn apply(self, address: IpAddr) -> IpAddr {
        match (self, address.to_canonical()) {
            (Self::Network, IpAddr::V4(v4)) => IpAddr::V4((u32::from(v4) & 0xffff_ff00).into()),
            (Self::Network, IpAddr::V6(v6)) => IpAddr::V6((u128::from(v6) & (!0u128 << 80)).into()),
            (_, canonical) => canonical,
        }
    }

    /// Whether any of the address is kept.
    pub fn keeps_address(self) -> bool {
        self != Self::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_megabyte_of_user_agent_is_cut_to_the_column() {
        let huge = "é".repeat(1 << 20);
        let client = ClientInfo::new().user_agent(&huge);
        assert_eq!(client.user_agent_text().unwrap(), "?".repeat(MAX_USER_AGENT_CHARS));
    }

    #[test]
    fn only_printable_ascii_is_kept() {
        let client = ClientInfo::new().user_agent("Evil\u{202e}txt.exe Браузер 🦀");
        assert_eq!(client.user_agent_text(), Some("Evil?txt.exe ??????? ?"));
    }

    #[test]
    fn control_characters_and_blanks_go() {
        let client = ClientInfo::new().user_agent(" \u{7}curl/8\u{0}\n ");
        assert_eq!(client.user_agent_text(), Some("curl/8"));
        assert_eq!(ClientInfo::new().user_agent("\r\n\t ").user_agent_text(), None);
    }

    #[test]
    fn networks_keep_the_prefix_only() {
        let v4: IpAddr = "198.51.100.200".parse().unwrap();
        assert_eq!(AddressPrecision::Network.apply(v4).to_string(), "198.51.100.0");
        let mapped: IpAddr = "::ffff:198.51.100.200".parse().unwrap();
        assert_eq!(AddressPrecision::Network.apply(mapped).to_string(), "198.51.100.0");
        assert_eq!(ClientInfo::new().address(mapped).address_text().unwrap(), "198.51.100.200");
    }
}
