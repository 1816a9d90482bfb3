//! The only place that touches terminal modes: raw mode, the alternate
//! screen and mouse capture on the way in; all of it undone on the way out,
//! whether the run ends normally, panics, or is stopped by a signal.
//!
//! Owns: `TerminalGuard`, `restore`, the panic hook and `StopSignals`.
//! Must not: draw (ui does) or decide when to quit (the loop does).

use std::io::{self, Stdout};
use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::cursor::Show;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Tui = Terminal<CrosstermBackend<Stdout>>;

/// The terminal in dashboard mode; dropping it restores the terminal.
pub struct TerminalGuard {
    terminal: Tui,
}

impl TerminalGuard {
    /// Installs the panic hook, then enters raw mode, the alternate screen
    /// and mouse capture. On failure, whatever was entered is undone.
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        let entered = (|| {
            enable_raw_mode()?;
            // Clear with a plain escape: ratatui's clear() asks the terminal
            // for the cursor position, which some terminals never answer.
            execute!(
                io::stdout(),
                EnterAlternateScreen,
                EnableMouseCapture,
                Clear(ClearType::All)
            )?;
            let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
            terminal.hide_cursor()?;
            Ok(terminal)
        })();
        match entered {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(error) => {
                let _ = restore();
                Err(error)
            }
        }
    }

    pub fn terminal(&mut self) -> &mut Tui {
        &mut self.terminal
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = restore();
    }
}

/// Leaves raw mode, mouse capture and the alternate screen and shows the
/// cursor. Safe to call more than once.
pub fn restore() -> io::Result<()> {
    let raw = disable_raw_mode();
    let screen = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        Show
    );
    raw.and(screen)
}

/// Restores the terminal before the panic message is printed, so the
/// message is readable and the shell usable.
fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = restore();
            previous(info);
        }));
    });
}

/// SIGTERM, SIGHUP and SIGINT ask the loop to stop (so the terminal is
/// restored); a second one while the first is pending ends the process.
#[derive(Debug, Clone)]
pub struct StopSignals {
    raised: Arc<AtomicBool>,
}

impl StopSignals {
    pub fn register() -> io::Result<StopSignals> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let raised = Arc::new(AtomicBool::new(false));
        for signal in [SIGTERM, SIGHUP, SIGINT] {
            signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&raised))?;
            signal_hook::flag::register(signal, Arc::clone(&raised))?;
        }
        Ok(StopSignals { raised })
    }

    pub fn raised(&self) -> bool {
        self.raised.load(Ordering::Relaxed)
    }
}
