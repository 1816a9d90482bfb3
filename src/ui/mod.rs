//! Pure rendering of the dashboard: `render(frame, &App)` draws the header,
//! the panels or the drill-down, the footer and the help overlay.
//!
//! Owns: what the screen looks like, one file per panel. Must not: mutate
//! the app, do I/O, read the clock or the environment (colour comes in the
//! app).

pub mod alert_detail;
pub mod alerts;
pub(crate) mod canvas;
pub mod click;
pub mod connections;
pub mod diagram;
pub(crate) mod event_log;
pub mod explanation;
pub(crate) mod footer;
pub mod format;
pub mod header;
pub mod help;
pub mod layout;
pub mod listeners;
pub mod namespaces;
pub mod narration;
pub mod ports;
pub mod processes;
pub mod socket_table;
pub(crate) mod sparkline;
pub(crate) mod state_list;
#[cfg(test)]
pub(crate) mod test_buffer;
pub(crate) mod theme;
pub mod time_bar;
pub mod time_wait;
pub(crate) mod transition_log;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{App, View};
use theme::{Attention, Theme};

pub fn render(frame: &mut Frame, app: &App) {
    render_app(frame, app, false);
}

/// The dashboard; `replaying` adds the replay keys to the help overlay.
pub(crate) fn render_app(frame: &mut Frame, app: &App, replaying: bool) {
    let area = frame.area();
    let theme = Theme::new(app.color());
    if layout::too_small(area) {
        render_too_small(frame, area, &theme);
        return;
    }
    let parts = layout::frame(area);
    header::render(frame, parts.header, app, &theme);
    match app.view() {
        View::Dashboard => {
            let panels = layout::dashboard(area, parts.body, app);
            ports::render(frame, panels.ports, app, &theme);
            listeners::render(frame, panels.listeners, app, &theme);
            if let Some(rect) = panels.time_wait {
                time_wait::render(frame, rect, app, &theme);
            }
            if let Some(rect) = panels.alerts {
                alerts::render(frame, rect, app, &theme);
            }
        }
        View::Connections(view) => connections::render(frame, parts.body, app, view, &theme),
        View::Processes(view) => processes::render(frame, parts.body, app, view, &theme),
        View::Diagram => render_diagram_view(frame, area, parts.body, app, &theme),
    }
    footer::render(frame, parts.footer, app, &theme);
    if *app.view() == View::Diagram && app.diagram().explaining {
        explanation::render(frame, area, app, &theme);
    }
    if let Some(alert) = app.alert_detail() {
        alert_detail::render(frame, area, alert, &theme);
    }
    if app.help_visible() {
        let extras = help::HelpExtras {
            replaying,
            demo: app.demo_running(),
        };
        help::render(frame, area, app.view(), extras, &theme);
    }
}

fn render_diagram_view(frame: &mut Frame, area: Rect, body: Rect, app: &App, theme: &Theme) {
    let parts = layout::diagram_view(area, body, app);
    if let (Some(rect), Some(narration)) = (parts.narration, app.narration()) {
        narration::render(frame, rect, narration, app.now_ms(), theme);
    }
    if parts.drawn {
        diagram::render(frame, parts.states, app, theme);
    } else {
        state_list::render(frame, parts.states, app, theme);
    }
    if let Some(rect) = parts.log {
        transition_log::render(frame, rect, app, theme);
    }
}

fn render_too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let lines = vec![
        Line::from(Span::styled(
            format!(
                "terminal too small (need {}×{})",
                layout::MIN_WIDTH,
                layout::MIN_HEIGHT
            ),
            theme.attention(Attention::Warning),
        )),
        Line::from(format!("now {}×{} · q quits", area.width, area.height)),
    ];
    let top = area.height.saturating_sub(2) / 2;
    let rect = Rect::new(
        area.x,
        area.y + top,
        area.width,
        area.height.saturating_sub(top),
    );
    frame.render_widget(
        Paragraph::new(lines)
            .alignment(ratatui::layout::Alignment::Center)
            .wrap(ratatui::widgets::Wrap { trim: true }),
        rect,
    );
}
