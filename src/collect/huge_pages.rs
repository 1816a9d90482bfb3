//! Big record buffers on huge pages: a snapshot of 100,000 sockets is 9.6
//! MB written once per tick. Whenever that memory is fresh (the first
//! ticks, a table that grew, a heap given back to the kernel) it costs a
//! page fault per 4 KiB, about 2,400, unless the kernel may back it with
//! 2 MiB pages. In a steady run the allocator mostly hands the freed buffer
//! out again.
//!
//! Owns: allocating the collector's record buffer and advising the kernel
//! (`MADV_HUGEPAGE`) on its whole 2 MiB blocks. Must not: fail or change
//! what the buffer holds: the advice is best effort (transparent huge pages
//! may be off, `never`, or unavailable), and only ever a hint.

use crate::model::SocketRecord;

/// The huge page size on x86-64 and arm64 (with 4 KiB base pages).
const HUGE_PAGE_BYTES: usize = 2 << 20;
/// Buffers smaller than this are left alone: they span too few huge pages
/// to be worth a system call.
const ADVISE_FROM_BYTES: usize = 2 * HUGE_PAGE_BYTES;

/// An empty buffer with room for `capacity` records, on huge pages where the
/// kernel allows.
pub(crate) fn record_buffer(capacity: usize) -> Vec<SocketRecord> {
    let buffer: Vec<SocketRecord> = Vec::with_capacity(capacity);
    let bytes = buffer.capacity().saturating_mul(size_of::<SocketRecord>());
    if bytes >= ADVISE_FROM_BYTES {
        advise_huge_pages(buffer.as_ptr() as usize, bytes);
    }
    buffer
}

/// The whole huge pages within `[start, start + len)`: (first, length).
fn whole_huge_pages(start: usize, len: usize) -> Option<(usize, usize)> {
    let first = start.checked_next_multiple_of(HUGE_PAGE_BYTES)?;
    let end = start.checked_add(len)? / HUGE_PAGE_BYTES * HUGE_PAGE_BYTES;
    (end > first).then(|| (first, end - first))
}

fn advise_huge_pages(start: usize, len: usize) {
    let Some((first, length)) = whole_huge_pages(start, len) else {
        return;
    };
    #[cfg(target_os = "linux")]
    // SAFETY: the range lies within one live allocation this function's
    // caller owns; MADV_HUGEPAGE only changes how the kernel backs it, never
    // its contents. A refusal (THP off, an old kernel) is ignored.
    unsafe {
        libc::madvise(first as *mut libc::c_void, length, libc::MADV_HUGEPAGE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_aligned_huge_pages_are_advised() {
        let mib = 1 << 20;
        assert_eq!(whole_huge_pages(3 * mib, 6 * mib), Some((4 * mib, 4 * mib)));
        assert_eq!(whole_huge_pages(4 * mib, 2 * mib), Some((4 * mib, 2 * mib)));
        assert_eq!(whole_huge_pages(3 * mib, 2 * mib), None, "no whole page");
        assert_eq!(whole_huge_pages(usize::MAX - 10, 20), None, "no overflow");
    }

    #[test]
    fn a_big_buffer_keeps_its_capacity_and_holds_records() {
        let mut buffer = record_buffer(100_000);
        assert!(buffer.capacity() >= 100_000);
        assert!(buffer.is_empty());
        let record = crate::model::socket::fixtures::record(
            crate::model::TcpState::Established,
            "127.0.0.1:1",
            "127.0.0.1:2",
        );
        buffer.extend(std::iter::repeat_n(record, 100_000));
        assert!(buffer.iter().all(|r| *r == record));
    }
}
