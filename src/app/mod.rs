//! The dashboard's state and how messages change it.
//!
//! Owns: `App`, `App::update`, what is shown versus kept aside while paused,
//! selection, sort, live filter, focus, drill-down, interval requests and
//! the alert board. Must not: draw, do I/O or read the clock: samples, keys
//! and the time all arrive as `Msg`s.

pub mod alerts;
pub mod counter_jumps;
pub mod diagram;
pub mod filter;
pub(crate) mod keymap;
pub mod msg;
pub mod namespaces;
pub mod narration;
pub mod processes;
pub mod replay;
pub mod rows;
pub(crate) mod scroll;
pub mod socket_sort;
pub mod sort;
pub(crate) mod transition_log;

use std::collections::HashSet;
use std::time::Duration;

use crossterm::event::{KeyEvent, MouseEvent, MouseEventKind};

use crate::alert::AlertEvent;
use crate::model::history::History;
use crate::model::seen::FirstSeen;
use crate::model::{CounterDeltas, PortStates, SocketRecord, Sockstat};
use crate::watch::{FullTick, Tick};

pub use alerts::{AlertBoard, AlertChange, AlertLogEntry, AlertView, LogEvent, Severity};
pub use diagram::{DiagramScope, DiagramState, Direction};
pub use filter::{FilterQuery, LiveFilter};
pub use keymap::{
    CONNECTIONS_FOOTER_KEYS, Command, DIAGRAM_FOOTER_KEYS, DIAGRAM_KEY_HELP, FOOTER_KEYS, KEY_HELP,
};
pub use msg::{Msg, SelfCost};
pub use narration::{Narration, NarrationEvent};
pub use processes::{ProcessColumn, ProcessRow, ProcessSort, ProcessesView};
pub use rows::{ConnectionRef, ListenerRole, ListenerRow};
pub use scroll::Scroll;
pub use socket_sort::{SocketColumn, SocketSort};
pub use sort::SortMode;
pub use transition_log::TransitionLog;

/// Rows of the screen the connection view spends on other things (header 2,
/// footer 1, table borders 2, column titles 1): the rest is one page.
pub(crate) const CONNECTIONS_CHROME_ROWS: u16 = 6;

/// Rows a mouse-wheel notch scrolls.
const WHEEL_ROWS: isize = 3;
/// Rows PgUp/PgDn move in the small panels.
const PANEL_PAGE_ROWS: usize = 5;

/// FullTick intervals `+`/`-` step through.
pub(crate) const INTERVAL_STEPS_MS: [u64; 11] = [
    100, 200, 250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000,
];

/// The panel that arrow keys act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Ports,
    Listeners,
    TimeWait,
    Alerts,
}

impl Focus {
    const ORDER: [Focus; 4] = [
        Focus::Ports,
        Focus::Listeners,
        Focus::TimeWait,
        Focus::Alerts,
    ];

    fn step(self, forward: bool) -> Focus {
        let i = Focus::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        let n = Focus::ORDER.len();
        Focus::ORDER[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }
}

/// Which connections a connection view lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionScope {
    /// The drill-down: the connections counted under one port.
    Port(u16),
    /// Every watched connection, across ports.
    All,
    /// The sockets of one process (from the process view).
    Process(u32),
}

/// A list of connections: one port's (the drill-down) or all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionsView {
    pub scope: ConnectionScope,
    pub rows: Vec<ConnectionRef>,
    pub scroll: Scroll,
    pub sort: SocketSort,
    selected_key: Option<crate::model::SocketKey>,
}

impl ConnectionsView {
    /// The port of the drill-down, `None` for the list of all connections.
    pub fn port(&self) -> Option<u16> {
        match self.scope {
            ConnectionScope::Port(port) => Some(port),
            ConnectionScope::All | ConnectionScope::Process(_) => None,
        }
    }
}

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

/// A failed sample, shown in the status line until a sample succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleFailure {
    pub at_ms: u64,
    pub message: String,
    /// Failures in a row.
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq)]
struct ListenerSample {
    at_ms: u64,
    listeners: Vec<SocketRecord>,
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
}

impl Effects {
    /// Both updates' effects.
    pub fn and(self, later: Effects) -> Effects {
        Effects {
            bell: self.bell || later.bell,
            new_interval: later.new_interval.or(self.new_interval),
            toggle_recording: self.toggle_recording != later.toggle_recording,
            mouse_capture: later.mouse_capture.or(self.mouse_capture),
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

    shown: Option<(Box<FullTick>, Option<CounterDeltas>)>,
    shown_listeners: Option<ListenerSample>,
    kept_aside: Option<Box<FullTick>>,
    kept_aside_listeners: Option<ListenerSample>,
    kept_aside_count: usize,
    paused: bool,
    failure: Option<SampleFailure>,

    history: History,
    seen: FirstSeen,

    port_rows: Vec<PortStates>,
    listener_rows: Vec<ListenerRow>,
    sort: SortMode,
    filter: LiveFilter,
    selected_port: Option<u16>,
    selected_index: usize,
    focus: Focus,
    listeners_offset: usize,
    /// The selected item of the alerts panel: active alerts, then the log.
    alert_selected: usize,
    /// The alert whose full text is open (Enter on the alerts panel).
    alert_detail: Option<AlertView>,
    view: View,
    help_visible: bool,
    /// The terminal reports the mouse to us (wheel, clicks); off, the
    /// terminal's own selection copies text.
    mouse_capture: bool,

    alerts: AlertBoard,
    /// A warning or critical alert was raised by the message being applied.
    bell_pending: bool,
    /// `R` was pressed since the last update.
    recording_toggled: bool,
    self_cost: Option<SelfCost>,
    /// Sockstat read between spread-out full dumps, with its time.
    latest_totals: Option<(u64, Sockstat)>,
    quit: bool,

    diagram: DiagramState,
    transitions: TransitionLog,
    narration: Option<Narration>,
}

impl App {
    pub fn new(setup: AppSetup) -> App {
        App {
            interval: setup.interval,
            now_ms: setup.now_ms,
            viewport: (setup.width, setup.height),
            setup,
            shown: None,
            shown_listeners: None,
            kept_aside: None,
            kept_aside_listeners: None,
            kept_aside_count: 0,
            paused: false,
            failure: None,
            history: History::default(),
            seen: FirstSeen::default(),
            port_rows: Vec::new(),
            listener_rows: Vec::new(),
            sort: SortMode::default(),
            filter: LiveFilter::default(),
            selected_port: None,
            selected_index: 0,
            focus: Focus::default(),
            listeners_offset: 0,
            alert_selected: 0,
            alert_detail: None,
            view: View::Dashboard,
            help_visible: false,
            mouse_capture: true,
            alerts: AlertBoard::default(),
            bell_pending: false,
            recording_toggled: false,
            self_cost: None,
            latest_totals: None,
            quit: false,
            diagram: DiagramState::default(),
            transitions: TransitionLog::default(),
            narration: None,
        }
    }

    /// The newest sockstat: from a totals-only sample when it is newer
    /// than the full sample on screen.
    pub(crate) fn latest_sockstat(&self) -> Option<Sockstat> {
        let shown = self
            .shown()
            .and_then(|s| s.snapshot.sockstat.map(|st| (s.snapshot.taken_at_ms, st)));
        match (shown, self.latest_totals) {
            (Some((shown_at, _)), Some((at, totals))) if at > shown_at && !self.paused => {
                Some(totals)
            }
            (Some((_, shown)), _) => Some(shown),
            (None, totals) => totals.map(|(_, s)| s),
        }
    }

    /// tcpwatch's own CPU and memory, once measured.
    pub(crate) fn self_cost(&self) -> Option<SelfCost> {
        self.self_cost
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
        }
    }

    fn apply(&mut self, msg: Msg) {
        match msg {
            Msg::Sampled(tick) => self.on_tick(tick),
            Msg::Key(key) => self.on_key(key),
            Msg::Mouse(mouse) => self.on_mouse(mouse),
            Msg::Click(target) => self.on_click(target),
            Msg::Resize { width, height } => {
                self.viewport = (width, height);
                self.keep_connection_selection_visible();
            }
            Msg::Clock { now_ms } => self.now_ms = now_ms,
            Msg::Quit => self.quit = true,
            Msg::SelfCost(cost) => self.self_cost = Some(cost),
            Msg::Narration(event) => self.narration.get_or_insert_default().apply(event),
        }
    }

    /// Applies alert events from a rule engine, evaluated at `at_ms`.
    pub(crate) fn apply_alert_events(&mut self, at_ms: u64, changes: Vec<AlertChange>) {
        if !changes.is_empty() {
            self.alerts.apply(at_ms, changes);
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

    pub(crate) fn is_paused(&self) -> bool {
        self.paused
    }

    /// Samples that arrived while paused.
    pub(crate) fn kept_aside_count(&self) -> usize {
        self.kept_aside_count
    }

    /// The sample on screen (the last good one).
    pub fn shown(&self) -> Option<&FullTick> {
        self.shown.as_ref().map(|(s, _)| s.as_ref())
    }

    /// Counter growth between the shown sample and the one before it.
    pub(crate) fn shown_deltas(&self) -> Option<&CounterDeltas> {
        self.shown.as_ref().and_then(|(_, d)| d.as_ref())
    }

    pub fn failure(&self) -> Option<&SampleFailure> {
        self.failure.as_ref()
    }

    pub(crate) fn history(&self) -> &History {
        &self.history
    }

    /// Charts stop here: the newest shown sample while paused.
    pub(crate) fn history_until_ms(&self) -> u64 {
        if !self.paused {
            return u64::MAX;
        }
        let snapshot = self.shown().map_or(0, |s| s.snapshot.taken_at_ms);
        let listeners = self.shown_listeners.as_ref().map_or(0, |l| l.at_ms);
        snapshot.max(listeners)
    }

    pub fn seen(&self) -> &FirstSeen {
        &self.seen
    }

    pub(crate) fn port_rows(&self) -> &[PortStates] {
        &self.port_rows
    }

    pub(crate) fn listener_rows(&self) -> &[ListenerRow] {
        &self.listener_rows
    }

    /// The listener rows that are sockets (not SO_REUSEPORT group headings).
    pub fn listener_sockets(&self) -> impl Iterator<Item = &ListenerRow> {
        self.listener_rows.iter().filter(|l| l.is_socket())
    }

    pub(crate) fn port_has_full_listener(&self, port: u16) -> bool {
        self.listener_sockets()
            .any(|l| l.summary.port() == port && l.summary.is_full() == Some(true))
    }

    pub fn selected_port(&self) -> Option<u16> {
        self.selected_port
    }

    pub(crate) fn selected_row_index(&self) -> Option<usize> {
        let port = self.selected_port?;
        self.port_rows.iter().position(|r| r.port == port)
    }

    pub fn sort(&self) -> SortMode {
        self.sort
    }

    pub fn filter(&self) -> &LiveFilter {
        &self.filter
    }

    pub(crate) fn focus(&self) -> Focus {
        self.focus
    }

    pub(crate) fn listeners_offset(&self) -> usize {
        self.listeners_offset
    }

    /// The selected item of the alerts panel (active alerts, then the log).
    pub fn alert_selected(&self) -> usize {
        self.alert_selected
            .min(self.alerts.item_count().saturating_sub(1))
    }

    /// The alert whose full text is shown over the dashboard.
    pub fn alert_detail(&self) -> Option<&AlertView> {
        self.alert_detail.as_ref()
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

    pub fn alerts(&self) -> &AlertBoard {
        &self.alerts
    }

    pub fn diagram(&self) -> &DiagramState {
        &self.diagram
    }

    /// Connection state changes, followed across every full sample.
    pub(crate) fn transitions(&self) -> &TransitionLog {
        &self.transitions
    }

    /// The demo's narration, when a demo runs beside the dashboard.
    pub fn narration(&self) -> Option<&Narration> {
        self.narration.as_ref()
    }

    // ---- samples ----

    fn on_tick(&mut self, tick: Tick) {
        match tick {
            Tick::Full(full) => self.on_full_tick(full),
            Tick::Failed { at_ms, error } => {
                let count = self.failure.as_ref().map_or(0, |f| f.count) + 1;
                self.failure = Some(SampleFailure {
                    at_ms,
                    message: error.to_string(),
                    count,
                });
            }
            Tick::Listeners { at_ms, listeners } => self.on_listener_sample(at_ms, listeners),
            Tick::Totals {
                at_ms,
                counters,
                sockstat,
            } => {
                self.history.record_totals(at_ms, &counters, &sockstat);
                self.log_counter_jumps(at_ms);
                self.latest_totals = Some((at_ms, sockstat));
            }
        }
    }

    fn on_full_tick(&mut self, mut tick: Box<FullTick>) {
        let at_ms = tick.at_ms();
        self.transitions.record(
            std::mem::take(&mut tick.transitions),
            tick.too_many_to_follow,
            tick.following_truncated,
        );
        self.history
            .record_snapshot(&tick.snapshot, &tick.aggregates);
        self.log_counter_jumps(at_ms);
        if tick.too_many_to_follow.is_none() {
            self.seen.observe(
                at_ms,
                tick.snapshot
                    .listeners
                    .iter()
                    .chain(tick.snapshot.sockets.iter()),
            );
        }
        self.apply_engine_events(at_ms, &tick.alert_events);
        let current: Vec<AlertView> = tick.active_alerts.iter().map(AlertView::from).collect();
        self.alerts.refresh_active(&current);
        self.failure = None;
        if self.paused {
            self.kept_aside = Some(tick);
            self.kept_aside_count += 1;
        } else {
            self.show(tick);
        }
    }

    /// Keeps the interval's counter jumps (RSTs, overflows, drops) in the
    /// alert log, with their time.
    fn log_counter_jumps(&mut self, at_ms: u64) {
        if let Some(deltas) = self.history.counter_deltas() {
            self.alerts
                .log_counter_jumps(at_ms, counter_jumps::counter_jumps(at_ms, &deltas));
        }
    }

    fn on_listener_sample(&mut self, at_ms: u64, listeners: Vec<SocketRecord>) {
        self.history.record_listener_sample(at_ms, &listeners);
        let sample = ListenerSample { at_ms, listeners };
        if self.paused {
            self.kept_aside_listeners = Some(sample);
        } else {
            self.shown_listeners = Some(sample);
            self.rebuild_listener_rows();
        }
    }

    fn apply_engine_events(&mut self, at_ms: u64, events: &[AlertEvent]) {
        let changes: Vec<AlertChange> = events.iter().map(AlertChange::from).collect();
        if changes
            .iter()
            .any(|c| matches!(c, AlertChange::Raised(a) if a.severity >= Severity::Warning))
        {
            self.bell_pending = true;
        }
        self.apply_alert_events(at_ms, changes);
    }

    fn show(&mut self, sample: Box<FullTick>) {
        let deltas = self.history.counter_deltas();
        self.shown = Some((sample, deltas));
        self.rebuild_rows();
    }

    fn rebuild_rows(&mut self) {
        if let Some((sample, _)) = &self.shown {
            self.port_rows = rows::port_rows(sample, self.filter.query(), self.sort);
        }
        self.reconcile_port_selection();
        self.rebuild_listener_rows();
        self.rebuild_connection_rows();
        self.rebuild_process_rows();
        self.refresh_diagram();
    }

    fn rebuild_process_rows(&mut self) {
        let page = self.connections_page();
        if let (Some((tick, _)), View::Processes(view)) = (&self.shown, &mut self.view) {
            view.refresh(tick, page);
        }
    }

    fn refresh_diagram(&mut self) {
        if let Some((sample, _)) = &self.shown {
            let filter = self.filter.describe().unwrap_or_default();
            self.diagram
                .refresh(sample, &self.port_rows, &filter, self.now_ms);
        }
    }

    fn rebuild_listener_rows(&mut self) {
        let Some((sample, _)) = &self.shown else {
            return;
        };
        let live = self
            .shown_listeners
            .as_ref()
            .map(|l| (l.at_ms, l.listeners.as_slice()));
        let ports: Option<HashSet<u16>> = self
            .filter
            .is_active()
            .then(|| self.port_rows.iter().map(|r| r.port).collect());
        self.listener_rows = rows::listener_rows(sample, live, ports.as_ref());
        self.listeners_offset = self
            .listeners_offset
            .min(self.listener_rows.len().saturating_sub(1));
    }

    fn rebuild_connection_rows(&mut self) {
        let page = self.connections_page();
        let (Some((sample, _)), View::Connections(view)) = (&self.shown, &mut self.view) else {
            return;
        };
        view.rows = match view.scope {
            ConnectionScope::Process(pid) => rows::process_connection_rows(sample, pid),
            _ => rows::connection_rows(sample, view.port(), self.filter.query()),
        };
        let now_ms = self.now_ms.max(sample.snapshot.taken_at_ms);
        let listeners = view
            .rows
            .iter()
            .take_while(|r| matches!(r, ConnectionRef::Listener(_)))
            .count();
        if let Some(sockets) = view.rows.get_mut(listeners..) {
            view.sort.sort(sockets, sample, &self.seen, now_ms);
        }
        let found = view.selected_key.and_then(|key| {
            view.rows
                .iter()
                .position(|r| r.record(sample).is_some_and(|s| s.key() == key))
        });
        let index = found.unwrap_or(view.scroll.selected);
        view.scroll.select(index, view.rows.len(), page);
        view.selected_key = view
            .rows
            .get(view.scroll.selected)
            .and_then(|r| r.record(sample))
            .map(|s| s.key());
    }

    /// Keeps the selected port if it is still listed; otherwise selects the
    /// row now at the same position.
    fn reconcile_port_selection(&mut self) {
        if let Some(index) = self.selected_row_index() {
            self.selected_index = index;
            return;
        }
        if self.port_rows.is_empty() {
            return;
        }
        self.selected_index = self.selected_index.min(self.port_rows.len() - 1);
        self.selected_port = Some(self.port_rows[self.selected_index].port);
    }

    // ---- input ----

    fn on_key(&mut self, key: KeyEvent) {
        if let Some(command) = keymap::command_for(key, self.filter.is_editing()) {
            self.execute(command);
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
        if self.alert_detail.is_some() {
            match command {
                Command::Quit => self.quit = true,
                Command::Back | Command::Open | Command::ToggleHelp => self.alert_detail = None,
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
        if self.view == View::Diagram
            && !self.filter.is_editing()
            && self.execute_in_diagram(command)
        {
            return;
        }
        match command {
            Command::Help => self.help_visible = true,
            Command::ToggleDiagram => {
                self.view = View::Diagram;
                self.diagram.explaining = false;
            }
            Command::ToggleScope | Command::Left | Command::Right => {}
            Command::Quit => self.quit = true,
            Command::ToggleHelp => self.help_visible = true,
            Command::Back => self.back(),
            Command::StartFilter => self.filter.start_editing(),
            Command::FilterChar(c) => {
                self.filter.push(c);
                self.rebuild_rows();
            }
            Command::FilterBackspace => {
                self.filter.pop();
                self.rebuild_rows();
            }
            Command::FilterErase | Command::FilterCancel => {
                self.filter.clear();
                self.rebuild_rows();
            }
            Command::FilterConfirm => self.filter.stop_editing(),
            Command::TogglePause => self.toggle_pause(),
            Command::ToggleRecording => self.recording_toggled = !self.recording_toggled,
            Command::IntervalLonger => self.step_interval(true),
            Command::IntervalShorter => self.step_interval(false),
            Command::SortNext | Command::SortPrevious | Command::ReverseSort
                if self.sort_list(command) => {}
            Command::SortNext => self.set_sort(self.sort.next()),
            Command::SortPrevious => self.set_sort(self.sort.previous()),
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
                self.alerts.clear_log();
                self.alert_selected = 0;
            }
            Command::FocusNext | Command::FocusPrevious => {
                if matches!(self.view, View::Connections(_) | View::Processes(_)) {
                    self.view = View::Dashboard;
                } else {
                    self.focus = self.focus.step(command == Command::FocusNext);
                }
            }
            Command::Open if self.view == View::Dashboard && self.focus == Focus::Alerts => {
                self.alert_detail = self.alerts.item(self.alert_selected()).cloned();
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

    /// The keys that mean something else in the diagram view; returns false
    /// for the ones that work as everywhere (quit, pause, filter, interval…).
    fn execute_in_diagram(&mut self, command: Command) -> bool {
        let on_diagram = diagram::diagram_fits(self.viewport.0, self.viewport.1);
        let step = |diagram: &mut DiagramState, direction: Direction, delta: isize| {
            if on_diagram {
                diagram.move_on_diagram(direction);
            } else {
                diagram.move_in_list(delta);
            }
        };
        match command {
            Command::Up => step(&mut self.diagram, Direction::Up, -1),
            Command::Down => step(&mut self.diagram, Direction::Down, 1),
            Command::Left => step(&mut self.diagram, Direction::Left, -1),
            Command::Right => step(&mut self.diagram, Direction::Right, 1),
            Command::FocusNext => self.diagram.move_in_list(1),
            Command::FocusPrevious => self.diagram.move_in_list(-1),
            Command::ToggleHelp | Command::Open => {
                self.diagram.explaining = !self.diagram.explaining;
            }
            Command::Back if self.diagram.explaining => self.diagram.explaining = false,
            Command::Back | Command::ToggleDiagram => {
                self.diagram.explaining = false;
                self.view = View::Dashboard;
            }
            _ if self.diagram.explaining => {
                return !matches!(command, Command::Quit | Command::Help);
            }
            Command::ToggleScope => {
                self.diagram.scope = match (self.diagram.scope, self.selected_port) {
                    (DiagramScope::AllWatched, Some(port)) => DiagramScope::Port(port),
                    _ => DiagramScope::AllWatched,
                };
                self.refresh_diagram();
            }
            Command::PageDown => self.scroll_log(PANEL_PAGE_ROWS as isize),
            Command::PageUp => self.scroll_log(-(PANEL_PAGE_ROWS as isize)),
            Command::Home => self.diagram.log_offset = 0,
            Command::End => self.scroll_log(isize::MAX / 2),
            Command::ClearAlertLog => {
                self.transitions.clear();
                self.diagram.log_offset = 0;
            }
            _ => return false,
        }
        true
    }

    fn scroll_log(&mut self, delta: isize) {
        self.diagram.log_offset = offset_by(self.diagram.log_offset, delta, self.transitions.len());
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
            (ClickTarget::PortRow(index), View::Dashboard) => {
                self.focus = Focus::Ports;
                if let Some(row) = self.port_rows.get(index) {
                    self.selected_index = index;
                    self.selected_port = Some(row.port);
                }
            }
            (ClickTarget::Panel(focus), View::Dashboard) => self.focus = focus,
            (ClickTarget::AlertItem(index), View::Dashboard) => {
                self.focus = Focus::Alerts;
                self.alert_selected = index.min(self.alerts.item_count().saturating_sub(1));
            }
            (ClickTarget::ConnectionRow(index), View::Connections(view)) => {
                view.scroll.select(index, view.rows.len(), page);
                let shown = self.shown.as_ref().map(|(s, _)| s.as_ref());
                view.selected_key = shown.and_then(|tick| {
                    view.rows
                        .get(view.scroll.selected)
                        .and_then(|r| r.record(tick))
                        .map(|s| s.key())
                });
            }
            (ClickTarget::ProcessRow(index), View::Processes(view)) => view.select(index, page),
            _ => {}
        }
    }

    fn back(&mut self) {
        if matches!(self.view, View::Connections(_) | View::Processes(_)) {
            self.view = View::Dashboard;
        } else if self.filter.is_active() {
            self.filter.clear();
            self.rebuild_rows();
        }
    }

    fn toggle_pause(&mut self) {
        self.paused = !self.paused;
        if self.paused {
            return;
        }
        self.kept_aside_count = 0;
        if let Some(listeners) = self.kept_aside_listeners.take() {
            self.shown_listeners = Some(listeners);
        }
        match self.kept_aside.take() {
            Some(sample) => self.show(sample),
            None => self.rebuild_listener_rows(),
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
        self.sort = sort;
        self.rebuild_rows();
    }

    fn open_connections(&mut self) {
        if matches!(self.view, View::Connections(_)) {
            return;
        }
        if let Some(port) = self.selected_port {
            self.show_connections(ConnectionScope::Port(port));
        }
    }

    fn show_connections(&mut self, scope: ConnectionScope) {
        self.view = View::Connections(ConnectionsView {
            scope,
            rows: Vec::new(),
            scroll: Scroll::default(),
            sort: SocketSort::default(),
            selected_key: None,
        });
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
        if self.view == View::Diagram {
            self.scroll_log(delta);
            return;
        }
        let page = self.connections_page();
        if let View::Connections(view) = &mut self.view {
            view.scroll.move_by(delta, view.rows.len(), page);
            let shown = self.shown.as_ref().map(|(s, _)| s.as_ref());
            view.selected_key = shown.and_then(|sample| {
                view.rows
                    .get(view.scroll.selected)
                    .and_then(|r| r.record(sample))
                    .map(|s| s.key())
            });
            return;
        }
        if let View::Processes(view) = &mut self.view {
            view.move_by(delta, page);
            return;
        }
        match self.focus {
            Focus::Ports | Focus::TimeWait => {
                if self.port_rows.is_empty() {
                    return;
                }
                let mut scroll = Scroll {
                    selected: self.selected_row_index().unwrap_or(0),
                    offset: 0,
                };
                scroll.move_by(delta, self.port_rows.len(), 1);
                self.selected_index = scroll.selected;
                self.selected_port = self.port_rows.get(scroll.selected).map(|r| r.port);
            }
            Focus::Listeners => {
                self.listeners_offset =
                    offset_by(self.listeners_offset, delta, self.listener_rows.len());
            }
            Focus::Alerts => {
                self.alert_selected =
                    offset_by(self.alert_selected(), delta, self.alerts.item_count());
            }
        }
    }

    fn keep_connection_selection_visible(&mut self) {
        let page = self.connections_page();
        if let View::Connections(view) = &mut self.view {
            view.scroll.keep_visible(view.rows.len(), page);
        }
    }
}

fn offset_by(offset: usize, delta: isize, len: usize) -> usize {
    let moved = if delta < 0 {
        offset.saturating_sub(delta.unsigned_abs())
    } else {
        offset.saturating_add(delta.unsigned_abs())
    };
    moved.min(len.saturating_sub(1))
}

#[cfg(test)]
mod test_app;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod diagram_tests;
