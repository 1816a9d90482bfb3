//! What each step of the demo puts on the screen, as the narration's "Look
//! for" names it: a count in a box of the state diagram, or a line of the
//! diagram or of the dashboard holding given texts. During a step the
//! diagram counts the step's port only, and the dashboard selects its row,
//! so every count is that port's and the hint can say it exactly. The
//! transition log is not named: its lines read differently with exact
//! kernel events (as root) and without.
//!
//! Owns: `Sight`, `sights_of`, how a sight is worded and how it is found
//! in a screen's text (the tests check rendered screens and the real demo
//! in a terminal with it). Must not: draw.

use super::Step;
use super::lab::LabPorts;
use crate::model::TcpState;

/// Which screen a sight is on: the demo's diagram (with the narration), or
/// the dashboard (`d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Diagram,
    Dashboard,
    /// The picture `demo --no-tui` prints after the step.
    Report,
}

/// One thing to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sight {
    /// The diagram's box for `state` counts `count` sockets of the step's
    /// port (its number, before any flashing `+N`).
    Count { state: TcpState, count: u32 },
    /// A line of `view` holding `texts`, in this order; `place` says where
    /// that line is, in the narration's words.
    Line {
        view: View,
        place: &'static str,
        texts: Vec<String>,
    },
    /// In the report's port table, `port`'s row shows `value` under
    /// `column`.
    Cell {
        port: u16,
        column: &'static str,
        value: u32,
    },
}

impl Sight {
    fn line(view: View, place: &'static str, texts: &[String]) -> Sight {
        Sight::Line {
            view,
            place,
            texts: texts.to_vec(),
        }
    }

    /// The sight in the narration's words, e.g. `SYN_SENT 3` or
    /// `"127.0.0.1:4000 … 2/1 FULL" in the Listeners panel`.
    pub fn describe(&self) -> String {
        match self {
            Sight::Count { state, count: 0 } => format!("{} · (none)", state.name()),
            Sight::Count { state, count } => format!("{} {count}", state.name()),
            Sight::Line { place, texts, .. } => format!("\"{}\" {place}", texts.join(" … ")),
            Sight::Cell {
                port,
                column,
                value,
            } => format!("{column} {value} in port {port}'s row"),
        }
    }

    /// Whether `screen` (the text of a screen of `view`, one line per row)
    /// shows this sight. Counts are read in the diagram; the narration
    /// panel, which quotes the sights, does not count.
    pub fn is_on(&self, view: View, screen: &str) -> bool {
        let screen = &without_narration(screen);
        match self {
            Sight::Count { state, count } => {
                view == View::Diagram
                    && box_figure(screen, state.name()).is_some_and(|figure| {
                        let shown = figure.split_whitespace().next();
                        match count {
                            0 => shown == Some("·"),
                            n => shown == Some(n.to_string().as_str()),
                        }
                    })
            }
            Sight::Line {
                view: on, texts, ..
            } => *on == view && screen.lines().any(|line| holds_in_order(line, texts)),
            Sight::Cell {
                port,
                column,
                value,
            } => {
                view == View::Report && table_cell(screen, *port, column) == Some(value.to_string())
            }
        }
    }

    /// The screen this sight is on.
    pub fn view(&self) -> View {
        match self {
            Sight::Count { .. } => View::Diagram,
            Sight::Line { view, .. } => *view,
            Sight::Cell { .. } => View::Report,
        }
    }
}

/// The value under `column` in `port`'s row of the report's port table
/// (`  PORT    TOTAL  LISTEN  SYN_SENT` over ` 10000        8       1
/// 3`: the figures end where their column's name ends).
fn table_cell(report: &str, port: u16, column: &str) -> Option<String> {
    let mut header: Option<Vec<char>> = None;
    for line in report.lines() {
        let chars: Vec<char> = line.chars().collect();
        let mut words = line.split_whitespace();
        if words.next() == Some("PORT") {
            header = Some(chars);
            continue;
        }
        let Some(names) = &header else { continue };
        if line.split_whitespace().next() != Some(&port.to_string()) {
            continue;
        }
        let name: Vec<char> = format!(" {column}").chars().collect();
        let at = names
            .windows(name.len())
            .position(|w| w == name.as_slice())?;
        let end = at + name.len();
        let figures: String = chars.get(..end.min(chars.len()))?.iter().collect();
        return figures.split_whitespace().last().map(str::to_string);
    }
    None
}

/// The screen without the demo's narration (the panel from its `┌ Demo ·`
/// title to its bottom border; the `[2/5] …` lines of a report).
fn without_narration(screen: &str) -> String {
    let mut inside = false;
    let mut kept = String::new();
    for line in screen.lines().filter(|l| !l.starts_with('[')) {
        if line.contains("┌ Demo ·") {
            inside = true;
        }
        if !inside {
            kept.push_str(line);
            kept.push('\n');
        } else if line.contains('└') {
            inside = false;
        }
    }
    kept
}

fn holds_in_order(line: &str, texts: &[String]) -> bool {
    let mut rest = line;
    texts.iter().all(|text| match rest.find(text.as_str()) {
        Some(at) => {
            rest = &rest[at + text.len()..];
            true
        }
        None => false,
    })
}

/// The text in the row under the top border of the diagram box whose
/// border names `state`, between the box's sides (`┌─ SYN_SENT ──┐` over
/// `│    3 +3     │` gives `3 +3`).
fn box_figure(screen: &str, state: &str) -> Option<String> {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let name: Vec<char> = format!(" {state} ").chars().collect();
    lines.iter().enumerate().find_map(|(y, line)| {
        let x = line
            .windows(name.len())
            .position(|w| w == name.as_slice())?;
        if !matches!(line.get(x.checked_sub(1)?), Some('─' | '━' | '┌' | '┏')) {
            return None;
        }
        let left = line[..x].iter().rposition(|c| matches!(c, '┌' | '┏'))?;
        let right = x + line[x..].iter().position(|c| matches!(c, '┐' | '┓'))?;
        let below = lines.get(y + 1)?;
        let figure: String = below.get(left + 1..right)?.iter().collect();
        Some(figure.trim().to_string())
    })
}

/// The port a step is about: the diagram counts it and the dashboard
/// selects its row while the step is on.
pub fn port_of(step: Step, ports: &LabPorts) -> u16 {
    match step {
        Step::ListenOne | Step::FillTheQueue => ports.full_queue,
        Step::ShortConnections => ports.time_wait,
        Step::NeverClose => ports.close_wait,
        Step::ClosedPort => ports.closed,
    }
}

/// What the screen shows once the step has run and the kernel got there.
pub fn sights_of(step: Step, ports: &LabPorts) -> Vec<Sight> {
    let port = port_of(step, ports);
    let listener = format!("127.0.0.1:{port}");
    let count = |state, count| Sight::Count { state, count };
    use TcpState::*;
    use View::{Dashboard, Diagram};
    match step {
        Step::ListenOne => vec![
            count(Listen, 1),
            Sight::line(Diagram, "under LISTEN", &["q 0/1".into()]),
            Sight::line(
                Dashboard,
                "in the dashboard's Listeners panel (d)",
                &[listener, "0/1".into()],
            ),
        ],
        Step::FillTheQueue => vec![
            count(SynSent, 3),
            Sight::line(
                Diagram,
                "under SYN_SENT (the next SYN retry, and when)",
                &["↻#".into()],
            ),
            count(Listen, 1),
            Sight::line(Diagram, "under LISTEN", &["q 2/1 FULL".into()]),
            count(Established, 4),
            Sight::line(
                Dashboard,
                "in the dashboard's Listeners panel (d)",
                &[listener, "2/1 FULL".into()],
            ),
        ],
        Step::ShortConnections => vec![
            count(TimeWait, 20),
            count(Listen, 1),
            Sight::line(
                Dashboard,
                "in the dashboard's TIME_WAIT panel title (d)",
                &["TIME_WAIT".into(), format!(":{port} 20")],
            ),
        ],
        Step::NeverClose => vec![
            count(CloseWait, 3),
            count(FinWait2, 3),
            count(Listen, 1),
            Sight::line(
                Dashboard,
                "in the dashboard's Alerts panel (d)",
                &["WARN".into(), format!("CLOSE_WAIT leak on port {port}")],
            ),
        ],
        Step::ClosedPort => vec![
            Sight::line(
                Diagram,
                "above the diagram, every box empty",
                &[format!("counts for port {port}")],
            ),
            count(SynSent, 0),
        ],
    }
}

/// What the report `demo --no-tui` prints after the step shows.
pub fn report_sights_of(step: Step, ports: &LabPorts) -> Vec<Sight> {
    let port = port_of(step, ports);
    let listener = format!("127.0.0.1:{port}");
    let cell = |column, value| Sight::Cell {
        port,
        column,
        value,
    };
    let listeners = "in LISTENER";
    match step {
        Step::ListenOne => vec![
            Sight::line(View::Report, listeners, &[listener, "0/1".into()]),
            cell("LISTEN", 1),
        ],
        Step::FillTheQueue => vec![
            Sight::line(
                View::Report,
                listeners,
                &[listener.clone(), "2/1 FULL".into()],
            ),
            cell("SYN_SENT", 3),
            cell("ESTAB", 4),
            Sight::line(
                View::Report,
                "under ALERTS",
                &[format!("CRIT backlog full on {listener}")],
            ),
        ],
        Step::ShortConnections => vec![cell("TIME_WAIT", 20)],
        Step::NeverClose => vec![cell("CLOSE_WAIT", 3), cell("FIN_WAIT2", 3)],
        Step::ClosedPort => vec![Sight::line(
            View::Report,
            "right below, and no row for the port",
            &["connect() failed".into()],
        )],
    }
}

/// `Look for, in the picture below: …`, for `demo --no-tui`.
pub fn look_for_in_report(step: Step, ports: &LabPorts) -> String {
    let sights: Vec<String> = report_sights_of(step, ports)
        .iter()
        .map(Sight::describe)
        .collect();
    format!("Look for, in the picture below: {}.", sights.join("; "))
}

/// `Look for, on port 4000: LISTEN 1; "q 0/1" under LISTEN; …`
pub fn look_for(step: Step, ports: &LabPorts) -> String {
    let sights: Vec<String> = sights_of(step, ports).iter().map(Sight::describe).collect();
    format!(
        "Look for, on port {}: {}.",
        port_of(step, ports),
        sights.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "[3/5] 20 short connections. Look for, in the picture below: TIME_WAIT 20 in port 10001's row.
  PORT    TOTAL  LISTEN  SYN_SENT  ESTAB  TIME_WAIT
 10000        8       1         3      4          0
 10001       21       1         0      0         20
";

    #[test]
    fn a_cell_is_read_under_its_column_in_its_ports_row() {
        let cell = |port, column, value| Sight::Cell {
            port,
            column,
            value,
        };
        assert!(cell(10001, "TIME_WAIT", 20).is_on(View::Report, REPORT));
        assert!(cell(10000, "SYN_SENT", 3).is_on(View::Report, REPORT));
        assert!(cell(10000, "LISTEN", 1).is_on(View::Report, REPORT));
        assert!(!cell(10000, "TIME_WAIT", 20).is_on(View::Report, REPORT));
        assert!(!cell(10001, "ESTAB", 20).is_on(View::Report, REPORT));
        assert!(!cell(10002, "TIME_WAIT", 0).is_on(View::Report, REPORT));
        assert!(
            !cell(10001, "TIME_WAIT", 20).is_on(View::Dashboard, REPORT),
            "a report's cell"
        );
    }

    #[test]
    fn the_narration_line_of_a_report_is_not_the_picture() {
        let quoted = Sight::line(View::Report, "", &["Look for".into()]);
        assert!(!quoted.is_on(View::Report, REPORT));
    }
}
