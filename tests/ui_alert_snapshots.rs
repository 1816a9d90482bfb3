//! The dashboard with several alerts active at once, each with its what /
//! why / fix, from a scripted troubled host with frozen time.

use std::time::Duration;

mod common;

use common::screen::{START_MS, TestApp, draw, new_app};
use tcpwatch::app::Msg;
use tcpwatch::collect::scenarios::troubled_host;

fn troubled_app(width: u16, height: u16) -> TestApp {
    let mut app = new_app(width, height, false);
    for tick in 0..5 {
        app.feed(troubled_host(START_MS, tick));
    }
    app.update(Msg::Clock {
        now_ms: START_MS + 4_500,
    });
    app
}

#[test]
fn several_alerts_are_listed_most_severe_first() {
    let app = troubled_app(120, 48);
    let kinds: Vec<&str> = app
        .alerts()
        .active()
        .iter()
        .map(|a| a.kind.as_str())
        .collect();
    for kind in [
        "backlog_full",
        "close_wait_leak",
        "time_wait_near_limit",
        "port_exhaustion",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    assert_eq!(kinds[0], "backlog_full", "critical first: {kinds:?}");
    let terminal = draw(&app, 120, 48);
    let text = terminal.backend().to_string();
    assert!(
        text.contains("CRIT backlog full on 127.0.0.1:10000"),
        "{text}"
    );
    assert!(text.contains("ephemeral ports running out"), "{text}");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn several_alerts_at_80x24() {
    let app = troubled_app(80, 24);
    insta::assert_snapshot!(draw(&app, 80, 24).backend());
}

#[test]
fn the_header_shows_what_tcpwatch_itself_costs() {
    let mut app = troubled_app(120, 40);
    let before = draw(&app, 120, 40).backend().to_string();
    assert!(
        !before.contains("% cpu"),
        "nothing is shown before the first measurement"
    );
    app.update(Msg::SelfCost(tcpwatch::app::SelfCost {
        cpu_percent: 1.5,
        rss_kib: 12 * 1024,
    }));
    let after = draw(&app, 120, 40).backend().to_string();
    assert!(after.contains("self 1.5% cpu 12 MiB"), "{after}");
}

#[test]
fn the_header_says_when_expensive_dumps_are_spread_out() {
    let mut app = troubled_app(160, 40);
    let mut slow = troubled_host(START_MS, 5);
    slow.elapsed = Duration::from_millis(300);
    app.feed(slow);
    let text = draw(&app, 160, 40).backend().to_string();
    assert!(
        text.contains("every 1s (table 1.8s: dump 300"),
        "{}",
        text.lines().next().unwrap_or("")
    );
    assert!(text.contains("queues 100ms)"), "{text}");
}
