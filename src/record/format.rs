//! The recording file's framing: a file magic, then records, each a fixed
//! header (magic, kind, flags, time, keyframe offset, length, CRC-32) and a
//! payload. A record is whole or absent: a reader stops at the first one
//! whose header, length or checksum does not hold.
//!
//! Owns: the byte layout and its pure encoder and decoder. Must not: do
//! I/O, compress or interpret payloads.

use thiserror::Error;

/// The first bytes of every recording.
pub const FILE_MAGIC: &[u8; 8] = b"TWREC\0\0\x01";
/// The first bytes of every record.
pub const RECORD_MAGIC: &[u8; 4] = b"TWFR";
/// The fixed size of a record header.
pub const RECORD_HEADER_LEN: usize = 32;
/// The last bytes of a cleanly closed recording: this magic and the offset
/// of the index record.
pub const FOOTER_MAGIC: &[u8; 8] = b"TWIXEND\0";
pub const FOOTER_LEN: usize = 16;
/// No payload is larger than this; a larger length is damage.
pub const MAX_PAYLOAD: u32 = 256 << 20;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// JSON: the recording header (host, kernel, flags, start time).
    Header,
    /// A frame compressed alone; its text is the dictionary of the frames
    /// that follow it.
    KeyFrame,
    /// A frame compressed against the keyframe at `key_offset`.
    Frame,
    /// The frame index, written when the recording is closed.
    Index,
}

impl RecordKind {
    fn code(self) -> u8 {
        match self {
            RecordKind::Header => 1,
            RecordKind::KeyFrame => 2,
            RecordKind::Frame => 3,
            RecordKind::Index => 4,
        }
    }

    fn from_code(code: u8) -> Option<RecordKind> {
        match code {
            1 => Some(RecordKind::Header),
            2 => Some(RecordKind::KeyFrame),
            3 => Some(RecordKind::Frame),
            4 => Some(RecordKind::Index),
            _ => None,
        }
    }

    pub fn is_frame(self) -> bool {
        matches!(self, RecordKind::KeyFrame | RecordKind::Frame)
    }
}

/// Frame flags: what a frame holds, so a reader can find alerts without
/// decompressing.
pub mod flags {
    /// Alerts were raised or cleared at this frame.
    pub const ALERT_EVENTS: u8 = 1;
    /// Some alert was active.
    pub const ACTIVE_ALERTS: u8 = 2;
    /// Some connection changed state.
    pub const TRANSITIONS: u8 = 4;
}

/// A record's header, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub kind: RecordKind,
    pub flags: u8,
    pub at_ms: u64,
    /// For frames: where their keyframe starts (a keyframe: itself).
    pub key_offset: u64,
    pub payload_len: u32,
    pub crc: u32,
}

impl RecordHeader {
    /// Header plus payload.
    pub fn total_len(&self) -> u64 {
        RECORD_HEADER_LEN as u64 + u64::from(self.payload_len)
    }
}

/// Why bytes are not a whole record.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FramingError {
    #[error("the record is cut short ({have} of {need} bytes)")]
    Truncated { have: u64, need: u64 },
    #[error("no record starts here (bad magic)")]
    BadMagic,
    #[error("unknown record kind {0}")]
    UnknownKind(u8),
    #[error("a record claims {0} bytes, more than any record holds")]
    TooLarge(u32),
    #[error("the record's checksum does not match: its bytes were damaged")]
    BadChecksum,
}

fn checksum(header_fields: &[u8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(header_fields);
    hasher.update(payload);
    hasher.finalize()
}

/// One whole record: header and payload, ready to write in one call.
pub fn encode_record(
    kind: RecordKind,
    record_flags: u8,
    at_ms: u64,
    key_offset: u64,
    payload: &[u8],
) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(RECORD_HEADER_LEN + payload.len());
    bytes.extend_from_slice(RECORD_MAGIC);
    bytes.push(kind.code());
    bytes.push(record_flags);
    bytes.extend_from_slice(&[0, 0]);
    bytes.extend_from_slice(&at_ms.to_le_bytes());
    bytes.extend_from_slice(&key_offset.to_le_bytes());
    // Payloads are kept far below 4 GiB (MAX_PAYLOAD); saturate rather than wrap.
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    bytes.extend_from_slice(&len.to_le_bytes());
    let crc = checksum(&bytes[4..28], payload);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    if let Some(slice) = bytes.get(at..at + 8) {
        word.copy_from_slice(slice);
    }
    u64::from_le_bytes(word)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    if let Some(slice) = bytes.get(at..at + 4) {
        word.copy_from_slice(slice);
    }
    u32::from_le_bytes(word)
}

/// Decodes a record header (the first `RECORD_HEADER_LEN` bytes); the
/// checksum is checked by `check_payload` once the payload is read.
pub fn decode_header(bytes: &[u8]) -> Result<RecordHeader, FramingError> {
    let Some(head) = bytes.get(..RECORD_HEADER_LEN) else {
        return Err(FramingError::Truncated {
            have: bytes.len() as u64,
            need: RECORD_HEADER_LEN as u64,
        });
    };
    if &head[..4] != RECORD_MAGIC {
        return Err(FramingError::BadMagic);
    }
    let kind = RecordKind::from_code(head[4]).ok_or(FramingError::UnknownKind(head[4]))?;
    let payload_len = u32_at(head, 24);
    if payload_len > MAX_PAYLOAD {
        return Err(FramingError::TooLarge(payload_len));
    }
    Ok(RecordHeader {
        kind,
        flags: head[5],
        at_ms: u64_at(head, 8),
        key_offset: u64_at(head, 16),
        payload_len,
        crc: u32_at(head, 28),
    })
}

/// Checks a payload against its header's length and checksum.
pub fn check_payload(
    header_bytes: &[u8],
    header: &RecordHeader,
    payload: &[u8],
) -> Result<(), FramingError> {
    if payload.len() as u64 != u64::from(header.payload_len) {
        return Err(FramingError::Truncated {
            have: payload.len() as u64,
            need: u64::from(header.payload_len),
        });
    }
    let fields = header_bytes.get(4..28).ok_or(FramingError::Truncated {
        have: header_bytes.len() as u64,
        need: RECORD_HEADER_LEN as u64,
    })?;
    if checksum(fields, payload) != header.crc {
        return Err(FramingError::BadChecksum);
    }
    Ok(())
}

/// Decodes the whole record at the start of `bytes`: its header and payload.
pub fn decode_record(bytes: &[u8]) -> Result<(RecordHeader, &[u8]), FramingError> {
    let header = decode_header(bytes)?;
    let end = RECORD_HEADER_LEN as u64 + u64::from(header.payload_len);
    let payload = usize::try_from(end)
        .ok()
        .and_then(|end| bytes.get(RECORD_HEADER_LEN..end))
        .ok_or(FramingError::Truncated {
            have: bytes.len() as u64,
            need: end,
        })?;
    check_payload(bytes, &header, payload)?;
    Ok((header, payload))
}

/// The footer of a cleanly closed recording.
pub fn encode_footer(index_offset: u64) -> [u8; FOOTER_LEN] {
    let mut footer = [0u8; FOOTER_LEN];
    footer[..8].copy_from_slice(FOOTER_MAGIC);
    footer[8..].copy_from_slice(&index_offset.to_le_bytes());
    footer
}

/// The index offset a footer names, if these bytes are one.
pub fn decode_footer(bytes: &[u8]) -> Option<u64> {
    (bytes.len() == FOOTER_LEN && &bytes[..8] == FOOTER_MAGIC).then(|| u64_at(bytes, 8))
}

/// One frame in the index: where it starts, when it was taken, where its
/// keyframe starts, and its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameEntry {
    pub offset: u64,
    pub at_ms: u64,
    pub key_offset: u64,
    pub flags: u8,
}

const ENTRY_LEN: usize = 25;

/// The index payload: 25 bytes per frame.
pub fn encode_index(entries: &[FrameEntry]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(entries.len() * ENTRY_LEN);
    for entry in entries {
        bytes.extend_from_slice(&entry.offset.to_le_bytes());
        bytes.extend_from_slice(&entry.at_ms.to_le_bytes());
        bytes.extend_from_slice(&entry.key_offset.to_le_bytes());
        bytes.push(entry.flags);
    }
    bytes
}

/// Reads an index payload; `None` when its length is not whole entries.
pub fn decode_index(bytes: &[u8]) -> Option<Vec<FrameEntry>> {
    if !bytes.len().is_multiple_of(ENTRY_LEN) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(ENTRY_LEN)
            .map(|chunk| FrameEntry {
                offset: u64_at(chunk, 0),
                at_ms: u64_at(chunk, 8),
                key_offset: u64_at(chunk, 16),
                flags: chunk[24],
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips() {
        let bytes = encode_record(RecordKind::Frame, flags::ALERT_EVENTS, 1234, 40, b"hello");
        let (header, payload) = decode_record(&bytes).expect("whole");
        assert_eq!(header.kind, RecordKind::Frame);
        assert_eq!(header.flags, flags::ALERT_EVENTS);
        assert_eq!(header.at_ms, 1234);
        assert_eq!(header.key_offset, 40);
        assert_eq!(payload, b"hello");
        assert_eq!(header.total_len(), bytes.len() as u64);
    }

    #[test]
    fn every_cut_and_every_flipped_bit_is_refused() {
        let bytes = encode_record(RecordKind::KeyFrame, 0, 99, 0, b"some payload bytes");
        for cut in 0..bytes.len() {
            assert!(decode_record(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[at] ^= 1 << bit;
                assert!(decode_record(&damaged).is_err(), "byte {at} bit {bit}");
            }
        }
    }

    #[test]
    fn the_index_and_footer_round_trip() {
        let entries = vec![
            FrameEntry {
                offset: 8,
                at_ms: 1,
                key_offset: 8,
                flags: 0,
            },
            FrameEntry {
                offset: 900,
                at_ms: 1001,
                key_offset: 8,
                flags: flags::ACTIVE_ALERTS,
            },
        ];
        assert_eq!(decode_index(&encode_index(&entries)), Some(entries));
        assert_eq!(decode_index(&[0; 3]), None);
        assert_eq!(decode_footer(&encode_footer(77)), Some(77));
        assert_eq!(decode_footer(&[0; FOOTER_LEN]), None);
    }
}
