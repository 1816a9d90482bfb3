//! `--stream`: one JSON object per line for each event (a connection's state
//! change, an alert raised or cleared), for logging beside experiments.
//!
//! Owns: the JSON shape of stream events. Must not: do I/O beyond building
//! values; the caller writes them.

use serde_json::{Value, json};

use crate::model::Snapshot;
use crate::model::transitions::{Change, Transition};

/// The `source` line: where the sockets come from and what that costs
/// (`notes`), printed first and again whenever it changes.
pub fn source_json(snapshot: &Snapshot) -> Value {
    json!({
        "type": "source",
        "at_ms": snapshot.taken_at_ms,
        "source": snapshot.source.name(),
        "namespace": snapshot.namespace,
        "notes": snapshot.notes,
    })
}

/// What decides whether the `source` line is printed again: the source,
/// the namespace, and the notes with their numbers left out (a note whose
/// counts change every tick is the same note).
pub fn source_key(snapshot: &Snapshot) -> (String, String, Vec<String>) {
    let notes = snapshot
        .notes
        .iter()
        .map(|note| note.chars().filter(|c| !c.is_ascii_digit()).collect())
        .collect();
    (
        snapshot.source.name().to_string(),
        snapshot.namespace.clone(),
        notes,
    )
}

pub fn transition_json(transition: &Transition) -> Value {
    let (event, from, to, skipped, extra) = match &transition.change {
        Change::Appeared(state) => (
            "appeared",
            None,
            Some(state.name()),
            Vec::new(),
            Value::Null,
        ),
        Change::Moved { from, to, skipped } => (
            "moved",
            Some(from.name()),
            Some(to.name()),
            skipped.iter().map(|s| s.name()).collect(),
            Value::Null,
        ),
        Change::Gone(state) => ("gone", Some(state.name()), None, Vec::new(), Value::Null),
        Change::SynRetransmit {
            count,
            next_retry_ms,
        } => (
            "syn_retransmit",
            Some("SYN_SENT"),
            Some("SYN_SENT"),
            Vec::new(),
            json!({ "retransmits": count, "next_retry_ms": next_retry_ms }),
        ),
    };
    let mut value = json!({
        "type": "transition",
        "event": event,
        "at_ms": transition.at_ms,
        "local": transition.local.to_string(),
        "remote": transition.remote.to_string(),
        "from": from,
        "to": to,
        "skipped": skipped,
        "after_ms": transition.after_ms,
        "cause": transition.cause,
        "text": transition.describe(),
    });
    if let (Some(object), Value::Object(more)) = (value.as_object_mut(), extra) {
        object.extend(more);
    }
    value
}

#[cfg(test)]
mod tests {
    use crate::model::{Snapshot as SourceSnapshot, SourceKind};

    #[test]
    fn the_source_line_changes_with_the_source_and_notes_not_their_numbers() {
        let mut snap = SourceSnapshot::empty(5, SourceKind::Netlink);
        snap.notes = vec!["300000 sockets: details kept for 200000".to_string()];
        let line = source_json(&snap);
        assert_eq!(line["type"], "source");
        assert_eq!(line["source"], "netlink");
        assert_eq!(line["namespace"], "host");
        assert_eq!(line["notes"][0], "300000 sockets: details kept for 200000");
        let key = source_key(&snap);
        snap.notes = vec!["310000 sockets: details kept for 200000".to_string()];
        assert_eq!(source_key(&snap), key, "only numbers changed");
        snap.source = SourceKind::Proc;
        assert_ne!(source_key(&snap), key);
    }

    use super::*;
    use crate::model::TcpState;

    #[test]
    fn a_move_carries_from_to_skipped_and_cause() {
        let transition = Transition {
            at_ms: 5,
            local: "127.0.0.1:5000".parse().expect("addr"),
            remote: "127.0.0.1:10000".parse().expect("addr"),
            change: Change::Moved {
                from: TcpState::Established,
                to: TcpState::TimeWait,
                skipped: vec![TcpState::FinWait1, TcpState::FinWait2],
            },
            after_ms: Some(1000),
            cause: "close() first",
        };
        let value = transition_json(&transition);
        assert_eq!(value["event"], "moved");
        assert_eq!(value["from"], "ESTABLISHED");
        assert_eq!(value["to"], "TIME_WAIT");
        assert_eq!(value["skipped"], json!(["FIN_WAIT1", "FIN_WAIT2"]));
        assert_eq!(value["local"], "127.0.0.1:5000");
        assert_eq!(value["after_ms"], 1000);
    }

    #[test]
    fn a_retransmit_carries_the_next_retry() {
        let transition = Transition {
            at_ms: 5,
            local: "127.0.0.1:5000".parse().expect("addr"),
            remote: "127.0.0.1:10000".parse().expect("addr"),
            change: Change::SynRetransmit {
                count: 2,
                next_retry_ms: 3900,
            },
            after_ms: None,
            cause: "no SYN-ACK",
        };
        let value = transition_json(&transition);
        assert_eq!(value["event"], "syn_retransmit");
        assert_eq!(value["retransmits"], 2);
        assert_eq!(value["next_retry_ms"], 3900);
    }
}
