//! The state-diagram view's state: which state is selected, whether its
//! explanation is open, what the counts cover (all watched ports or one
//! port), which states just gained sockets (they flash for `FLASH_MS`), and
//! the figures the boxes show, computed once per sample.
//!
//! Owns: `DiagramState`, `DiagramScope`, `DiagramFigures`, what the keys do
//! in the diagram view (moving between states, explaining, scope, scrolling
//! the transition log). Must not: draw, do I/O or read the clock: time
//! comes in with samples and ticks.

use std::collections::HashSet;

use super::PANEL_PAGE_ROWS;
use super::keymap::Command;
use super::scroll::offset_by;
use crate::model::aggregate::service_port;
use crate::model::{PortStates, StateCounts, TcpState, TimerKind};
use crate::watch::FullTick;

/// How long a state that just gained sockets stays highlighted.
pub(crate) const FLASH_MS: u64 = 2_000;
/// The smallest terminal that gets the drawn diagram; below it the view is
/// a compact list.
pub(crate) const DIAGRAM_MIN_WIDTH: u16 = 100;
pub(crate) const DIAGRAM_MIN_HEIGHT: u16 = 30;

/// Whether a terminal of this size gets the drawn diagram.
pub(crate) fn diagram_fits(width: u16, height: u16) -> bool {
    width >= DIAGRAM_MIN_WIDTH && height >= DIAGRAM_MIN_HEIGHT
}

/// What the counts cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiagramScope {
    /// Every port listed in the ports table (the watch filter and the live
    /// filter applied).
    #[default]
    AllWatched,
    Port(u16),
}

impl DiagramScope {
    pub fn covers(self, port: u16, listed: &HashSet<u16>) -> bool {
        match self {
            DiagramScope::AllWatched => listed.contains(&port),
            DiagramScope::Port(p) => p == port,
        }
    }
}

/// A direction to move the selection in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
    Left,
    Right,
}

/// The SYN_SENT socket whose SYN is retried next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NextSynRetry {
    /// Retransmits so far; the next one is `retransmits + 1`.
    pub retransmits: u8,
    /// Time left on its timer when the sample was taken.
    pub expires_ms: u32,
    pub taken_at_ms: u64,
}

impl NextSynRetry {
    /// Time left at `now_ms`.
    pub(crate) fn left_ms(&self, now_ms: u64) -> u64 {
        u64::from(self.expires_ms).saturating_sub(now_ms.saturating_sub(self.taken_at_ms))
    }
}

/// What the boxes show, for the current scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct DiagramFigures {
    pub counts: StateCounts,
    pub taken_at_ms: u64,
    pub next_syn_retry: Option<NextSynRetry>,
    /// Server-side ESTABLISHED sockets no process owns yet (inode 0): they
    /// wait in an accept queue for accept().
    pub not_accepted: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Baseline {
    scope: DiagramScope,
    filter: String,
    taken_at_ms: u64,
    counts: StateCounts,
}

/// The diagram view's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagramState {
    pub selected: TcpState,
    pub explaining: bool,
    pub scope: DiagramScope,
    /// Rows the transition log is scrolled down from the newest.
    pub log_offset: usize,
    figures: DiagramFigures,
    flash_until_ms: [u64; 11],
    gained: [u64; 11],
    baseline: Option<Baseline>,
}

impl Default for DiagramState {
    fn default() -> Self {
        DiagramState {
            selected: TcpState::Established,
            explaining: false,
            scope: DiagramScope::default(),
            log_offset: 0,
            figures: DiagramFigures::default(),
            flash_until_ms: [0; 11],
            gained: [0; 11],
            baseline: None,
        }
    }
}

impl DiagramState {
    pub(crate) fn figures(&self) -> &DiagramFigures {
        &self.figures
    }

    /// Whether `state` gained sockets less than `FLASH_MS` before `now_ms`,
    /// and by how many.
    pub fn flash(&self, state: TcpState, now_ms: u64) -> Option<u64> {
        (now_ms < self.flash_until_ms[state.index()]).then_some(self.gained[state.index()])
    }

    /// Recomputes the figures from the shown sample. States whose count rose
    /// since the previous sample under the same scope and filter start
    /// flashing at `now_ms`; a new scope or filter only sets the baseline.
    pub fn refresh(
        &mut self,
        sample: &FullTick,
        port_rows: &[PortStates],
        filter: &str,
        now_ms: u64,
    ) {
        self.figures = figures(sample, port_rows, self.scope);
        let taken_at_ms = sample.snapshot.taken_at_ms;
        let same_view = self
            .baseline
            .as_ref()
            .is_some_and(|b| b.scope == self.scope && b.filter == filter);
        if !same_view {
            // Other sockets now: what flashed was about the old ones.
            self.flash_until_ms = [0; 11];
        }
        if let Some(base) = &self.baseline
            && same_view
            && taken_at_ms > base.taken_at_ms
        {
            let start = now_ms.max(taken_at_ms);
            for state in TcpState::ALL {
                let (before, after) = (base.counts.get(state), self.figures.counts.get(state));
                if after > before {
                    self.flash_until_ms[state.index()] = start + FLASH_MS;
                    self.gained[state.index()] = after - before;
                } else if after < before {
                    self.flash_until_ms[state.index()] = 0;
                }
            }
        }
        self.baseline = Some(Baseline {
            scope: self.scope,
            filter: filter.to_string(),
            taken_at_ms,
            counts: self.figures.counts,
        });
    }

    #[cfg(test)]
    pub(crate) fn select(&mut self, state: TcpState) {
        self.selected = state;
    }

    /// Moves on the drawn diagram: to the box in that direction.
    pub(crate) fn move_on_diagram(&mut self, direction: Direction) {
        self.selected = neighbour(self.selected, direction);
    }

    /// Moves in the compact list (and with Tab): the next or previous state
    /// in the order of a connection's life.
    pub(crate) fn move_in_list(&mut self, delta: isize) {
        let n = TcpState::ALL.len();
        let i = TcpState::ALL
            .iter()
            .position(|s| *s == self.selected)
            .unwrap_or(0);
        let step = delta.rem_euclid(isize::try_from(n).unwrap_or(1));
        let next = (i + usize::try_from(step).unwrap_or(0)) % n;
        self.selected = TcpState::ALL[next];
    }
}

/// What a command did in the diagram view, for the app to finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DiagramOutcome {
    /// Not a diagram key: it works as everywhere (quit, pause, filter…).
    NotMine,
    Done,
    /// The scope changed: count again.
    Recount,
    /// Empty the transition log.
    ClearLog,
    /// Back to the dashboard.
    Leave,
}

impl DiagramState {
    /// Carries out `command` in the diagram view: arrows move between
    /// states (on the drawn diagram when it fits, else in the list), `?`
    /// explains, paging scrolls the transition log of `log_len` entries.
    pub(crate) fn execute(
        &mut self,
        command: Command,
        drawn: bool,
        log_len: usize,
        selected_port: Option<u16>,
    ) -> DiagramOutcome {
        let step = |diagram: &mut DiagramState, direction: Direction, delta: isize| {
            if drawn {
                diagram.move_on_diagram(direction);
            } else {
                diagram.move_in_list(delta);
            }
        };
        let page = PANEL_PAGE_ROWS as isize;
        match command {
            Command::Up => step(self, Direction::Up, -1),
            Command::Down => step(self, Direction::Down, 1),
            Command::Left => step(self, Direction::Left, -1),
            Command::Right => step(self, Direction::Right, 1),
            Command::FocusNext => self.move_in_list(1),
            Command::FocusPrevious => self.move_in_list(-1),
            Command::ToggleHelp | Command::Open => self.explaining = !self.explaining,
            Command::Back if self.explaining => self.explaining = false,
            Command::Back | Command::ToggleDiagram => {
                self.explaining = false;
                return DiagramOutcome::Leave;
            }
            _ if self.explaining => {
                return if matches!(command, Command::Quit | Command::Help) {
                    DiagramOutcome::NotMine
                } else {
                    DiagramOutcome::Done
                };
            }
            Command::ToggleScope => {
                self.scope = match (self.scope, selected_port) {
                    (DiagramScope::AllWatched, Some(port)) => DiagramScope::Port(port),
                    _ => DiagramScope::AllWatched,
                };
                return DiagramOutcome::Recount;
            }
            Command::PageDown => self.scroll_log(page, log_len),
            Command::PageUp => self.scroll_log(-page, log_len),
            Command::Home => self.log_offset = 0,
            Command::End => self.scroll_log(isize::MAX / 2, log_len),
            Command::ClearAlertLog => {
                self.log_offset = 0;
                return DiagramOutcome::ClearLog;
            }
            _ => return DiagramOutcome::NotMine,
        }
        DiagramOutcome::Done
    }

    /// Scrolls the transition log of `log_len` entries by `delta`.
    pub(crate) fn scroll_log(&mut self, delta: isize, log_len: usize) {
        self.log_offset = offset_by(self.log_offset, delta, log_len);
    }
}

/// The box next to `state` in `direction` on the drawn diagram (itself at an
/// edge). The diagram: SYN_SENT ← CLOSED → LISTEN → SYN_RECV on top,
/// ESTABLISHED below, then FIN_WAIT1 → CLOSING … CLOSE_WAIT, and FIN_WAIT2 →
/// TIME_WAIT … LAST_ACK at the bottom.
pub(crate) fn neighbour(state: TcpState, direction: Direction) -> TcpState {
    use Direction::*;
    use TcpState::*;
    match (state, direction) {
        (SynSent, Right) => Close,
        (Close, Left) => SynSent,
        (Close, Right) => Listen,
        (Listen, Left) => Close,
        (Listen, Right) => SynRecv,
        (SynRecv, Left) => Listen,
        (SynSent | Close | Listen | SynRecv, Down) => Established,
        (Established, Up) => Close,
        (Established, Down) => FinWait1,
        (Established, Left) => SynSent,
        (Established, Right) => SynRecv,
        (FinWait1 | Closing | CloseWait, Up) => Established,
        (FinWait1, Right) => Closing,
        (Closing, Left) => FinWait1,
        (Closing, Right) => CloseWait,
        (CloseWait, Left) => Closing,
        (FinWait1, Down) => FinWait2,
        (Closing, Down) => TimeWait,
        (CloseWait, Down) => LastAck,
        (FinWait2, Up) => FinWait1,
        (TimeWait, Up) => Closing,
        (LastAck, Up) => CloseWait,
        (FinWait2, Right) => TimeWait,
        (TimeWait, Left) => FinWait2,
        (TimeWait, Right) => LastAck,
        (LastAck, Left) => TimeWait,
        (other, _) => other,
    }
}

/// The counts of the ports in scope, the soonest SYN retry and the sockets
/// waiting for accept(): one pass over the sample's sockets.
fn figures(sample: &FullTick, port_rows: &[PortStates], scope: DiagramScope) -> DiagramFigures {
    let listed: HashSet<u16> = port_rows.iter().map(|r| r.port).collect();
    let mut counts = StateCounts::default();
    for row in port_rows.iter().filter(|r| scope.covers(r.port, &listed)) {
        for (state, count) in row.counts.non_zero() {
            counts.add(state, count);
        }
    }
    let snapshot = &sample.snapshot;
    let listener_ports: HashSet<u16> = snapshot.listeners.iter().map(|l| l.local.port()).collect();
    let mut next_syn_retry: Option<NextSynRetry> = None;
    let mut not_accepted = 0;
    for record in &snapshot.sockets {
        let interesting = match record.state {
            TcpState::SynSent => record.timer == TimerKind::Retransmit,
            TcpState::Established => {
                record.inode == 0 && listener_ports.contains(&record.local.port())
            }
            _ => false,
        };
        if !interesting {
            continue;
        }
        let port = service_port(record, &listener_ports, &snapshot.filter.ports);
        if !scope.covers(port, &listed) {
            continue;
        }
        if record.state == TcpState::Established {
            not_accepted += 1;
        } else if next_syn_retry.is_none_or(|n| record.timer_expires_ms < n.expires_ms) {
            next_syn_retry = Some(NextSynRetry {
                retransmits: record.retransmits,
                expires_ms: record.timer_expires_ms,
                taken_at_ms: snapshot.taken_at_ms,
            });
        }
    }
    DiagramFigures {
        counts,
        taken_at_ms: snapshot.taken_at_ms,
        next_syn_retry,
        not_accepted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_can_be_reached_from_every_other_with_arrow_keys() {
        use Direction::*;
        for start in TcpState::ALL {
            let mut reached = HashSet::from([start]);
            let mut frontier = vec![start];
            while let Some(state) = frontier.pop() {
                for direction in [Up, Down, Left, Right] {
                    let next = neighbour(state, direction);
                    if reached.insert(next) {
                        frontier.push(next);
                    }
                }
            }
            assert_eq!(reached.len(), TcpState::ALL.len(), "from {start}");
        }
    }

    #[test]
    fn left_and_right_undo_each_other_on_a_row() {
        use Direction::*;
        for state in TcpState::ALL {
            let right = neighbour(state, Right);
            if right != state && state != TcpState::Established {
                assert_eq!(neighbour(right, Left), state, "{state} → {right} → back");
            }
        }
    }

    #[test]
    fn the_list_wraps_around() {
        let mut diagram = DiagramState::default();
        diagram.select(TcpState::Listen);
        diagram.move_in_list(-1);
        assert_eq!(diagram.selected, TcpState::Close);
        diagram.move_in_list(1);
        assert_eq!(diagram.selected, TcpState::Listen);
    }
}
