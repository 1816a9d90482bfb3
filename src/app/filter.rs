//! The live `/` filter and its one matching rule, said in the help:
//! - a number is a port, exactly (`1000` does not find 10000); `1000*` asks
//!   for every port that starts with 1000;
//! - a state name or its beginning is those states (`SYN` finds SYN_SENT
//!   and SYN_RECV, `time-wait` TIME_WAIT);
//! - anything else is part of an address (`127.0.0`, `::1`, `10.0.0.5:22`).
//!
//! Owns: parsing the typed text into a `FilterQuery` and matching ports and
//! sockets against it. Must not: touch rows, drawing or the kernel filter
//! (`--port`/`--state` are applied by the sampler).

use crate::model::{SocketRecord, StateCounts, TcpState};

/// The rule as the help and the footer say it.
pub const FILTER_RULE: &str =
    "port (1000 exact, 1000* prefix) · state or its start (SYN) · address text";

/// What the typed text means.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FilterQuery {
    #[default]
    Everything,
    /// A state name or the start of one or more (`syn`, `TIME-WAIT`).
    States(Vec<TcpState>),
    /// A port number, matched exactly.
    Port(u16),
    /// Digits then `*`: ports whose number starts with them.
    PortPrefix(String),
    /// A fragment of an address (`127.0.0`, `::1`, `10.0.0.5:22`).
    Text(String),
}

/// The states whose name starts with `text` (`-` read as `_`, any case);
/// a full name also matches its aliases (`estab`).
fn states_starting_with(text: &str) -> Vec<TcpState> {
    if let Ok(state) = text.parse::<TcpState>() {
        let upper = text.to_ascii_uppercase().replace('-', "_");
        let mut states: Vec<TcpState> = TcpState::ALL
            .into_iter()
            .filter(|s| s.name().starts_with(&upper))
            .collect();
        if !states.contains(&state) {
            states.insert(0, state);
        }
        return states;
    }
    let upper = text.to_ascii_uppercase().replace('-', "_");
    if upper.len() < 2 || !upper.chars().all(|c| c.is_ascii_alphabetic() || c == '_') {
        return Vec::new();
    }
    TcpState::ALL
        .into_iter()
        .filter(|s| s.name().starts_with(&upper))
        .collect()
}

impl FilterQuery {
    pub fn parse(text: &str) -> FilterQuery {
        let text = text.trim();
        if text.is_empty() {
            return FilterQuery::Everything;
        }
        if let Ok(port) = text.parse::<u16>() {
            return FilterQuery::Port(port);
        }
        if let Some(digits) = text.strip_suffix('*')
            && !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit())
        {
            return FilterQuery::PortPrefix(digits.to_string());
        }
        let states = states_starting_with(text);
        if !states.is_empty() {
            return FilterQuery::States(states);
        }
        FilterQuery::Text(text.to_ascii_lowercase())
    }

    pub(crate) fn is_everything(&self) -> bool {
        *self == FilterQuery::Everything
    }

    fn port_matches(&self, port: u16) -> bool {
        match self {
            FilterQuery::Port(p) => port == *p,
            FilterQuery::PortPrefix(digits) => port.to_string().starts_with(digits.as_str()),
            _ => false,
        }
    }

    /// Whether a port row matches on its own figures. For ports and
    /// addresses, the caller also checks the sockets (`matches_socket`).
    pub(crate) fn matches_port(&self, port: u16, counts: &StateCounts) -> bool {
        match self {
            FilterQuery::Everything => true,
            FilterQuery::States(states) => states.iter().any(|s| counts.get(*s) > 0),
            FilterQuery::Port(_) | FilterQuery::PortPrefix(_) => self.port_matches(port),
            FilterQuery::Text(_) => false,
        }
    }

    pub(crate) fn matches_socket(&self, record: &SocketRecord) -> bool {
        match self {
            FilterQuery::Everything => true,
            FilterQuery::States(states) => states.contains(&record.state),
            FilterQuery::Port(_) | FilterQuery::PortPrefix(_) => {
                self.port_matches(record.local.port()) || self.port_matches(record.remote.port())
            }
            FilterQuery::Text(text) => {
                record.local.to_string().contains(text.as_str())
                    || record.remote.to_string().contains(text.as_str())
            }
        }
    }

    /// Whether matching may find a port through its sockets' addresses.
    pub(crate) fn searches_addresses(&self) -> bool {
        matches!(
            self,
            FilterQuery::Text(_) | FilterQuery::Port(_) | FilterQuery::PortPrefix(_)
        )
    }
}

/// The filter as typed, with its parsed meaning.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LiveFilter {
    text: String,
    query: FilterQuery,
    editing: bool,
}

impl LiveFilter {
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn query(&self) -> &FilterQuery {
        &self.query
    }

    pub(crate) fn is_editing(&self) -> bool {
        self.editing
    }

    pub(crate) fn is_active(&self) -> bool {
        !self.query.is_everything()
    }

    pub(crate) fn start_editing(&mut self) {
        self.editing = true;
    }

    pub(crate) fn stop_editing(&mut self) {
        self.editing = false;
    }

    pub fn push(&mut self, c: char) {
        if self.text.chars().count() < 64 && !c.is_control() {
            self.text.push(c);
            self.query = FilterQuery::parse(&self.text);
        }
    }

    pub(crate) fn pop(&mut self) {
        self.text.pop();
        self.query = FilterQuery::parse(&self.text);
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.query = FilterQuery::Everything;
        self.editing = false;
    }

    /// A short description for the header, e.g. `/10000` or `/SYN_SENT`.
    pub fn describe(&self) -> Option<String> {
        match &self.query {
            FilterQuery::Everything => None,
            FilterQuery::States(states) => {
                let names: Vec<&str> = states.iter().map(|s| s.name()).collect();
                Some(format!("state {}", names.join(",")))
            }
            FilterQuery::Port(port) => Some(format!("port {port}")),
            FilterQuery::PortPrefix(digits) => Some(format!("port {digits}*")),
            FilterQuery::Text(text) => Some(format!("\"{text}\"")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::socket::fixtures::record;

    #[test]
    fn filter_matches_by_one_rule() {
        assert_eq!(FilterQuery::parse(""), FilterQuery::Everything);
        assert_eq!(
            FilterQuery::parse("SYN"),
            FilterQuery::States(vec![TcpState::SynSent, TcpState::SynRecv])
        );
        assert_eq!(
            FilterQuery::parse("syn-sent"),
            FilterQuery::States(vec![TcpState::SynSent])
        );
        assert_eq!(
            FilterQuery::parse("estab"),
            FilterQuery::States(vec![TcpState::Established])
        );
        assert_eq!(FilterQuery::parse("1000"), FilterQuery::Port(1000));
        assert_eq!(
            FilterQuery::parse("1000*"),
            FilterQuery::PortPrefix("1000".to_string())
        );
        assert_eq!(
            FilterQuery::parse("127.0"),
            FilterQuery::Text("127.0".to_string())
        );
        let counts = StateCounts::default();
        assert!(!FilterQuery::parse("1000").matches_port(10000, &counts));
        assert!(FilterQuery::parse("1000").matches_port(1000, &counts));
        assert!(FilterQuery::parse("1000*").matches_port(10000, &counts));
        let syn_recv = record(TcpState::SynRecv, "127.0.0.1:10000", "127.0.0.1:40001");
        let syn_sent = record(TcpState::SynSent, "127.0.0.1:40002", "127.0.0.1:10000");
        let estab = record(TcpState::Established, "127.0.0.1:40003", "127.0.0.1:10000");
        let syn = FilterQuery::parse("SYN");
        assert!(syn.matches_socket(&syn_recv) && syn.matches_socket(&syn_sent));
        assert!(!syn.matches_socket(&estab));
        assert!(!FilterQuery::parse("1000").matches_socket(&estab));
        assert!(FilterQuery::parse("10000").matches_socket(&estab));
        assert!(FilterQuery::parse("40003").matches_socket(&estab));
    }
}
