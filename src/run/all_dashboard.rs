//! The `--all-namespaces` dashboard: the Namespaces panel (one row per
//! namespace, worst first); Enter opens that namespace's usual dashboard
//! (its whole table sampled each interval), Esc comes back. One fleet
//! thread samples and judges, an input thread reads keys, the main thread
//! draws.
//!
//! Owns: this event loop and which view is shown. Must not: draw (ui), hold
//! panel state (app), judge samples (fleet), or touch terminal modes (tui).

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;

use super::dashboard::{color_for, host_name, spawn_input};
use super::fleet_pipeline::{FleetHandle, fleet_timing, spawn_fleet_watch};
use crate::alert::{AlertEvent, Severity};
use crate::app::namespaces::{ListAction, NamespacesList};
use crate::app::{App, AppSetup, Effects, Msg, SelfCost, View};
use crate::cli::Config;
use crate::collect::clock::now_ms;
use crate::collect::namespaces::discovery::NamespaceId;
use crate::collect::namespaces::schedule::FleetTiming;
use crate::collect::self_usage::{CpuMeter, memory_kib};
use crate::error::AppError;
use crate::fleet::judge::FleetTick;
use crate::tui::{StopSignals, TerminalGuard};

const REDRAW_AT_LEAST_EVERY: Duration = Duration::from_millis(250);
const SELF_COST_EVERY: Duration = Duration::from_secs(1);

/// What the main thread waits for.
enum DashboardMsg {
    Input(Msg),
    Fleet(FleetTick),
}

impl From<Msg> for DashboardMsg {
    fn from(msg: Msg) -> Self {
        DashboardMsg::Input(msg)
    }
}

/// What is sampled how often, and the CPU budget, for the header.
pub fn cadence_text(timing: &FleetTiming) -> String {
    format!(
        "listeners of every namespace every {} ms, judged every {} · whole tables: the opened one every {}, the others round-robin within {:.0}% of one core",
        timing.others_listen_interval.as_millis(),
        humantime::format_duration(timing.interval),
        humantime::format_duration(timing.interval),
        timing.round_robin_budget * 100.0
    )
}

/// One namespace's usual dashboard, opened from the list.
struct Opened {
    id: NamespaceId,
    app: App,
}

pub fn run_all_namespaces_dashboard(config: &Config) -> Result<(), AppError> {
    let (messages, inbox) = mpsc::channel::<DashboardMsg>();
    let sender = messages.clone();
    let fleet = spawn_fleet_watch(config, true, false, move |tick| {
        sender.send(DashboardMsg::Fleet(tick)).is_ok()
    })?;
    let signals = StopSignals::register().map_err(AppError::Terminal)?;
    let mut guard = TerminalGuard::enter().map_err(AppError::Terminal)?;
    let mut list = NamespacesList::new(
        host_name(),
        color_for(config),
        cadence_text(&fleet_timing(config)),
    );
    let input_stop = Arc::new(AtomicBool::new(false));
    spawn_input(messages, Arc::clone(&input_stop))?;
    let result = event_loop(&mut guard, config, &mut list, &inbox, &fleet, &signals);
    input_stop.store(true, Ordering::Relaxed);
    drop(fleet);
    drop(guard);
    result
}

fn event_loop(
    guard: &mut TerminalGuard,
    config: &Config,
    list: &mut NamespacesList,
    inbox: &Receiver<DashboardMsg>,
    fleet: &FleetHandle,
    signals: &StopSignals,
) -> Result<(), AppError> {
    let mut opened: Option<Opened> = None;
    let mut cpu = CpuMeter::new();
    let mut last_cost = Instant::now();
    let mut first_discovery = true;
    loop {
        let mut effects = Effects::default();
        if let Some(open) = &mut opened {
            effects = effects.and(open.app.update(Msg::Clock { now_ms: now_ms() }));
        }
        if last_cost.elapsed() >= SELF_COST_EVERY {
            last_cost = Instant::now();
            if let (Some(cpu_percent), Some((rss_kib, _))) =
                (cpu.percent_since_last(), memory_kib())
            {
                let cost = SelfCost {
                    cpu_percent,
                    rss_kib,
                };
                list.set_self_cost(cost);
                if let Some(open) = &mut opened {
                    effects = effects.and(open.app.update(Msg::SelfCost(cost)));
                }
            }
        }
        let size = guard.terminal().size().map_err(AppError::Terminal)?;
        list.set_viewport_rows(usize::from(size.height.saturating_sub(12)));
        guard
            .terminal()
            .draw(|frame| match &opened {
                Some(open) => crate::ui::render(frame, &open.app),
                None => crate::ui::namespaces::render(frame, list),
            })
            .map_err(AppError::Terminal)?;
        let mut pending = Vec::new();
        match inbox.recv_timeout(REDRAW_AT_LEAST_EVERY) {
            Ok(msg) => pending.push(msg),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Err(AppError::SamplerLost),
        }
        pending.extend(inbox.try_iter());
        for msg in pending {
            match msg {
                DashboardMsg::Fleet(tick) => {
                    effects =
                        effects.and(apply_tick(tick, list, &mut opened, &mut first_discovery)?);
                }
                DashboardMsg::Input(Msg::Key(key)) => {
                    if let Some(open) = &mut opened {
                        if key.code == KeyCode::Esc && at_top(&open.app) {
                            opened = None;
                            fleet.open(None);
                        } else {
                            effects = effects.and(open.app.update(Msg::Key(key)));
                        }
                        continue;
                    }
                    match list.handle_key(key) {
                        ListAction::None => {}
                        ListAction::Quit => return Ok(()),
                        ListAction::Open(id) => {
                            let app = open_app(config, list, size.width, size.height);
                            opened = Some(Opened { id, app });
                            fleet.open(Some(id));
                        }
                    }
                }
                DashboardMsg::Input(Msg::Quit) => return Ok(()),
                DashboardMsg::Input(other) => {
                    if let Some(open) = &mut opened {
                        effects = effects.and(open.app.update(other));
                    }
                }
            }
        }
        if let Some(interval) = effects.new_interval {
            fleet.set_interval(interval);
        }
        if effects.bell && config.bell {
            let mut out = io::stdout();
            out.write_all(b"\x07")
                .and_then(|()| out.flush())
                .map_err(AppError::Terminal)?;
        }
        let app_quit = opened.as_ref().is_some_and(|open| open.app.should_quit());
        if guard.obey(signals).map_err(AppError::Terminal)? || app_quit {
            return Ok(());
        }
    }
}

/// Esc leaves the opened dashboard only from its top level: with help,
/// a drill-down, the diagram or a filter open, Esc is theirs.
fn at_top(app: &App) -> bool {
    *app.view() == View::Dashboard
        && !app.help_visible()
        && !app.filter().is_editing()
        && !app.filter().is_active()
}

fn open_app(config: &Config, list: &NamespacesList, width: u16, height: u16) -> App {
    App::new(AppSetup {
        host: list.host.clone(),
        color: list.color,
        interval: config.interval,
        listen_interval: config.listen_interval,
        watch_filter: config.filter.describe(),
        width,
        height,
        now_ms: now_ms(),
    })
}

fn apply_tick(
    tick: FleetTick,
    list: &mut NamespacesList,
    opened: &mut Option<Opened>,
    first_discovery: &mut bool,
) -> Result<Effects, AppError> {
    match tick {
        FleetTick::Namespaces {
            at_ms,
            appeared,
            vanished,
            notes,
        } => {
            let first = std::mem::take(first_discovery);
            list.namespaces_changed(at_ms, &appeared, &vanished, notes, first);
            if opened
                .as_ref()
                .is_some_and(|open| vanished.iter().any(|s| s.found.id == open.id))
            {
                *opened = None;
            }
        }
        FleetTick::Rows { at_ms, rows } => list.set_rows(at_ms, rows),
        FleetTick::Opened { id, tick } => {
            if let Some(open) = opened.as_mut().filter(|open| open.id == id) {
                return Ok(open.app.update(Msg::Sampled(tick)));
            }
        }
        FleetTick::Alerts { events, .. } => {
            let raised = events
                .iter()
                .any(|e| matches!(e, AlertEvent::Raised(a) if a.severity >= Severity::Warning));
            return Ok(Effects {
                bell: raised,
                ..Effects::default()
            });
        }
        FleetTick::Table { .. }
        | FleetTick::Judged { .. }
        | FleetTick::WholeTable { .. }
        | FleetTick::Queues { .. } => {}
        FleetTick::Stopped { error } => return Err(error.into()),
    }
    Ok(Effects::default())
}
