//! The two header lines: what is watched and how fresh it is, then the
//! status (a failed sample, notes such as a /proc fallback, or a summary).
//!
//! Owns: the header's text. Must not: mutate the app or read the clock.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format;
use super::theme::{Attention, Theme};
use crate::app::App;
use crate::format::timestamp::format_hms;
use crate::model::Counter;
use crate::model::cadence::full_sample_period;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let lines = vec![identity_line(app, theme), status_line(app, theme)];
    frame.render_widget(Paragraph::new(lines), area);
}

fn identity_line(app: &App, theme: &Theme) -> Line<'static> {
    let sep = || Span::styled(" · ", theme.dim());
    let mut spans = vec![
        Span::styled("tcpwatch", theme.title()),
        sep(),
        Span::raw(app.host().to_string()),
    ];
    if let Some(sample) = app.shown() {
        let snapshot = &sample.snapshot;
        spans.extend([
            sep(),
            Span::raw(format!("ns {}", snapshot.namespace)),
            sep(),
            Span::raw(snapshot.source.name().to_string()),
        ]);
    }
    spans.extend([
        sep(),
        Span::raw(cadence_text(app)),
        sep(),
        Span::raw(format!("watching {}", app.watch_filter())),
    ]);
    if let Some(filter) = app.filter().describe() {
        spans.extend([sep(), Span::raw(format!("filter {filter}"))]);
    }
    match app.shown() {
        Some(sample) => spans.extend([
            sep(),
            Span::raw(format!(
                "{} UTC ({})",
                format_hms(sample.snapshot.taken_at_ms),
                format::took(sample.snapshot.elapsed)
            )),
        ]),
        None => spans.extend([
            sep(),
            Span::styled("waiting for the first sample…", theme.dim()),
        ]),
    }
    if let Some(cost) = app.self_cost() {
        spans.extend([
            sep(),
            Span::styled(
                format!(
                    "self {:.1}% cpu {} MiB",
                    cost.cpu_percent,
                    cost.rss_kib.div_ceil(1024)
                ),
                theme.dim(),
            ),
        ]);
    }
    if app.is_paused() {
        spans.push(Span::raw(" "));
        let kept = app.kept_aside_count();
        let text = if kept > 0 {
            format!(" PAUSED +{kept} new ")
        } else {
            " PAUSED ".to_string()
        };
        spans.push(Span::styled(text, theme.paused()));
    }
    Line::from(spans)
}

/// `every 1s`, or, when full dumps are expensive, how the sampler stretched
/// them: `every 1s (table 1.8s: dump 300ms; queues 100ms)`.
fn cadence_text(app: &App) -> String {
    let interval = app.requested_interval();
    let stretched = app
        .shown()
        .map(|sample| full_sample_period(interval, sample.snapshot.elapsed))
        .filter(|period| *period > interval);
    match (stretched, app.shown()) {
        (Some(period), Some(sample)) => format!(
            "every {} (table {}: dump {}; queues {})",
            format::interval(interval),
            format::interval(period),
            format::took(sample.snapshot.elapsed),
            format::interval(app.listen_interval())
        ),
        _ => format!("every {}", format::interval(interval)),
    }
}

fn status_line(app: &App, theme: &Theme) -> Line<'static> {
    if let Some(failure) = app.failure() {
        let repeats = if failure.count > 1 {
            format!(" (×{})", failure.count)
        } else {
            String::new()
        };
        let showing = app
            .shown()
            .map(|s| format!(" · showing {}", format_hms(s.snapshot.taken_at_ms)))
            .unwrap_or_default();
        return Line::from(Span::styled(
            format!(
                "! sample failed at {}{repeats}: {}{showing}",
                format_hms(failure.at_ms),
                failure.message
            ),
            theme.attention(Attention::Critical),
        ));
    }
    let Some(sample) = app.shown() else {
        return Line::default();
    };
    if !sample.snapshot.notes.is_empty() {
        return Line::from(Span::styled(
            format!("note: {}", sample.snapshot.notes.join(" · ")),
            theme.attention(Attention::Warning),
        ));
    }
    let totals = &sample.aggregates.totals;
    let mut text = format!("{} sockets", format::count(totals.total()));
    if let Some(sockstat) = app.latest_sockstat() {
        text.push_str(&format!(
            " · TCP in use {} · orphans {}",
            format::count(sockstat.inuse),
            format::count(sockstat.orphan)
        ));
    }
    if let Some(deltas) = app.shown_deltas() {
        for counter in [
            Counter::ActiveOpens,
            Counter::PassiveOpens,
            Counter::OutRsts,
        ] {
            if let Some(growth) = deltas.get(counter) {
                text.push_str(&format!(" · {} +{growth}", counter.kernel_name()));
            }
        }
    }
    if let Some(somaxconn) = sample.snapshot.settings.somaxconn {
        text.push_str(&format!(" · somaxconn {somaxconn}"));
    }
    Line::from(Span::styled(text, theme.dim()))
}
