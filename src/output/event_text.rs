//! Exact kernel events as plain text, for the line outputs (`--once --for`,
//! the demo without a dashboard): one line per event with its time to the
//! microsecond, then what the counters add up to (RSTs per port, drops per
//! listener and reason, SYN-ACK retransmits), exact and inferred apart.
//!
//! Owns: the wording of that section. Must not: read the kernel, the clock
//! or the terminal; it writes to a `Write` it is given.

use std::io::{self, Write};

use crate::format::timestamp::format_hms_micros;
use crate::model::drop_attribution::InferredOverflows;
use crate::model::event_ledger::{EventCounts, EventLine};

/// The glyph of a line the kernel reported (seen), and of one polling
/// inferred.
pub const SEEN: &str = "●";
pub const INFERRED: &str = "○";

/// `● 21:40:12.345678  RST sent: SYN to 127.0.0.1:10002, …`
pub fn event_text_line(line: &EventLine) -> String {
    format!(
        "{SEEN} {}  {}",
        format_hms_micros(line.event.at_us),
        line.text
    )
}

/// `RSTs by port (exact): :10002 sent 1 · :10000 sent 2, received 1`, or
/// `None` when there was none.
pub fn rst_counts_text(counts: &EventCounts) -> Option<String> {
    let mut ports: Vec<u16> = counts
        .rst_sent_by_port
        .keys()
        .chain(counts.rst_received_by_port.keys())
        .copied()
        .collect();
    ports.sort_unstable();
    ports.dedup();
    if ports.is_empty() {
        return None;
    }
    let parts: Vec<String> = ports
        .iter()
        .map(|port| {
            let sent = counts.rst_sent_by_port.get(port).copied().unwrap_or(0);
            let received = counts.rst_received_by_port.get(port).copied().unwrap_or(0);
            match (sent, received) {
                (s, 0) => format!(":{port} sent {s}"),
                (0, r) => format!(":{port} received {r}"),
                (s, r) => format!(":{port} sent {s}, received {r}"),
            }
        })
        .collect();
    Some(format!("RSTs by port (exact): {}", parts.join(" · ")))
}

/// The counters' summary lines: RSTs, drops (exact per listener, by
/// reason, unattributed), SYN-ACK and SYN retransmits, lost records.
pub fn count_lines(counts: &EventCounts) -> Vec<String> {
    let mut lines: Vec<String> = rst_counts_text(counts).into_iter().collect();
    for ((listener, reason), count) in &counts.drops_by_listener {
        lines.push(format!(
            "Drops at listener {listener} (exact, the kernel named it): {reason} ×{count}"
        ));
    }
    if !counts.drops_by_reason.is_empty() {
        let reasons: Vec<String> = counts
            .drops_by_reason
            .iter()
            .map(|(reason, count)| format!("{reason} ×{count}"))
            .collect();
        lines.push(format!(
            "Drops by TCP reason, every port (exact; a drop names a port only when its socket is known): {}",
            reasons.join(" · ")
        ));
    }
    if counts.drops_unattributed > 0 {
        lines.push(format!(
            "Drops with no known socket: {} (the kernel named no socket tcpwatch had seen)",
            counts.drops_unattributed
        ));
    }
    for (listener, count) in &counts.synack_retransmits_by_listener {
        lines.push(format!(
            "SYN-ACK retransmits by {listener} (exact): {count}"
        ));
    }
    for (port, count) in &counts.syn_retransmits_by_port {
        lines.push(format!(
            "Client SYN retransmits to :{port} (exact): {count}"
        ));
    }
    let lost = counts.lost + counts.lines_dropped;
    if lost > 0 {
        lines.push(format!(
            "Events lost: {lost} (counted by the kernel but not read: a full ring buffer, a reader that fell behind, or a sample the kernel never wrote): the list above is incomplete"
        ));
    }
    lines
}

/// The section `--once --for` and the demo print: the first `max_lines`
/// event lines (a sequence reads from its start), the overflows polling had
/// to infer, and the counters.
pub fn write_event_section(
    out: &mut dyn Write,
    title: &str,
    lines: &[EventLine],
    counts: Option<&EventCounts>,
    inferred: Option<&InferredOverflows>,
    max_lines: usize,
) -> io::Result<()> {
    writeln!(
        out,
        "{title} ({} {SEEN} seen by kernel tracepoints, exact to the µs; {INFERRED} inferred from samples):",
        lines.len()
    )?;
    let skipped = lines.len().saturating_sub(max_lines);
    if skipped > 0 {
        writeln!(
            out,
            "  … {skipped} earlier events not shown (--stream shows every one)"
        )?;
    }
    for line in &lines[skipped..] {
        writeln!(out, "  {}", event_text_line(line))?;
    }
    if let Some(inferred) = inferred {
        writeln!(out, "  {INFERRED} {}", inferred.text())?;
    }
    for line in counts.map(count_lines).unwrap_or_default() {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsts_read_per_port_and_lost_records_are_told() {
        let mut counts = EventCounts::default();
        assert_eq!(rst_counts_text(&counts), None);
        counts.rst_sent_by_port.insert(10002, 1);
        counts.rst_sent_by_port.insert(10000, 2);
        counts.rst_received_by_port.insert(10000, 1);
        counts.lost = 3;
        let lines = count_lines(&counts);
        assert_eq!(
            lines[0],
            "RSTs by port (exact): :10000 sent 2, received 1 · :10002 sent 1"
        );
        assert!(
            lines
                .last()
                .is_some_and(|l| l.starts_with("Events lost: 3"))
        );
    }
}
