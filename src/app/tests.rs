//! Key handling and state updates, driven by messages only.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

use super::test_app::TestApp;
use super::*;
use crate::collect::sample_loop::SamplerEvent;
use crate::collect::scenarios::listen_one_experiment;
use crate::model::socket::fixtures::{listener, record};
use crate::model::{Snapshot, SourceKind, TcpState};

const START_MS: u64 = 1_795_470_000_000;

fn app() -> TestApp {
    TestApp::new(AppSetup {
        host: "testhost".to_string(),
        color: false,
        interval: Duration::from_secs(1),
        listen_interval: Duration::from_millis(100),
        watch_filter: "all".to_string(),
        width: 120,
        height: 40,
        now_ms: START_MS,
    })
}

fn press(app: &mut App, code: KeyCode) {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn feed(app: &mut TestApp, snapshot: Snapshot) {
    app.feed(snapshot);
}

fn ports(app: &App) -> Vec<u16> {
    app.port_rows().iter().map(|r| r.port).collect()
}

/// A snapshot with one ESTABLISHED connection per (port, count) pair.
fn snapshot_with_ports(at_ms: u64, ports: &[(u16, u16)]) -> Snapshot {
    let mut snap = Snapshot::empty(at_ms, SourceKind::Netlink);
    for (port, count) in ports {
        snap.listeners
            .push(listener(&format!("127.0.0.1:{port}"), 0, 128));
        for i in 0..*count {
            snap.sockets.push(record(
                TcpState::Established,
                &format!("127.0.0.1:{port}"),
                &format!("127.0.0.2:{}", 30000 + i),
            ));
        }
    }
    snap
}

#[test]
fn sort_cycles_total_port_then_states() {
    let mut app = app();
    feed(
        &mut app,
        snapshot_with_ports(START_MS, &[(22, 1), (80, 5), (443, 3)]),
    );
    assert_eq!(ports(&app), [80, 443, 22], "total, largest first");
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.sort(), SortMode::Port);
    assert_eq!(ports(&app), [22, 80, 443]);
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.sort(), SortMode::State(TcpState::Listen));
    press(&mut app, KeyCode::Char('S'));
    press(&mut app, KeyCode::Char('S'));
    assert_eq!(app.sort(), SortMode::Total);
}

#[test]
fn live_filter_matches_port_address_or_state_and_esc_clears() {
    let mut app = app();
    feed(&mut app, listen_one_experiment(START_MS, 3));
    assert_eq!(ports(&app).len(), 3);
    press(&mut app, KeyCode::Char('/'));
    assert!(app.filter().is_editing());
    type_text(&mut app, "100");
    assert!(ports(&app).is_empty(), "a number is a port, exactly");
    type_text(&mut app, "*");
    assert_eq!(ports(&app), [10000], "100* asks for a prefix");
    press(&mut app, KeyCode::Backspace);
    type_text(&mut app, "00");
    assert_eq!(ports(&app), [10000], "filters while typing");
    press(&mut app, KeyCode::Enter);
    assert!(!app.filter().is_editing());
    assert_eq!(ports(&app), [10000]);
    assert_eq!(app.listener_rows().len(), 1, "listeners follow the filter");
    press(&mut app, KeyCode::Esc);
    assert_eq!(ports(&app).len(), 3);

    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "close_wait");
    assert_eq!(
        ports(&app),
        [8080],
        "state names select ports with that state"
    );
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "10.0.0.9");
    assert_eq!(ports(&app), [22], "address fragments find the port");
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.filter().text(), "10.0.0.");
    assert_eq!(ports(&app), [8080, 22]);
}

#[test]
fn q_inside_the_filter_is_text_but_ctrl_c_always_quits() {
    let mut app = app();
    press(&mut app, KeyCode::Char('/'));
    press(&mut app, KeyCode::Char('q'));
    assert!(!app.should_quit());
    assert_eq!(app.filter().text(), "q");
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert!(app.should_quit());
}

#[test]
fn selection_follows_the_port_when_rows_come_and_go() {
    let mut app = app();
    press(&mut app, KeyCode::Char('s')); // by port
    feed(
        &mut app,
        snapshot_with_ports(START_MS, &[(22, 1), (80, 1), (443, 1)]),
    );
    press(&mut app, KeyCode::Down);
    assert_eq!(app.selected_port(), Some(80));
    // A port appears above: the selection stays on 80, now one row lower.
    feed(
        &mut app,
        snapshot_with_ports(START_MS + 1000, &[(21, 1), (22, 1), (80, 1), (443, 1)]),
    );
    assert_eq!(app.selected_port(), Some(80));
    assert_eq!(app.selected_row_index(), Some(2));
    // 80 disappears: the row now at that position is selected.
    feed(
        &mut app,
        snapshot_with_ports(START_MS + 2000, &[(21, 1), (22, 1), (443, 1)]),
    );
    assert_eq!(app.selected_port(), Some(443));
    // Everything but 21 disappears: clamp to the last row.
    feed(&mut app, snapshot_with_ports(START_MS + 3000, &[(21, 1)]));
    assert_eq!(app.selected_port(), Some(21));
    press(&mut app, KeyCode::End);
    press(&mut app, KeyCode::Home);
    assert_eq!(app.selected_port(), Some(21));
}

#[test]
fn pause_keeps_samples_aside_and_resume_shows_the_latest() {
    let mut app = app();
    feed(&mut app, listen_one_experiment(START_MS, 0));
    press(&mut app, KeyCode::Char('p'));
    assert!(app.is_paused());
    feed(&mut app, listen_one_experiment(START_MS, 1));
    feed(&mut app, listen_one_experiment(START_MS, 2));
    assert_eq!(app.shown().map(|s| s.snapshot.taken_at_ms), Some(START_MS));
    assert_eq!(app.kept_aside_count(), 2);
    assert_eq!(app.history_until_ms(), START_MS, "charts freeze too");
    assert_eq!(
        app.history().time_wait_total().len(),
        3,
        "history keeps recording"
    );
    press(&mut app, KeyCode::Char(' '));
    assert!(!app.is_paused());
    assert_eq!(
        app.shown().map(|s| s.snapshot.taken_at_ms),
        Some(START_MS + 2000)
    );
    assert_eq!(app.kept_aside_count(), 0);
    assert_eq!(app.history_until_ms(), u64::MAX);
}

#[test]
fn interval_steps_and_stops_at_the_ends() {
    let mut app = app();
    let effects = app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('+'),
        KeyModifiers::NONE,
    )));
    assert_eq!(effects.new_interval, Some(Duration::from_secs(2)));
    assert_eq!(app.requested_interval(), Duration::from_secs(2));
    press(&mut app, KeyCode::Char('-'));
    press(&mut app, KeyCode::Char('-'));
    assert_eq!(app.requested_interval(), Duration::from_millis(500));
    for _ in 0..20 {
        press(&mut app, KeyCode::Char('-'));
    }
    assert_eq!(app.requested_interval(), Duration::from_millis(100));
    for _ in 0..20 {
        press(&mut app, KeyCode::Char('+'));
    }
    assert_eq!(app.requested_interval(), Duration::from_secs(300));
}

#[test]
fn enter_drills_into_the_port_and_esc_goes_back() {
    let mut app = app();
    feed(&mut app, listen_one_experiment(START_MS, 3));
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "10000");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Esc); // clears the filter, selection stays on 10000
    assert_eq!(app.selected_port(), Some(10000));
    press(&mut app, KeyCode::Enter);
    let View::Connections(view) = app.view() else {
        panic!("expected the connection view");
    };
    assert_eq!(view.port(), Some(10000));
    assert_eq!(
        view.rows.len(),
        1 + 4 + 3,
        "listener, 4 ESTABLISHED, 3 SYN_SENT"
    );
    press(&mut app, KeyCode::End);
    press(&mut app, KeyCode::Up);
    let View::Connections(view) = app.view() else {
        panic!("expected the connection view");
    };
    assert_eq!(view.scroll.selected, 6);
    // A new sample keeps the selection on the same socket.
    feed(&mut app, listen_one_experiment(START_MS, 4));
    let View::Connections(view) = app.view() else {
        panic!("expected the connection view");
    };
    assert_eq!(view.scroll.selected, 6);
    press(&mut app, KeyCode::Esc);
    assert_eq!(*app.view(), View::Dashboard);
}

#[test]
fn thousands_of_rows_scroll_by_page_and_wheel() {
    let mut app = app();
    feed(&mut app, snapshot_with_ports(START_MS, &[(80, 5000)]));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::PageDown);
    let page = usize::from(40 - CONNECTIONS_CHROME_ROWS);
    let scroll = |app: &App| match app.view() {
        View::Connections(view) => view.scroll,
        View::Dashboard | View::Diagram | View::Processes(_) => Scroll::default(),
    };
    assert_eq!(scroll(&app).selected, page);
    app.update(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 0,
        row: 0,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(scroll(&app).selected, page + 3);
    press(&mut app, KeyCode::End);
    assert_eq!(scroll(&app).selected, 5000);
    assert_eq!(scroll(&app).offset, 5001 - page);
}

#[test]
fn help_overlay_opens_and_swallows_other_keys() {
    let mut app = app();
    press(&mut app, KeyCode::Char('?'));
    assert!(app.help_visible());
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(app.sort(), SortMode::Total, "keys do nothing under help");
    press(&mut app, KeyCode::Esc);
    assert!(!app.help_visible());
    press(&mut app, KeyCode::Char('?'));
    press(&mut app, KeyCode::Char('q'));
    assert!(app.should_quit());
}

#[test]
fn backlog_full_alert_is_raised_from_a_burst_between_ticks_and_log_clears() {
    let mut app = app();
    let calm_at = |at_ms: u64| {
        let mut calm = listen_one_experiment(at_ms, 0);
        calm.listeners[2].recv_queue = 1;
        calm
    };
    feed(&mut app, calm_at(START_MS));
    assert!(app.alerts().active().is_empty(), "1/1 is not full yet");
    app.feed_listeners(START_MS + 100, vec![listener("127.0.0.1:10000", 2, 1)]);
    assert!(
        app.port_has_full_listener(10000),
        "the gauge uses the newer listener sample"
    );
    let effects = app.feed(calm_at(START_MS + 1000));
    let active: Vec<_> = app
        .alerts()
        .active()
        .iter()
        .filter(|a| a.kind == "backlog_full")
        .collect();
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(active[0].subject, "127.0.0.1:10000");
    assert!(
        active[0].summary.contains("peaked at 2/1 between samples"),
        "{}",
        active[0].summary
    );
    assert!(active[0].cause.contains("accept()"), "{}", active[0].cause);
    assert!(effects.bell, "a critical alert rings the bell");
    assert!(
        !app.update(Msg::Clock {
            now_ms: START_MS + 1100
        })
        .bell,
        "once"
    );

    // Calm for two ticks: the alert clears (hysteresis).
    feed(&mut app, calm_at(START_MS + 2000));
    feed(&mut app, calm_at(START_MS + 3000));
    let is_backlog_full = |kind: &str| kind == "backlog_full";
    assert!(
        !app.alerts()
            .active()
            .iter()
            .any(|a| is_backlog_full(&a.kind)),
        "{:?}",
        app.alerts().active()
    );
    let log: Vec<_> = app
        .alerts()
        .log()
        .filter(|e| is_backlog_full(&e.alert.kind))
        .map(|e| (e.event, e.at_ms))
        .collect();
    assert_eq!(
        log,
        [
            (LogEvent::Cleared, START_MS + 3000),
            (LogEvent::Raised, START_MS + 1000)
        ]
    );
    press(&mut app, KeyCode::Char('c'));
    assert_eq!(app.alerts().log().count(), 0);
}

#[test]
fn a_failed_sample_keeps_the_last_good_data() {
    let mut app = app();
    feed(&mut app, listen_one_experiment(START_MS, 0));
    app.fail(
        START_MS + 1000,
        crate::collect::CollectError::NetlinkDecode {
            reason: "EPERM".to_string(),
        },
    );
    app.fail(
        START_MS + 2000,
        crate::collect::CollectError::NetlinkDecode {
            reason: "EPERM".to_string(),
        },
    );
    assert_eq!(app.failure().map(|f| f.count), Some(2));
    assert_eq!(app.port_rows().len(), 3);
    feed(&mut app, listen_one_experiment(START_MS, 3));
    assert!(app.failure().is_none());
}

#[test]
fn tab_cycles_panels_and_leaves_the_connection_view() {
    let mut app = app();
    feed(&mut app, listen_one_experiment(START_MS, 0));
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus(), Focus::Listeners);
    press(&mut app, KeyCode::BackTab);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus(), Focus::Alerts);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.view(), View::Connections(_)));
    press(&mut app, KeyCode::Tab);
    assert_eq!(*app.view(), View::Dashboard);
}

#[test]
fn a_huge_sample_is_counted_but_not_followed_connection_by_connection() {
    let mut app = app();
    let mut huge = Snapshot::empty(START_MS, SourceKind::Netlink);
    huge.listeners.push(listener("127.0.0.1:8080", 0, 128));
    for i in 0..=crate::watch::FOLLOW_AT_MOST {
        let client = format!(
            "10.{}.{}.{}:40000",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        );
        huge.sockets
            .push(record(TcpState::Established, "127.0.0.1:8080", &client));
    }
    feed(&mut app, huge);
    assert_eq!(
        app.transitions().too_many(),
        Some(crate::watch::FOLLOW_AT_MOST + 1)
    );
    assert_eq!(ports(&app), vec![8080], "the counts still show");
}

#[test]
fn an_active_alert_shows_its_latest_numbers() {
    let mut app = app();
    let with_close_wait = |at_ms: u64, count: u16| {
        let mut snap = Snapshot::empty(at_ms, SourceKind::Netlink);
        snap.listeners.push(listener("127.0.0.1:8080", 0, 128));
        for i in 0..count {
            snap.sockets.push(record(
                TcpState::CloseWait,
                "127.0.0.1:8080",
                &format!("127.0.0.1:{}", 50000 + i),
            ));
        }
        snap
    };
    for tick in 0..5 {
        feed(&mut app, with_close_wait(START_MS + tick * 1000, 2));
    }
    let leak = |app: &App| {
        app.alerts()
            .active()
            .iter()
            .find(|a| a.kind == "close_wait_leak")
            .map(|a| a.summary.clone())
    };
    let first = leak(&app).expect("the leak is raised");
    assert!(first.starts_with("2 sockets"), "{first}");
    feed(&mut app, with_close_wait(START_MS + 5000, 5));
    let latest = leak(&app).expect("still active");
    assert!(
        latest.starts_with("5 sockets"),
        "the numbers follow: {latest}"
    );
    let raised = app
        .alerts()
        .log()
        .filter(|e| e.alert.kind == "close_wait_leak")
        .count();
    assert_eq!(raised, 1, "refreshing is not a new raise");
}

#[test]
fn the_fullest_listener_comes_first_however_many_there_are() {
    let mut app = app();
    let mut snap = Snapshot::empty(START_MS, SourceKind::Netlink);
    for port in 1000..1020u16 {
        snap.listeners
            .push(listener(&format!("127.0.0.1:{port}"), 0, 128));
    }
    snap.listeners.push(listener("127.0.0.1:30000", 2, 1));
    snap.listeners.push(listener("127.0.0.1:20000", 100, 128));
    feed(&mut app, snap);
    let order: Vec<u16> = app
        .listener_rows()
        .iter()
        .map(|r| r.summary.local.port())
        .take(3)
        .collect();
    assert_eq!(order, vec![30000, 20000, 1000]);
}

#[test]
fn totals_between_dumps_keep_the_time_wait_total_and_sockstat_fresh() {
    let mut app = app();
    feed(&mut app, listen_one_experiment(START_MS, 0));
    let shown_tw = app.history().time_wait_total().latest().map(|(_, n)| n);
    app.ingest(SamplerEvent::Totals {
        at_ms: START_MS + 1000,
        counters: Box::default(),
        sockstat: crate::model::Sockstat {
            inuse: 77,
            tw: 4321,
            ..crate::model::Sockstat::default()
        },
    });
    assert_ne!(shown_tw, Some(4321));
    assert_eq!(
        app.history().time_wait_total().latest(),
        Some((START_MS + 1000, 4321))
    );
    assert_eq!(app.latest_sockstat().map(|s| s.inuse), Some(77));
}
