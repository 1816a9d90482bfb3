//! Errors of the tracepoint event source, each worded so the user knows what
//! to do (and so `--events auto` can say in one line why it polls instead).
//!
//! Owns: `EventsError`. Must not: print or exit; callers decide.

use std::io;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventsError {
    #[error(
        "reading kernel tracepoints needs root or CAP_PERFMON ({source}); run as root, or `setcap cap_perfmon,cap_sys_admin+ep tcpwatch`"
    )]
    Permission {
        #[source]
        source: io::Error,
    },
    #[error(
        "tracefs is not mounted and could not be mounted privately ({source}); mount it with `mount -t tracefs nodev /sys/kernel/tracing`"
    )]
    NoTracefs {
        #[source]
        source: io::Error,
    },
    #[error("tracepoint {group}:{name} is not available on this kernel ({source})")]
    MissingTracepoint {
        group: &'static str,
        name: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("tracepoint {group}:{name}: {reason}")]
    BadFormat {
        group: &'static str,
        name: &'static str,
        reason: String,
    },
    #[error("perf_event_open of {tracepoint} on CPU {cpu} failed ({source})")]
    Open {
        tracepoint: &'static str,
        cpu: u32,
        #[source]
        source: io::Error,
    },
    #[error(
        "cannot map the perf ring buffer of CPU {cpu} ({source}); raise `ulimit -l` or kernel.perf_event_mlock_kb"
    )]
    Mmap {
        cpu: u32,
        #[source]
        source: io::Error,
    },
    #[error("cannot list the online CPUs ({source})")]
    Cpus {
        #[source]
        source: io::Error,
    },
    #[error("cannot start the tracefs thread ({source})")]
    Thread {
        #[source]
        source: io::Error,
    },
}

impl EventsError {
    /// True when the error means "not permitted" rather than "broken".
    pub fn is_permission(&self) -> bool {
        let denied =
            |e: &io::Error| matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM));
        match self {
            EventsError::Permission { .. } => true,
            EventsError::NoTracefs { source } => denied(source),
            EventsError::MissingTracepoint { source, .. } => denied(source),
            EventsError::Open { source, .. } => denied(source),
            _ => false,
        }
    }
}
