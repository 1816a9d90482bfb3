//! The `perf_event_open` syscall for one tracepoint on one CPU, and the
//! mmap'ed ring buffer that receives its samples (`PERF_SAMPLE_TIME |
//! PERF_SAMPLE_RAW`).
//!
//! Owns: the perf fds and mappings (closed and unmapped on drop), the
//! per-event filter ioctl. Must not: parse records (that is `ring` and
//! `decode`) or enable anything globally: each event is private to its fd
//! and vanishes when the fd is closed.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

const PERF_TYPE_TRACEPOINT: u32 = 2;
/// `PERF_ATTR_SIZE_VER5`: every field up to `__reserved_2`.
const PERF_ATTR_SIZE: u32 = 112;
pub(crate) const PERF_SAMPLE_TIME: u64 = 1 << 2;
pub(crate) const PERF_SAMPLE_RAW: u64 = 1 << 10;
const ATTR_DISABLED: u64 = 1 << 0;
const ATTR_WATERMARK: u64 = 1 << 14;
const ATTR_USE_CLOCKID: u64 = 1 << 25;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;

// ioctl numbers: _IO('$', n) and _IOW('$', n, …).
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
const PERF_EVENT_IOC_DISABLE: libc::c_ulong = 0x2401;
const PERF_EVENT_IOC_SET_OUTPUT: libc::c_ulong = 0x2405;
const PERF_EVENT_IOC_SET_FILTER: libc::c_ulong = 0x4008_2406;

/// `struct perf_event_attr` up to `PERF_ATTR_SIZE_VER5`.
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_watermark: u32,
    bp_type: u32,
    config1: u64,
    config2: u64,
    branch_sample_type: u64,
    sample_regs_user: u64,
    sample_stack_user: u32,
    clockid: i32,
    sample_regs_intr: u64,
    aux_watermark: u32,
    sample_max_stack: u16,
    reserved_2: u16,
}

/// One tracepoint opened on one CPU.
#[derive(Debug)]
pub struct PerfEvent {
    fd: OwnedFd,
}

impl PerfEvent {
    /// Opens tracepoint `id` on `cpu`, for every process (pid -1), disabled
    /// until `enable`. Samples carry the CLOCK_MONOTONIC time and the raw
    /// record. `wakeup_bytes`: poll() wakes once this much is buffered.
    pub fn open_tracepoint(id: u32, cpu: u32, wakeup_bytes: u32) -> io::Result<PerfEvent> {
        let attr = PerfEventAttr {
            kind: PERF_TYPE_TRACEPOINT,
            size: PERF_ATTR_SIZE,
            config: u64::from(id),
            sample_period: 1,
            sample_type: PERF_SAMPLE_TIME | PERF_SAMPLE_RAW,
            flags: ATTR_DISABLED | ATTR_WATERMARK | ATTR_USE_CLOCKID,
            wakeup_watermark: wakeup_bytes,
            clockid: libc::CLOCK_MONOTONIC,
            ..PerfEventAttr::default()
        };
        // SAFETY: attr is a valid perf_event_attr of the size it declares.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                &attr as *const PerfEventAttr,
                -1 as libc::pid_t,
                cpu as libc::c_int,
                -1 as libc::c_int,
                PERF_FLAG_FD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel returned a fresh fd that nobody else owns.
        Ok(PerfEvent {
            fd: unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) },
        })
    }

    /// An ftrace filter on this event only (e.g. `sport == 80 || dport == 80`),
    /// evaluated in the kernel before a sample is written.
    pub fn set_filter(&self, filter: &str) -> io::Result<()> {
        let text = CString::new(filter).map_err(io::Error::other)?;
        self.ioctl(PERF_EVENT_IOC_SET_FILTER, text.as_ptr() as libc::c_ulong)
    }

    /// Sends this event's samples to `target`'s ring (same CPU).
    pub fn redirect_to(&self, target: &PerfEvent) -> io::Result<()> {
        self.ioctl(
            PERF_EVENT_IOC_SET_OUTPUT,
            target.fd.as_raw_fd() as libc::c_ulong,
        )
    }

    pub fn enable(&self) -> io::Result<()> {
        self.ioctl(PERF_EVENT_IOC_ENABLE, 0)
    }

    pub fn disable(&self) -> io::Result<()> {
        self.ioctl(PERF_EVENT_IOC_DISABLE, 0)
    }

    /// How many times the tracepoint fired on this CPU and passed the
    /// filter while enabled: one sample each should have reached the ring.
    pub fn count(&self) -> io::Result<u64> {
        let mut value = [0u8; 8];
        // SAFETY: reading 8 bytes into a buffer of 8 from an fd we own
        // (read_format 0: the bare count).
        let read =
            unsafe { libc::read(self.fd.as_raw_fd(), value.as_mut_ptr().cast(), value.len()) };
        if read != 8 {
            return Err(io::Error::last_os_error());
        }
        Ok(u64::from_ne_bytes(value))
    }

    pub fn raw_fd(&self) -> libc::c_int {
        self.fd.as_raw_fd()
    }

    fn ioctl(&self, request: libc::c_ulong, arg: libc::c_ulong) -> io::Result<()> {
        // SAFETY: perf ioctls on an fd we own; `arg` is a value or a pointer
        // that outlives the call.
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), request as _, arg) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

/// Offsets in `struct perf_event_mmap_page`.
const DATA_HEAD_OFFSET: usize = 1024;
const DATA_TAIL_OFFSET: usize = 1032;

/// The mmap'ed ring of one CPU: one metadata page, then `2^n` data pages.
#[derive(Debug)]
pub struct RingMap {
    base: NonNull<u8>,
    map_len: usize,
    page_size: usize,
    data_size: usize,
}

// SAFETY: the mapping is owned by this value and only touched through &mut
// self (reads of the data area, atomic head/tail access).
unsafe impl Send for RingMap {}

impl RingMap {
    /// Maps `data_pages` (a power of two) data pages of `event`'s ring.
    pub fn map(event: &PerfEvent, data_pages: usize) -> io::Result<RingMap> {
        let page_size = page_size();
        let map_len = (data_pages + 1) * page_size;
        // SAFETY: a fresh shared mapping of the perf fd, checked below.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                event.raw_fd(),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base =
            NonNull::new(addr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap gave null"))?;
        Ok(RingMap {
            base,
            map_len,
            page_size,
            data_size: data_pages * page_size,
        })
    }

    fn head_tail(&self) -> (&AtomicU64, &AtomicU64) {
        // SAFETY: both offsets are inside the metadata page, 8-aligned, and
        // the kernel only accesses them atomically as well.
        unsafe {
            (
                &*self.base.as_ptr().add(DATA_HEAD_OFFSET).cast::<AtomicU64>(),
                &*self.base.as_ptr().add(DATA_TAIL_OFFSET).cast::<AtomicU64>(),
            )
        }
    }

    /// The records written since the last `consume`: the data area, the
    /// tail and the head (both free-running byte counters).
    pub fn pending(&self) -> (&[u8], u64, u64) {
        let (head, tail) = self.head_tail();
        let head = head.load(Ordering::Acquire);
        let tail = tail.load(Ordering::Relaxed);
        // SAFETY: the data area follows the metadata page and is data_size long.
        let data = unsafe {
            std::slice::from_raw_parts(self.base.as_ptr().add(self.page_size), self.data_size)
        };
        (data, tail, head)
    }

    /// Hands the space up to `new_tail` back to the kernel.
    pub fn consume(&self, new_tail: u64) {
        let (_, tail) = self.head_tail();
        tail.store(new_tail, Ordering::Release);
    }
}

impl Drop for RingMap {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping made in `map`.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.map_len);
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as usize } else { 4096 }
}

/// The online CPUs, from /sys/devices/system/cpu/online (`0-3,6`).
pub fn online_cpus() -> io::Result<Vec<u32>> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online")?;
    parse_cpu_list(&text).ok_or_else(|| io::Error::other(format!("bad CPU list '{}'", text.trim())))
}

pub(crate) fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (from.parse::<u32>().ok()?, to.parse::<u32>().ok()?);
                if to < from || to - from > 65_536 {
                    return None;
                }
                cpus.extend(from..=to);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    (!cpus.is_empty()).then_some(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_has_the_ver5_size() {
        assert_eq!(
            std::mem::size_of::<PerfEventAttr>(),
            PERF_ATTR_SIZE as usize
        );
    }

    #[test]
    fn parses_cpu_lists() {
        assert_eq!(parse_cpu_list("0-1\n"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_list("0,2-3,7"), Some(vec![0, 2, 3, 7]));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }
}
