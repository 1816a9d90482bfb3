//! TCP states as the kernel numbers them, their display names and the state mask.
//!
//! Owns: `TcpState`, `StateMask`, name parsing. Must not: do any I/O.

use std::fmt;
use std::str::FromStr;

/// A TCP state, numbered as in the kernel's `include/net/tcp_states.h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TcpState {
    Established = 1,
    SynSent = 2,
    SynRecv = 3,
    FinWait1 = 4,
    FinWait2 = 5,
    TimeWait = 6,
    Close = 7,
    CloseWait = 8,
    LastAck = 9,
    Listen = 10,
    Closing = 11,
}

/// Error for a state name we do not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown TCP state '{name}': use one of {}", TcpState::valid_names())]
pub struct UnknownStateName {
    pub name: String,
}

impl TcpState {
    /// All 11 states in the order tcpwatch shows them (connection life order).
    pub const ALL: [TcpState; 11] = [
        TcpState::Listen,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::Established,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::Closing,
        TcpState::TimeWait,
        TcpState::Close,
    ];

    /// The kernel's number for a state, or `None` for a number we do not know
    /// (e.g. TCP_NEW_SYN_RECV = 12, which sock_diag reports as SYN_RECV anyway).
    pub fn from_kernel(value: u8) -> Option<TcpState> {
        Some(match value {
            1 => TcpState::Established,
            2 => TcpState::SynSent,
            3 | 12 => TcpState::SynRecv,
            4 => TcpState::FinWait1,
            5 => TcpState::FinWait2,
            6 => TcpState::TimeWait,
            7 => TcpState::Close,
            8 => TcpState::CloseWait,
            9 => TcpState::LastAck,
            10 => TcpState::Listen,
            11 => TcpState::Closing,
            _ => return None,
        })
    }

    #[cfg(test)]
    pub(crate) fn kernel_number(self) -> u8 {
        self as u8
    }

    /// The stable name used in JSON and on screen, e.g. `SYN_SENT`.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Established => "ESTABLISHED",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::FinWait1 => "FIN_WAIT1",
            TcpState::FinWait2 => "FIN_WAIT2",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::Listen => "LISTEN",
            TcpState::Closing => "CLOSING",
        }
    }

    /// Index into per-state arrays (`[u32; 11]`), in kernel order minus one.
    pub fn index(self) -> usize {
        self as usize - 1
    }

    /// Inverse of [`TcpState::index`].
    #[cfg(test)]
    pub(crate) fn from_index(index: usize) -> Option<TcpState> {
        u8::try_from(index + 1).ok().and_then(TcpState::from_kernel)
    }

    pub(crate) fn valid_names() -> String {
        TcpState::ALL
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TcpState {
    type Err = UnknownStateName;

    /// Accepts the kernel names case-insensitively, with `-` or `_`, and the
    /// common aliases `SYN_RCVD`, `TIMEWAIT`, `CLOSED`.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let normalized: String = input
            .trim()
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let state = match normalized.as_str() {
            "ESTABLISHED" | "ESTAB" => TcpState::Established,
            "SYNSENT" => TcpState::SynSent,
            "SYNRECV" | "SYNRCVD" => TcpState::SynRecv,
            "FINWAIT1" => TcpState::FinWait1,
            "FINWAIT2" => TcpState::FinWait2,
            "TIMEWAIT" => TcpState::TimeWait,
            "CLOSE" | "CLOSED" => TcpState::Close,
            "CLOSEWAIT" => TcpState::CloseWait,
            "LASTACK" => TcpState::LastAck,
            "LISTEN" => TcpState::Listen,
            "CLOSING" => TcpState::Closing,
            _ => {
                return Err(UnknownStateName {
                    name: input.to_string(),
                });
            }
        };
        Ok(state)
    }
}

/// A set of states, as the kernel's `idiag_states` bitmask (bit = 1 << state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateMask(pub u32);

impl StateMask {
    /// Every TCP state (what `ss -tan` asks for).
    pub const ALL: StateMask = StateMask(0xFFF);
    pub const LISTEN_ONLY: StateMask = StateMask(1 << TcpState::Listen as u32);

    pub fn of(states: &[TcpState]) -> StateMask {
        StateMask(states.iter().fold(0, |mask, s| mask | (1 << *s as u32)))
    }

    pub fn contains(self, state: TcpState) -> bool {
        self.0 & (1 << state as u32) != 0
    }

    pub fn with(self, state: TcpState) -> StateMask {
        StateMask(self.0 | (1 << state as u32))
    }

    pub fn without(self, state: TcpState) -> StateMask {
        StateMask(self.0 & !(1 << state as u32))
    }

    pub(crate) fn is_all(self) -> bool {
        TcpState::ALL.iter().all(|s| self.contains(*s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_parsing() {
        for state in TcpState::ALL {
            assert_eq!(state.name().parse::<TcpState>(), Ok(state));
            assert_eq!(TcpState::from_kernel(state.kernel_number()), Some(state));
            assert_eq!(TcpState::from_index(state.index()), Some(state));
        }
    }

    #[test]
    fn aliases_and_case_are_accepted() {
        assert_eq!("syn-rcvd".parse::<TcpState>(), Ok(TcpState::SynRecv));
        assert_eq!("time_wait".parse::<TcpState>(), Ok(TcpState::TimeWait));
        assert_eq!("estab".parse::<TcpState>(), Ok(TcpState::Established));
    }

    #[test]
    fn unknown_name_lists_the_valid_ones() {
        let err = "SYN_WAIT".parse::<TcpState>().unwrap_err();
        let message = err.to_string();
        assert!(message.contains("SYN_WAIT"), "{message}");
        assert!(message.contains("TIME_WAIT"), "{message}");
    }

    #[test]
    fn new_syn_recv_is_reported_as_syn_recv() {
        assert_eq!(TcpState::from_kernel(12), Some(TcpState::SynRecv));
        assert_eq!(TcpState::from_kernel(0), None);
        assert_eq!(TcpState::from_kernel(13), None);
    }

    #[test]
    fn mask_has_one_bit_per_state() {
        let mask = StateMask::of(&[TcpState::Listen, TcpState::TimeWait]);
        assert_eq!(mask.0, (1 << 10) | (1 << 6));
        assert!(mask.contains(TcpState::Listen));
        assert!(!mask.contains(TcpState::Established));
        assert!(StateMask::ALL.is_all());
        assert!(!StateMask::ALL.without(TcpState::Close).is_all());
    }
}
