//! The two header lines: what is watched and how fresh it is, then the
//! status (a failed sample, notes such as a /proc fallback, or a summary).
//! Each line is made of segments that shorten or drop out, least useful
//! first, so a narrow terminal never shows half a token; PAUSED comes first
//! and is never dropped.
//!
//! Owns: `HeaderView` (what the header says, taken from the app), the
//! header's text and what gives way first. Must not: mutate the
//! app or read the clock.

use std::time::Duration;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::format;
use super::theme::{Attention, Theme};
use crate::app::keymap::{Screen, key_for};
use crate::app::{App, Command, SelfCost};
use crate::format::timestamp::format_hms;
use crate::model::cadence::full_sample_period;
use crate::model::{Counter, Sockstat};

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

/// The counters whose growth the status line shows, with how long each
/// stays as the line narrows.
const GROWTH: [(Counter, u8); 3] = [
    (Counter::ActiveOpens, 60),
    (Counter::PassiveOpens, 55),
    (Counter::OutRsts, 70),
];

/// What the header says, taken from the app.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HeaderView {
    /// Paused, with the ticks kept aside since.
    pub paused: Option<usize>,
    pub host: String,
    /// The namespace and the source of the sample on screen.
    pub sampled_from: Option<(String, &'static str)>,
    pub interval: Duration,
    pub listen_interval: Duration,
    /// When the sample on screen was taken, and how long its dump took.
    pub taken: Option<(u64, Duration)>,
    /// The `--port`/`--state` filter, described.
    pub watching: String,
    /// The live filter, described.
    pub filter: Option<String>,
    pub self_cost: Option<SelfCost>,
    pub status: HeaderStatus,
}

/// The second line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum HeaderStatus {
    /// No sample yet.
    Nothing,
    /// The last sample failed; `showing` the time of the one on screen.
    Failed {
        at_ms: u64,
        count: u32,
        message: String,
        showing: Option<u64>,
    },
    /// The source's notes (a /proc fallback…).
    Notes(Vec<String>),
    Totals {
        sockets: u64,
        sockstat: Option<Sockstat>,
        /// ActiveOpens, PassiveOpens, OutRsts growth over the interval.
        growth: Vec<(Counter, u64)>,
        somaxconn: Option<u32>,
    },
}

impl HeaderView {
    pub(crate) fn of(app: &App) -> HeaderView {
        let shown = app.shown().map(|tick| &tick.snapshot);
        HeaderView {
            paused: app.is_paused().then(|| app.kept_aside_count()),
            host: app.host().to_string(),
            sampled_from: shown.map(|s| (s.namespace.clone(), s.source.name())),
            interval: app.requested_interval(),
            listen_interval: app.listen_interval(),
            taken: shown.map(|s| (s.taken_at_ms, s.elapsed)),
            watching: app.watch_filter().to_string(),
            filter: app.filter().describe(),
            self_cost: app.self_cost(),
            status: HeaderStatus::of(app),
        }
    }
}

impl HeaderStatus {
    fn of(app: &App) -> HeaderStatus {
        if let Some(failure) = app.failure() {
            return HeaderStatus::Failed {
                at_ms: failure.at_ms,
                count: failure.count,
                message: failure.message.clone(),
                showing: app.shown().map(|s| s.snapshot.taken_at_ms),
            };
        }
        let Some(tick) = app.shown() else {
            return HeaderStatus::Nothing;
        };
        if !tick.snapshot.notes.is_empty() {
            return HeaderStatus::Notes(tick.snapshot.notes.clone());
        }
        let growth = app.shown_deltas().map_or_else(Vec::new, |deltas| {
            GROWTH
                .into_iter()
                .filter_map(|(counter, _)| Some((counter, deltas.get(counter)?)))
                .collect()
        });
        HeaderStatus::Totals {
            sockets: tick.aggregates.totals.total(),
            sockstat: app.latest_sockstat(),
            growth,
            somaxconn: tick.snapshot.settings.somaxconn,
        }
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    draw(&HeaderView::of(app), area, frame.buffer_mut(), theme);
}

pub(crate) fn draw(header: &HeaderView, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let width = usize::from(area.width);
    let lines = vec![
        line_of(&identity_segments(header, theme), width, theme),
        line_of(&status_segments(&header.status, theme), width, theme),
    ];
    Paragraph::new(lines).render(area, buf);
}

/// The pause banner: shown first, in reverse video, at every size.
fn paused_segment(header: &HeaderView, theme: &Theme) -> Option<Segment> {
    let kept = header.paused?;
    let resume = key_for(Screen::Dashboard, Command::TogglePause);
    let forms = if kept > 0 {
        vec![
            (25, format!(" ⏸ PAUSED +{kept} new · {resume} resumes ")),
            (250, format!(" ⏸ PAUSED +{kept} new ")),
            (255, " ⏸ PAUSED ".to_string()),
        ]
    } else {
        vec![
            (25, format!(" ⏸ PAUSED · {resume} resumes ")),
            (255, " ⏸ PAUSED ".to_string()),
        ]
    };
    Some(Segment::new(theme.paused(), forms))
}

fn identity_segments(header: &HeaderView, theme: &Theme) -> Vec<Segment> {
    let plain = Style::new();
    let mut segments: Vec<Segment> = paused_segment(header, theme).into_iter().collect();
    segments.push(Segment::one(200, theme.title(), "tcpwatch".to_string()));
    segments.push(Segment::one(60, plain, header.host.clone()));
    if let Some((namespace, source)) = &header.sampled_from {
        segments.push(Segment::one(30, plain, format!("ns {namespace}")));
        segments.push(Segment::one(40, plain, source.to_string()));
    }
    segments.push(Segment::new(plain, cadence_forms(header)));
    segments.push(Segment::one(
        150,
        plain,
        format!("watching {}", header.watching),
    ));
    if let Some(filter) = &header.filter {
        segments.push(Segment::one(160, plain, format!("filter {filter}")));
    }
    match header.taken {
        Some((taken_at_ms, elapsed)) => {
            let at = format_hms(taken_at_ms);
            segments.push(Segment::new(
                plain,
                vec![
                    (50, format!("{at} UTC ({})", format::took(elapsed))),
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
    if let Some(cost) = header.self_cost {
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
fn cadence_forms(header: &HeaderView) -> Vec<(u8, String)> {
    let interval = format::interval(header.interval);
    let stretched = header
        .taken
        .map(|(_, elapsed)| (full_sample_period(header.interval, elapsed), elapsed))
        .filter(|(period, _)| *period > header.interval);
    match stretched {
        Some((period, elapsed)) => vec![
            (
                35,
                format!(
                    "every {interval} (table {}: dump {}; queues {})",
                    format::interval(period),
                    format::took(elapsed),
                    format::interval(header.listen_interval)
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

fn status_segments(status: &HeaderStatus, theme: &Theme) -> Vec<Segment> {
    match status {
        HeaderStatus::Nothing => Vec::new(),
        HeaderStatus::Failed {
            at_ms,
            count,
            message,
            showing,
        } => {
            let repeats = if *count > 1 {
                format!(" (×{count})")
            } else {
                String::new()
            };
            let style = theme.attention(Attention::Critical);
            let mut segments = vec![Segment::one(
                100,
                style,
                format!(
                    "! sample failed at {}{repeats}: {message}",
                    format_hms(*at_ms)
                ),
            )];
            if let Some(taken_at_ms) = showing {
                segments.push(Segment::one(
                    50,
                    style,
                    format!("showing {}", format_hms(*taken_at_ms)),
                ));
            }
            segments
        }
        HeaderStatus::Notes(notes) => notes
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
            .collect(),
        HeaderStatus::Totals {
            sockets,
            sockstat,
            growth,
            somaxconn,
        } => {
            let dim = theme.dim();
            let mut segments = vec![Segment::one(
                100,
                dim,
                format!("{} sockets", format::count(*sockets)),
            )];
            if let Some(sockstat) = sockstat {
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
            for (counter, growth) in growth {
                let keep = GROWTH
                    .iter()
                    .find_map(|(c, keep)| (c == counter).then_some(*keep))
                    .unwrap_or(50);
                segments.push(Segment::one(
                    keep,
                    dim,
                    format!("{} +{growth}", counter.kernel_name()),
                ));
            }
            if let Some(somaxconn) = somaxconn {
                segments.push(Segment::one(30, dim, format!("somaxconn {somaxconn}")));
            }
            segments
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::test_buffer;

    const AT_MS: u64 = 1_795_470_039_000;

    fn header(status: HeaderStatus) -> HeaderView {
        HeaderView {
            paused: None,
            host: "testhost".to_string(),
            sampled_from: Some(("host".to_string(), "netlink")),
            interval: Duration::from_secs(1),
            listen_interval: Duration::from_millis(100),
            taken: Some((AT_MS, Duration::from_micros(7_700))),
            watching: "all".to_string(),
            filter: None,
            self_cost: None,
            status,
        }
    }

    fn totals() -> HeaderStatus {
        HeaderStatus::Totals {
            sockets: 4469,
            sockstat: None,
            growth: vec![(Counter::ActiveOpens, 3), (Counter::OutRsts, 1)],
            somaxconn: Some(4096),
        }
    }

    fn drawn(header: &HeaderView, width: u16) -> Buffer {
        test_buffer::text(draw, header, width, 2)
    }

    #[test]
    fn what_is_watched_then_the_totals() {
        assert_eq!(
            drawn(&header(totals()), 110),
            Buffer::with_lines([
                "tcpwatch · testhost · ns host · netlink · every 1s · watching all · 21:40:39 UTC (7.7ms)                      ",
                "4,469 sockets · ActiveOpens +3 · OutRsts +1 · somaxconn 4096                                                  ",
            ])
        );
        assert_eq!(
            drawn(&header(totals()), 60),
            Buffer::with_lines([
                "tcpwatch · testhost · every 1s · watching all · 21:40:39 UTC",
                "4,469 sockets · ActiveOpens +3 · OutRsts +1 · somaxconn 4096",
            ])
        );
    }

    #[test]
    fn paused_comes_first_at_any_width() {
        let mut paused = header(totals());
        paused.paused = Some(2);
        assert_eq!(
            drawn(&paused, 40),
            Buffer::with_lines([
                " ⏸ PAUSED +2 new  · tcpwatch            ",
                "4,469 sockets · OutRsts +1              ",
            ])
        );
    }

    #[test]
    fn a_failed_sample_says_which_one_is_shown() {
        let failed = header(HeaderStatus::Failed {
            at_ms: AT_MS + 1000,
            count: 3,
            message: "netlink: permission denied".into(),
            showing: Some(AT_MS),
        });
        assert_eq!(
            drawn(&failed, 90),
            Buffer::with_lines([
                "tcpwatch · testhost · ns host · netlink · every 1s · watching all · 21:40:39 UTC (7.7ms)  ",
                "! sample failed at 21:40:40 (×3): netlink: permission denied · showing 21:40:39           ",
            ])
        );
    }

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
