//! How the ports table is ordered.
//!
//! Owns: `SortMode` and its cycle. Must not: know about rows or drawing.

use crate::model::{PortStates, TcpState};

/// Ports-table order: by total (largest first), by port, or by one state's
/// count (largest first). Ties fall back to the port number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortMode {
    #[default]
    Total,
    Port,
    State(TcpState),
}

impl SortMode {
    /// `s`: total → port → each state in display order → total.
    pub fn next(self) -> SortMode {
        match self {
            SortMode::Total => SortMode::Port,
            SortMode::Port => SortMode::State(TcpState::ALL[0]),
            SortMode::State(state) => match state_position(state) {
                Some(i) if i + 1 < TcpState::ALL.len() => SortMode::State(TcpState::ALL[i + 1]),
                _ => SortMode::Total,
            },
        }
    }

    /// `S`: the reverse cycle.
    pub fn previous(self) -> SortMode {
        match self {
            SortMode::Total => SortMode::State(TcpState::ALL[TcpState::ALL.len() - 1]),
            SortMode::Port => SortMode::Total,
            SortMode::State(state) => match state_position(state) {
                Some(i) if i > 0 => SortMode::State(TcpState::ALL[i - 1]),
                _ => SortMode::Port,
            },
        }
    }

    pub fn label(self) -> String {
        match self {
            SortMode::Total => "total".to_string(),
            SortMode::Port => "port".to_string(),
            SortMode::State(state) => state.name().to_string(),
        }
    }

    pub fn sort(self, rows: &mut [PortStates]) {
        match self {
            SortMode::Total => rows.sort_by_key(|r| (std::cmp::Reverse(r.counts.total()), r.port)),
            SortMode::Port => rows.sort_by_key(|r| r.port),
            SortMode::State(state) => {
                rows.sort_by_key(|r| (std::cmp::Reverse(r.counts.get(state)), r.port))
            }
        }
    }
}

fn state_position(state: TcpState) -> Option<usize> {
    TcpState::ALL.iter().position(|s| *s == state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_visits_every_mode_and_returns() {
        let mut mode = SortMode::Total;
        let mut seen = vec![mode];
        loop {
            mode = mode.next();
            if mode == SortMode::Total {
                break;
            }
            seen.push(mode);
        }
        assert_eq!(seen.len(), 2 + TcpState::ALL.len());
        for mode in seen {
            assert_eq!(mode.next().previous(), mode);
        }
    }
}
