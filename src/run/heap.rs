//! The process heap over hours: one malloc arena, and freed memory handed
//! back to the kernel when it piles up.
//!
//! glibc gives every thread that allocates an arena of its own (up to 8 per
//! core) and keeps what is freed for reuse. tcpwatch's threads (sampler,
//! owner scan, event reader, screen) allocate in bursts of different sizes,
//! so each arena settles at its own high-water mark, and a process whose
//! live data is flat still grows for minutes (the one-hour soak saw 12 → 15
//! MiB for `--stream`). One arena, and a trim when free memory outgrows the
//! live data, keep the resident size near what is in use. In the soak's
//! dashboard (4,400 sockets) a check every 10 s left the heap swinging by
//! 3 MiB; after every tick (1 s) it holds within about 0.5 MiB.
//!
//! Owns: the allocator settings, made once at start, and the trim policy.
//! Must not: allocate, or trim more often than `TRIM_EVERY_MS` (a trim
//! walks the free lists, and memory given back is faulted in again when
//! the table grows).

/// The shortest time between two trims.
pub(crate) const TRIM_EVERY_MS: u64 = 1_000;
/// Free memory kept in the heap without a trim: below this, trimming gains
/// less than the page faults it costs later.
const FREE_SLACK_BYTES: usize = 512 << 10;

/// One arena for the whole process. Call before any thread is started.
pub(crate) fn use_one_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; M_ARENA_MAX takes a count.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Whether a heap holding `free` bytes unused beside `in_use` live bytes is
/// worth trimming: more than the slack, and more than a sixteenth of what
/// is live (a big table's own churn between ticks is left alone; at 200 MiB
/// live, up to 12.5 MiB stays free, about 3,200 pages to fault in again).
pub(crate) fn worth_trimming(free: usize, in_use: usize) -> bool {
    free > FREE_SLACK_BYTES && free > in_use / 16
}

/// Returns every whole free page of every arena to the kernel.
fn give_back_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Trims at most every `TRIM_EVERY_MS`, when `worth_trimming` says so.
#[derive(Debug, Default)]
pub(crate) struct HeapTrimmer {
    last_check_ms: Option<u64>,
}

impl HeapTrimmer {
    /// Called after each tick with the tick's time.
    pub(crate) fn after_tick(&mut self, at_ms: u64) {
        let due = self
            .last_check_ms
            .is_none_or(|last| at_ms.saturating_sub(last) >= TRIM_EVERY_MS || at_ms < last);
        if !due {
            return;
        }
        self.last_check_ms = Some(at_ms);
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            // SAFETY: mallinfo2 reads the allocator's statistics; malloc_trim
            // returns free pages to the kernel. Neither touches live memory.
            let info = unsafe { libc::mallinfo2() };
            if worth_trimming(info.fordblks, info.uordblks) {
                give_back_free_memory();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_heaps_and_big_live_tables_are_left_alone() {
        // 256 KiB free: not worth the faults.
        assert!(!worth_trimming(256 << 10, 4 << 20));
        // 8 MiB free beside 200 MiB live: a big table's own churn.
        assert!(!worth_trimming(8 << 20, 200 << 20));
        // 1 MiB free beside 12 MiB live: trimmed.
        assert!(worth_trimming(1 << 20, 12 << 20));
    }

    #[test]
    fn the_heap_is_checked_at_most_every_second() {
        let mut trimmer = HeapTrimmer::default();
        trimmer.after_tick(1_000);
        assert_eq!(trimmer.last_check_ms, Some(1_000));
        trimmer.after_tick(1_500);
        assert_eq!(trimmer.last_check_ms, Some(1_000));
        trimmer.after_tick(2_000);
        assert_eq!(trimmer.last_check_ms, Some(2_000));
        // A clock that went back checks again rather than waiting.
        trimmer.after_tick(500);
        assert_eq!(trimmer.last_check_ms, Some(500));
    }

    /// Resident pages of this process, from /proc/self/statm.
    fn resident_bytes() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
        let pages: u64 = statm
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .expect("resident pages");
        pages * 4096
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn holes_left_by_freed_memory_are_given_back() {
        // Every other 8 KiB block freed: 32 MiB of holes that a top-of-heap
        // trim cannot return, and the trimmer can.
        let mut blocks: Vec<Vec<u8>> = (0..8_192).map(|_| vec![1u8; 8 << 10]).collect();
        let kept: Vec<Vec<u8>> = blocks
            .iter_mut()
            .enumerate()
            .filter(|(index, _)| index % 2 == 1)
            .map(|(_, block)| std::mem::take(block))
            .collect();
        drop(blocks);
        let before = resident_bytes();
        give_back_free_memory();
        let after = resident_bytes();
        // Each 8 KiB hole holds one or two whole pages (about 16 MiB in
        // all); other tests share this process: ask for half of that.
        assert!(
            before.saturating_sub(after) >= 8 << 20,
            "resident {before} before the trim, {after} after"
        );
        assert_eq!(kept.len(), 4_096);
    }
}
