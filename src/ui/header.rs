//! The two header lines: what is watched and how fresh it is, then the
//! status (a failed sample, notes such as a /proc fallback, or a summary).
//! Each line is made of segments that shorten or drop out, least useful
//! first, so a narrow terminal never shows half a token; PAUSED comes first
//! and is never dropped.
//!
//! Owns: the header's text and what gives way first. Must not: mutate the
//! app or read the clock.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format;
use super::theme::{Attention, Theme};
use crate::app::App;
use crate::format::timestamp::format_hms;
use crate::model::Counter;
use crate::model::cadence::full_sample_period;

/// One piece of a header line: its forms from the longest to the
/// shortest, each with how much it matters (higher stays longer). The
/// shortest form's weight is the segment's own: below it, it drops out.
pub struct Segment {
    forms: Vec<(u8, String)>,
    style: Style,
}

impl Segment {
    fn new(style: Style, forms: Vec<(u8, String)>) -> Segment {
        Segment { forms, style }
    }

    fn one(keep: u8, style: Style, text: String) -> Segment {
        Segment::new(style, vec![(keep, text)])
    }
}

const SEPARATOR: &str = " · ";

/// Chooses a form for each segment, or leaves it out, so that the line fits
/// `width`: each step gives up the least weighty form on the line (a
/// shorter form next, or the segment drops out). The segments left keep
/// their order. A lone segment still too long is cut at its end with `…`.
pub fn fit_segments(segments: &[Segment], width: usize) -> Vec<(usize, String)> {
    // (segment index, chosen form index)
    let mut chosen: Vec<(usize, usize)> = (0..segments.len())
        .filter(|i| !segments[*i].forms.is_empty())
        .map(|i| (i, 0))
        .collect();
    let length = |chosen: &[(usize, usize)]| -> usize {
        let text: usize = chosen
            .iter()
            .map(|(i, f)| segments[*i].forms[*f].1.chars().count())
            .sum();
        text + chosen.len().saturating_sub(1) * SEPARATOR.chars().count()
    };
    while length(&chosen) > width && chosen.len() > 1 {
        let Some(position) = (0..chosen.len()).min_by_key(|p| {
            let (i, f) = chosen[*p];
            (segments[i].forms[f].0, std::cmp::Reverse(*p))
        }) else {
            break;
        };
        let (i, f) = chosen[position];
        if f + 1 < segments[i].forms.len() {
            chosen[position].1 += 1;
        } else {
            chosen.remove(position);
        }
    }
    chosen
        .into_iter()
        .map(|(i, f)| (i, format::fit(&segments[i].forms[f].1, width)))
        .collect()
}

fn line_of(segments: &[Segment], width: usize, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    for (n, (index, text)) in fit_segments(segments, width).into_iter().enumerate() {
        if n > 0 {
            spans.push(Span::styled(SEPARATOR, theme.dim()));
        }
        spans.push(Span::styled(text, segments[index].style));
    }
    Line::from(spans)
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let width = usize::from(area.width);
    let lines = vec![
        line_of(&identity_segments(app, theme), width, theme),
        line_of(&status_segments(app, theme), width, theme),
    ];
    frame.render_widget(Paragraph::new(lines), area);
}

/// The pause banner: shown first, in reverse video, at every size.
fn paused_segment(app: &App, theme: &Theme) -> Option<Segment> {
    if !app.is_paused() {
        return None;
    }
    let kept = app.kept_aside_count();
    let forms = if kept > 0 {
        vec![
            (25, format!(" ⏸ PAUSED +{kept} new · p resumes ")),
            (250, format!(" ⏸ PAUSED +{kept} new ")),
            (255, " ⏸ PAUSED ".to_string()),
        ]
    } else {
        vec![
            (25, " ⏸ PAUSED · p resumes ".to_string()),
            (255, " ⏸ PAUSED ".to_string()),
        ]
    };
    Some(Segment::new(theme.paused(), forms))
}

fn identity_segments(app: &App, theme: &Theme) -> Vec<Segment> {
    let plain = Style::new();
    let mut segments: Vec<Segment> = paused_segment(app, theme).into_iter().collect();
    segments.push(Segment::one(200, theme.title(), "tcpwatch".to_string()));
    segments.push(Segment::one(60, plain, app.host().to_string()));
    if let Some(sample) = app.shown() {
        let snapshot = &sample.snapshot;
        segments.push(Segment::one(
            30,
            plain,
            format!("ns {}", snapshot.namespace),
        ));
        segments.push(Segment::one(40, plain, snapshot.source.name().to_string()));
    }
    segments.push(Segment::new(plain, cadence_forms(app)));
    segments.push(Segment::one(
        150,
        plain,
        format!("watching {}", app.watch_filter()),
    ));
    if let Some(filter) = app.filter().describe() {
        segments.push(Segment::one(160, plain, format!("filter {filter}")));
    }
    match app.shown() {
        Some(sample) => {
            let at = format_hms(sample.snapshot.taken_at_ms);
            segments.push(Segment::new(
                plain,
                vec![
                    (
                        50,
                        format!("{at} UTC ({})", format::took(sample.snapshot.elapsed)),
                    ),
                    (55, format!("{at} UTC")),
                    (85, at),
                ],
            ));
        }
        None => segments.push(Segment::one(
            85,
            theme.dim(),
            "waiting for the first sample…".to_string(),
        )),
    }
    if let Some(cost) = app.self_cost() {
        segments.push(Segment::one(
            20,
            theme.dim(),
            format!(
                "self {:.1}% cpu {} MiB",
                cost.cpu_percent,
                cost.rss_kib.div_ceil(1024)
            ),
        ));
    }
    segments
}

/// `every 1s`, or, when full dumps are expensive, how the sampler stretched
/// them: `every 1s (table 1.8s: dump 300ms; queues 100ms)`, then shorter.
fn cadence_forms(app: &App) -> Vec<(u8, String)> {
    let interval = format::interval(app.requested_interval());
    let stretched = app
        .shown()
        .map(|sample| {
            (
                full_sample_period(app.requested_interval(), sample.snapshot.elapsed),
                sample.snapshot.elapsed,
            )
        })
        .filter(|(period, _)| *period > app.requested_interval());
    match stretched {
        Some((period, elapsed)) => vec![
            (
                35,
                format!(
                    "every {interval} (table {}: dump {}; queues {})",
                    format::interval(period),
                    format::took(elapsed),
                    format::interval(app.listen_interval())
                ),
            ),
            (
                45,
                format!("every {interval} (table {})", format::interval(period)),
            ),
            (90, format!("every {interval}")),
        ],
        None => vec![(90, format!("every {interval}"))],
    }
}

fn status_segments(app: &App, theme: &Theme) -> Vec<Segment> {
    if let Some(failure) = app.failure() {
        let repeats = if failure.count > 1 {
            format!(" (×{})", failure.count)
        } else {
            String::new()
        };
        let style = theme.attention(Attention::Critical);
        let mut segments = vec![Segment::one(
            100,
            style,
            format!(
                "! sample failed at {}{repeats}: {}",
                format_hms(failure.at_ms),
                failure.message
            ),
        )];
        if let Some(sample) = app.shown() {
            segments.push(Segment::one(
                50,
                style,
                format!("showing {}", format_hms(sample.snapshot.taken_at_ms)),
            ));
        }
        return segments;
    }
    let Some(sample) = app.shown() else {
        return Vec::new();
    };
    if !sample.snapshot.notes.is_empty() {
        return sample
            .snapshot
            .notes
            .iter()
            .enumerate()
            .map(|(i, note)| {
                let text = if i == 0 {
                    format!("note: {note}")
                } else {
                    note.clone()
                };
                Segment::one(
                    100u8.saturating_sub(u8::try_from(i).unwrap_or(99)),
                    theme.attention(Attention::Warning),
                    text,
                )
            })
            .collect();
    }
    let dim = theme.dim();
    let totals = &sample.aggregates.totals;
    let mut segments = vec![Segment::one(
        100,
        dim,
        format!("{} sockets", format::count(totals.total())),
    )];
    if let Some(sockstat) = app.latest_sockstat() {
        segments.push(Segment::new(
            dim,
            vec![
                (45, format!("TCP in use {}", format::count(sockstat.inuse))),
                (50, format!("in use {}", format::count(sockstat.inuse))),
            ],
        ));
        segments.push(Segment::one(
            40,
            dim,
            format!("orphans {}", format::count(sockstat.orphan)),
        ));
    }
    if let Some(deltas) = app.shown_deltas() {
        for (counter, keep) in [
            (Counter::ActiveOpens, 60),
            (Counter::PassiveOpens, 55),
            (Counter::OutRsts, 70),
        ] {
            if let Some(growth) = deltas.get(counter) {
                segments.push(Segment::one(
                    keep,
                    dim,
                    format!("{} +{growth}", counter.kernel_name()),
                ));
            }
        }
    }
    if let Some(somaxconn) = sample.snapshot.settings.somaxconn {
        segments.push(Segment::one(30, dim, format!("somaxconn {somaxconn}")));
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(forms: &[(u8, &str)]) -> Segment {
        Segment::new(
            Style::new(),
            forms.iter().map(|(k, f)| (*k, f.to_string())).collect(),
        )
    }

    fn fitted(segments: &[Segment], width: usize) -> String {
        fit_segments(segments, width)
            .into_iter()
            .map(|(_, t)| t)
            .collect::<Vec<_>>()
            .join(SEPARATOR)
    }

    #[test]
    fn segments_shorten_then_drop_least_weighty_first_never_mid_token() {
        let segments = [
            segment(&[
                (25, " PAUSED +2 new · p resumes "),
                (255, " PAUSED +2 new "),
            ]),
            segment(&[(200, "tcpwatch")]),
            segment(&[(60, "testhost")]),
            segment(&[(35, "every 1s (table 1.8s: dump 300ms)"), (90, "every 1s")]),
            segment(&[(50, "21:40:39 UTC (7.7ms)"), (85, "21:40:39")]),
        ];
        assert_eq!(
            fitted(&segments, 200),
            " PAUSED +2 new · p resumes  · tcpwatch · testhost · every 1s (table 1.8s: dump 300ms) · 21:40:39 UTC (7.7ms)"
        );
        assert_eq!(
            fitted(&segments, 90),
            " PAUSED +2 new  · tcpwatch · testhost · every 1s · 21:40:39 UTC (7.7ms)"
        );
        assert_eq!(
            fitted(&segments, 60),
            " PAUSED +2 new  · tcpwatch · testhost · every 1s · 21:40:39"
        );
        assert_eq!(
            fitted(&segments, 50),
            " PAUSED +2 new  · tcpwatch · every 1s · 21:40:39"
        );
        assert_eq!(fitted(&segments, 20), " PAUSED +2 new ");
        for width in 8..140 {
            assert!(fitted(&segments, width).chars().count() <= width, "{width}");
        }
    }
}
