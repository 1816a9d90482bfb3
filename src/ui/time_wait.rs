//! The TIME_WAIT chart: the namespace-wide count (sockstat) and the selected
//! port's over the last two minutes, with the headroom to
//! `tcp_max_tw_buckets`.
//!
//! Owns: the chart's data, axes and title. Must not: mutate the app.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph};

use super::format;
use super::sparkline;
use super::theme::{Attention, Theme};
use crate::app::{App, Focus};
use crate::model::history::TimeSeries;

/// The chart's time span.
pub(crate) const WINDOW_MS: u64 = 120_000;
/// Below this height the panel is a one-line strip of bars, not a chart.
const MIN_CHART_ROWS: u16 = 6;

fn chart_points(series: &TimeSeries, until: u64, end: u64) -> Vec<(f64, f64)> {
    series
        .points_until(until)
        .filter(|(t, _)| *t + WINDOW_MS >= end)
        .map(|(t, v)| ((t as f64 - end as f64) / 1000.0, v as f64))
        .collect()
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let until = app.history_until_ms();
    let total_series = app.history().time_wait_total();
    let end = total_series
        .points_until(until)
        .last()
        .map(|(t, _)| t)
        .or_else(|| app.shown().map(|s| s.snapshot.taken_at_ms))
        .unwrap_or(0);
    let port = app.selected_port();
    let total = chart_points(total_series, until, end);
    let port_points = port
        .and_then(|p| app.history().time_wait_for_port(p))
        .map(|s| chart_points(s, until, end))
        .unwrap_or_default();

    let summary = app.shown().map(|s| &s.aggregates.time_wait);
    let port_count = port.map(|port| {
        let count = summary
            .and_then(|tw| tw.by_port.iter().find(|(p, _)| *p == port))
            .map_or(0, |(_, n)| *n);
        (port, count)
    });
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
    if let (Some(headroom), Some(max)) = (
        summary.and_then(|tw| tw.headroom()),
        summary.and_then(|tw| tw.max_tw_buckets),
    ) {
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
        .border_type(theme.panel_border(app.focus() == Focus::TimeWait).0)
        .border_style(theme.panel_border(app.focus() == Focus::TimeWait).1);
    if total.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no samples yet", theme.dim())).block(block),
            area,
        );
        return;
    }
    if area.height < MIN_CHART_ROWS {
        // A strip: the total over the window as one line of bars.
        let width = usize::from(area.width.saturating_sub(2));
        let buckets = sparkline::bucket_max(
            total_series.points_until(until),
            end,
            WINDOW_MS,
            width.saturating_sub(5),
        );
        let peak = buckets.iter().flatten().copied().max().unwrap_or(0);
        let line = Line::from(vec![
            Span::styled("-2m ", theme.dim()),
            Span::styled(sparkline::bars(&buckets, peak), theme.series_total()),
        ]);
        frame.render_widget(Paragraph::new(line).block(block), area);
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
    frame.render_widget(chart, area);
}
