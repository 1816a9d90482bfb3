//! The dashboard's state and how messages change it. The state is split
//! by job: `feed` keeps what was sampled, `navigation` the dashboard's
//! selection, focus, scroll, filter and pause, `connections` the connection
//! view and `diagram` the state-diagram view; `App` routes each message to
//! them and says what the loop must do (`Effects`).
//!
//! Owns: `App`, `App::update`, `View`, `Effects`, which view is open, the
//! overlays, the interval and mouse settings. Must not: draw, do I/O or
//! read the clock: samples, keys and the time all arrive as `Msg`s.

pub mod alerts;
pub(crate) mod connections;
pub mod counter_jumps;
pub mod diagram;
pub mod exact_events;
pub(crate) mod feed;
pub mod filter;
pub(crate) mod keymap;
pub mod msg;
pub mod namespaces;
pub mod narration;
pub(crate) mod navigation;
pub mod processes;
pub mod replay;
pub mod rows;
pub(crate) mod scroll;
pub mod socket_sort;
pub mod sort;
pub(crate) mod transition_log;

use std::time::Duration;

use crossterm::event::{KeyEvent, MouseEvent, MouseEventKind};

use crate::model::history::History;
use crate::model::seen::FirstSeen;
use crate::model::{CounterDeltas, PortStates, Sockstat};
use crate::watch::FullTick;

pub use alerts::{AlertBoard, AlertChange, AlertLogEntry, AlertView, LogEvent, Severity};
pub(crate) use connections::CONNECTIONS_CHROME_ROWS;
pub use connections::{ConnectionScope, ConnectionsView};
use diagram::DiagramOutcome;
pub use diagram::{DiagramScope, DiagramState, Direction};
pub use exact_events::{ExactEntry, ExactEvents};
pub use feed::SampleFailure;
use feed::{Feed, Shown};
pub use filter::{FilterQuery, LiveFilter};
pub use keymap::{Command, ReplayCommand};
pub use msg::{Msg, SelfCost};
pub use narration::{DemoControl, Narration, NarrationEvent};
pub use navigation::Focus;
use navigation::Navigation;
pub use processes::{ProcessColumn, ProcessRow, ProcessSort, ProcessesView};
pub use rows::{ConnectionRef, ListenerRole, ListenerRow};
pub use scroll::Scroll;
pub use socket_sort::{SocketColumn, SocketSort};
pub use sort::SortMode;
pub use transition_log::TransitionLog;

/// Rows a mouse-wheel notch scrolls.
const WHEEL_ROWS: isize = 3;
/// Rows PgUp/PgDn move in the small panels.
const PANEL_PAGE_ROWS: usize = 5;

/// FullTick intervals `+`/`-` step through.
pub(crate) const INTERVAL_STEPS_MS: [u64; 11] = [
    100, 200, 250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    Dashboard,
    Connections(ConnectionsView),
    /// The TCP state diagram with live counts, and the transition log.
    Diagram,
    /// Sockets, listeners and queues per process.
    Processes(ProcessesView),
}

/// What a mouse click landed on, worked out by the view that drew it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickTarget {
    /// A row of the ports table.
    PortRow(usize),
    /// Somewhere in a dashboard panel (focus it).
    Panel(Focus),
    /// An item of the alerts panel (active alerts, then the log).
    AlertItem(usize),
    /// A row of a connection list.
    ConnectionRow(usize),
    /// A row of the process table.
    ProcessRow(usize),
}

/// What an update asks of the loop around the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Effects {
    /// A warning or critical alert was raised: ring the bell (`--bell`).
    pub bell: bool,
    /// The user changed the sampling interval: tell the sampler.
    pub new_interval: Option<Duration>,
    /// The user asked to start or stop recording.
    pub toggle_recording: bool,
    /// The user toggled mouse capture (`m`): turn it on or off.
    pub mouse_capture: Option<bool>,
    /// The viewer paused or stepped the demo: tell its narrator.
    pub demo_control: Option<DemoControl>,
}

impl Effects {
    /// Both updates' effects.
    pub fn and(self, later: Effects) -> Effects {
        Effects {
            bell: self.bell || later.bell,
            new_interval: later.new_interval.or(self.new_interval),
            toggle_recording: self.toggle_recording != later.toggle_recording,
            mouse_capture: later.mouse_capture.or(self.mouse_capture),
            demo_control: later.demo_control.or(self.demo_control),
        }
    }
}

/// What the app starts from: facts about the run, passed in as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSetup {
    pub host: String,
    pub color: bool,
    pub interval: Duration,
    pub listen_interval: Duration,
    /// The `--port`/`--state` filter, described.
    pub watch_filter: String,
    pub width: u16,
    pub height: u16,
    pub now_ms: u64,
}

/// The whole UI state.
#[derive(Debug, Clone)]
pub struct App {
    setup: AppSetup,
    interval: Duration,
    now_ms: u64,
    viewport: (u16, u16),
    view: View,
    help_visible: bool,
    /// The terminal reports the mouse to us (wheel, clicks); off, the
    /// terminal's own selection copies text.
    mouse_capture: bool,
    quit: bool,

    feed: Feed,
    nav: Navigation,
    diagram: DiagramState,

    /// A warning or critical alert was raised by the message being applied.
    bell_pending: bool,
    /// `R` was pressed since the last update.
    recording_toggled: bool,
    /// The viewer's demo control not yet passed to the loop.
    demo_control: Option<DemoControl>,
}

impl App {
    pub fn new(setup: AppSetup) -> App {
        App {
            interval: setup.interval,
            now_ms: setup.now_ms,
            viewport: (setup.width, setup.height),
            setup,
            view: View::Dashboard,
            help_visible: false,
            mouse_capture: true,
            quit: false,
            feed: Feed::default(),
            nav: Navigation::default(),
            diagram: DiagramState::default(),
            bell_pending: false,
            recording_toggled: false,
            demo_control: None,
        }
    }

    /// Applies one message and returns what the loop must do about it.
    pub fn update(&mut self, msg: Msg) -> Effects {
        let interval_before = self.interval;
        let mouse_before = self.mouse_capture;
        self.apply(msg);
        Effects {
            bell: std::mem::take(&mut self.bell_pending),
            new_interval: (self.interval != interval_before).then_some(self.interval),
            toggle_recording: std::mem::take(&mut self.recording_toggled),
            mouse_capture: (self.mouse_capture != mouse_before).then_some(self.mouse_capture),
            demo_control: self.demo_control.take(),
        }
    }

    fn apply(&mut self, msg: Msg) {
        match msg {
            Msg::Sampled(tick) => {
                let (shown, bell) = self.feed.ingest(tick, self.nav.paused);
                self.bell_pending |= bell;
                self.refresh(shown);
            }
            Msg::Key(key) => self.on_key(key),
            Msg::Mouse(mouse) => self.on_mouse(mouse),
            Msg::Click(target) => self.on_click(target),
            Msg::Resize { width, height } => {
                self.viewport = (width, height);
                let page = self.connections_page();
                if let View::Connections(view) = &mut self.view {
                    view.keep_visible(page);
                }
            }
            Msg::Clock { now_ms } => self.now_ms = now_ms,
            Msg::Quit => self.quit = true,
            Msg::SelfCost(cost) => self.feed.self_cost = Some(cost),
            Msg::Narration(event) => self.on_narration(event),
            Msg::EventsOff { note } => self.feed.exact.set_off_note(note),
        }
    }

    // ---- what the views read ----

    pub fn host(&self) -> &str {
        &self.setup.host
    }

    pub fn color(&self) -> bool {
        self.setup.color
    }

    pub fn watch_filter(&self) -> &str {
        &self.setup.watch_filter
    }

    /// The interval the user asked for; the loop passes it to the sampler.
    pub(crate) fn requested_interval(&self) -> Duration {
        self.interval
    }

    pub fn listen_interval(&self) -> Duration {
        self.setup.listen_interval
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    pub(crate) fn should_quit(&self) -> bool {
        self.quit
    }

    pub fn view(&self) -> &View {
        &self.view
    }

    pub(crate) fn help_visible(&self) -> bool {
        self.help_visible
    }

    /// Whether the mouse is captured (wheel, clicks) or left to the
    /// terminal (selecting text to copy).
    pub fn mouse_capture(&self) -> bool {
        self.mouse_capture
    }

    // The feed.

    /// The sample on screen (the last good one).
    pub fn shown(&self) -> Option<&FullTick> {
        self.feed.shown()
    }

    /// Counter growth between the shown sample and the one before it.
    pub(crate) fn shown_deltas(&self) -> Option<&CounterDeltas> {
        self.feed.shown_deltas()
    }

    /// Samples that arrived while paused.
    pub(crate) fn kept_aside_count(&self) -> usize {
        self.feed.kept_aside_count()
    }

    pub fn failure(&self) -> Option<&SampleFailure> {
        self.feed.failure()
    }

    pub(crate) fn history(&self) -> &History {
        self.feed.history()
    }

    /// Charts stop here: the newest shown sample while paused.
    pub(crate) fn history_until_ms(&self) -> u64 {
        self.feed.history_until_ms(self.nav.paused)
    }

    /// The newest sockstat: from a totals-only sample when it is newer
    /// than the full sample on screen.
    pub(crate) fn latest_sockstat(&self) -> Option<Sockstat> {
        self.feed.latest_sockstat(self.nav.paused)
    }

    pub fn seen(&self) -> &FirstSeen {
        self.feed.seen()
    }

    pub fn alerts(&self) -> &AlertBoard {
        &self.feed.alerts
    }

    /// Connection state changes, followed across every full sample.
    pub(crate) fn transitions(&self) -> &TransitionLog {
        &self.feed.transitions
    }

    /// tcpwatch's own CPU and memory, once measured.
    pub(crate) fn self_cost(&self) -> Option<SelfCost> {
        self.feed.self_cost
    }

    /// Exact kernel events (tracepoints), when they are on.
    pub fn exact_events(&self) -> &ExactEvents {
        &self.feed.exact
    }

    /// Lines in the diagram's log: exact events when they are on, else
    /// polling's transitions.
    fn log_len(&self) -> usize {
        if self.feed.exact.is_on() {
            self.feed.exact.len()
        } else {
            self.feed.transitions.len()
        }
    }

    /// The demo's narration, when a demo runs beside the dashboard.
    pub fn narration(&self) -> Option<&Narration> {
        self.feed.narration.as_ref()
    }

    /// Whether a demo narrates and has steps left: its keys are live.
    pub fn demo_running(&self) -> bool {
        self.feed.narration.as_ref().is_some_and(|n| !n.done)
    }

    // The dashboard's navigation.

    pub(crate) fn is_paused(&self) -> bool {
        self.nav.paused
    }

    pub(crate) fn port_rows(&self) -> &[PortStates] {
        &self.nav.port_rows
    }

    pub(crate) fn listener_rows(&self) -> &[ListenerRow] {
        &self.nav.listener_rows
    }

    /// The listener rows that are sockets (not SO_REUSEPORT group headings).
    pub fn listener_sockets(&self) -> impl Iterator<Item = &ListenerRow> {
        self.nav.listener_sockets()
    }

    pub(crate) fn port_has_full_listener(&self, port: u16) -> bool {
        self.nav.port_has_full_listener(port)
    }

    pub fn selected_port(&self) -> Option<u16> {
        self.nav.selected_port
    }

    pub(crate) fn selected_row_index(&self) -> Option<usize> {
        self.nav.selected_row_index()
    }

    pub fn sort(&self) -> SortMode {
        self.nav.sort
    }

    pub fn filter(&self) -> &LiveFilter {
        &self.nav.filter
    }

    pub(crate) fn focus(&self) -> Focus {
        self.nav.focus
    }

    pub(crate) fn listeners_offset(&self) -> usize {
        self.nav.listeners_offset
    }

    /// The selected item of the alerts panel (active alerts, then the log).
    pub fn alert_selected(&self) -> usize {
        self.nav.alert_selected(&self.feed.alerts)
    }

    /// The alert whose full text is shown over the dashboard.
    pub fn alert_detail(&self) -> Option<&AlertView> {
        self.nav.alert_detail.as_ref()
    }

    pub fn diagram(&self) -> &DiagramState {
        &self.diagram
    }

    // ---- rebuilding what the views list ----

    fn refresh(&mut self, shown: Shown) {
        match shown {
            Shown::Same => {}
            Shown::Listeners => {
                if let Some(tick) = self.feed.shown() {
                    self.nav
                        .rebuild_listener_rows(tick, self.feed.shown_listeners());
                }
            }
            Shown::Tick => self.rebuild_rows(),
        }
    }

    /// Every list after a new tick, filter or sort.
    fn rebuild_rows(&mut self) {
        match self.feed.shown() {
            Some(tick) => self.nav.rebuild_rows(tick, self.feed.shown_listeners()),
            None => self.nav.reconcile_port_selection(),
        }
        self.rebuild_connection_rows();
        self.rebuild_process_rows();
        self.refresh_diagram();
    }

    fn rebuild_process_rows(&mut self) {
        let page = self.connections_page();
        if let (Some(tick), View::Processes(view)) = (self.feed.shown(), &mut self.view) {
            view.refresh(tick, page);
        }
    }

    fn rebuild_connection_rows(&mut self) {
        let page = self.connections_page();
        if let (Some(tick), View::Connections(view)) = (self.feed.shown(), &mut self.view) {
            view.rebuild(
                tick,
                self.nav.filter.query(),
                self.feed.seen(),
                self.now_ms,
                page,
            );
        }
    }

    fn refresh_diagram(&mut self) {
        if let Some(tick) = self.feed.shown() {
            let filter = self.nav.filter.describe().unwrap_or_default();
            self.diagram
                .refresh(tick, &self.nav.port_rows, &filter, self.now_ms);
        }
    }

    // ---- input ----

    fn on_key(&mut self, key: KeyEvent) {
        let demo = (self.demo_running() && !self.nav.filter.is_editing() && !self.help_visible)
            .then(|| keymap::command_for(&key, keymap::Screen::Demo))
            .flatten();
        if let Some(command) = demo.or_else(|| keymap::command_for(&key, self.key_screen())) {
            self.execute(command);
        }
    }

    /// The screen whose keys are live: the one shown, or the filter line.
    fn key_screen(&self) -> keymap::Screen {
        if self.nav.filter.is_editing() {
            return keymap::Screen::Filter;
        }
        match self.view {
            View::Dashboard => keymap::Screen::Dashboard,
            View::Diagram => keymap::Screen::Diagram,
            View::Connections(_) => keymap::Screen::Connections,
            View::Processes(_) => keymap::Screen::Processes,
        }
    }

    fn on_mouse(&mut self, mouse: MouseEvent) {
        match mouse.kind {
            MouseEventKind::ScrollDown => self.navigate(WHEEL_ROWS),
            MouseEventKind::ScrollUp => self.navigate(-WHEEL_ROWS),
            _ => {}
        }
    }

    pub(crate) fn execute(&mut self, command: Command) {
        if self.nav.alert_detail.is_some() {
            match command {
                Command::Quit => self.quit = true,
                Command::Back | Command::Open | Command::ToggleHelp => self.nav.alert_detail = None,
                _ => {}
            }
            return;
        }
        if self.help_visible {
            match command {
                Command::Quit => self.quit = true,
                Command::ToggleHelp | Command::Help | Command::Back => self.help_visible = false,
                _ => {}
            }
            return;
        }
        if self.view == View::Diagram && !self.nav.filter.is_editing() {
            let drawn = diagram::diagram_fits(self.viewport.0, self.viewport.1);
            let log_len = self.log_len();
            let outcome = self
                .diagram
                .execute(command, drawn, log_len, self.nav.selected_port);
            match outcome {
                DiagramOutcome::NotMine => {}
                DiagramOutcome::Done => return,
                DiagramOutcome::Recount => return self.refresh_diagram(),
                DiagramOutcome::ClearLog => {
                    self.feed.exact.clear();
                    return self.feed.transitions.clear();
                }
                DiagramOutcome::Leave => {
                    self.view = View::Dashboard;
                    return;
                }
            }
        }
        match command {
            Command::Help => self.help_visible = true,
            Command::ToggleDiagram => {
                self.view = View::Diagram;
                self.diagram.explaining = false;
            }
            Command::ToggleScope | Command::Left | Command::Right | Command::Replay(_) => {}
            Command::Demo(control) => self.demo_control = Some(control),
            Command::Quit => self.quit = true,
            Command::ToggleHelp => self.help_visible = true,
            Command::Back => self.back(),
            Command::StartFilter => self.nav.filter.start_editing(),
            Command::FilterChar(c) => {
                self.nav.filter.push(c);
                self.rebuild_rows();
            }
            Command::FilterBackspace => {
                self.nav.filter.pop();
                self.rebuild_rows();
            }
            Command::FilterErase | Command::FilterCancel => {
                self.nav.filter.clear();
                self.rebuild_rows();
            }
            Command::FilterConfirm => self.nav.filter.stop_editing(),
            Command::TogglePause => self.toggle_pause(),
            Command::ToggleRecording => self.recording_toggled = !self.recording_toggled,
            Command::IntervalLonger => self.step_interval(true),
            Command::IntervalShorter => self.step_interval(false),
            Command::SortNext | Command::SortPrevious | Command::ReverseSort
                if self.sort_list(command) => {}
            Command::SortNext => self.set_sort(self.nav.sort.next()),
            Command::SortPrevious => self.set_sort(self.nav.sort.previous()),
            Command::ReverseSort => {}
            Command::AllConnections => match &self.view {
                View::Connections(view) if view.scope == ConnectionScope::All => {
                    self.view = View::Dashboard;
                }
                _ => self.show_connections(ConnectionScope::All),
            },
            Command::Processes => match self.view {
                View::Processes(_) => self.view = View::Dashboard,
                _ => {
                    self.view = View::Processes(ProcessesView::default());
                    self.rebuild_process_rows();
                }
            },
            Command::ToggleMouse => self.mouse_capture = !self.mouse_capture,
            Command::ClearAlertLog => {
                self.feed.alerts.clear_log();
                self.nav.select_alert(0, &self.feed.alerts);
            }
            Command::FocusNext | Command::FocusPrevious => {
                if matches!(self.view, View::Connections(_) | View::Processes(_)) {
                    self.view = View::Dashboard;
                } else {
                    self.nav.focus = self.nav.focus.step(command == Command::FocusNext);
                }
            }
            Command::Open if self.view == View::Dashboard && self.nav.focus == Focus::Alerts => {
                self.nav.open_alert(&self.feed.alerts);
            }
            Command::Open => match &self.view {
                View::Processes(view) => {
                    if let Some(pid) = view.selected().and_then(|r| r.pid) {
                        self.show_connections(ConnectionScope::Process(pid));
                    }
                }
                _ => self.open_connections(),
            },
            Command::Up => self.navigate(-1),
            Command::Down => self.navigate(1),
            Command::PageUp => self.navigate(-self.page_rows()),
            Command::PageDown => self.navigate(self.page_rows()),
            Command::Home => self.navigate(isize::MIN / 2),
            Command::End => self.navigate(isize::MAX / 2),
        }
    }

    /// `s`, `S` and `I` in a list of sockets or processes: the next or
    /// previous sort column, or the reverse order. False on the dashboard.
    fn sort_list(&mut self, command: Command) -> bool {
        match &mut self.view {
            View::Connections(view) => {
                view.sort = match command {
                    Command::SortNext => view.sort.step(true),
                    Command::SortPrevious => view.sort.step(false),
                    _ => view.sort.reverse(),
                };
                self.rebuild_connection_rows();
                true
            }
            View::Processes(view) => {
                view.sort = match command {
                    Command::SortNext => view.sort.step(true),
                    Command::SortPrevious => view.sort.step(false),
                    _ => view.sort.reverse(),
                };
                self.rebuild_process_rows();
                true
            }
            View::Dashboard | View::Diagram => false,
        }
    }

    /// A click: selects what is under it (and focuses its panel).
    fn on_click(&mut self, target: ClickTarget) {
        let page = self.connections_page();
        match (target, &mut self.view) {
            (ClickTarget::PortRow(index), View::Dashboard) => self.nav.select_port_row(index),
            (ClickTarget::Panel(focus), View::Dashboard) => self.nav.focus = focus,
            (ClickTarget::AlertItem(index), View::Dashboard) => {
                self.nav.focus = Focus::Alerts;
                self.nav.select_alert(index, &self.feed.alerts);
            }
            (ClickTarget::ConnectionRow(index), View::Connections(view)) => {
                view.select(index, self.feed.shown(), page);
            }
            (ClickTarget::ProcessRow(index), View::Processes(view)) => view.select(index, page),
            _ => {}
        }
    }

    fn back(&mut self) {
        if matches!(self.view, View::Connections(_) | View::Processes(_)) {
            self.view = View::Dashboard;
        } else if self.nav.filter.is_active() {
            self.nav.filter.clear();
            self.rebuild_rows();
        }
    }

    fn toggle_pause(&mut self) {
        self.nav.paused = !self.nav.paused;
        if !self.nav.paused {
            let shown = self.feed.resume();
            self.refresh(shown);
        }
    }

    fn step_interval(&mut self, longer: bool) {
        let current = u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX);
        let next = if longer {
            INTERVAL_STEPS_MS.iter().find(|ms| **ms > current).copied()
        } else {
            INTERVAL_STEPS_MS
                .iter()
                .rev()
                .find(|ms| **ms < current)
                .copied()
        };
        if let Some(ms) = next {
            self.interval = Duration::from_millis(ms);
        }
    }

    fn set_sort(&mut self, sort: SortMode) {
        self.nav.sort = sort;
        self.rebuild_rows();
    }

    fn open_connections(&mut self) {
        if matches!(self.view, View::Connections(_)) {
            return;
        }
        if let Some(port) = self.nav.selected_port {
            self.show_connections(ConnectionScope::Port(port));
        }
    }

    fn show_connections(&mut self, scope: ConnectionScope) {
        self.view = View::Connections(ConnectionsView::new(scope));
        self.rebuild_connection_rows();
    }

    fn connections_page(&self) -> usize {
        usize::from(self.viewport.1.saturating_sub(CONNECTIONS_CHROME_ROWS)).max(1)
    }

    fn page_rows(&self) -> isize {
        let rows = match self.view {
            View::Connections(_) | View::Processes(_) => self.connections_page(),
            View::Dashboard | View::Diagram => PANEL_PAGE_ROWS,
        };
        isize::try_from(rows).unwrap_or(1)
    }

    fn navigate(&mut self, delta: isize) {
        let page = self.connections_page();
        let log_len = self.log_len();
        match &mut self.view {
            View::Diagram => self.diagram.scroll_log(delta, log_len),
            View::Connections(view) => view.move_by(delta, self.feed.shown(), page),
            View::Processes(view) => view.move_by(delta, page),
            View::Dashboard => self.nav.move_by(delta, &self.feed.alerts),
        }
    }
}

#[cfg(any(test, feature = "test-support"))]
pub mod test_app;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod diagram_tests;
