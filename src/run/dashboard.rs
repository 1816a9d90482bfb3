//! The live dashboard's event loop: the pipeline's sampling thread sends
//! judged ticks, an input thread sends keys, and the main thread updates the
//! app and redraws. A slow dump only delays ticks, never keys or redraws.
//!
//! A companion thread (the demo's narrator) may run beside it and talk to
//! the app with messages; it is told to stop, and joined, when the dashboard
//! ends.
//!
//! Owns: threads, channels, the wall clock for the app, colour choice and
//! the host name. Must not: draw (ui), hold UI state (app), judge samples
//! (watch), or touch terminal modes (tui).

use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, MouseButton, MouseEventKind};

use super::pipeline::{
    EventsSpec, WatchHandle, WatchSpec, open_live_sampler, open_recorder, sampler_config,
    spawn_watch,
};
use crate::app::{App, AppSetup, Command, DemoControl, Effects, Msg, SelfCost};
use crate::cli::{ColorArg, Config};
use crate::collect::clock::now_ms;
use crate::collect::self_usage::{CpuMeter, memory_kib};
use crate::collect::{CollectError, SnapshotSource};
use crate::error::AppError;
use crate::record::RecordOptions;
use crate::tui::{StopSignals, TerminalGuard};

/// The longest the loop waits before redrawing (clock, countdowns).
const REDRAW_AT_LEAST_EVERY: Duration = Duration::from_millis(250);
/// How often tcpwatch's own CPU and memory are measured for the header.
const SELF_COST_EVERY: Duration = Duration::from_secs(1);
/// How often the input thread checks whether it should stop.
const INPUT_POLL: Duration = Duration::from_millis(100);

/// Whether to draw in colour: `--color always|never` wins; `auto` means a
/// terminal and no (non-empty) `NO_COLOR`.
pub fn color_enabled(choice: ColorArg, no_color: Option<&str>, is_terminal: bool) -> bool {
    match choice {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => is_terminal && no_color.is_none_or(str::is_empty),
    }
}

/// The host name, or `?` when it cannot be read.
pub(super) fn host_name() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most
    // that many bytes.
    let rc = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if rc != 0 {
        return "?".to_string();
    }
    let end = buffer.iter().position(|b| *b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

/// Whether this run draws in colour (`--color`, `NO_COLOR`, stdout).
pub(super) fn color_for(config: &Config) -> bool {
    let no_color = std::env::var("NO_COLOR").ok();
    color_enabled(
        config.color,
        no_color.as_deref(),
        io::stdout().is_terminal(),
    )
}

/// Runs beside the dashboard on its own thread and talks to the app with
/// messages; it receives the viewer's demo controls. The receiver
/// disconnects when the dashboard ends: that is the signal to stop (the
/// dashboard then waits for the thread).
pub(crate) type Companion = Box<dyn FnOnce(Sender<Msg>, Receiver<DemoControl>) + Send>;

/// What a run adds to the plain dashboard.
#[derive(Default)]
pub(crate) struct DashboardExtras {
    /// Open on the state-diagram view.
    pub open_diagram: bool,
    pub companion: Option<Companion>,
}

/// Runs the dashboard on the real sampler.
pub(crate) fn run_dashboard(config: &Config) -> Result<(), AppError> {
    let open_source = open_live_sampler(sampler_config(config));
    run_dashboard_beside(config, open_source, DashboardExtras::default())
}

/// Runs the dashboard on any source, with a companion thread and a first
/// view. The source is opened on the sampling thread (it may enter a
/// namespace); an error opening it ends the run before the terminal is
/// touched.
pub(crate) fn run_dashboard_beside<F>(
    config: &Config,
    open_source: F,
    extras: DashboardExtras,
) -> Result<(), AppError>
where
    F: FnOnce() -> Result<Box<dyn SnapshotSource>, CollectError> + Send + 'static,
{
    let (messages, inbox) = mpsc::channel::<Msg>();
    let sender = messages.clone();
    let mut spec = WatchSpec::from_config(config)?;
    spec.events = EventsSpec::asked(config);
    let watch = spawn_watch(spec, open_source, move |tick| {
        sender.send(Msg::Sampled(tick)).is_ok()
    })?;
    if let Some(note) = watch.events_note() {
        let _ = messages.send(Msg::EventsOff {
            note: note.to_string(),
        });
    }

    let signals = StopSignals::register().map_err(AppError::Terminal)?;
    let mut guard = TerminalGuard::enter().map_err(AppError::Terminal)?;
    let size = guard.terminal().size().map_err(AppError::Terminal)?;
    let mut app = App::new(AppSetup {
        host: host_name(),
        color: color_for(config),
        interval: config.interval,
        listen_interval: config.listen_interval,
        watch_filter: config.filter.describe(),
        width: size.width,
        height: size.height,
        now_ms: now_ms(),
    });
    if extras.open_diagram {
        app.execute(Command::ToggleDiagram);
    }
    let input_stop = Arc::new(AtomicBool::new(false));
    spawn_input(messages.clone(), Arc::clone(&input_stop))?;
    let (to_companion, companion_controls) = mpsc::channel::<DemoControl>();
    let companion = match extras.companion {
        Some(run) => {
            let sender = messages.clone();
            let handle = thread::Builder::new()
                .name("tcpwatch-companion".to_string())
                .spawn(move || run(sender, companion_controls))
                .map_err(AppError::Thread)?;
            Some(handle)
        }
        None => None,
    };
    drop(messages);

    let loop_parts = LoopParts {
        inbox: &inbox,
        watch: &watch,
        signals: &signals,
        companion: &to_companion,
    };
    let result = event_loop(&mut guard, &mut app, &loop_parts, config);
    input_stop.store(true, Ordering::Relaxed);
    drop(watch);
    drop(to_companion);
    drop(guard);
    if let Some(handle) = companion {
        let _ = handle.join();
    }
    result
}

/// What the event loop talks to besides the app and the terminal.
struct LoopParts<'a> {
    inbox: &'a Receiver<Msg>,
    watch: &'a WatchHandle,
    signals: &'a StopSignals,
    /// The companion's (the demo narrator's) controls.
    companion: &'a Sender<DemoControl>,
}

/// Applies one message; a demo control goes on to the narrator at once, so
/// two quick presses are two steps.
fn update(app: &mut App, msg: Msg, companion: &Sender<DemoControl>) -> Effects {
    let mut effects = app.update(msg);
    if let Some(control) = effects.demo_control.take() {
        let _ = companion.send(control); // no narrator, or it has finished
    }
    effects
}

fn event_loop(
    guard: &mut TerminalGuard,
    app: &mut App,
    parts: &LoopParts,
    config: &Config,
) -> Result<(), AppError> {
    let LoopParts {
        inbox,
        watch,
        signals,
        companion,
    } = *parts;
    let bell = config.bell;
    let mut recording_note: Option<String> = None;
    let mut cpu = CpuMeter::new();
    let mut last_cost = Instant::now();
    let mut effects = Effects::default();
    loop {
        effects = effects.and(app.update(Msg::Clock { now_ms: now_ms() }));
        if last_cost.elapsed() >= SELF_COST_EVERY {
            last_cost = Instant::now();
            if let (Some(cpu_percent), Some((rss_kib, _))) =
                (cpu.percent_since_last(), memory_kib())
            {
                effects = effects.and(app.update(Msg::SelfCost(SelfCost {
                    cpu_percent,
                    rss_kib,
                })));
            }
        }
        if let Some(interval) = effects.new_interval {
            watch.set_interval(interval);
        }
        if effects.toggle_recording {
            recording_note = toggle_recording(config, watch);
        }
        if let Some(failure) = watch.recording().take_failure() {
            recording_note = Some(failure);
        }
        let mark = recording_mark(watch, recording_note.as_deref());
        if effects.bell && bell {
            let mut out = io::stdout();
            out.write_all(b"\x07")
                .and_then(|()| out.flush())
                .map_err(AppError::Terminal)?;
        }
        effects = Effects::default();
        guard
            .terminal()
            .draw(|frame| {
                crate::ui::render(frame, app);
                if let Some(mark) = &mark {
                    crate::ui::time_bar::render_corner_mark(frame, mark, app.color());
                }
            })
            .map_err(AppError::Terminal)?;
        let screen = guard
            .terminal()
            .size()
            .map(|s| ratatui::layout::Rect::new(0, 0, s.width, s.height))
            .map_err(AppError::Terminal)?;
        match inbox.recv_timeout(REDRAW_AT_LEAST_EVERY) {
            Ok(msg) => effects = effects.and(update(app, place_click(msg, app, screen), companion)),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Err(AppError::SamplerLost),
        }
        // Take everything that is waiting before drawing again.
        while let Ok(msg) = inbox.try_recv() {
            effects = effects.and(update(app, place_click(msg, app, screen), companion));
        }
        if let Some(capture) = effects.mouse_capture.take() {
            guard
                .set_mouse_capture(capture)
                .map_err(AppError::Terminal)?;
        }
        if guard.obey(signals).map_err(AppError::Terminal)? || app.should_quit() {
            return Ok(());
        }
    }
}

/// `R`: starts recording to `tcpwatch-<time>.rec` in the current
/// directory, or stops the recording going on. Returns what to show when
/// it did not work.
fn toggle_recording(config: &Config, watch: &WatchHandle) -> Option<String> {
    let slot = watch.recording();
    if slot.is_recording() {
        return slot.finish().err().map(|e| e.to_string());
    }
    let now = now_ms();
    let stamp = crate::format::timestamp::format_rfc3339(now).replace([':', '.'], "");
    let options = RecordOptions {
        path: format!("tcpwatch-{stamp}.rec").into(),
        max_connections: config
            .record
            .as_ref()
            .map_or(crate::record::DEFAULT_MAX_CONNECTIONS, |o| {
                o.max_connections
            }),
        max_size: config.record.as_ref().and_then(|o| o.max_size),
        keep: config.record.as_ref().and_then(|o| o.keep),
    };
    match open_recorder(config, options, now).map(|recorder| slot.start(recorder)) {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.to_string()),
        Err(error) => Some(error.to_string()),
    }
}

/// The corner mark: the recording going on, or why it stopped.
fn recording_mark(watch: &WatchHandle, note: Option<&str>) -> Option<String> {
    match watch.recording().status() {
        Some((path, frames)) => Some(format!("● REC {} · {frames} frames", path.display())),
        None => note.map(|note| format!("REC stopped: {note}")),
    }
}

/// A left click becomes a click on what the screen shows under it.
fn place_click(msg: Msg, app: &App, screen: ratatui::layout::Rect) -> Msg {
    match msg {
        Msg::Mouse(mouse) if mouse.kind == MouseEventKind::Down(MouseButton::Left) => {
            match crate::ui::click::click_target(app, screen, mouse.column, mouse.row) {
                Some(target) => Msg::Click(target),
                None => Msg::Mouse(mouse),
            }
        }
        other => other,
    }
}

/// Reads the terminal on a thread of its own and sends what it reads
/// (the all-namespaces dashboard wraps the messages in its own).
pub(super) fn spawn_input<T: From<Msg> + Send + 'static>(
    sender: Sender<T>,
    stop: Arc<AtomicBool>,
) -> Result<(), AppError> {
    thread::Builder::new()
        .name("tcpwatch-input".to_string())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match event::poll(INPUT_POLL) {
                    Ok(false) => continue,
                    Ok(true) => {}
                    Err(_) => {
                        let _ = sender.send(Msg::Quit.into());
                        return;
                    }
                }
                let msg = match event::read() {
                    Ok(Event::Key(key)) if crate::tui::is_suspend_key(&key) => {
                        crate::tui::suspend_key();
                        continue;
                    }
                    Ok(Event::Key(key)) => Msg::Key(key),
                    Ok(Event::Mouse(mouse)) => Msg::Mouse(mouse),
                    Ok(Event::Resize(width, height)) => Msg::Resize { width, height },
                    Ok(_) => continue,
                    Err(_) => Msg::Quit,
                };
                if sender.send(msg.into()).is_err() {
                    return;
                }
            }
        })
        .map_err(AppError::Thread)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_follows_flag_then_no_color_then_terminal() {
        assert!(color_enabled(ColorArg::Always, Some("1"), false));
        assert!(!color_enabled(ColorArg::Never, None, true));
        assert!(color_enabled(ColorArg::Auto, None, true));
        assert!(
            color_enabled(ColorArg::Auto, Some(""), true),
            "empty NO_COLOR is unset"
        );
        assert!(!color_enabled(ColorArg::Auto, Some("1"), true));
        assert!(!color_enabled(ColorArg::Auto, None, false));
    }
}
