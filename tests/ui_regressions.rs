//! Screens that once showed wrong or cut text (issue 13), each test named
//! after what it guards, drawn at 80×24, 120×40 and 200×60 from scripted
//! samples with frozen time.

mod common;

use common::screen::{START_MS, TestApp, draw, feed, new_app, press};
use crossterm::event::KeyCode;
use tcpwatch::app::App;
use tcpwatch::collect::scenarios::busy_web_host;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];

/// The busy host after a few samples, the clock half a second later.
fn busy_app(width: u16, height: u16) -> TestApp {
    let mut app = new_app(width, height, false);
    for tick in 0..4 {
        feed(&mut app, busy_web_host(START_MS, tick));
    }
    common::screen::at(&mut app, START_MS + 3_500);
    app
}

fn select_port(app: &mut App, port: u16) {
    press(app, KeyCode::Home);
    while app.selected_port() != Some(port) {
        let before = app.selected_port();
        press(app, KeyCode::Down);
        assert_ne!(app.selected_port(), before, "port {port} must be listed");
    }
}

fn screen(app: &App, width: u16, height: u16) -> String {
    draw(app, width, height).backend().to_string()
}

#[test]
fn drill_down_never_cuts_large_queues() {
    for (width, height) in SIZES {
        let mut app = busy_app(width, height);
        select_port(&mut app, 18082);
        press(&mut app, KeyCode::Enter);
        let text = screen(&app, width, height);
        for figure in ["4163072", "3782145", "6291456"] {
            assert!(text.contains(figure), "{width}x{height}: {figure}\n{text}");
        }
        insta::assert_snapshot!(
            format!("drill_down_never_cuts_large_queues_{width}x{height}"),
            draw(&app, width, height).backend()
        );
    }
}

#[test]
fn drill_down_labels_orphans_and_listeners_like_ss() {
    let mut app = busy_app(120, 40);
    select_port(&mut app, 18082);
    press(&mut app, KeyCode::Enter);
    let text = screen(&app, 120, 40);
    let orphan = text
        .lines()
        .find(|l| l.contains("FIN_WAIT1"))
        .expect("orphan row");
    assert!(orphan.contains("orphan"), "{orphan}");
    assert!(!orphan.contains("accept()"), "{orphan}");
    let listener = text
        .lines()
        .find(|l| l.contains("LISTEN"))
        .expect("listener");
    assert!(listener.contains("0.0.0.0:*"), "{listener}");
    let time_wait = text
        .lines()
        .find(|l| l.contains("TIME_WAIT"))
        .expect("TIME_WAIT row");
    assert!(
        time_wait.contains("kernel-owned (TIME_WAIT)"),
        "the PROCESS column is not cut while there is room: {time_wait}"
    );
}

#[test]
fn pause_is_shown_first_at_every_size() {
    for (width, height) in SIZES {
        let mut app = busy_app(width, height);
        press(&mut app, KeyCode::Char('p'));
        feed(&mut app, busy_web_host(START_MS, 4));
        feed(&mut app, busy_web_host(START_MS, 5));
        let text = screen(&app, width, height);
        let first = text.lines().next().expect("header");
        assert!(
            first.starts_with("\" ⏸ PAUSED +2 new"),
            "{width}x{height}: {first}"
        );
        let footer = text.lines().last().expect("footer");
        assert!(footer.contains("p resume"), "{width}x{height}: {footer}");
        insta::assert_snapshot!(
            format!("pause_is_shown_first_{width}x{height}"),
            draw(&app, width, height).backend()
        );
    }
}

#[test]
fn header_shortens_by_whole_segments_at_every_width() {
    for width in [60u16, 70, 80, 90, 100, 120, 200] {
        let app = busy_app(width, 24);
        let text = screen(&app, width, 24);
        for line in text.lines().take(2) {
            let line = line.trim_matches('"').trim_end();
            for cut in ["(3.1m", "· Ou", "· soma", "· Ac", "· Pa", "TCP in"] {
                assert!(
                    !line.ends_with(cut),
                    "{width} columns: a token cut in half: {line}"
                );
            }
            let last = line.rsplit(" · ").next().unwrap_or(line);
            assert!(
                [
                    "UTC (3.1ms)",
                    "UTC",
                    "every 1s",
                    "watching all",
                    "somaxconn 4096",
                    "+4",
                    "+5",
                    "+0",
                    "orphans 1",
                    "24 sockets",
                    "in use 24",
                ]
                .iter()
                .any(|end| last.ends_with(end))
                    || last.chars().filter(|c| *c == ':').count() == 2,
                "{width} columns: ends in {last:?}: {line}"
            );
        }
    }
}

fn focus_alerts(app: &mut App) {
    for _ in 0..3 {
        press(app, KeyCode::Tab);
    }
}

#[test]
fn panels_are_sized_to_their_content() {
    for (width, height) in SIZES {
        let app = busy_app(width, height);
        let text = screen(&app, width, height);
        let lines: Vec<&str> = text.lines().collect();
        let top = lines
            .iter()
            .position(|l| l.contains(" Ports (3) "))
            .expect("ports panel");
        let bottom = lines[top + 1..]
            .iter()
            .position(|l| l.contains('┗') || l.contains('└'))
            .expect("its bottom border")
            + top
            + 1;
        assert_eq!(
            bottom - top + 1,
            3 + 3,
            "{width}x{height}: three ports take borders, a title row and three rows\n{text}"
        );
        assert!(
            text.contains(" TIME_WAIT "),
            "{width}x{height}: the TIME_WAIT panel stays\n{text}"
        );
        assert!(text.contains(" Alerts ("), "{width}x{height}\n{text}");
        insta::assert_snapshot!(
            format!("panels_sized_to_content_{width}x{height}"),
            draw(&app, width, height).backend()
        );
    }
}

#[test]
fn enter_on_an_alert_opens_its_full_text() {
    for (width, height) in SIZES {
        let mut app = busy_app(width, height);
        focus_alerts(&mut app);
        let first = app
            .alerts()
            .item(0)
            .expect("an alert or a log entry")
            .clone();
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.alert_detail(), Some(&first));
        let text = screen(&app, width, height);
        let last_words: String = first
            .fix
            .split_whitespace()
            .rev()
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            text.contains(&last_words),
            "{width}x{height}: the fix's end {last_words:?} is on screen\n{text}"
        );
        insta::assert_snapshot!(
            format!("alert_full_text_{width}x{height}"),
            draw(&app, width, height).backend()
        );
        press(&mut app, KeyCode::Esc);
        assert_eq!(app.alert_detail(), None);
    }
}

#[test]
fn focus_shows_without_colour() {
    let mut app = busy_app(120, 40);
    let thick_title = |text: &str, title: &str| {
        text.lines()
            .any(|l| l.contains(&format!("┏ {title}")) || l.contains(&format!("┏━ {title}")))
    };
    let text = screen(&app, 120, 40);
    assert!(thick_title(&text, "Ports"), "{text}");
    assert!(!thick_title(&text, "Alerts"), "{text}");
    focus_alerts(&mut app);
    let text = screen(&app, 120, 40);
    assert!(thick_title(&text, "Alerts"), "{text}");
    assert!(!thick_title(&text, "Ports"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("▶CRIT") || l.contains("▶WARN") || l.contains("▶INFO")),
        "the selected alert is marked with ▶\n{text}"
    );
}

#[test]
fn counter_jumps_stay_in_the_log_with_their_time() {
    use tcpwatch::model::Counter;
    let mut app = new_app(120, 40, false);
    let snapshot = busy_web_host(START_MS, 0);
    let rsts = snapshot
        .counters
        .get(Counter::OutRsts)
        .expect("OutRsts is read");
    feed(&mut app, snapshot);
    let mut snapshot = busy_web_host(START_MS, 1);
    snapshot.counters.set(Counter::OutRsts, rsts + 1);
    feed(&mut app, snapshot);
    for tick in 2..12 {
        let mut later = busy_web_host(START_MS, tick);
        later.counters.set(Counter::OutRsts, rsts + 1);
        feed(&mut app, later);
    }
    let text = screen(&app, 120, 40);
    let line = text
        .lines()
        .find(|l| l.contains("OutRsts +1"))
        .unwrap_or_else(|| panic!("the RST is still in the log 10 s later\n{text}"));
    assert!(line.contains("21:40:01 COUNTER"), "{line}");
}

#[test]
fn reuseport_listeners_show_as_one_group_with_each_member() {
    for (width, height) in SIZES {
        let app = busy_app(width, height);
        let text = screen(&app, width, height);
        let lines: Vec<&str> = text.lines().collect();
        let heading = lines
            .iter()
            .position(|l| l.contains("127.0.0.1:18082 ×2"))
            .unwrap_or_else(|| panic!("{width}x{height}: no group heading\n{text}"));
        assert!(lines[heading].contains("4/256"), "{}", lines[heading]);
        assert!(lines[heading].contains("gunicorn ×2"), "{}", lines[heading]);
        assert!(lines[heading + 1].contains("3/128") && lines[heading + 1].contains("(3102)"));
        assert!(lines[heading + 2].contains("1/128") && lines[heading + 2].contains("(3101)"));
        assert!(text.contains(" Listeners (4) "), "four sockets\n{text}");
    }
}

fn click(app: &mut TestApp, width: u16, height: u16, column: u16, row: u16) {
    let area = ratatui::layout::Rect::new(0, 0, width, height);
    let target = tcpwatch::ui::click::click_target(app, area, column, row)
        .unwrap_or_else(|| panic!("nothing under {column},{row}"));
    app.update(tcpwatch::app::Msg::Click(target));
}

fn line_of(text: &str, needle: &str) -> u16 {
    let index = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} is not on screen\n{text}"));
    u16::try_from(index).expect("row")
}

#[test]
fn click_selects_the_row_under_it() {
    for (width, height) in SIZES {
        let mut app = busy_app(width, height);
        assert_eq!(app.selected_port(), Some(18082));
        let text = screen(&app, width, height);
        click(&mut app, width, height, 3, line_of(&text, " 9000 "));
        assert_eq!(app.selected_port(), Some(9000), "{width}x{height}");
        press(&mut app, KeyCode::Enter);
        let text = screen(&app, width, height);
        assert!(text.contains("Connections on :9000"), "{text}");
        press(&mut app, KeyCode::Esc);
        select_port(&mut app, 18082);
        press(&mut app, KeyCode::Enter);
        let text = screen(&app, width, height);
        click(&mut app, width, height, 5, line_of(&text, "FIN_WAIT1"));
        let text = screen(&app, width, height);
        let selected = text
            .lines()
            .find(|l| l.contains('▶'))
            .expect("a selected row");
        assert!(
            selected.contains("FIN_WAIT1"),
            "{width}x{height}: {selected}"
        );
    }
}

#[test]
fn m_toggles_mouse_capture_so_text_can_be_copied() {
    let mut app = busy_app(120, 40);
    assert!(app.mouse_capture());
    let effects = app.update(tcpwatch::app::Msg::Key(crossterm::event::KeyEvent::new(
        KeyCode::Char('m'),
        crossterm::event::KeyModifiers::NONE,
    )));
    assert_eq!(effects.mouse_capture, Some(false));
    assert!(!app.mouse_capture());
    press(&mut app, KeyCode::Char('?'));
    let help = screen(&app, 120, 40);
    assert!(help.contains("mouse on/off"), "{help}");
    assert!(help.contains("select text"), "{help}");
}

#[test]
fn all_connections_sort_by_any_column_and_reverse() {
    for (width, height) in SIZES {
        let mut app = busy_app(width, height);
        press(&mut app, KeyCode::Char('C'));
        let text = screen(&app, width, height);
        assert!(
            text.contains("All connections (24)"),
            "{width}x{height}\n{text}"
        );
        // s steps the sort column: state, local, remote, then recv-q.
        for _ in 0..3 {
            press(&mut app, KeyCode::Char('s'));
        }
        let text = screen(&app, width, height);
        let title = if width >= 110 {
            "RECV-Q▼"
        } else {
            "RQ/SQ▼"
        };
        assert!(
            text.contains(title),
            "{width}x{height}: the column is marked\n{text}"
        );
        let first_socket = text
            .lines()
            .skip(4)
            .find(|l| l.contains("ESTABLISHED") || l.contains("FIN_WAIT1"))
            .expect("a socket row");
        assert!(
            first_socket.contains("6291456"),
            "largest recv-q first: {first_socket}"
        );
        insta::assert_snapshot!(
            format!("all_connections_by_recv_q_{width}x{height}"),
            draw(&app, width, height).backend()
        );
        press(&mut app, KeyCode::Char('I'));
        let text = screen(&app, width, height);
        let title = if width >= 110 {
            "RECV-Q▲"
        } else {
            "RQ/SQ▲"
        };
        assert!(text.contains(title), "{width}x{height}: reversed\n{text}");
    }
}

#[test]
fn per_process_view_lists_sockets_listeners_and_queues() {
    for (width, height) in SIZES {
        let mut app = busy_app(width, height);
        press(&mut app, KeyCode::Char('P'));
        let text = screen(&app, width, height);
        assert!(text.contains(" Processes ("), "{width}x{height}\n{text}");
        assert!(text.contains("SOCKETS▼"), "{text}");
        let gunicorn = text
            .lines()
            .find(|l| l.contains("3101"))
            .expect("gunicorn 3101");
        assert!(gunicorn.contains("6291456"), "its unread bytes: {gunicorn}");
        assert!(
            width < 120 || gunicorn.contains("127.0.0.1:18082 1/128"),
            "its listener with queue/backlog: {gunicorn}"
        );
        insta::assert_snapshot!(
            format!("per_process_view_{width}x{height}"),
            draw(&app, width, height).backend()
        );
        click(&mut app, width, height, 3, line_of(&text, "uploader"));
        press(&mut app, KeyCode::Enter);
        let text = screen(&app, width, height);
        assert!(text.contains("Sockets of pid 4410"), "{text}");
        assert!(text.contains("4163072"), "{text}");
    }
}
