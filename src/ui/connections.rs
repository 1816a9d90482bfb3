//! The connection views: one port's connections (the drill-down, Enter) or
//! every watched connection (`C`), one row per socket, through the shared
//! socket table. Draws only the visible rows, so thousands scroll smoothly.
//!
//! Owns: the view's title and empty text. Must not: mutate the app or read
//! the clock (the app's `now_ms` is the time).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, Paragraph};

use super::socket_table::{self, SocketTable};
use super::theme::Theme;
use crate::app::keymap::{Screen, key_for};
use crate::app::{App, Command, ConnectionScope, ConnectionsView};

pub use socket_table::timer_text;

pub fn render(frame: &mut Frame, area: Rect, app: &App, view: &ConnectionsView, theme: &Theme) {
    let filter = app
        .filter()
        .describe()
        .map(|f| format!(" · filter {f}"))
        .unwrap_or_default();
    let position = if view.rows.is_empty() {
        String::new()
    } else {
        format!(" · {}/{}", view.scroll.selected + 1, view.rows.len())
    };
    let what = match view.scope {
        ConnectionScope::Port(port) => format!("Connections on :{port}"),
        ConnectionScope::All => "All connections".to_string(),
        ConnectionScope::Process(pid) => format!("Sockets of pid {pid}"),
    };
    let block = Block::bordered()
        .title(Span::styled(
            format!(
                " {what} ({}){position}{filter} · {} back ",
                view.rows.len(),
                key_for(Screen::Connections, Command::Back),
            ),
            theme.title(),
        ))
        .border_style(theme.focused_border());
    let Some(sample) = app.shown() else {
        frame.render_widget(block, area);
        return;
    };
    if view.rows.is_empty() {
        let text = match view.scope {
            ConnectionScope::Port(port) => format!("no connections on :{port} in this sample"),
            ConnectionScope::All => "no connections in this sample".to_string(),
            ConnectionScope::Process(pid) => format!("pid {pid} has no socket in this sample"),
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.dim())).block(block),
            area,
        );
        return;
    }
    let page = usize::from(area.height.saturating_sub(3)).max(1);
    let offset = view.scroll.offset_for(view.rows.len(), page);
    socket_table::render(
        frame,
        area,
        app,
        sample,
        SocketTable {
            block,
            rows: &view.rows,
            selected: view.scroll.selected,
            offset,
            sort: Some(view.sort),
        },
    );
}
