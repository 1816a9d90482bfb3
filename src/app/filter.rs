//! The live `/` filter: a port, an address fragment, or a state name.
//!
//! Owns: parsing the typed text into a `FilterQuery` and matching ports and
//! sockets against it. Must not: touch rows, drawing or the kernel filter
//! (`--port`/`--state` are applied by the sampler).

use crate::model::{SocketRecord, StateCounts, TcpState};

/// What the typed text means.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FilterQuery {
    #[default]
    Everything,
    /// A full state name (`syn_sent`, `TIME-WAIT`, `estab`…).
    State(TcpState),
    /// Anything else: a fragment of a port number or an address (`10000`,
    /// `127.0.0`, `::1`).
    Text(String),
}

impl FilterQuery {
    pub fn parse(text: &str) -> FilterQuery {
        let text = text.trim();
        if text.is_empty() {
            return FilterQuery::Everything;
        }
        if let Ok(state) = text.parse::<TcpState>() {
            return FilterQuery::State(state);
        }
        FilterQuery::Text(text.to_ascii_lowercase())
    }

    pub(crate) fn is_everything(&self) -> bool {
        *self == FilterQuery::Everything
    }

    /// Whether a port row matches on its own figures. For `Text`, the caller
    /// also checks the sockets' addresses (`matches_socket`).
    pub(crate) fn matches_port(&self, port: u16, counts: &StateCounts) -> bool {
        match self {
            FilterQuery::Everything => true,
            FilterQuery::State(state) => counts.get(*state) > 0,
            FilterQuery::Text(text) => port.to_string().contains(text.as_str()),
        }
    }

    pub(crate) fn matches_socket(&self, record: &SocketRecord) -> bool {
        match self {
            FilterQuery::Everything => true,
            FilterQuery::State(state) => record.state == *state,
            FilterQuery::Text(text) => {
                record.local.to_string().contains(text.as_str())
                    || record.remote.to_string().contains(text.as_str())
            }
        }
    }

    /// Whether text matching may find a port through its sockets' addresses.
    pub(crate) fn searches_addresses(&self) -> bool {
        matches!(self, FilterQuery::Text(_))
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
            FilterQuery::State(state) => Some(format!("state {state}")),
            FilterQuery::Text(text) => Some(format!("\"{text}\"")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_become_state_queries_everything_else_text() {
        assert_eq!(FilterQuery::parse(""), FilterQuery::Everything);
        assert_eq!(
            FilterQuery::parse("syn-sent"),
            FilterQuery::State(TcpState::SynSent)
        );
        assert_eq!(
            FilterQuery::parse("10000"),
            FilterQuery::Text("10000".to_string())
        );
        assert_eq!(
            FilterQuery::parse("127.0"),
            FilterQuery::Text("127.0".to_string())
        );
    }
}
