//! `--stream`: one JSON object per line for each event (a connection's state
//! change, an alert raised or cleared), for logging beside experiments.
//!
//! Owns: the JSON shape of stream events. Must not: do I/O beyond building
//! values; the caller writes them.

use serde_json::{Value, json};

use crate::model::transitions::{Change, Transition};

pub(crate) fn transition_json(transition: &Transition) -> Value {
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
