//! Address filters: an IP family (`-4`/`-6`) and address prefixes (`--addr
//! 10.0.0.5`, `--addr 10.0.0.0/8`, `--addr fe80::/10`), and whether a socket
//! address falls in them.
//!
//! Owns: `IpFamily`, `IpPrefix` and their parsing and matching. Must not: do
//! I/O; the collectors push the same rules into the kernel (see
//! `collect::bytecode`) and must agree with `IpPrefix::contains`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

/// The address family of a socket, as `ss -4` / `ss -6` select it: an IPv6
/// socket carrying an IPv4-mapped address (`::ffff:10.0.0.5`) is IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpFamily {
    V4,
    V6,
}

impl IpFamily {
    pub fn of(address: &SocketAddr) -> IpFamily {
        match address {
            SocketAddr::V4(_) => IpFamily::V4,
            SocketAddr::V6(_) => IpFamily::V6,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            IpFamily::V4 => "IPv4",
            IpFamily::V6 => "IPv6",
        }
    }
}

/// An address and how many leading bits of it must match: `10.0.0.5` is
/// `10.0.0.5/32`, `10.0.0.0/8` a network. An IPv4 prefix also matches an
/// IPv4-mapped IPv6 address (a dual-stack socket talking to an IPv4 peer),
/// as the kernel's `INET_DIAG_BC_S_COND` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    /// The address with the bits past `len` cleared.
    pub addr: IpAddr,
    pub len: u8,
}

impl IpPrefix {
    /// The prefix that holds exactly `addr`.
    pub fn host(addr: IpAddr) -> IpPrefix {
        let len = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        IpPrefix { addr, len }
    }

    /// `0.0.0.0/32` and `::/128`: what a wildcard listener is bound to.
    pub const WILDCARDS: [IpPrefix; 2] = [
        IpPrefix {
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            len: 32,
        },
        IpPrefix {
            addr: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            len: 128,
        },
    ];

    pub fn contains(&self, candidate: IpAddr) -> bool {
        match (self.addr, candidate) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => bits_match(&net.octets(), &ip.octets(), self.len),
            (IpAddr::V4(net), IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|ip| bits_match(&net.octets(), &ip.octets(), self.len)),
            (IpAddr::V6(net), IpAddr::V6(ip)) => bits_match(&net.octets(), &ip.octets(), self.len),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }

    /// Whether either end of a connection lies in the prefix.
    pub fn contains_either(&self, local: &SocketAddr, remote: &SocketAddr) -> bool {
        self.contains(local.ip()) || self.contains(remote.ip())
    }
}

/// Whether the first `len` bits of `a` and `b` agree.
fn bits_match(a: &[u8], b: &[u8], len: u8) -> bool {
    let full_bytes = usize::from(len / 8);
    let rest_bits = len % 8;
    if a.get(..full_bytes) != b.get(..full_bytes) {
        return false;
    }
    if rest_bits == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest_bits);
    match (a.get(full_bytes), b.get(full_bytes)) {
        (Some(x), Some(y)) => x & mask == y & mask,
        _ => false,
    }
}

/// Clears the bits of `addr` past `len`.
fn masked(addr: IpAddr, len: u8) -> IpAddr {
    fn clear(octets: &mut [u8], len: u8) {
        for (index, byte) in octets.iter_mut().enumerate() {
            let start = u32::try_from(index * 8).unwrap_or(u32::MAX);
            let kept = u32::from(len).saturating_sub(start).min(8);
            *byte &= if kept == 0 { 0 } else { 0xffu8 << (8 - kept) };
        }
    }
    match addr {
        IpAddr::V4(ip) => {
            let mut octets = ip.octets();
            clear(&mut octets, len);
            IpAddr::V4(Ipv4Addr::from(octets))
        }
        IpAddr::V6(ip) => {
            let mut octets = ip.octets();
            clear(&mut octets, len);
            IpAddr::V6(Ipv6Addr::from(octets))
        }
    }
}

impl FromStr for IpPrefix {
    type Err = String;

    fn from_str(text: &str) -> Result<IpPrefix, String> {
        let text = text.trim();
        let hint = "write an address or a network, e.g. 10.0.0.5, 10.0.0.0/8, ::1 or fe80::/10";
        let (address, len) = match text.split_once('/') {
            Some((address, len)) => (address, Some(len)),
            None => (text, None),
        };
        let address = address.trim_start_matches('[').trim_end_matches(']');
        let addr: IpAddr = address
            .parse()
            .map_err(|_| format!("'{text}' is not an IP address: {hint}"))?;
        let max = IpPrefix::host(addr).len;
        let len = match len {
            None => max,
            Some(len) => match len.parse::<u8>() {
                Ok(len) if len <= max => len,
                _ => {
                    return Err(format!(
                        "'{text}': the prefix length must be 0-{max} for this address"
                    ));
                }
            },
        };
        Ok(IpPrefix {
            addr: masked(addr, len),
            len,
        })
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == IpPrefix::host(self.addr) {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(text: &str) -> IpPrefix {
        text.parse().expect("valid prefix")
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("valid address")
    }

    #[test]
    fn a_bare_address_is_a_host_prefix() {
        assert_eq!(prefix("10.0.0.5"), IpPrefix::host(ip("10.0.0.5")));
        assert_eq!(prefix("::1").len, 128);
        assert_eq!(prefix("[::1]").to_string(), "::1");
        assert!(prefix("10.0.0.5").contains(ip("10.0.0.5")));
        assert!(!prefix("10.0.0.5").contains(ip("10.0.0.6")));
    }

    #[test]
    fn networks_are_masked_and_match_their_members() {
        let net = prefix("10.1.2.3/8");
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(net.contains(ip("10.255.0.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        let odd = prefix("192.168.1.0/23");
        assert!(odd.contains(ip("192.168.0.9")));
        assert!(odd.contains(ip("192.168.1.9")));
        assert!(!odd.contains(ip("192.168.2.9")));
        assert!(prefix("0.0.0.0/0").contains(ip("1.2.3.4")));
        let v6 = prefix("fe80::1/10");
        assert_eq!(v6.to_string(), "fe80::/10");
        assert!(v6.contains(ip("febf::9")));
        assert!(!v6.contains(ip("fec0::9")));
    }

    #[test]
    fn an_ipv4_prefix_matches_ipv4_mapped_addresses_but_not_the_reverse() {
        assert!(prefix("127.0.0.0/8").contains(ip("::ffff:127.0.0.1")));
        assert!(!prefix("::/0").contains(ip("127.0.0.1")));
        assert!(!prefix("127.0.0.0/8").contains(ip("::1")));
    }

    #[test]
    fn wildcards_match_only_unspecified_addresses() {
        let [v4, v6] = IpPrefix::WILDCARDS;
        assert!(v4.contains(ip("0.0.0.0")));
        assert!(!v4.contains(ip("0.0.0.1")));
        assert!(v6.contains(ip("::")));
        assert!(!v6.contains(ip("::1")));
    }

    #[test]
    fn bad_prefixes_name_the_fix() {
        for (text, needle) in [
            ("10.0.0", "e.g. 10.0.0.5"),
            ("host.example", "not an IP address"),
            ("10.0.0.0/33", "0-32"),
            ("::/129", "0-128"),
            ("10.0.0.0/x", "prefix length"),
        ] {
            let err = text.parse::<IpPrefix>().expect_err(text);
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
