//! The TIME_WAIT chart: the namespace-wide count (sockstat) and the selected
//! port's over the last two minutes, with the headroom to
//! `tcp_max_tw_buckets`.
//!
//! Owns: `TimeWaitPanel` (what the chart shows, taken from the app), the
//! chart's data, axes and title. Must not: mutate the app.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph, Widget};

use super::format;
use super::sparkline;
use super::theme::{Attention, Theme};
use crate::app::{App, Focus};
use crate::model::history::TimeSeries;

/// The chart's time span.
pub(crate) const WINDOW_MS: u64 = 120_000;
/// Below this height the panel is a one-line strip of bars, not a chart.
const MIN_CHART_ROWS: u16 = 6;

/// What the TIME_WAIT chart shows, taken from the app: the points of the
/// last `WINDOW_MS`, oldest first, as `(at_ms, count)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TimeWaitPanel {
    /// The namespace-wide count (sockstat).
    pub total: Vec<(u64, u64)>,
    /// The selected port and its count in the sample on screen.
    pub port: Option<(u16, u64)>,
    /// The selected port's count over the window.
    pub port_points: Vec<(u64, u64)>,
    /// Where the window ends: the last point, else the sample's time.
    pub end_ms: u64,
    /// The headroom to `tcp_max_tw_buckets`, and the limit.
    pub headroom: Option<(u64, u64)>,
    pub focused: bool,
}

impl TimeWaitPanel {
    pub(crate) fn of(app: &App) -> TimeWaitPanel {
        let until = app.history_until_ms();
        let total_series = app.history().time_wait_total();
        let end_ms = total_series
            .points_until(until)
            .last()
            .map(|(t, _)| t)
            .or_else(|| app.shown().map(|s| s.snapshot.taken_at_ms))
            .unwrap_or(0);
        let in_window = |series: &TimeSeries| -> Vec<(u64, u64)> {
            series
                .points_until(until)
                .filter(|(t, _)| *t + WINDOW_MS >= end_ms)
                .collect()
        };
        let summary = app.shown().map(|s| &s.aggregates.time_wait);
        let port = app.selected_port();
        TimeWaitPanel {
            total: in_window(total_series),
            port: port.map(|port| {
                let count = summary
                    .and_then(|tw| tw.by_port.iter().find(|(p, _)| *p == port))
                    .map_or(0, |(_, n)| *n);
                (port, count)
            }),
            port_points: port
                .and_then(|p| app.history().time_wait_for_port(p))
                .map(in_window)
                .unwrap_or_default(),
            end_ms,
            headroom: summary.and_then(|tw| Some((tw.headroom()?, tw.max_tw_buckets?))),
            focused: app.focus() == Focus::TimeWait,
        }
    }
}

/// Points as the chart plots them: seconds before the end, and the count.
fn chart_points(points: &[(u64, u64)], end_ms: u64) -> Vec<(f64, f64)> {
    points
        .iter()
        .map(|(t, v)| ((*t as f64 - end_ms as f64) / 1000.0, *v as f64))
        .collect()
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    draw(&TimeWaitPanel::of(app), area, frame.buffer_mut(), theme);
}

pub(crate) fn draw(panel: &TimeWaitPanel, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let end = panel.end_ms;
    let total = chart_points(&panel.total, end);
    let port_points = chart_points(&panel.port_points, end);
    let port_count = panel.port;
    // The total and the port's count are read at slightly different
    // instants (sockstat, then the dump); a port never shows more than all.
    let latest_total = total
        .last()
        .map_or(0, |(_, v)| *v as u64)
        .max(port_count.map_or(0, |(_, n)| n));
    let mut title = vec![Span::styled(" TIME_WAIT ", theme.title())];
    title.push(Span::styled(
        format!("⣿ all {} ", format::count(latest_total)),
        theme.series_total(),
    ));
    if let Some((port, count)) = port_count {
        title.push(Span::styled(
            format!("• :{port} {} ", format::count(count)),
            theme.series_port(),
        ));
    }
    let mut block = Block::bordered().title(Line::from(title));
    if let Some((headroom, max)) = panel.headroom {
        let level = if headroom < max / 10 {
            Attention::Critical
        } else {
            Attention::Normal
        };
        block = block.title_bottom(Span::styled(
            format!(
                " headroom {} (tcp_max_tw_buckets {}) ",
                format::count(headroom),
                format::count(max)
            ),
            theme.attention(level),
        ));
    }
    let block = block
        .border_type(theme.panel_border(panel.focused).0)
        .border_style(theme.panel_border(panel.focused).1);
    if total.is_empty() {
        Paragraph::new(Span::styled("no samples yet", theme.dim()))
            .block(block)
            .render(area, buf);
        return;
    }
    if area.height < MIN_CHART_ROWS {
        // A strip: the total over the window as one line of bars.
        let width = usize::from(area.width.saturating_sub(2));
        let buckets = sparkline::bucket_max(
            panel.total.iter().copied(),
            end,
            WINDOW_MS,
            width.saturating_sub(5),
        );
        let peak = buckets.iter().flatten().copied().max().unwrap_or(0);
        let line = Line::from(vec![
            Span::styled("-2m ", theme.dim()),
            Span::styled(sparkline::bars(&buckets, peak), theme.series_total()),
        ]);
        Paragraph::new(line).block(block).render(area, buf);
        return;
    }
    let peak = total
        .iter()
        .chain(port_points.iter())
        .map(|(_, v)| *v)
        .fold(1.0_f64, f64::max);
    let y_max = (peak * 1.2).ceil();
    let mut datasets = vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.series_total())
            .data(&total),
    ];
    if !port_points.is_empty() {
        datasets.push(
            Dataset::default()
                .marker(Marker::Dot)
                .graph_type(GraphType::Scatter)
                .style(theme.series_port())
                .data(&port_points),
        );
    }
    let window_s = WINDOW_MS as f64 / 1000.0;
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(
            Axis::default()
                .bounds([-window_s, 0.0])
                .labels(["-2m", "-1m", "now"])
                .style(theme.dim()),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, y_max])
                .labels(["0".to_string(), format::count(y_max as u64)])
                .style(theme.dim()),
        );
    chart.render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::test_buffer;

    /// The panel drawn without colour, styles left out: the text only.
    fn drawn(panel: &TimeWaitPanel, width: u16, height: u16) -> Buffer {
        test_buffer::text(draw, panel, width, height)
    }

    /// TIME_WAIT growing by 100 a second for the last two minutes, on
    /// port 10000 a tenth of it.
    fn growing() -> TimeWaitPanel {
        let end_ms = 200_000;
        let points = |share: u64| -> Vec<(u64, u64)> {
            (0..=12)
                .map(|i| (end_ms - WINDOW_MS + i * 10_000, i * 1000 / share))
                .collect()
        };
        TimeWaitPanel {
            total: points(1),
            port: Some((10000, 1200)),
            port_points: points(10),
            end_ms,
            headroom: Some((4000, 16000)),
            focused: false,
        }
    }

    #[test]
    fn without_samples_the_panel_says_so() {
        let panel = TimeWaitPanel {
            total: Vec::new(),
            port: None,
            port_points: Vec::new(),
            end_ms: 0,
            headroom: None,
            focused: true,
        };
        assert_eq!(
            drawn(&panel, 30, 3),
            Buffer::with_lines([
                "┏ TIME_WAIT ⣿ all 0 ━━━━━━━━━┓",
                "┃no samples yet              ┃",
                "┗━━━━━━━━━━━━━━━━━━━━━━━━━━━━┛",
            ])
        );
    }

    #[test]
    fn a_short_panel_is_a_strip_of_bars() {
        assert_eq!(
            drawn(&growing(), 40, 3),
            Buffer::with_lines([
                "┌ TIME_WAIT ⣿ all 12,000 • :10000 1,200┐",
                "│-2m ▁ ▂  ▃  ▃ ▄  ▄  ▅  ▆ ▆  ▇  ▇  █ █ │",
                "└ headroom 4,000 (tcp_max_tw_buckets 16┘",
            ])
        );
    }

    #[test]
    fn a_tall_panel_charts_the_total_and_the_port() {
        assert_eq!(
            drawn(&growing(), 50, 8),
            Buffer::with_lines([
                "┌ TIME_WAIT ⣿ all 12,000 • :10000 1,200 ─────────┐",
                "│14,400│                                       ⣀⣀│",
                "│      │                         ⢀⣀⣀⣀⠤⠤⠤⠔⠒⠒⠒⠉⠉⠉  │",
                "│      │            ⣀⣀⣀⡠⠤⠤⠤⠒⠒⠒⠊⠉⠉⠁               │",
                "│0     │•⣀⠤•⠤⠔⠒•⠒⠉•⠉ •   •  •  •   •  •  •   •  •│",
                "│      └─────────────────────────────────────────│",
                "│    -2m                  -1m                 now│",
                "└ headroom 4,000 (tcp_max_tw_buckets 16,000) ────┘",
            ])
        );
    }

    #[test]
    fn little_headroom_is_critical_and_a_port_never_shows_more_than_all() {
        let panel = TimeWaitPanel {
            total: vec![(1000, 90)],
            port: Some((10000, 95)),
            port_points: Vec::new(),
            end_ms: 1000,
            headroom: Some((5, 100)),
            focused: false,
        };
        assert_eq!(
            drawn(&panel, 50, 3),
            Buffer::with_lines([
                "┌ TIME_WAIT ⣿ all 95 • :10000 95 ────────────────┐",
                "│-2m █                                           │",
                "└ headroom 5 (tcp_max_tw_buckets 100) ───────────┘",
            ])
        );
        // In colour, a tenth of the limit or less left is critical.
        let buf = test_buffer::in_colour(draw, &panel, 50, 3);
        assert_eq!(buf[(2, 2)].symbol(), "h");
        assert_eq!(buf[(2, 2)].fg, test_buffer::fg(Attention::Critical));
    }
}
