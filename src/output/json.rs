//! The `--format json` document: stable keys for scripts.
//!
//! Owns: the JSON shape (`source`, `listeners[]`, `ports[]`, `time_wait`,
//! `counters`, `sysctls`, …). Must not: change a key without a CHANGELOG
//! entry; scripts depend on them.

use std::net::SocketAddr;

use serde_json::{Map, Value, json};

use super::Report;
use crate::alert::Alert;
use crate::model::{Sysctl, TcpState};

/// `127.0.0.1:10000` or `[::1]:10000`.
fn address_text(address: &SocketAddr) -> String {
    address.to_string()
}

/// One alert: `kind`, `severity`, `subject`, `message` (what, why, fix),
/// `since` (ms since the Unix epoch) and the parts of the message.
pub fn alert_json(alert: &Alert) -> Value {
    json!({
        "kind": alert.kind.name(),
        "severity": alert.severity.name(),
        "subject": alert.subject,
        "title": format!("{} on {}", alert.kind.title(), alert.subject),
        "message": alert.message(),
        "summary": alert.summary,
        "cause": alert.cause,
        "fix": alert.fix,
        "since": alert.since_ms,
        "last_seen": alert.last_seen_ms,
        "fire_count": alert.fire_count,
    })
}

pub fn report_json(report: &Report<'_>) -> Value {
    let snapshot = report.snapshot;
    let aggregates = report.aggregates;
    let listeners: Vec<Value> = report
        .shown_listeners()
        .iter()
        .map(|l| {
            json!({
                "local": address_text(&l.local),
                "port": l.local.port(),
                "accept_queue": l.accept_queue,
                "backlog": l.backlog,
                "full": l.is_full(),
                "syn_recv": l.syn_recv,
                "inode": l.inode,
                "uid": l.uid,
                "process": l.process.as_ref().map(|p| json!({"pid": p.pid, "name": p.name})),
            })
        })
        .collect();
    let ports: Vec<Value> = aggregates
        .ports
        .iter()
        .map(|row| {
            let states: Map<String, Value> = TcpState::ALL
                .iter()
                .map(|s| (s.name().to_string(), json!(row.counts.get(*s))))
                .collect();
            json!({ "port": row.port, "total": row.counts.total(), "states": states })
        })
        .collect();
    let by_port: Map<String, Value> = aggregates
        .time_wait
        .by_port
        .iter()
        .map(|(port, count)| (port.to_string(), json!(count)))
        .collect();
    let counters: Map<String, Value> = snapshot
        .counters
        .iter()
        .filter_map(|(c, v)| v.map(|v| (c.kernel_name().to_string(), json!(v))))
        .collect();
    let counter_deltas: Option<Map<String, Value>> = report.deltas.map(|d| {
        snapshot
            .counters
            .iter()
            .filter_map(|(c, _)| d.get(c).map(|g| (c.kernel_name().to_string(), json!(g))))
            .collect()
    });
    let sysctls: Map<String, Value> = Sysctl::ALL
        .iter()
        .filter_map(|s| {
            let value = match s {
                Sysctl::IpLocalPortRange => snapshot
                    .settings
                    .ip_local_port_range
                    .map(|(first, last)| json!([first, last])),
                other => snapshot
                    .settings
                    .display_value(*other)
                    .and_then(|text| text.parse::<u64>().ok())
                    .map(|n| json!(n)),
            };
            value.map(|v| (s.name().to_string(), v))
        })
        .collect();
    json!({
        "taken_at_ms": snapshot.taken_at_ms,
        "sample_ms": snapshot.elapsed.as_secs_f64() * 1000.0,
        "source": snapshot.source.name(),
        "namespace": snapshot.namespace,
        "notes": snapshot.notes,
        "filter": {
            "ports": snapshot.filter.ports,
            "states": TcpState::ALL.iter().filter(|s| snapshot.filter.states.contains(**s)).map(|s| s.name()).collect::<Vec<_>>(),
        },
        "listeners": listeners,
        "ports": ports,
        "totals": TcpState::ALL.iter().map(|s| (s.name().to_string(), json!(aggregates.totals.get(*s)))).collect::<Map<String, Value>>(),
        "time_wait": {
            "total": aggregates.time_wait.total,
            "by_port": by_port,
            "namespace_total": aggregates.time_wait.sockstat_total,
            "max_tw_buckets": aggregates.time_wait.max_tw_buckets,
            "headroom": aggregates.time_wait.headroom(),
        },
        "sockstat": snapshot.sockstat.map(|s| json!({"inuse": s.inuse, "orphan": s.orphan, "tw": s.tw, "alloc": s.alloc, "mem": s.mem_pages})),
        "counters": counters,
        "counter_deltas": counter_deltas,
        "sysctls": sysctls,
        "alerts": report.alerts.iter().map(alert_json).collect::<Vec<_>>(),
    })
}
