//! The connection views: one port's connections (the drill-down, Enter) or
//! every watched connection (`C`), one row per socket, through the shared
//! socket table. Draws only the visible rows, so thousands scroll smoothly.
//!
//! Owns: `ConnectionsPanel` (what the view shows, taken from the app), the
//! view's title and empty text. Must not: mutate the app or read the clock
//! (the app's `now_ms` is the time).

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, Paragraph, Widget};

use super::socket_table::{self, SocketTable};
use super::theme::Theme;
use crate::app::keymap::{Screen, key_for};
use crate::app::{App, Command, ConnectionScope, ConnectionsView};

pub use socket_table::timer_text;

/// What a connection view shows, taken from the app and the view.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConnectionsPanel {
    pub scope: ConnectionScope,
    /// The rows listed, on the page or not.
    pub count: usize,
    pub selected: usize,
    /// The live filter, described.
    pub filter: Option<String>,
    /// The page of rows; `None` before the first sample.
    pub table: Option<SocketTable>,
}

impl ConnectionsPanel {
    /// `page`: how many rows fit.
    pub(crate) fn of(app: &App, view: &ConnectionsView, page: usize) -> ConnectionsPanel {
        ConnectionsPanel {
            scope: view.scope,
            count: view.rows.len(),
            selected: view.scroll.selected,
            filter: app.filter().describe(),
            table: app.shown().map(|sample| {
                SocketTable::page(app, sample, &view.rows, view.scroll, page, Some(view.sort))
            }),
        }
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, view: &ConnectionsView, theme: &Theme) {
    let panel = ConnectionsPanel::of(app, view, socket_table::page_rows(area));
    draw(&panel, area, frame.buffer_mut(), theme);
}

pub(crate) fn draw(panel: &ConnectionsPanel, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let filter = panel
        .filter
        .as_ref()
        .map(|f| format!(" · filter {f}"))
        .unwrap_or_default();
    let position = if panel.count == 0 {
        String::new()
    } else {
        format!(" · {}/{}", panel.selected + 1, panel.count)
    };
    let what = match panel.scope {
        ConnectionScope::Port(port) => format!("Connections on :{port}"),
        ConnectionScope::All => "All connections".to_string(),
        ConnectionScope::Process(pid) => format!("Sockets of pid {pid}"),
    };
    let block = Block::bordered()
        .title(Span::styled(
            format!(
                " {what} ({}){position}{filter} · {} back ",
                panel.count,
                key_for(Screen::Connections, Command::Back),
            ),
            theme.title(),
        ))
        .border_style(theme.focused_border());
    let Some(table) = &panel.table else {
        block.render(area, buf);
        return;
    };
    if panel.count == 0 {
        let text = match panel.scope {
            ConnectionScope::Port(port) => format!("no connections on :{port} in this sample"),
            ConnectionScope::All => "no connections in this sample".to_string(),
            ConnectionScope::Process(pid) => format!("pid {pid} has no socket in this sample"),
        };
        Paragraph::new(Span::styled(text, theme.dim()))
            .block(block)
            .render(area, buf);
        return;
    }
    socket_table::draw(table, block, area, buf, theme);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{SocketColumn, SocketSort};
    use crate::model::TcpState;
    use crate::ui::socket_table::SocketRow;
    use crate::ui::test_buffer;
    use crate::ui::theme::Attention;

    fn drawn(panel: &ConnectionsPanel, width: u16, height: u16) -> Buffer {
        test_buffer::text(draw, panel, width, height)
    }

    fn socket(state: TcpState, local: &str, remote: &str, timer: &str) -> SocketRow {
        SocketRow {
            selected: false,
            state,
            attention: Attention::Normal,
            local: local.to_string(),
            remote: remote.to_string(),
            recv_queue: 0,
            send_queue: 0,
            timer: timer.to_string(),
            owner: ("kernel-owned (TIME_WAIT)".to_string(), false),
            age: "?".to_string(),
        }
    }

    /// The listen(1) scene on :10002: a full listener, a client stuck in
    /// SYN_SENT (selected), and one that got in.
    fn listen_one() -> Vec<SocketRow> {
        let mut listener = socket(TcpState::Listen, "127.0.0.1:10002", "*", "queue 2/1 FULL");
        listener.attention = Attention::Critical;
        listener.recv_queue = 2;
        listener.send_queue = 1;
        listener.owner = ("slow-server (4242)".to_string(), true);
        listener.age = "12s".to_string();
        let mut stuck = socket(
            TcpState::SynSent,
            "127.0.0.1:41000",
            "127.0.0.1:10002",
            "SYN retry #3 in 3.2s",
        );
        stuck.selected = true;
        stuck.attention = Attention::Warning;
        stuck.send_queue = 1;
        stuck.owner = ("client (4300)".to_string(), true);
        stuck.age = "7s".to_string();
        let mut inside = socket(
            TcpState::Established,
            "127.0.0.1:10002",
            "127.0.0.1:40998",
            "",
        );
        inside.owner = ("not accepted yet".to_string(), false);
        [listener, stuck, inside].into()
    }

    fn panel(scope: ConnectionScope, rows: Option<Vec<SocketRow>>) -> ConnectionsPanel {
        ConnectionsPanel {
            scope,
            count: rows.as_ref().map_or(0, Vec::len),
            selected: 1,
            filter: None,
            table: rows.map(|rows| SocketTable {
                rows,
                sort: Some(SocketSort {
                    column: SocketColumn::State,
                    reversed: false,
                }),
            }),
        }
    }

    #[test]
    fn before_the_first_sample_the_view_is_an_empty_frame() {
        assert_eq!(
            drawn(&panel(ConnectionScope::All, None), 50, 3),
            Buffer::with_lines([
                "┌ All connections (0) · Esc back ────────────────┐",
                "│                                                │",
                "└────────────────────────────────────────────────┘",
            ])
        );
    }

    #[test]
    fn without_rows_the_view_says_what_it_looked_for() {
        let mut on_port = panel(ConnectionScope::Port(10000), Some(Vec::new()));
        on_port.filter = Some("state SYN_SENT".to_string());
        assert_eq!(
            drawn(&on_port, 70, 3),
            Buffer::with_lines([
                "┌ Connections on :10000 (0) · filter state SYN_SENT · Esc back ──────┐",
                "│no connections on :10000 in this sample                             │",
                "└────────────────────────────────────────────────────────────────────┘",
            ])
        );
        let of_pid = panel(ConnectionScope::Process(4242), Some(Vec::new()));
        assert_eq!(
            drawn(&of_pid, 70, 3),
            Buffer::with_lines([
                "┌ Sockets of pid 4242 (0) · Esc back ────────────────────────────────┐",
                "│pid 4242 has no socket in this sample                               │",
                "└────────────────────────────────────────────────────────────────────┘",
            ])
        );
    }

    #[test]
    fn a_narrow_view_shows_both_queues_in_one_column_and_the_timer() {
        let panel = panel(ConnectionScope::Port(10002), Some(listen_one()));
        assert_eq!(
            drawn(&panel, 80, 6),
            Buffer::with_lines([
                "┌ Connections on :10002 (3) · 2/3 · Esc back ──────────────────────────────────┐",
                "│STATE▲       LOCAL           REMOTE          RQ/SQ TIMER                      │",
                "│ LISTEN!     127.0.0.1:10002 *                 2/1 queue 2/1 FULL             │",
                "│▶SYN_SENT!   127.0.0.1:41000 127.0.0.1:10002   0/1 SYN retry #3 in 3.2s       │",
                "│ ESTABLISHED 127.0.0.1:10002 127.0.0.1:40998   0/0                            │",
                "└──────────────────────────────────────────────────────────────────────────────┘",
            ])
        );
        // In colour, the full listener's queue is critical.
        let buf = test_buffer::in_colour(draw, &panel, 80, 6);
        assert_eq!(buf[(52, 2)].symbol(), "q");
        assert_eq!(buf[(52, 2)].fg, test_buffer::fg(Attention::Critical));
    }

    #[test]
    fn a_wide_view_adds_the_process_and_the_age() {
        let panel = panel(ConnectionScope::All, Some(listen_one()));
        assert_eq!(
            drawn(&panel, 104, 6),
            Buffer::with_lines([
                "┌ All connections (3) · 2/3 · Esc back ────────────────────────────────────────────────────────────────┐",
                "│STATE▲       LOCAL           REMOTE          RECV-Q SEND-Q TIMER                PROCESS            AGE│",
                "│ LISTEN!     127.0.0.1:10002 *                    2      1 queue 2/1 FULL       slow-server (4242) 12s│",
                "│▶SYN_SENT!   127.0.0.1:41000 127.0.0.1:10002      0      1 SYN retry #3 in 3.2s client (4300)       7s│",
                "│ ESTABLISHED 127.0.0.1:10002 127.0.0.1:40998      0      0                      not accepted yet     ?│",
                "└──────────────────────────────────────────────────────────────────────────────────────────────────────┘",
            ])
        );
    }

    #[test]
    fn long_addresses_keep_their_port_and_big_queues_go_to_units() {
        let mut rows = listen_one();
        rows[2].local = "[2001:db8:85a3:1234:5678:8a2e:370:7334]:10002".to_string();
        rows[2].remote = "[2001:db8:85a3:1234:5678:8a2e:370:7335]:40998".to_string();
        rows[2].recv_queue = 4_194_304;
        rows[2].send_queue = 2_621_440;
        let panel = panel(ConnectionScope::Port(10002), Some(rows));
        assert_eq!(
            drawn(&panel, 72, 6),
            Buffer::with_lines([
                "┌ Connections on :10002 (3) · 2/3 · Esc back ──────────────────────────┐",
                "│STATE▲       LOCAL                REMOTE              RQ/SQ TIMER     │",
                "│ LISTEN!     127.0.0.1:10002      *                     2/1 queue 2/1…│",
                "│▶SYN_SENT!   127.0.0.1:41000      127.0.0.1:10002       0/1 SYN retry…│",
                "│ ESTABLISHED …a2e:370:7334]:10002 …70:7335]:40998 4.0M/2.5M           │",
                "└──────────────────────────────────────────────────────────────────────┘",
            ])
        );
    }
}
