//! The human-readable `--once` picture: header, listeners with
//! queue/backlog, the per-port state matrix, TIME_WAIT and counters.
//!
//! Owns: column layout of the text table. Must not: do I/O beyond the
//! writer it is handed.

use std::io::{self, Write};

use super::Report;
use crate::alert::Severity;
use crate::format::timestamp::format_utc;
use crate::model::{Counter, ListenerSummary, Snapshot, Sysctl, TcpState};

/// Short column headings, in `TcpState::ALL` order.
fn short_name(state: TcpState) -> &'static str {
    match state {
        TcpState::Listen => "LISTEN",
        TcpState::SynSent => "SYN_SENT",
        TcpState::SynRecv => "SYN_RECV",
        TcpState::Established => "ESTAB",
        TcpState::FinWait1 => "FIN_WAIT1",
        TcpState::FinWait2 => "FIN_WAIT2",
        TcpState::CloseWait => "CLOSE_WAIT",
        TcpState::LastAck => "LAST_ACK",
        TcpState::Closing => "CLOSING",
        TcpState::TimeWait => "TIME_WAIT",
        TcpState::Close => "CLOSE",
    }
}

pub(crate) fn write_table(out: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
    let snapshot = report.snapshot;
    writeln!(
        out,
        "tcpwatch · {} · source {} · {} UTC · sampled in {:.1} ms · filter: {}",
        snapshot.namespace,
        snapshot.source.name(),
        format_utc(snapshot.taken_at_ms),
        snapshot.elapsed.as_secs_f64() * 1000.0,
        snapshot.filter.describe(),
    )?;
    for note in &snapshot.notes {
        writeln!(out, "note: {note}")?;
    }
    writeln!(out)?;
    write_listeners(out, report)?;
    writeln!(out)?;
    write_ports(out, report)?;
    writeln!(out)?;
    write_time_wait(out, report)?;
    write_counters(out, report)?;
    write_alerts(out, report)?;
    Ok(())
}

fn write_alerts(out: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
    if report.alerts.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "ALERTS ({})", report.alerts.len())?;
    for alert in report.alerts {
        let label = match alert.severity {
            Severity::Critical => "CRIT",
            Severity::Warning => "WARN",
            Severity::Info => "INFO",
        };
        writeln!(out, "{label} {} on {}", alert.kind.title(), alert.subject)?;
        writeln!(out, "     what: {}", alert.summary)?;
        writeln!(out, "     why:  {}", alert.cause)?;
        writeln!(out, "     fix:  {}", alert.fix)?;
    }
    Ok(())
}

fn queue_text(listener: &ListenerSummary) -> String {
    match (listener.backlog, listener.is_full()) {
        (Some(backlog), Some(true)) => format!("{}/{} FULL", listener.accept_queue, backlog),
        (Some(backlog), _) => format!("{}/{}", listener.accept_queue, backlog),
        (None, _) => format!("{}/?", listener.accept_queue),
    }
}

fn process_text(snapshot: &Snapshot, listener: &ListenerSummary) -> String {
    match &listener.process {
        Some(process) => format!("{} ({})", process.name, process.pid),
        None if !snapshot.owners_complete => "- (another user's; run as root)".to_string(),
        None => "-".to_string(),
    }
}

fn write_listeners(out: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
    if !report.snapshot.filter.states.contains(TcpState::Listen) {
        return writeln!(out, "LISTENERS  not shown: --state leaves LISTEN out");
    }
    let listeners = report.shown_listeners();
    if listeners.is_empty() {
        return writeln!(out, "LISTENERS  none on the watched ports");
    }
    let width = listeners
        .iter()
        .map(|l| l.local.to_string().len())
        .max()
        .unwrap_or(0)
        .max("LISTENER".len());
    writeln!(
        out,
        "{:<width$}  {:>16}  {:>8}  PROCESS",
        "LISTENER", "QUEUE/BACKLOG", "SYN_RECV"
    )?;
    for listener in listeners {
        writeln!(
            out,
            "{:<width$}  {:>16}  {:>8}  {}",
            listener.local.to_string(),
            queue_text(listener),
            listener.syn_recv,
            process_text(report.snapshot, listener)
        )?;
    }
    if listeners.iter().any(|l| l.backlog.is_none()) {
        writeln!(
            out,
            "  ? = backlog unknown: /proc/net/tcp does not report it; sock_diag (--source netlink) does"
        )?;
    }
    if listeners.iter().any(|l| l.is_full() == Some(true)) {
        writeln!(
            out,
            "  FULL = accept queue > backlog: the kernel drops new SYNs until the application calls accept()"
        )?;
    }
    Ok(())
}

fn write_ports(out: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
    let aggregates = report.aggregates;
    if aggregates.ports.is_empty() {
        return writeln!(out, "PORTS  no sockets match the filter");
    }
    let columns: Vec<TcpState> = TcpState::ALL
        .into_iter()
        .filter(|s| aggregates.totals.get(*s) > 0)
        .collect();
    write!(out, "{:>6}  {:>7}", "PORT", "TOTAL")?;
    for state in &columns {
        write!(
            out,
            "  {:>w$}",
            short_name(*state),
            w = short_name(*state).len()
        )?;
    }
    writeln!(out)?;
    for row in &aggregates.ports {
        write!(out, "{:>6}  {:>7}", row.port, row.counts.total())?;
        for state in &columns {
            write!(
                out,
                "  {:>w$}",
                row.counts.get(*state),
                w = short_name(*state).len()
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn write_time_wait(out: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
    let tw = &report.aggregates.time_wait;
    let namespace_total = tw
        .sockstat_total
        .map(|n| format!(" (namespace: {n})"))
        .unwrap_or_default();
    let limit = match (tw.max_tw_buckets, tw.headroom()) {
        (Some(max), Some(headroom)) => format!(" · tcp_max_tw_buckets {max} · headroom {headroom}"),
        _ => String::new(),
    };
    writeln!(
        out,
        "TIME_WAIT  {} in view{namespace_total}{limit}",
        tw.total
    )
}

fn write_counters(out: &mut dyn Write, report: &Report<'_>) -> io::Result<()> {
    let counters = &report.snapshot.counters;
    let shown = [
        Counter::ListenOverflows,
        Counter::ListenDrops,
        Counter::TcpReqQFullDrop,
        Counter::TcpReqQFullDoCookies,
        Counter::TcpTimeWaitOverflow,
        Counter::OutRsts,
        Counter::AttemptFails,
    ];
    let mut parts = Vec::new();
    for counter in shown {
        if let Some(value) = counters.get(counter) {
            let growth = report
                .deltas
                .and_then(|d| d.get(counter))
                .filter(|g| *g > 0)
                .map(|g| format!(" (+{g})"))
                .unwrap_or_default();
            parts.push(format!("{} {value}{growth}", counter.kernel_name()));
        }
    }
    if !parts.is_empty() {
        writeln!(out, "COUNTERS   {}", parts.join(" · "))?;
    }
    let settings = &report.snapshot.settings;
    let sysctls: Vec<String> = [
        Sysctl::Somaxconn,
        Sysctl::TcpMaxSynBacklog,
        Sysctl::TcpSyncookies,
        Sysctl::TcpAbortOnOverflow,
    ]
    .into_iter()
    .filter_map(|s| {
        settings
            .display_value(s)
            .map(|v| format!("{} {v}", s.name().rsplit('.').next().unwrap_or(s.name())))
    })
    .collect();
    if !sysctls.is_empty() {
        writeln!(out, "SYSCTLS    {}", sysctls.join(" · "))?;
    }
    Ok(())
}
