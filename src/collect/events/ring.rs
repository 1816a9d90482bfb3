//! Walks the records of a perf ring buffer between its tail and head,
//! including a record that wraps around the end of the data area.
//!
//! Owns: the perf record framing (`perf_event_header`, the sample layout for
//! `PERF_SAMPLE_TIME | PERF_SAMPLE_RAW`, `PERF_RECORD_LOST`). Must not: touch
//! the mapping itself (it gets a byte slice) or interpret the raw tracepoint
//! data (that is `decode`).

const PERF_RECORD_LOST: u32 = 2;
const PERF_RECORD_SAMPLE: u32 = 9;
const HEADER_LEN: usize = 8;

/// One record found in the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingRecord<'a> {
    /// A tracepoint sample: CLOCK_MONOTONIC ns and the raw tracepoint record.
    Sample { time_ns: u64, raw: &'a [u8] },
    /// The kernel had no room and dropped `count` samples.
    Lost { count: u64 },
}

/// What one walk found, beyond the records handed to the sink.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalkSummary {
    /// Where the walk stopped: hand this back to the kernel as the new tail.
    pub new_tail: u64,
    pub samples: u64,
    /// Samples the kernel reports as lost (`PERF_RECORD_LOST`).
    pub lost: u64,
    /// Bytes skipped because a record header made no sense.
    pub malformed_bytes: u64,
}

/// Walks the records from `tail` to `head` (free-running byte counters) in
/// `data`, whose length is a power of two. A record that wraps is copied into
/// `scratch`. A malformed header ends the walk and skips to `head`.
pub fn walk_ring(
    data: &[u8],
    tail: u64,
    head: u64,
    scratch: &mut Vec<u8>,
    sink: &mut dyn FnMut(RingRecord<'_>),
) -> WalkSummary {
    let mut summary = WalkSummary {
        new_tail: tail,
        ..WalkSummary::default()
    };
    let len = data.len() as u64;
    if len == 0 || head < tail || head - tail > len {
        summary.malformed_bytes = head.wrapping_sub(tail);
        summary.new_tail = head;
        return summary;
    }
    let mut position = tail;
    while head - position >= HEADER_LEN as u64 {
        let mut header = [0u8; HEADER_LEN];
        copy_wrapped(data, position, &mut header);
        let kind = u32::from_ne_bytes([header[0], header[1], header[2], header[3]]);
        let size = u16::from_ne_bytes([header[6], header[7]]) as u64;
        if size < HEADER_LEN as u64 || size > head - position {
            summary.malformed_bytes += head - position;
            position = head;
            break;
        }
        let start = (position % len) as usize;
        let body: &[u8] = if start as u64 + size <= len {
            &data[start..start + size as usize]
        } else {
            scratch.clear();
            scratch.resize(size as usize, 0);
            copy_wrapped(data, position, scratch);
            scratch
        };
        let body = &body[HEADER_LEN..];
        match kind {
            PERF_RECORD_SAMPLE => {
                if let Some((time_ns, raw)) = split_sample(body) {
                    summary.samples += 1;
                    sink(RingRecord::Sample { time_ns, raw });
                } else {
                    summary.malformed_bytes += size;
                }
            }
            PERF_RECORD_LOST => {
                let count = read_u64(body, 8).unwrap_or(0);
                summary.lost += count;
                sink(RingRecord::Lost { count });
            }
            _ => {}
        }
        position += size;
    }
    summary.new_tail = position;
    summary
}

/// `{ u64 time; u32 size; u8 raw[size]; }`
fn split_sample(body: &[u8]) -> Option<(u64, &[u8])> {
    let time_ns = read_u64(body, 0)?;
    let raw_len = u32::from_ne_bytes(body.get(8..12)?.try_into().ok()?) as usize;
    let raw = body.get(12..12usize.checked_add(raw_len)?)?;
    Some((time_ns, raw))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Copies `out.len()` bytes starting at free-running `position`, wrapping.
fn copy_wrapped(data: &[u8], position: u64, out: &mut [u8]) {
    let len = data.len();
    let start = (position % len as u64) as usize;
    let first = out.len().min(len - start);
    out[..first].copy_from_slice(&data[start..start + first]);
    let rest = out.len() - first;
    out[first..].copy_from_slice(&data[..rest]);
}

/// Test helpers: build ring contents the way the kernel writes them.
#[cfg(test)]
pub(crate) mod build {
    use super::*;

    pub fn sample(time_ns: u64, raw: &[u8]) -> Vec<u8> {
        let unpadded = HEADER_LEN + 8 + 4 + raw.len();
        let size = unpadded.div_ceil(8) * 8;
        let mut record = Vec::with_capacity(size);
        record.extend_from_slice(&PERF_RECORD_SAMPLE.to_ne_bytes());
        record.extend_from_slice(&0u16.to_ne_bytes());
        record.extend_from_slice(&(size as u16).to_ne_bytes());
        record.extend_from_slice(&time_ns.to_ne_bytes());
        record.extend_from_slice(&(raw.len() as u32).to_ne_bytes());
        record.extend_from_slice(raw);
        record.resize(size, 0);
        record
    }

    pub fn lost(count: u64) -> Vec<u8> {
        let mut record = Vec::new();
        record.extend_from_slice(&PERF_RECORD_LOST.to_ne_bytes());
        record.extend_from_slice(&0u16.to_ne_bytes());
        record.extend_from_slice(&24u16.to_ne_bytes());
        record.extend_from_slice(&7u64.to_ne_bytes());
        record.extend_from_slice(&count.to_ne_bytes());
        record
    }

    /// Writes `records` into a ring of `len` bytes starting at `tail`.
    pub fn ring(len: usize, tail: u64, records: &[Vec<u8>]) -> (Vec<u8>, u64) {
        let mut data = vec![0u8; len];
        let mut position = tail;
        for record in records {
            for byte in record {
                data[(position % len as u64) as usize] = *byte;
                position += 1;
            }
        }
        (data, position)
    }
}

#[cfg(test)]
mod tests {
    use super::build::*;
    use super::*;

    fn collect(data: &[u8], tail: u64, head: u64) -> (Vec<(u64, Vec<u8>)>, WalkSummary) {
        let mut seen = Vec::new();
        let mut scratch = Vec::new();
        let summary = walk_ring(data, tail, head, &mut scratch, &mut |record| {
            if let RingRecord::Sample { time_ns, raw } = record {
                seen.push((time_ns, raw.to_vec()));
            }
        });
        (seen, summary)
    }

    #[test]
    fn reads_samples_in_order_and_counts_lost_records() {
        let records = vec![sample(10, b"abc"), lost(5), sample(20, &[9; 17])];
        let (data, head) = ring(256, 0, &records);
        let (seen, summary) = collect(&data, 0, head);
        assert_eq!(seen, vec![(10, b"abc".to_vec()), (20, vec![9; 17])]);
        assert_eq!(summary.samples, 2);
        assert_eq!(summary.lost, 5);
        assert_eq!(summary.new_tail, head);
        assert_eq!(summary.malformed_bytes, 0);
    }

    #[test]
    fn a_record_wrapping_the_end_of_the_ring_is_read_whole() {
        // 40 + 48 + 24 bytes: fits a 128-byte ring.
        let records = vec![sample(1, &[1; 20]), sample(2, &[2; 24]), sample(3, &[3; 4])];
        // Start 24 bytes before the end of a 128-byte ring: the first record
        // (40 bytes) wraps.
        let tail = 10 * 128 + 104;
        let (data, head) = ring(128, tail, &records);
        let (seen, summary) = collect(&data, tail, head);
        assert_eq!(
            seen,
            vec![(1, vec![1; 20]), (2, vec![2; 24]), (3, vec![3; 4])]
        );
        assert_eq!(summary.new_tail, head);
    }

    #[test]
    fn a_record_longer_than_what_the_kernel_published_is_malformed() {
        let records = vec![sample(1, &[1; 20])];
        let (data, head) = ring(128, 0, &records);
        let (seen, summary) = collect(&data, 0, head - 4);
        assert!(seen.is_empty());
        assert_eq!(summary.malformed_bytes, head - 4);
    }

    #[test]
    fn nonsense_headers_skip_to_the_head() {
        let data = vec![0xffu8; 64];
        let (seen, summary) = collect(&data, 0, 64);
        assert!(seen.is_empty());
        assert_eq!(summary.new_tail, 64);
        assert!(summary.malformed_bytes > 0);
        let (_, backwards) = collect(&data, 64, 0);
        assert_eq!(backwards.new_tail, 0);
    }
}
