//! Which key does what: the translation from terminal key events to
//! commands, and the key list the footer and the help overlay show.
//!
//! Owns: `Command`, `command_for`, `KEY_HELP`. Must not: change state; the
//! app executes commands.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Something the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Quit,
    ToggleHelp,
    /// Esc: close the overlay, leave the connection view, or clear the filter.
    Back,
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    FilterErase,
    FilterConfirm,
    FilterCancel,
    TogglePause,
    /// Start recording every tick to a new file, or stop.
    ToggleRecording,
    IntervalLonger,
    IntervalShorter,
    SortNext,
    SortPrevious,
    ClearAlertLog,
    FocusNext,
    FocusPrevious,
    Open,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    /// `d`: the state diagram, or back to the dashboard.
    ToggleDiagram,
    /// `a` in the diagram: all watched ports, or the selected port only.
    ToggleScope,
    /// `H`, F1: the key help, from any view.
    Help,
    Left,
    Right,
    /// `C`: every connection across ports, or back.
    AllConnections,
    /// `P`: sockets, listeners and queues per process, or back.
    Processes,
    /// `I`: reverse the order of a list (htop's invert).
    ReverseSort,
    /// `m`: capture the mouse, or leave it to the terminal to copy text.
    ToggleMouse,
}

/// The keys, as the help overlay lists them.
pub const KEY_HELP: &[(&str, &str)] = &[
    ("q, Ctrl-C", "quit"),
    ("↑ ↓ / k j", "select a port, scroll"),
    ("PgUp PgDn Home End", "page, jump to first / last"),
    (
        "Enter",
        "the selected port's connections (Alerts: full text)",
    ),
    ("Esc", "back, close help, clear the filter"),
    ("Tab / Shift-Tab", "next / previous panel"),
    ("s / S", "sort: total, port, each state"),
    ("/", "filter: 1000 = that port, 1000* = ports 1000…"),
    ("", "SYN = SYN_SENT and SYN_RECV, other text = address"),
    ("p, Space", "pause / resume"),
    ("+ / -", "sample interval longer / shorter"),
    ("c", "clear the alert log (diagram: the transition log)"),
    ("d", "state diagram with the transition log / back"),
    ("R", "record to tcpwatch-<time>.rec / stop recording"),
    ("C", "all connections, any port (sortable)"),
    ("P", "per process: sockets, listeners, queues"),
    ("s / S, I", "in lists: sort column (header ▼▲), reverse"),
    ("m", "mouse on/off: off lets the terminal select text"),
    (
        "? / H, F1",
        "this help (in the diagram, ? explains the state)",
    ),
    ("mouse", "wheel scrolls, click selects the row"),
];

/// The keys of the state-diagram view, as the help overlay lists them.
pub const DIAGRAM_KEY_HELP: &[(&str, &str)] = &[
    ("← ↑ ↓ → / h k j l", "move between states"),
    ("Tab", "next state in a connection's life"),
    ("? / Enter", "explain the selected state (tcpwatch explain)"),
    ("a", "count all watched ports / the selected port"),
    ("PgUp PgDn Home End", "scroll the transition log"),
    ("d / Esc", "back to the dashboard"),
];

/// The one-line footer.
pub const FOOTER_KEYS: &[(&str, &str)] = &[
    ("q", "quit"),
    ("↑↓", "select"),
    ("⏎", "conns"),
    ("d", "diagram"),
    ("s", "sort"),
    ("/", "filter"),
    ("p", "pause"),
    ("+-", "interval"),
    ("Tab", "panel"),
    ("c", "clear"),
    ("?", "help"),
];

/// The footer in the state-diagram view.
pub const DIAGRAM_FOOTER_KEYS: &[(&str, &str)] = &[
    ("q", "quit"),
    ("←↑↓→", "state"),
    ("?", "explain"),
    ("a", "scope"),
    ("PgUp/PgDn", "log"),
    ("d", "dashboard"),
    ("p", "pause"),
    ("c", "clear log"),
    ("H", "help"),
];

/// The footer in the process view.
pub const PROCESSES_FOOTER_KEYS: &[(&str, &str)] = &[
    ("Esc", "back"),
    ("↑↓", "select"),
    ("⏎", "its sockets"),
    ("s/S", "sort column"),
    ("I", "reverse"),
    ("p", "pause"),
    ("q", "quit"),
    ("?", "help"),
];

/// The footer in the connection view.
pub const CONNECTIONS_FOOTER_KEYS: &[(&str, &str)] = &[
    ("Esc", "back"),
    ("↑↓", "scroll"),
    ("s/S", "sort column"),
    ("I", "reverse"),
    ("PgUp/PgDn", "page"),
    ("/", "filter"),
    ("p", "pause"),
    ("+-", "interval"),
    ("d", "diagram"),
    ("q", "quit"),
    ("?", "help"),
];

pub(crate) fn command_for(key: KeyEvent, editing_filter: bool) -> Option<Command> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C')) {
        return Some(Command::Quit);
    }
    if editing_filter {
        return match key.code {
            KeyCode::Enter => Some(Command::FilterConfirm),
            KeyCode::Esc => Some(Command::FilterCancel),
            KeyCode::Backspace => Some(Command::FilterBackspace),
            KeyCode::Char('u') if ctrl => Some(Command::FilterErase),
            KeyCode::Char(c) if !ctrl => Some(Command::FilterChar(c)),
            _ => None,
        };
    }
    if ctrl {
        return match key.code {
            KeyCode::Char('d') => Some(Command::PageDown),
            KeyCode::Char('u') => Some(Command::PageUp),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Char('q') => Command::Quit,
        KeyCode::Char('?') => Command::ToggleHelp,
        KeyCode::Esc => Command::Back,
        KeyCode::Char('/') => Command::StartFilter,
        KeyCode::Char('p') | KeyCode::Char(' ') => Command::TogglePause,
        KeyCode::Char('+') | KeyCode::Char('=') => Command::IntervalLonger,
        KeyCode::Char('-') | KeyCode::Char('_') => Command::IntervalShorter,
        KeyCode::Char('s') => Command::SortNext,
        KeyCode::Char('S') => Command::SortPrevious,
        KeyCode::Char('c') => Command::ClearAlertLog,
        KeyCode::Tab => Command::FocusNext,
        KeyCode::BackTab => Command::FocusPrevious,
        KeyCode::Enter => Command::Open,
        KeyCode::Char('d') => Command::ToggleDiagram,
        KeyCode::Char('R') => Command::ToggleRecording,
        KeyCode::Char('a') => Command::ToggleScope,
        KeyCode::Char('C') => Command::AllConnections,
        KeyCode::Char('P') => Command::Processes,
        KeyCode::Char('I') => Command::ReverseSort,
        KeyCode::Char('m') => Command::ToggleMouse,
        KeyCode::Char('H') | KeyCode::F(1) => Command::Help,
        KeyCode::Left | KeyCode::Char('h') => Command::Left,
        KeyCode::Right | KeyCode::Char('l') => Command::Right,
        KeyCode::Up | KeyCode::Char('k') => Command::Up,
        KeyCode::Down | KeyCode::Char('j') => Command::Down,
        KeyCode::PageUp => Command::PageUp,
        KeyCode::PageDown => Command::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Command::Home,
        KeyCode::End | KeyCode::Char('G') => Command::End,
        _ => return None,
    })
}
