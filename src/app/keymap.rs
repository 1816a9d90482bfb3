//! Which key does what, in one table: every binding of every screen with
//! its keys, where it applies, the command it sends, its help text and its
//! footer hints. The dispatch (`command_for`), the footers, the replay's
//! time bar, the namespace list's hint line and the help overlay are all
//! read off `BINDINGS`, so they cannot drift apart.
//!
//! Owns: `Command`, `Context`, `Screen`, `BINDINGS` and the lookups over
//! them. Must not: change state (the app executes commands) or draw.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::narration::DemoControl;

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
    /// A key of the replay's player (the app itself ignores these).
    Replay(ReplayCommand),
    /// A key of the demo: pause its steps, or step (the narrator obeys).
    Demo(DemoControl),
}

/// What the replay keys ask of the player.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayCommand {
    PlayPause,
    Faster,
    Slower,
    /// Jump by this many milliseconds of recorded time.
    Seek(i64),
    NextAlert,
}

/// Where a binding applies. The app consults the contexts of its state in
/// order (`contexts_for`); the first binding whose key matches wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// Every view of the dashboard (unless a filter is being typed).
    Global,
    /// The state-diagram view, before `Global`.
    Diagram,
    /// The connection and process lists, before `Global`.
    Lists,
    /// While a filter is typed: nothing else.
    Filter,
    /// A replay's player, before the dashboard's own keys.
    Replay,
    /// The list of namespaces (`--all-namespaces`).
    Namespaces,
    /// While `tcpwatch demo` narrates, before the view's own keys.
    Demo,
}

/// A screen that shows hints: each has a footer (or hint line) of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Screen {
    Dashboard,
    Diagram,
    Connections,
    Processes,
    Filter,
    Replay,
    Namespaces,
    /// The demo's keys, shown first in the footer while it narrates.
    Demo,
}

impl Screen {
    #[cfg(test)]
    pub(crate) const ALL: [Screen; 8] = [
        Screen::Dashboard,
        Screen::Diagram,
        Screen::Connections,
        Screen::Processes,
        Screen::Filter,
        Screen::Replay,
        Screen::Namespaces,
        Screen::Demo,
    ];

    /// The contexts whose keys work on this screen, first match first.
    pub(crate) fn contexts(self) -> &'static [Context] {
        match self {
            Screen::Dashboard => &[Context::Global],
            Screen::Diagram => &[Context::Diagram, Context::Global],
            Screen::Connections | Screen::Processes => &[Context::Lists, Context::Global],
            Screen::Filter => &[Context::Filter],
            Screen::Replay => &[Context::Replay, Context::Global],
            Screen::Namespaces => &[Context::Namespaces],
            Screen::Demo => &[Context::Demo],
        }
    }
}

/// A key, as a binding matches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    /// The key without Ctrl (Shift and Alt are ignored: `S` comes with Shift).
    Plain(KeyCode),
    /// Ctrl and this character.
    Ctrl(char),
    /// Any character typed without Ctrl (the filter's text).
    AnyChar,
}

impl Key {
    fn matches(self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match self {
            Key::Plain(code) => !ctrl && key.code == code,
            Key::Ctrl(c) => ctrl && key.code == KeyCode::Char(c),
            Key::AnyChar => !ctrl && matches!(key.code, KeyCode::Char(_)),
        }
    }
}

/// A short hint in one screen's footer: `key action`, at position `rank`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hint {
    pub screen: Screen,
    pub rank: u8,
    pub key: &'static str,
    pub action: &'static str,
}

/// One line of the key table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binding {
    pub context: Context,
    /// The keys, and the command each sends.
    pub keys: &'static [(Key, Command)],
    /// The keys as the help writes them.
    pub label: &'static str,
    /// What they do, as the help says it; further lines continue it.
    /// Empty only for the filter's text entry, which the filter line shows.
    pub help: &'static [&'static str],
    pub hints: &'static [Hint],
}

const fn ch(c: char) -> Key {
    Key::Plain(KeyCode::Char(c))
}

const fn code(code: KeyCode) -> Key {
    Key::Plain(code)
}

const fn hint(screen: Screen, rank: u8, key: &'static str, action: &'static str) -> Hint {
    Hint {
        screen,
        rank,
        key,
        action,
    }
}

use Command as C;
use Context as X;
use Screen as S;

/// Every key binding. Within a context, the help lists them in this order.
pub(crate) const BINDINGS: &[Binding] = &[
    // ---- every dashboard view (the help's first section) ----
    Binding {
        context: X::Global,
        keys: &[
            (ch('q'), C::Quit),
            (Key::Ctrl('c'), C::Quit),
            (Key::Ctrl('C'), C::Quit),
        ],
        label: "q, Ctrl-C",
        help: &["quit"],
        hints: &[
            hint(S::Dashboard, 0, "q", "quit"),
            hint(S::Diagram, 0, "q", "quit"),
            hint(S::Processes, 6, "q", "quit"),
            hint(S::Connections, 9, "q", "quit"),
        ],
    },
    Binding {
        context: X::Global,
        keys: &[
            (code(KeyCode::Up), C::Up),
            (ch('k'), C::Up),
            (code(KeyCode::Down), C::Down),
            (ch('j'), C::Down),
        ],
        label: "↑ ↓ / k j",
        help: &["select a port, scroll"],
        hints: &[
            hint(S::Dashboard, 1, "↑↓", "select"),
            hint(S::Processes, 1, "↑↓", "select"),
            hint(S::Connections, 1, "↑↓", "scroll"),
        ],
    },
    Binding {
        context: X::Global,
        keys: &[
            (code(KeyCode::PageUp), C::PageUp),
            (Key::Ctrl('u'), C::PageUp),
            (code(KeyCode::PageDown), C::PageDown),
            (Key::Ctrl('d'), C::PageDown),
            (code(KeyCode::Home), C::Home),
            (ch('g'), C::Home),
            (code(KeyCode::End), C::End),
            (ch('G'), C::End),
        ],
        label: "PgUp PgDn Home End",
        help: &["page, jump to first / last"],
        hints: &[hint(S::Connections, 4, "PgUp/PgDn", "page")],
    },
    Binding {
        context: X::Global,
        keys: &[(code(KeyCode::Enter), C::Open)],
        label: "Enter",
        help: &["the selected port's connections (Alerts: full text)"],
        hints: &[
            hint(S::Dashboard, 2, "⏎", "conns"),
            hint(S::Processes, 2, "⏎", "its sockets"),
        ],
    },
    Binding {
        context: X::Global,
        keys: &[(code(KeyCode::Esc), C::Back)],
        label: "Esc",
        help: &["back, close help, clear the filter"],
        hints: &[
            hint(S::Processes, 0, "Esc", "back"),
            hint(S::Connections, 0, "Esc", "back"),
        ],
    },
    Binding {
        context: X::Global,
        keys: &[
            (code(KeyCode::Tab), C::FocusNext),
            (code(KeyCode::BackTab), C::FocusPrevious),
        ],
        label: "Tab / Shift-Tab",
        help: &["next / previous panel"],
        hints: &[hint(S::Dashboard, 8, "Tab", "panel")],
    },
    Binding {
        context: X::Global,
        keys: &[(ch('s'), C::SortNext), (ch('S'), C::SortPrevious)],
        label: "s / S",
        help: &["sort: total, port, each state"],
        hints: &[hint(S::Dashboard, 4, "s", "sort")],
    },
    Binding {
        context: X::Global,
        keys: &[(ch('/'), C::StartFilter)],
        label: "/",
        help: &[
            "filter: 1000 = that port, 1000* = ports 1000…",
            "SYN = SYN_SENT and SYN_RECV, other text = address",
        ],
        hints: &[
            hint(S::Dashboard, 5, "/", "filter"),
            hint(S::Connections, 5, "/", "filter"),
        ],
    },
    Binding {
        context: X::Global,
        keys: &[(ch('p'), C::TogglePause), (ch(' '), C::TogglePause)],
        label: "p, Space",
        help: &["pause / resume"],
        hints: &[
            hint(S::Dashboard, 6, "p", "pause"),
            hint(S::Diagram, 6, "p", "pause"),
            hint(S::Processes, 5, "p", "pause"),
            hint(S::Connections, 6, "p", "pause"),
        ],
    },
    Binding {
        context: X::Global,
        keys: &[
            (ch('+'), C::IntervalLonger),
            (ch('='), C::IntervalLonger),
            (ch('-'), C::IntervalShorter),
            (ch('_'), C::IntervalShorter),
        ],
        label: "+ / -",
        help: &["sample interval longer / shorter"],
        hints: &[
            hint(S::Dashboard, 7, "+-", "interval"),
            hint(S::Connections, 7, "+-", "interval"),
        ],
    },
    Binding {
        context: X::Global,
        keys: &[(ch('c'), C::ClearAlertLog)],
        label: "c",
        help: &["clear the alert log (diagram: the transition log)"],
        hints: &[
            hint(S::Dashboard, 9, "c", "clear"),
            hint(S::Diagram, 7, "c", "clear log"),
        ],
    },
    Binding {
        context: X::Global,
        keys: &[(ch('d'), C::ToggleDiagram)],
        label: "d",
        help: &["state diagram with the transition log / back"],
        hints: &[
            hint(S::Dashboard, 3, "d", "diagram"),
            hint(S::Connections, 8, "d", "diagram"),
        ],
    },
    Binding {
        context: X::Global,
        keys: &[(ch('R'), C::ToggleRecording)],
        label: "R",
        help: &["record to tcpwatch-<time>.rec / stop recording"],
        hints: &[],
    },
    Binding {
        context: X::Global,
        keys: &[(ch('C'), C::AllConnections)],
        label: "C",
        help: &["all connections, any port (sortable)"],
        hints: &[],
    },
    Binding {
        context: X::Global,
        keys: &[(ch('P'), C::Processes)],
        label: "P",
        help: &["per process: sockets, listeners, queues"],
        hints: &[],
    },
    Binding {
        context: X::Lists,
        keys: &[
            (ch('s'), C::SortNext),
            (ch('S'), C::SortPrevious),
            (ch('I'), C::ReverseSort),
        ],
        label: "s / S, I",
        help: &["in lists: sort column (header ▼▲), reverse"],
        hints: &[
            hint(S::Processes, 3, "s/S", "sort column"),
            hint(S::Processes, 4, "I", "reverse"),
            hint(S::Connections, 2, "s/S", "sort column"),
            hint(S::Connections, 3, "I", "reverse"),
        ],
    },
    Binding {
        context: X::Global,
        keys: &[(ch('m'), C::ToggleMouse)],
        label: "m",
        help: &["mouse on/off: off lets the terminal select text"],
        hints: &[],
    },
    Binding {
        context: X::Global,
        keys: &[
            (ch('?'), C::ToggleHelp),
            (ch('H'), C::Help),
            (code(KeyCode::F(1)), C::Help),
        ],
        label: "? / H, F1",
        help: &["this help (in the diagram, ? explains the state)"],
        hints: &[
            hint(S::Dashboard, 10, "?", "help"),
            hint(S::Diagram, 8, "H", "help"),
            hint(S::Processes, 7, "?", "help"),
            hint(S::Connections, 10, "?", "help"),
        ],
    },
    // ---- the state diagram (the help's second section, there) ----
    Binding {
        context: X::Diagram,
        keys: &[
            (code(KeyCode::Left), C::Left),
            (ch('h'), C::Left),
            (code(KeyCode::Up), C::Up),
            (ch('k'), C::Up),
            (code(KeyCode::Down), C::Down),
            (ch('j'), C::Down),
            (code(KeyCode::Right), C::Right),
            (ch('l'), C::Right),
        ],
        label: "← ↑ ↓ → / h k j l",
        help: &["move between states"],
        hints: &[hint(S::Diagram, 1, "←↑↓→", "state")],
    },
    Binding {
        context: X::Diagram,
        keys: &[
            (code(KeyCode::Tab), C::FocusNext),
            (code(KeyCode::BackTab), C::FocusPrevious),
        ],
        label: "Tab",
        help: &["next state in a connection's life"],
        hints: &[],
    },
    Binding {
        context: X::Diagram,
        keys: &[(ch('?'), C::ToggleHelp), (code(KeyCode::Enter), C::Open)],
        label: "? / Enter",
        help: &["explain the selected state (tcpwatch explain)"],
        hints: &[hint(S::Diagram, 2, "?", "explain")],
    },
    Binding {
        context: X::Diagram,
        keys: &[(ch('a'), C::ToggleScope)],
        label: "a",
        help: &["count all watched ports / the selected port"],
        hints: &[hint(S::Diagram, 3, "a", "scope")],
    },
    Binding {
        context: X::Diagram,
        keys: &[
            (code(KeyCode::PageUp), C::PageUp),
            (code(KeyCode::PageDown), C::PageDown),
            (code(KeyCode::Home), C::Home),
            (code(KeyCode::End), C::End),
        ],
        label: "PgUp PgDn Home End",
        help: &["scroll the transition log"],
        hints: &[hint(S::Diagram, 4, "PgUp/PgDn", "log")],
    },
    Binding {
        context: X::Diagram,
        keys: &[(ch('d'), C::ToggleDiagram), (code(KeyCode::Esc), C::Back)],
        label: "d / Esc",
        help: &["back to the dashboard"],
        hints: &[hint(S::Diagram, 5, "d", "dashboard")],
    },
    // ---- typing a filter ----
    Binding {
        context: X::Filter,
        keys: &[(code(KeyCode::Enter), C::FilterConfirm)],
        label: "Enter",
        help: &["keep the filter"],
        hints: &[hint(S::Filter, 0, "Enter", "keep")],
    },
    Binding {
        context: X::Filter,
        keys: &[(code(KeyCode::Esc), C::FilterCancel)],
        label: "Esc",
        help: &["clear the filter"],
        hints: &[hint(S::Filter, 1, "Esc", "clear")],
    },
    Binding {
        context: X::Filter,
        keys: &[
            (Key::Ctrl('c'), C::Quit),
            (Key::Ctrl('C'), C::Quit),
            (Key::Ctrl('u'), C::FilterErase),
            (code(KeyCode::Backspace), C::FilterBackspace),
            // The character typed replaces this one (see `command_for`).
            (Key::AnyChar, C::FilterChar(' ')),
        ],
        label: "",
        help: &[],
        hints: &[],
    },
    // ---- the demo's narrator (`tcpwatch demo`), before the view's keys ----
    Binding {
        context: X::Demo,
        keys: &[
            (ch(' '), C::Demo(DemoControl::TogglePause)),
            (ch('p'), C::Demo(DemoControl::TogglePause)),
        ],
        label: "Space, p",
        help: &["pause / resume the demo (the screen stays live)"],
        hints: &[hint(S::Demo, 0, "p", "pause demo")],
    },
    Binding {
        context: X::Demo,
        keys: &[
            (ch('n'), C::Demo(DemoControl::Next)),
            (ch('.'), C::Demo(DemoControl::Next)),
        ],
        label: "n, .",
        help: &["next step now"],
        hints: &[hint(S::Demo, 1, "n", "next step")],
    },
    Binding {
        context: X::Demo,
        keys: &[
            (ch('b'), C::Demo(DemoControl::Previous)),
            (ch(','), C::Demo(DemoControl::Previous)),
        ],
        label: "b, ,",
        help: &["back a step: the demo undoes the step's sockets"],
        hints: &[hint(S::Demo, 2, "b", "back")],
    },
    // ---- a replay's player ----
    Binding {
        context: X::Replay,
        keys: &[
            (ch(' '), C::Replay(ReplayCommand::PlayPause)),
            (ch('p'), C::Replay(ReplayCommand::PlayPause)),
        ],
        label: "Space, p",
        help: &["play / pause the recording"],
        hints: &[hint(S::Replay, 0, "space", "play")],
    },
    Binding {
        context: X::Replay,
        keys: &[
            (ch('['), C::Replay(ReplayCommand::Slower)),
            (ch('-'), C::Replay(ReplayCommand::Slower)),
            (ch(']'), C::Replay(ReplayCommand::Faster)),
            (ch('+'), C::Replay(ReplayCommand::Faster)),
            (ch('='), C::Replay(ReplayCommand::Faster)),
        ],
        label: "[ ] / - +",
        help: &["play slower / faster"],
        hints: &[hint(S::Replay, 1, "[ ]", "speed")],
    },
    Binding {
        context: X::Replay,
        keys: &[
            (ch(','), C::Replay(ReplayCommand::Seek(-10_000))),
            (ch('.'), C::Replay(ReplayCommand::Seek(10_000))),
        ],
        label: ", .",
        help: &["10 s back / forward"],
        hints: &[hint(S::Replay, 2, ", .", "±10s")],
    },
    Binding {
        context: X::Replay,
        keys: &[
            (ch('<'), C::Replay(ReplayCommand::Seek(-60_000))),
            (ch('>'), C::Replay(ReplayCommand::Seek(60_000))),
        ],
        label: "< >",
        help: &["1 min back / forward"],
        hints: &[hint(S::Replay, 3, "< >", "±1min")],
    },
    Binding {
        context: X::Replay,
        keys: &[(ch('n'), C::Replay(ReplayCommand::NextAlert))],
        label: "n",
        help: &["jump to the next alert change"],
        hints: &[hint(S::Replay, 4, "n", "next alert")],
    },
    // ---- the list of namespaces ----
    Binding {
        context: X::Namespaces,
        keys: &[
            (code(KeyCode::Up), C::Up),
            (ch('k'), C::Up),
            (code(KeyCode::Down), C::Down),
            (ch('j'), C::Down),
            (code(KeyCode::PageUp), C::PageUp),
            (code(KeyCode::PageDown), C::PageDown),
            (code(KeyCode::Home), C::Home),
            (ch('g'), C::Home),
            (code(KeyCode::End), C::End),
            (ch('G'), C::End),
        ],
        label: "↑ ↓ / k j, PgUp PgDn Home End",
        help: &["select a namespace"],
        hints: &[hint(S::Namespaces, 0, "↑↓", "select")],
    },
    Binding {
        context: X::Namespaces,
        keys: &[(code(KeyCode::Enter), C::Open)],
        label: "Enter",
        help: &["open its dashboard (Esc returns)"],
        hints: &[hint(
            S::Namespaces,
            1,
            "Enter",
            "open its dashboard (Esc returns)",
        )],
    },
    Binding {
        context: X::Namespaces,
        keys: &[
            (ch('q'), C::Quit),
            (Key::Ctrl('c'), C::Quit),
            (Key::Ctrl('C'), C::Quit),
        ],
        label: "q, Ctrl-C",
        help: &["quit"],
        hints: &[hint(S::Namespaces, 2, "q", "quit")],
    },
];

/// The command a key sends on a screen, if any.
pub(crate) fn command_for(key: &KeyEvent, screen: Screen) -> Option<Command> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    screen.contexts().iter().find_map(|context| {
        BINDINGS
            .iter()
            .filter(|b| b.context == *context)
            .flat_map(|b| b.keys.iter())
            .find(|(k, _)| k.matches(key))
            .map(|(k, command)| match (k, key.code) {
                (Key::AnyChar, KeyCode::Char(c)) => Command::FilterChar(c),
                _ => *command,
            })
    })
}

/// The key that sends `command` on `screen`, as its hints write it (`⏎`,
/// `Esc`, `p`), for text that names a key (`· Esc back`): the screen's own
/// hint, else a hint for the same binding elsewhere. Empty when none.
pub(crate) fn key_for(screen: Screen, command: Command) -> &'static str {
    let live = BINDINGS.iter().filter(|b| {
        screen.contexts().contains(&b.context)
            && b.keys.iter().any(|(_, c)| *c == command)
            && command_for_binding(b, screen, command)
    });
    let mut fallback = "";
    for binding in live {
        if let Some(hint) = binding.hints.iter().find(|h| h.screen == screen) {
            return hint.key;
        }
        if fallback.is_empty()
            && let Some(hint) = binding.hints.first()
        {
            fallback = hint.key;
        }
    }
    fallback
}

/// Whether `binding` is the one a key of it reaches on `screen` (no
/// context consulted first takes the key for something else).
fn command_for_binding(binding: &Binding, screen: Screen, command: Command) -> bool {
    binding.keys.iter().any(|(key, c)| {
        *c == command
            && match key {
                Key::Plain(code) => {
                    command_for(&KeyEvent::new(*code, KeyModifiers::NONE), screen) == Some(command)
                }
                Key::Ctrl(c) => {
                    command_for(
                        &KeyEvent::new(KeyCode::Char(*c), KeyModifiers::CONTROL),
                        screen,
                    ) == Some(command)
                }
                Key::AnyChar => false,
            }
    })
}

/// A screen's footer hints, in their order: `(key, action)`.
pub(crate) fn hints_for(screen: Screen) -> Vec<(&'static str, &'static str)> {
    let mut hints: Vec<&Hint> = BINDINGS
        .iter()
        .flat_map(|b| b.hints.iter())
        .filter(|h| h.screen == screen)
        .collect();
    hints.sort_by_key(|h| h.rank);
    hints.iter().map(|h| (h.key, h.action)).collect()
}

/// The help of these contexts, in the table's order: one line per binding
/// and per continuation line, `(keys, text)`.
pub(crate) fn help_lines(contexts: &[Context]) -> Vec<(&'static str, &'static str)> {
    let mut lines = Vec::new();
    for binding in BINDINGS.iter().filter(|b| contexts.contains(&b.context)) {
        for (i, text) in binding.help.iter().enumerate() {
            lines.push((if i == 0 { binding.label } else { "" }, *text));
        }
    }
    lines
}

#[cfg(test)]
#[path = "keymap_tests.rs"]
mod tests;
