//! Which listener an accept-queue overflow belongs to, and how sure we are.
//!
//! `ListenOverflows` is one host-wide (per-namespace) counter. The kernel
//! gives a `kfree_skb` event naming the listener (`rx_sk`) only for some of
//! those drops (the handshake's final ACK on a full queue); a SYN refused on
//! a full queue is consumed without any event. So the part of a rise that no
//! event covers keeps polling's attribution, to the listeners that were full
//! in the samples, and is labelled inferred.
//!
//! Owns: `InferredOverflows` and its wording. Must not: do I/O or read the
//! clock.

use std::net::SocketAddr;

/// Overflows no kernel event named, attributed by polling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferredOverflows {
    /// The rise of `ListenOverflows` that exact drop events do not cover.
    pub count: u64,
    /// The listeners that were full in the samples (may be empty).
    pub full_listeners: Vec<SocketAddr>,
}

/// The part of a `ListenOverflows` rise of `counter_rise` that the
/// `exact_drops` (`TCP_LISTEN_OVERFLOW` events over the same time) leave
/// unexplained, or `None` when events cover all of it.
pub fn inferred_overflows(
    counter_rise: u64,
    exact_drops: u64,
    full_listeners: Vec<SocketAddr>,
) -> Option<InferredOverflows> {
    let count = counter_rise.saturating_sub(exact_drops);
    (count > 0).then_some(InferredOverflows {
        count,
        full_listeners,
    })
}

impl InferredOverflows {
    /// One line, labelled inferred.
    pub fn text(&self) -> String {
        let whom = match self.full_listeners.as_slice() {
            [] => "no listener was full in the samples, so it stays unattributed".to_string(),
            [one] => format!("attributed to {one}, the listener that was full"),
            many => {
                let names: Vec<String> = many.iter().map(ToString::to_string).collect();
                format!(
                    "attributed to the listeners that were full: {}",
                    names.join(", ")
                )
            }
        };
        format!(
            "Drop (inferred): ListenOverflows +{} with no kernel event (a SYN refused on a full accept queue is consumed, not dropped); {whom}",
            self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("addr")
    }

    #[test]
    fn exact_drops_cover_their_part_of_the_rise() {
        assert_eq!(inferred_overflows(3, 3, vec![]), None);
        assert_eq!(inferred_overflows(2, 5, vec![]), None);
        let inferred =
            inferred_overflows(15, 2, vec![addr("127.0.0.1:10000")]).expect("13 inferred");
        assert_eq!(inferred.count, 13);
        assert_eq!(
            inferred.text(),
            "Drop (inferred): ListenOverflows +13 with no kernel event (a SYN refused on a full accept queue is consumed, not dropped); attributed to 127.0.0.1:10000, the listener that was full"
        );
    }

    #[test]
    fn without_a_full_listener_nothing_is_guessed() {
        let inferred = inferred_overflows(1, 0, vec![]).expect("1 inferred");
        assert!(inferred.text().ends_with("so it stays unattributed"));
        let two = inferred_overflows(4, 0, vec![addr("127.0.0.1:1"), addr("127.0.0.1:2")])
            .expect("4 inferred");
        assert!(
            two.text().ends_with("full: 127.0.0.1:1, 127.0.0.1:2"),
            "{}",
            two.text()
        );
    }
}
