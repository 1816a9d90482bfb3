//! What colour and emphasis mean on screen, with and without colour.
//!
//! Owns: `Theme` and the attention levels. Must not: decide what is wrong
//! (the panels pass the level) or read the environment (`NO_COLOR` and
//! `--color` are decided by the caller and arrive in the app).

use ratatui::style::{Color, Modifier, Style};

use crate::model::TcpState;

/// How much a figure needs attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Attention {
    /// A zero, or nothing to say.
    Quiet,
    Normal,
    /// Worth a look: clients waiting, a peer not closing.
    Warning,
    /// Broken now: a full queue.
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn new(color: bool) -> Theme {
        Theme { color }
    }

    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub(crate) fn attention(&self, level: Attention) -> Style {
        match level {
            Attention::Quiet => Style::new().add_modifier(Modifier::DIM),
            Attention::Normal => Style::new(),
            Attention::Warning => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Attention::Critical => self.fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }

    /// The text marker that carries the meaning without colour: `!` after a
    /// figure that needs attention.
    pub fn marker(&self, level: Attention) -> &'static str {
        if level >= Attention::Warning { "!" } else { "" }
    }

    /// The usual colour of a state's figures.
    pub fn state(&self, state: TcpState) -> Style {
        self.fg(match state {
            TcpState::Listen => Color::Cyan,
            TcpState::Established => Color::Green,
            TcpState::TimeWait => Color::Blue,
            TcpState::SynSent | TcpState::SynRecv => Color::Yellow,
            TcpState::CloseWait => Color::Magenta,
            _ => Color::Reset,
        })
    }

    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub(crate) fn focused_border(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// A panel's frame: the focused one is drawn with thick lines, so the
    /// focus shows without colour (NO_COLOR) too.
    pub fn panel_border(&self, focused: bool) -> (ratatui::widgets::BorderType, Style) {
        if focused {
            (ratatui::widgets::BorderType::Thick, self.focused_border())
        } else {
            (ratatui::widgets::BorderType::Plain, self.border())
        }
    }

    pub fn border(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub(crate) fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub(crate) fn paused(&self) -> Style {
        self.fg(Color::Yellow)
            .add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }

    pub(crate) fn good(&self) -> Style {
        self.fg(Color::Green)
    }

    /// A state's figure when it has sockets: its colour, bold.
    pub(crate) fn strong(&self, state: TcpState) -> Style {
        self.state(state).add_modifier(Modifier::BOLD)
    }

    /// A state that just gained sockets.
    pub fn flash(&self) -> Style {
        self.fg(Color::Yellow)
            .add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }

    /// An arrow of the diagram.
    pub(crate) fn arrow(&self) -> Style {
        self.fg(Color::Gray)
    }

    /// An arrow a connection just took.
    pub(crate) fn lit(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub(crate) fn series_total(&self) -> Style {
        self.fg(Color::Blue)
    }

    pub(crate) fn series_port(&self) -> Style {
        self.fg(Color::Yellow)
    }
}
