//! The event source: the five tracepoints opened on every online CPU, one
//! ring buffer per CPU, drained into time-ordered `TcpEvent`s.
//!
//! Tracepoints are system-wide: they fire for every network namespace and
//! carry no namespace field. Events are filtered to the watched ports in the
//! kernel (a per-event ftrace filter set with an ioctl on our own fd, never
//! through tracefs), and again here.
//!
//! Owns: opening, enabling, draining and closing the perf events. Must not:
//! enable tracing globally or write under tracefs; every fd and mapping is
//! released on drop.

use std::time::Duration;

use super::decode::{
    Decoder, KFREE_SKB, RECEIVE_RESET, RETRANSMIT_SKB, RETRANSMIT_SYNACK, SET_STATE, TRACEPOINTS,
};
use super::error::EventsError;
use super::perf::{PerfEvent, RingMap, online_cpus};
use super::ring::{RingRecord, walk_ring};
use super::tracefs::{TracefsOrigin, TracepointName, read_formats};
use crate::model::event::TcpEvent;

/// Data pages per CPU ring: 128 pages (512 KiB) plus the metadata page is
/// 516 KiB, the default `kernel.perf_event_mlock_kb`, so it fits the
/// unprivileged (CAP_PERFMON) allowance too.
pub const DEFAULT_RING_PAGES: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOptions {
    /// Watched ports; empty: every port.
    pub ports: Vec<u16>,
    /// Data pages per CPU ring, a power of two.
    pub ring_pages: usize,
}

impl EventOptions {
    pub fn for_ports(ports: &[u16]) -> EventOptions {
        EventOptions {
            ports: ports.to_vec(),
            ring_pages: DEFAULT_RING_PAGES,
        }
    }
}

/// How many drains pass between two reads of the events' own counts
/// (`DRAIN_EVERY` apart: about once a second).
const COUNT_CHECK_EVERY_DRAINS: u32 = 20;

/// Counts since the source was opened. `lost` is never hidden: it is what
/// the kernel reported with `PERF_RECORD_LOST`, plus the events it counted
/// but never wrote to the ring (`undelivered`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventStats {
    pub samples: u64,
    pub lost: u64,
    /// Of `lost`: events the perf counters saw that never reached the ring
    /// and no `PERF_RECORD_LOST` owned up to. Seen on 6.18 in a VM: samples
    /// of timer-driven SYN retransmits on one CPU counted, never written.
    pub undelivered: u64,
    pub malformed_bytes: u64,
    /// Records that decoded to nothing (not TCP, unknown state, …).
    pub undecoded: u64,
    /// Decoded events outside the watched ports.
    pub filtered: u64,
}

struct CpuRing {
    // Field order matters: the mapping is released before the fds close.
    ring: RingMap,
    events: Vec<PerfEvent>,
}

/// The open tracepoints. Dropping it disables and closes everything.
pub struct EventSource {
    decoder: Decoder,
    cpus: Vec<CpuRing>,
    ports: Vec<u16>,
    /// CLOCK_REALTIME − CLOCK_MONOTONIC in ns, to stamp events with wall time.
    realtime_offset_ns: i128,
    scratch: Vec<u8>,
    stats: EventStats,
    origin: TracefsOrigin,
    /// False when the kernel refused a filter and everything is filtered here.
    kernel_filters: bool,
    /// `PERF_RECORD_LOST` counts alone (`stats.lost` adds `undelivered`).
    lost_records: u64,
    /// The sum of every event's count at the previous check.
    counted_at_last_check: u64,
    drains_since_check: u32,
}

impl std::fmt::Debug for EventSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSource")
            .field("cpus", &self.cpus.len())
            .field("ports", &self.ports)
            .field("stats", &self.stats)
            .finish()
    }
}

impl EventSource {
    /// Reads the format files, opens every tracepoint on every online CPU and
    /// enables them.
    pub fn open(options: &EventOptions) -> Result<EventSource, EventsError> {
        let (formats, origin) = read_formats(&TRACEPOINTS)?;
        let pairs: Vec<(TracepointName, _)> = TRACEPOINTS.iter().copied().zip(formats).collect();
        let decoder = Decoder::new(&pairs).map_err(|e| EventsError::BadFormat {
            group: "tcp",
            name: e.tracepoint,
            reason: e.to_string(),
        })?;
        let filters: Vec<Option<String>> = pairs
            .iter()
            .map(|(tp, _)| kernel_filter(*tp, &options.ports, &decoder))
            .collect();
        let cpus_list = online_cpus().map_err(|source| EventsError::Cpus { source })?;
        let ring_pages = options.ring_pages.max(1).next_power_of_two();
        let wakeup_bytes = u32::try_from(ring_pages * 4096 / 4).unwrap_or(u32::MAX);
        let mut kernel_filters = true;
        let mut cpus = Vec::with_capacity(cpus_list.len());
        for cpu in cpus_list {
            let mut events = Vec::with_capacity(pairs.len());
            for ((tp, format), filter) in pairs.iter().zip(&filters) {
                let event =
                    PerfEvent::open_tracepoint(format.id, cpu, wakeup_bytes).map_err(|source| {
                        if matches!(source.raw_os_error(), Some(libc::EACCES | libc::EPERM)) {
                            EventsError::Permission { source }
                        } else {
                            EventsError::Open {
                                tracepoint: tp.name,
                                cpu,
                                source,
                            }
                        }
                    })?;
                if let Some(filter) = filter
                    && event.set_filter(filter).is_err()
                {
                    kernel_filters = false;
                }
                events.push(event);
            }
            let Some(leader) = events.first() else {
                continue;
            };
            let ring = RingMap::map(leader, ring_pages)
                .map_err(|source| EventsError::Mmap { cpu, source })?;
            for follower in &events[1..] {
                follower
                    .redirect_to(leader)
                    .map_err(|source| EventsError::Open {
                        tracepoint: "set-output",
                        cpu,
                        source,
                    })?;
            }
            cpus.push(CpuRing { ring, events });
        }
        for cpu in &cpus {
            for event in &cpu.events {
                event.enable().map_err(|source| EventsError::Open {
                    tracepoint: "enable",
                    cpu: 0,
                    source,
                })?;
            }
        }
        Ok(EventSource {
            decoder,
            cpus,
            ports: options.ports.clone(),
            realtime_offset_ns: realtime_offset_ns(),
            scratch: Vec::new(),
            stats: EventStats::default(),
            origin,
            kernel_filters,
            lost_records: 0,
            counted_at_last_check: 0,
            drains_since_check: 0,
        })
    }

    pub fn stats(&self) -> EventStats {
        self.stats
    }

    pub fn origin(&self) -> &TracefsOrigin {
        &self.origin
    }

    pub fn kernel_filters(&self) -> bool {
        self.kernel_filters
    }

    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    pub fn cpu_count(&self) -> usize {
        self.cpus.len()
    }

    /// Waits until a ring has passed its wake-up mark or `timeout` passes.
    pub fn wait(&self, timeout: Duration) {
        let mut fds: Vec<libc::pollfd> = self
            .cpus
            .iter()
            .filter_map(|cpu| cpu.events.first())
            .map(|event| libc::pollfd {
                fd: event.raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let millis = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: fds is a valid array of pollfd for the duration of the call.
        unsafe {
            libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis);
        }
    }

    /// Reads every ring, appends the decoded events on the watched ports to
    /// `out` in time order, and returns how many samples were lost meanwhile.
    pub fn drain(&mut self, out: &mut Vec<TcpEvent>) -> u64 {
        let start = out.len();
        let lost_before = self.stats.lost;
        let offset = self.realtime_offset_ns;
        let decoder = &self.decoder;
        let ports = &self.ports;
        let stats = &mut self.stats;
        for cpu in &self.cpus {
            let (data, tail, head) = cpu.ring.pending();
            let summary = walk_ring(data, tail, head, &mut self.scratch, &mut |record| {
                if let RingRecord::Sample { time_ns, raw } = record {
                    let at_us = wall_us(time_ns, offset);
                    match decoder.decode(at_us, raw) {
                        Some(event) if event.on_ports(ports) || event.local.is_none() => {
                            out.push(event)
                        }
                        Some(_) => stats.filtered += 1,
                        None => stats.undecoded += 1,
                    }
                }
            });
            cpu.ring.consume(summary.new_tail);
            stats.samples += summary.samples;
            stats.lost += summary.lost;
            stats.malformed_bytes += summary.malformed_bytes;
            self.lost_records += summary.lost;
        }
        out[start..].sort_by_key(|event| event.at_us);
        self.drains_since_check += 1;
        if self.drains_since_check >= COUNT_CHECK_EVERY_DRAINS {
            self.drains_since_check = 0;
            self.check_undelivered();
        }
        self.stats.lost - lost_before
    }

    /// Compares what the kernel counted a check ago with what has reached
    /// the rings since (samples and `PERF_RECORD_LOST`), and adds the
    /// shortfall to `lost`. A check apart, every counted sample has had time
    /// to land, so nothing in flight is taken for lost.
    fn check_undelivered(&mut self) {
        let landed = self.stats.samples + self.lost_records;
        let fresh = fresh_undelivered(self.counted_at_last_check, landed, self.stats.undelivered);
        self.stats.undelivered += fresh;
        self.stats.lost += fresh;
        // A count that cannot be read is left out: never a false loss.
        self.counted_at_last_check = self
            .cpus
            .iter()
            .flat_map(|cpu| &cpu.events)
            .filter_map(|event| event.count().ok())
            .sum();
    }

    /// Reads every ring and hands each raw sample to `sink` undecoded (for
    /// captures and tests).
    pub fn drain_raw(&mut self, sink: &mut dyn FnMut(u64, &[u8])) {
        for cpu in &self.cpus {
            let (data, tail, head) = cpu.ring.pending();
            let summary = walk_ring(data, tail, head, &mut self.scratch, &mut |record| {
                if let RingRecord::Sample { time_ns, raw } = record {
                    sink(time_ns, raw);
                }
            });
            cpu.ring.consume(summary.new_tail);
            self.stats.samples += summary.samples;
            self.stats.lost += summary.lost;
            self.lost_records += summary.lost;
        }
    }
}

impl Drop for EventSource {
    fn drop(&mut self) {
        for cpu in &self.cpus {
            for event in &cpu.events {
                let _ = event.disable();
            }
        }
        // The mappings and fds are released as `cpus` drops.
    }
}

/// Events counted by the previous check that have not landed in a ring
/// (`landed`: samples and `PERF_RECORD_LOST` counts), beyond the ones
/// already reported.
fn fresh_undelivered(counted_before: u64, landed: u64, reported: u64) -> u64 {
    counted_before
        .saturating_sub(landed)
        .saturating_sub(reported)
}

/// The in-kernel filter for one tracepoint, or `None` to take all its records.
fn kernel_filter(tp: TracepointName, ports: &[u16], decoder: &Decoder) -> Option<String> {
    let port_clause = || -> Option<String> {
        if ports.is_empty() {
            return None;
        }
        let terms: Vec<String> = ports
            .iter()
            .map(|p| format!("sport == {p} || dport == {p}"))
            .collect();
        Some(terms.join(" || "))
    };
    if tp == SET_STATE {
        return Some(match port_clause() {
            Some(ports) => format!("protocol == 6 && ({ports})"),
            None => "protocol == 6".to_string(),
        });
    }
    if tp == RECEIVE_RESET || tp == RETRANSMIT_SYNACK || tp == RETRANSMIT_SKB {
        return port_clause();
    }
    if tp == KFREE_SKB {
        let codes = decoder.drop_reason_codes(is_tcp_drop_reason);
        if codes.is_empty() {
            return None;
        }
        let terms: Vec<String> = codes.iter().map(|c| format!("reason == {c}")).collect();
        return Some(terms.join(" || "));
    }
    None
}

/// The drop reasons tcpwatch reports: TCP's own and the socket-level ones
/// that TCP hits.
pub fn is_tcp_drop_reason(name: &str) -> bool {
    name.starts_with("TCP_")
        || matches!(
            name,
            "NO_SOCKET" | "SOCKET_BACKLOG" | "SOCKET_RCVBUFF" | "SOCKET_FILTER" | "PROTO_MEM"
        )
}

fn wall_us(monotonic_ns: u64, offset_ns: i128) -> u64 {
    let wall = i128::from(monotonic_ns) + offset_ns;
    u64::try_from(wall.max(0) / 1000).unwrap_or(u64::MAX)
}

fn realtime_offset_ns() -> i128 {
    let read = |clock| {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: ts is a valid timespec to write into.
        unsafe { libc::clock_gettime(clock, &mut ts) };
        i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
    };
    let mono_before = read(libc::CLOCK_MONOTONIC);
    let real = read(libc::CLOCK_REALTIME);
    let mono_after = read(libc::CLOCK_MONOTONIC);
    real - (mono_before + mono_after) / 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::events::decode::SEND_RESET;
    use crate::collect::events::decode::fixtures::captured_decoder;

    #[test]
    fn filters_name_the_ports_and_tcp() {
        let decoder = captured_decoder();
        assert_eq!(
            kernel_filter(SET_STATE, &[80, 443], &decoder).as_deref(),
            Some("protocol == 6 && (sport == 80 || dport == 80 || sport == 443 || dport == 443)")
        );
        assert_eq!(
            kernel_filter(SET_STATE, &[], &decoder).as_deref(),
            Some("protocol == 6")
        );
        assert_eq!(kernel_filter(RECEIVE_RESET, &[], &decoder), None);
        assert_eq!(kernel_filter(SEND_RESET, &[80], &decoder), None);
        let drops = kernel_filter(KFREE_SKB, &[80], &decoder).expect("drop filter");
        assert!(drops.contains("reason == 40"), "{drops}"); // TCP_LISTEN_OVERFLOW
        assert!(drops.contains("reason == 3 "), "{drops}"); // NO_SOCKET
        assert!(!drops.contains("reason == 12 "), "{drops}"); // NETFILTER_DROP
    }

    #[test]
    fn undelivered_is_what_was_counted_a_check_ago_and_never_landed() {
        // Everything landed, or more (counted after the check): no loss.
        assert_eq!(fresh_undelivered(10, 10, 0), 0);
        assert_eq!(fresh_undelivered(10, 14, 0), 0);
        // 12 counted, 6 landed: 6 lost, reported once.
        assert_eq!(fresh_undelivered(12, 6, 0), 6);
        assert_eq!(fresh_undelivered(12, 6, 6), 0);
        // Later: 24 counted, 12 landed, 6 already said: 6 more.
        assert_eq!(fresh_undelivered(24, 12, 6), 6);
    }

    #[test]
    fn wall_clock_conversion_never_underflows() {
        assert_eq!(wall_us(5_000, 1_000_000), 1_005);
        assert_eq!(wall_us(5_000, -10_000), 0);
    }
}
