//! A frame: one full tick as a contract-v1 `snapshot` document (with its
//! alert events, transitions, listener peaks and at most `max_connections`
//! connections), compressed with zstd. Keyframes are compressed alone and
//! their text is the dictionary of the frames after them, so every frame
//! decodes from itself and its keyframe.
//!
//! Owns: choosing the kept connections, the frame payload (raw length +
//! zstd) and turning a decoded frame back into a `FullTick`. Must not: do
//! file I/O.

use std::collections::{BTreeMap, HashSet};

use thiserror::Error;

use super::format::{MAX_PAYLOAD, flags};
use crate::model::aggregate::service_port;
use crate::model::{SocketRecord, TcpState};
use crate::output::contract::{ContractError, FrameParts, SnapshotDoc};
use crate::watch::FullTick;

/// Connections kept per frame by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 2_000;
/// The zstd level: fast, and most of the gain comes from the keyframe
/// dictionary anyway.
const LEVEL: i32 = 3;

/// Why a frame payload did not decode.
#[derive(Debug, Error)]
pub enum FrameError {
    #[error("the frame is too short to hold its length")]
    Short,
    #[error("the frame claims {0} bytes of text, more than a frame holds")]
    TooLarge(u32),
    #[error("the compressed frame is damaged: {0}")]
    Decompress(std::io::Error),
    #[error("the frame is not a tcpwatch document: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the frame does not read back: {0}")]
    Contract(#[from] ContractError),
    #[error("compressing a frame failed: {0}")]
    Compress(std::io::Error),
}

/// The connections a frame keeps when there are more than `cap`: like the
/// dashboard's drill-down (per service port: by state in display order,
/// then remote and local address), taking from every port in turn so a
/// busy port cannot crowd the others out. Linear in the table: each port's
/// share is picked with a selection, and only the kept records are sorted.
pub fn select_connections(tick: &FullTick, cap: usize) -> Vec<SocketRecord> {
    let sockets = &tick.snapshot.sockets;
    if sockets.len() <= cap {
        return sockets.clone();
    }
    let listening: HashSet<u16> = tick
        .snapshot
        .listeners
        .iter()
        .map(|l| l.local.port())
        .collect();
    let filter_ports = &tick.snapshot.filter.ports;
    let mut by_port: BTreeMap<u16, Vec<&SocketRecord>> = BTreeMap::new();
    for socket in sockets {
        by_port
            .entry(service_port(socket, &listening, filter_ports))
            .or_default()
            .push(socket);
    }
    // Every port in turn: the smallest ports keep everything, the others
    // share what is left equally.
    let mut sizes: Vec<usize> = by_port.values().map(Vec::len).collect();
    sizes.sort_unstable();
    let mut left = cap;
    let mut share = 0;
    for (i, size) in sizes.iter().enumerate() {
        let even = left / (sizes.len() - i);
        if *size <= even {
            left -= size;
        } else {
            share = even;
            break;
        }
        share = usize::MAX;
    }
    // What an even share leaves over goes to the first ports, one each.
    let mut extra = if share == usize::MAX {
        0
    } else {
        left - share * sizes.iter().filter(|s| **s > share).count()
    };
    let display_order = |state: TcpState| TcpState::ALL.iter().position(|s| *s == state);
    let order = |s: &&SocketRecord| (display_order(s.state), s.remote, s.local);
    let mut kept = Vec::with_capacity(cap);
    for mut records in by_port.into_values() {
        let mut take = records.len().min(share);
        if take < records.len() && extra > 0 {
            take += 1;
            extra -= 1;
        }
        if take < records.len() && take > 0 {
            records.select_nth_unstable_by_key(take - 1, order);
        }
        records.truncate(take);
        records.sort_unstable_by_key(order);
        kept.extend(records.into_iter().copied());
    }
    kept
}

/// The frame flags of a tick.
pub fn frame_flags(tick: &FullTick) -> u8 {
    let mut bits = 0;
    if !tick.alert_events.is_empty() {
        bits |= flags::ALERT_EVENTS;
    }
    if !tick.active_alerts.is_empty() {
        bits |= flags::ACTIVE_ALERTS;
    }
    if !tick.transitions.is_empty() {
        bits |= flags::TRANSITIONS;
    }
    bits
}

/// The frame's document as JSON text.
pub fn frame_text(host: &str, tick: &FullTick, max_connections: usize) -> Vec<u8> {
    let connections = select_connections(tick, max_connections);
    let doc = SnapshotDoc::of(
        host,
        &tick.snapshot,
        &tick.aggregates,
        tick.deltas.as_ref(),
        &tick.active_alerts,
        FrameParts {
            alert_events: Some(&tick.alert_events),
            transitions: Some(&tick.transitions),
            peaks: Some(&tick.peaks),
            connections: Some(&connections),
        },
    );
    // Plain data with string keys: serializing cannot fail.
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// A compressor for frames against one keyframe's text (made once per
/// keyframe: loading a dictionary costs more than compressing a frame).
pub fn compressor(
    dictionary: Option<&[u8]>,
) -> Result<zstd::bulk::Compressor<'static>, FrameError> {
    match dictionary {
        Some(dictionary) => zstd::bulk::Compressor::with_dictionary(LEVEL, dictionary),
        None => zstd::bulk::Compressor::new(LEVEL),
    }
    .map_err(FrameError::Compress)
}

/// Compresses frame text, against `dictionary` (a keyframe's text) or alone.
pub fn compress(text: &[u8], dictionary: Option<&[u8]>) -> Result<Vec<u8>, FrameError> {
    compress_with(&mut compressor(dictionary)?, text)
}

/// Compresses frame text with a prepared compressor.
pub fn compress_with(
    compressor: &mut zstd::bulk::Compressor<'static>,
    text: &[u8],
) -> Result<Vec<u8>, FrameError> {
    let packed = compressor.compress(text).map_err(FrameError::Compress)?;
    let raw_len = u32::try_from(text.len()).unwrap_or(u32::MAX);
    let mut payload = Vec::with_capacity(4 + packed.len());
    payload.extend_from_slice(&raw_len.to_le_bytes());
    payload.extend_from_slice(&packed);
    Ok(payload)
}

/// A frame payload back to its text.
pub fn decompress(payload: &[u8], dictionary: Option<&[u8]>) -> Result<Vec<u8>, FrameError> {
    let (len, packed) = payload.split_first_chunk::<4>().ok_or(FrameError::Short)?;
    let raw_len = u32::from_le_bytes(*len);
    if raw_len > MAX_PAYLOAD {
        return Err(FrameError::TooLarge(raw_len));
    }
    let mut decompressor = match dictionary {
        Some(dictionary) => zstd::bulk::Decompressor::with_dictionary(dictionary),
        None => zstd::bulk::Decompressor::new(),
    }
    .map_err(FrameError::Decompress)?;
    let text = decompressor
        .decompress(packed, raw_len as usize)
        .map_err(FrameError::Decompress)?;
    if text.len() != raw_len as usize {
        return Err(FrameError::Decompress(std::io::Error::other(format!(
            "{} bytes instead of {raw_len}",
            text.len()
        ))));
    }
    Ok(text)
}

/// Frame text back to a tick (with the host it was recorded on).
pub fn tick_from_text(text: &[u8]) -> Result<(String, FullTick), FrameError> {
    let doc: SnapshotDoc = serde_json::from_slice(text)?;
    let decoded = doc.decode()?;
    Ok((
        decoded.host,
        FullTick {
            snapshot: decoded.snapshot,
            aggregates: decoded.aggregates,
            deltas: decoded.deltas,
            alert_events: decoded.alert_events,
            active_alerts: decoded.alerts,
            transitions: decoded.transitions,
            too_many_to_follow: None,
            following_truncated: false,
            events: Vec::new(),
            event_counts: None,
            peaks: decoded.peaks,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::scenarios::linux_defaults;
    use crate::model::socket::fixtures::{listener, record};
    use crate::model::{ListenerPeaks, Snapshot, SourceKind, aggregate};

    pub(crate) fn tick_with(sockets: Vec<SocketRecord>) -> FullTick {
        let mut snapshot = Snapshot::empty(1_795_470_012_000, SourceKind::Netlink);
        snapshot.settings = linux_defaults();
        snapshot.listeners = vec![
            listener("127.0.0.1:80", 0, 128),
            listener("127.0.0.1:443", 0, 128),
        ];
        snapshot.table_size = sockets.len() as u64;
        snapshot.sockets = sockets;
        let aggregates = aggregate(&snapshot);
        FullTick {
            snapshot,
            aggregates,
            deltas: None,
            alert_events: Vec::new(),
            active_alerts: Vec::new(),
            transitions: Vec::new(),
            too_many_to_follow: None,
            following_truncated: false,
            events: Vec::new(),
            event_counts: None,
            peaks: ListenerPeaks::new(),
        }
    }

    fn client(state: TcpState, port: u16, n: u16) -> SocketRecord {
        record(
            state,
            &format!("127.0.0.1:{port}"),
            &format!("127.0.0.2:{}", 10_000 + n),
        )
    }

    #[test]
    fn a_small_table_is_kept_whole() {
        let tick = tick_with(
            (0..5)
                .map(|n| client(TcpState::Established, 80, n))
                .collect(),
        );
        assert_eq!(select_connections(&tick, 2000), tick.snapshot.sockets);
    }

    #[test]
    fn over_the_cap_every_port_gets_its_turn_in_drill_down_order() {
        let mut sockets: Vec<SocketRecord> = (0..100)
            .map(|n| client(TcpState::TimeWait, 80, n))
            .collect();
        sockets.extend((0..3).map(|n| client(TcpState::CloseWait, 443, n)));
        sockets.push(client(TcpState::Established, 80, 500));
        let tick = tick_with(sockets);
        let kept = select_connections(&tick, 10);
        assert_eq!(kept.len(), 10);
        let on_443 = kept.iter().filter(|s| s.local.port() == 443).count();
        assert_eq!(on_443, 3, "the quiet port keeps all its sockets");
        // Port 80's first pick is the ESTABLISHED one: drill-down order.
        assert_eq!(kept[0].state, TcpState::Established);
    }

    #[test]
    fn busy_ports_share_the_cap_evenly() {
        let mut sockets = Vec::new();
        for (port, count) in [(80u16, 100u16), (443, 50), (8080, 2)] {
            sockets.extend((0..count).map(|n| client(TcpState::Established, port, n)));
        }
        let mut tick = tick_with(sockets);
        tick.snapshot
            .listeners
            .push(listener("127.0.0.1:8080", 0, 128));
        let kept = select_connections(&tick, 41);
        let on = |port: u16| kept.iter().filter(|s| s.local.port() == port).count();
        assert_eq!(kept.len(), 41);
        assert_eq!(on(8080), 2);
        assert_eq!(on(80) + on(443), 39);
        assert!(on(80).abs_diff(on(443)) <= 1, "{} {}", on(80), on(443));
        // Each port keeps its first connections in drill-down order.
        let first_80: Vec<_> = kept.iter().filter(|s| s.local.port() == 80).collect();
        assert_eq!(first_80[0].remote.port(), 10_000);
    }

    #[test]
    fn frames_round_trip_alone_and_against_a_keyframe() {
        let tick = tick_with(
            (0..50)
                .map(|n| client(TcpState::Established, 80, n))
                .collect(),
        );
        let text = frame_text("box", &tick, 2000);
        let key = compress(&text, None).expect("compress");
        assert_eq!(decompress(&key, None).expect("decompress"), text);
        let next = tick_with(
            (0..51)
                .map(|n| client(TcpState::Established, 80, n))
                .collect(),
        );
        let next_text = frame_text("box", &next, 2000);
        let delta = compress(&next_text, Some(&text)).expect("compress");
        assert!(
            delta.len() < key.len() / 4,
            "{} vs {}",
            delta.len(),
            key.len()
        );
        let back = decompress(&delta, Some(&text)).expect("decompress");
        let (host, decoded) = tick_from_text(&back).expect("decodes");
        assert_eq!(host, "box");
        assert_eq!(decoded.snapshot.sockets, next.snapshot.sockets);
        assert_eq!(decoded.aggregates, next.aggregates);
        assert!(decompress(&delta, None).is_err(), "needs its keyframe");
    }
}
