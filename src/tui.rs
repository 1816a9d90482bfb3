//! The only place that touches terminal modes: raw mode, the alternate
//! screen and mouse capture on the way in; all of it undone on the way out,
//! whether the run ends normally, panics, or is stopped by a signal.
//!
//! Owns: `TerminalGuard` (enter, suspend, resume), `restore`, the panic
//! hook, and `StopSignals` (which signal asks for what).
//! Must not: draw (ui does) or decide when to quit (the loop does).

use std::io::{self, Stdout};
use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crossterm::cursor::Show;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub(crate) type Tui = Terminal<CrosstermBackend<Stdout>>;

/// The terminal in dashboard mode; dropping it restores the terminal.
pub(crate) struct TerminalGuard {
    terminal: Tui,
    /// Mouse reporting is on (`m` turns it off so text can be selected).
    mouse_capture: bool,
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
            Ok(terminal) => {
                TERMINAL_ENTERED.store(true, Ordering::SeqCst);
                Ok(TerminalGuard {
                    terminal,
                    mouse_capture: true,
                })
            }
            Err(error) => {
                let _ = restore();
                Err(error)
            }
        }
    }

    pub fn terminal(&mut self) -> &mut Tui {
        &mut self.terminal
    }

    /// Turns mouse reporting on or off; off, the terminal's own selection
    /// works (to copy text).
    pub fn set_mouse_capture(&mut self, capture: bool) -> io::Result<()> {
        if capture {
            execute!(io::stdout(), EnableMouseCapture)?;
        } else {
            execute!(io::stdout(), DisableMouseCapture)?;
        }
        self.mouse_capture = capture;
        Ok(())
    }

    /// Does what the signals asked since the last call: suspends or resumes
    /// here, and returns true when the loop should stop.
    pub(crate) fn obey(&mut self, signals: &StopSignals) -> io::Result<bool> {
        match signals.poll() {
            Some(SignalAction::Stop) => Ok(true),
            Some(SignalAction::Suspend) => {
                self.suspend()?;
                signals.forget_resume();
                Ok(false)
            }
            Some(SignalAction::Resume) => self.resume().map(|()| false),
            None => Ok(false),
        }
    }

    /// Suspends like htop on SIGTSTP: restores the terminal (cooked mode,
    /// main screen, cursor shown, no mouse reporting), stops the process,
    /// and, once continued (`fg`, SIGCONT), enters dashboard mode again and
    /// forces a full redraw.
    pub fn suspend(&mut self) -> io::Result<()> {
        restore()?;
        TERMINAL_ENTERED.store(false, Ordering::SeqCst);
        // SAFETY: raise(3) stops this process; it returns once continued.
        unsafe {
            libc::raise(libc::SIGSTOP);
        }
        self.resume()
    }

    /// Enters raw mode, the alternate screen and mouse capture again (the
    /// shell may have reset them while we were stopped), clears the screen
    /// and makes the next draw repaint every cell.
    pub fn resume(&mut self) -> io::Result<()> {
        // crossterm skips enable_raw_mode when it believes raw mode is on;
        // after `kill -STOP` the shell has cooked the tty behind its back.
        let _ = disable_raw_mode();
        enable_raw_mode()?;
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            Clear(ClearType::All)
        )?;
        if !self.mouse_capture {
            execute!(io::stdout(), DisableMouseCapture)?;
        }
        TERMINAL_ENTERED.store(true, Ordering::SeqCst);
        self.terminal.hide_cursor()?;
        // Two swaps reset both buffers: the next draw diffs against blank
        // cells on a cleared screen, so every cell is written. (ratatui's
        // clear() would ask the terminal for the cursor position.)
        self.terminal.swap_buffers();
        self.terminal.swap_buffers();
        self.terminal.autoresize()
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        TERMINAL_ENTERED.store(false, Ordering::SeqCst);
        let _ = restore();
    }
}

/// Leaves raw mode, mouse capture and the alternate screen and shows the
/// cursor. Safe to call more than once.
pub(crate) fn restore() -> io::Result<()> {
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

/// Why this terminal cannot draw the dashboard, if it cannot: `TERM`
/// unset, empty, `dumb` or `unknown`, or naming a terminal that has no
/// terminfo entry (`has_terminfo` answers for a name). The caller prints
/// lines instead, with this as a note.
pub fn cannot_draw_because(
    term: Option<&str>,
    has_terminfo: impl Fn(&str) -> bool,
) -> Option<String> {
    let fix = "set TERM to your terminal (e.g. TERM=xterm-256color) for the dashboard";
    match term.map(str::trim) {
        None | Some("") => Some(format!(
            "TERM is not set, so the dashboard cannot be drawn; printing a picture every interval instead ({fix})"
        )),
        Some(name @ ("dumb" | "unknown")) => Some(format!(
            "TERM={name} cannot move the cursor, so the dashboard cannot be drawn; printing a picture every interval instead ({fix})"
        )),
        Some(name) if !has_terminfo(name) => Some(format!(
            "TERM={name} has no terminfo entry, so the dashboard may not draw right; printing a picture every interval instead ({fix})"
        )),
        Some(_) => None,
    }
}

/// `cannot_draw_because` for this process: `TERM`, and the terminfo
/// directories ncurses searches ($TERMINFO, ~/.terminfo, $TERMINFO_DIRS,
/// /etc/terminfo, /lib/terminfo, /usr/share/terminfo, /usr/lib/terminfo).
pub fn terminal_cannot_draw() -> Option<String> {
    let term = std::env::var("TERM").ok();
    cannot_draw_because(term.as_deref(), has_terminfo_entry)
}

fn has_terminfo_entry(name: &str) -> bool {
    use std::path::PathBuf;
    let Some(first) = name.chars().next() else {
        return false;
    };
    if name.contains('/') {
        return false;
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Ok(dir) = std::env::var("TERMINFO") {
        dirs.push(dir.into());
    }
    if let Ok(home) = std::env::var("HOME") {
        dirs.push(PathBuf::from(home).join(".terminfo"));
    }
    if let Ok(list) = std::env::var("TERMINFO_DIRS") {
        dirs.extend(list.split(':').filter(|d| !d.is_empty()).map(PathBuf::from));
    }
    dirs.extend(
        [
            "/etc/terminfo",
            "/lib/terminfo",
            "/usr/share/terminfo",
            "/usr/lib/terminfo",
        ]
        .map(PathBuf::from),
    );
    let hex = format!("{:02x}", u32::from(first));
    dirs.iter().any(|dir| {
        dir.join(first.to_string()).join(name).is_file() || dir.join(&hex).join(name).is_file()
    })
}

/// What a signal asks the dashboard loop to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignalAction {
    /// SIGTERM, SIGHUP, SIGINT or SIGQUIT: leave the loop; the guard
    /// restores the terminal on the way out.
    Stop,
    /// SIGTSTP (or Ctrl-Z, see `suspend_key`): call `TerminalGuard::suspend`.
    Suspend,
    /// SIGCONT without our own suspend (after `kill -STOP` and `fg`): the
    /// shell may have drawn over the screen and cooked the tty; call
    /// `TerminalGuard::resume`.
    Resume,
}

const PENDING_STOP: u8 = 1;
const PENDING_SUSPEND: u8 = 2;
const PENDING_RESUME: u8 = 4;

/// Whether the terminal is in dashboard mode, so that the second-signal
/// path knows whether there is anything to restore.
static TERMINAL_ENTERED: AtomicBool = AtomicBool::new(false);

/// The signals the dashboard handles, read by a thread of its own (so no
/// terminal code ever runs inside a signal handler):
///
/// - SIGTERM, SIGHUP, SIGINT, SIGQUIT: the first asks the loop to stop
///   (`SignalAction::Stop`); a second one while the first is pending
///   restores the terminal and exits at once with status 128 + signal.
/// - SIGTSTP: `SignalAction::Suspend` (the loop restores the terminal, then
///   stops the process; see `TerminalGuard::suspend`).
/// - SIGCONT: `SignalAction::Resume` (re-enter raw mode, the alternate
///   screen and mouse capture, redraw everything).
/// - SIGUSR1 is ignored: it is often sent to ask a tool for statistics
///   (`dd`), and its default action would kill the process with the
///   terminal left raw. tcpwatch has nothing to report on it.
#[derive(Debug, Clone)]
pub(crate) struct StopSignals {
    pending: Arc<AtomicU8>,
}

impl StopSignals {
    pub(crate) fn register() -> io::Result<StopSignals> {
        use signal_hook::consts::{SIGCONT, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP, SIGUSR1};
        let pending = Arc::new(AtomicU8::new(0));
        let mut signals = signal_hook::iterator::Signals::new([
            SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGTSTP, SIGCONT, SIGUSR1,
        ])?;
        let shared = Arc::clone(&pending);
        std::thread::Builder::new()
            .name("tcpwatch-signals".to_string())
            .spawn(move || {
                let mut stops = 0u32;
                for signal in signals.forever() {
                    match signal {
                        SIGTSTP => {
                            shared.fetch_or(PENDING_SUSPEND, Ordering::SeqCst);
                        }
                        SIGCONT => {
                            shared.fetch_or(PENDING_RESUME, Ordering::SeqCst);
                        }
                        SIGUSR1 => {}
                        stop => {
                            stops += 1;
                            if stops > 1 {
                                exit_now(stop);
                            }
                            shared.fetch_or(PENDING_STOP, Ordering::SeqCst);
                        }
                    }
                }
            })?;
        Ok(StopSignals { pending })
    }

    /// The most urgent action a signal asked for since the last call, if
    /// any: Stop before Suspend before Resume.
    pub(crate) fn poll(&self) -> Option<SignalAction> {
        let pending = self.pending.load(Ordering::SeqCst);
        let (bit, action) = if pending & PENDING_STOP != 0 {
            // Stop stays pending: every later poll says Stop too.
            return Some(SignalAction::Stop);
        } else if pending & PENDING_SUSPEND != 0 {
            (PENDING_SUSPEND, SignalAction::Suspend)
        } else if pending & PENDING_RESUME != 0 {
            (PENDING_RESUME, SignalAction::Resume)
        } else {
            return None;
        };
        self.pending.fetch_and(!bit, Ordering::SeqCst);
        if action == SignalAction::Suspend {
            // The SIGCONT that ends our own suspend is handled by it.
            self.pending.fetch_and(!PENDING_RESUME, Ordering::SeqCst);
        }
        Some(action)
    }

    /// Whether a stop signal arrived.
    #[cfg(test)]
    pub fn raised(&self) -> bool {
        self.pending.load(Ordering::SeqCst) & PENDING_STOP != 0
    }

    /// Forgets a Resume that the SIGCONT of our own suspend left behind.
    pub(crate) fn forget_resume(&self) {
        self.pending.fetch_and(!PENDING_RESUME, Ordering::SeqCst);
    }
}

/// The second stop signal: the loop did not get out in time. Restore the
/// terminal from this (ordinary) thread and exit.
fn exit_now(signal: i32) -> ! {
    if TERMINAL_ENTERED.load(Ordering::SeqCst) {
        let _ = restore();
    }
    std::process::exit(128 + signal)
}

/// Ctrl-Z, pressed (not released).
pub(crate) fn is_suspend_key(key: &crossterm::event::KeyEvent) -> bool {
    use crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};
    key.kind == KeyEventKind::Press
        && key.modifiers.contains(KeyModifiers::CONTROL)
        && matches!(key.code, KeyCode::Char('z' | 'Z'))
}

/// Ctrl-Z arrives as a key in raw mode (the tty no longer turns it into
/// SIGTSTP): send SIGTSTP to our process group, as the tty would have, so
/// that the same path suspends us and a pipeline around us stops too.
pub(crate) fn suspend_key() {
    // SAFETY: kill(2) with pid 0 signals our own process group; no memory
    // is involved.
    unsafe {
        libc::kill(0, libc::SIGTSTP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_pending(bits: u8) -> StopSignals {
        StopSignals {
            pending: Arc::new(AtomicU8::new(bits)),
        }
    }

    #[test]
    fn stop_wins_and_stays_pending() {
        let signals = with_pending(PENDING_STOP | PENDING_SUSPEND);
        assert_eq!(signals.poll(), Some(SignalAction::Stop));
        assert_eq!(signals.poll(), Some(SignalAction::Stop));
        assert!(signals.raised());
    }

    #[test]
    fn a_suspend_swallows_the_resume_of_its_own_sigcont() {
        let signals = with_pending(PENDING_SUSPEND | PENDING_RESUME);
        assert_eq!(signals.poll(), Some(SignalAction::Suspend));
        assert_eq!(signals.poll(), None);
        let signals = with_pending(PENDING_RESUME);
        assert_eq!(signals.poll(), Some(SignalAction::Resume));
        assert_eq!(signals.poll(), None);
    }

    #[test]
    fn dumb_or_unknown_terminals_get_lines() {
        let known = |name: &str| name == "xterm-256color";
        assert_eq!(cannot_draw_because(Some("xterm-256color"), known), None);
        for term in [
            None,
            Some(""),
            Some("dumb"),
            Some("unknown"),
            Some("no-such-term"),
        ] {
            let note = cannot_draw_because(term, known).expect("falls back");
            assert!(note.contains("TERM"), "{note}");
            assert!(note.contains("printing a picture every interval"), "{note}");
        }
        assert!(!has_terminfo_entry("../../etc/passwd"));
    }

    #[test]
    fn ctrl_z_is_the_suspend_key() {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        assert!(is_suspend_key(&KeyEvent::new(
            KeyCode::Char('z'),
            KeyModifiers::CONTROL
        )));
        assert!(!is_suspend_key(&KeyEvent::new(
            KeyCode::Char('z'),
            KeyModifiers::NONE
        )));
    }
}
