//! The namespace-wide kernel figures that come with each snapshot: TCP
//! counters (/proc/net/netstat, /proc/net/snmp), sockstat, and sysctls.
//!
//! Owns: `Counter`, `Counters`, `Sockstat`, `Settings` and counter deltas.
//! Must not: read files (the parsers live in `collect::counters`).

/// A kernel TCP counter that tcpwatch tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Counter {
    ListenOverflows,
    ListenDrops,
    TcpTimeWaitOverflow,
    TimeWaitClosed,
    TcpReqQFullDrop,
    TcpReqQFullDoCookies,
    SyncookiesSent,
    TcpAbortOnOverflow,
    ActiveOpens,
    PassiveOpens,
    AttemptFails,
    EstabResets,
    CurrEstab,
    RetransSegs,
    OutRsts,
}

/// Which /proc file and table a counter lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterTable {
    /// `TcpExt:` in /proc/net/netstat.
    TcpExt,
    /// `Tcp:` in /proc/net/snmp.
    Tcp,
}

impl Counter {
    pub const ALL: [Counter; 15] = [
        Counter::ListenOverflows,
        Counter::ListenDrops,
        Counter::TcpTimeWaitOverflow,
        Counter::TimeWaitClosed,
        Counter::TcpReqQFullDrop,
        Counter::TcpReqQFullDoCookies,
        Counter::SyncookiesSent,
        Counter::TcpAbortOnOverflow,
        Counter::ActiveOpens,
        Counter::PassiveOpens,
        Counter::AttemptFails,
        Counter::EstabResets,
        Counter::CurrEstab,
        Counter::RetransSegs,
        Counter::OutRsts,
    ];

    /// The name the kernel prints in the header line, e.g. `ListenOverflows`.
    pub(crate) fn kernel_name(self) -> &'static str {
        match self {
            Counter::ListenOverflows => "ListenOverflows",
            Counter::ListenDrops => "ListenDrops",
            Counter::TcpTimeWaitOverflow => "TCPTimeWaitOverflow",
            Counter::TimeWaitClosed => "TW",
            Counter::TcpReqQFullDrop => "TCPReqQFullDrop",
            Counter::TcpReqQFullDoCookies => "TCPReqQFullDoCookies",
            Counter::SyncookiesSent => "SyncookiesSent",
            Counter::TcpAbortOnOverflow => "TCPAbortOnOverflow",
            Counter::ActiveOpens => "ActiveOpens",
            Counter::PassiveOpens => "PassiveOpens",
            Counter::AttemptFails => "AttemptFails",
            Counter::EstabResets => "EstabResets",
            Counter::CurrEstab => "CurrEstab",
            Counter::RetransSegs => "RetransSegs",
            Counter::OutRsts => "OutRsts",
        }
    }

    pub fn table(self) -> CounterTable {
        match self {
            Counter::ActiveOpens
            | Counter::PassiveOpens
            | Counter::AttemptFails
            | Counter::EstabResets
            | Counter::CurrEstab
            | Counter::RetransSegs
            | Counter::OutRsts => CounterTable::Tcp,
            _ => CounterTable::TcpExt,
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// Values of every tracked counter; `None` where the kernel did not report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    values: [Option<u64>; 15],
}

impl Counters {
    pub fn get(&self, counter: Counter) -> Option<u64> {
        self.values[counter.slot()]
    }

    pub fn set(&mut self, counter: Counter, value: u64) {
        self.values[counter.slot()] = Some(value);
    }

    /// Every counter with its value, in `Counter::ALL` order.
    pub fn iter(&self) -> impl Iterator<Item = (Counter, Option<u64>)> + '_ {
        Counter::ALL.iter().map(|c| (*c, self.get(*c)))
    }

    /// How much each counter grew since `earlier`. A counter that went down
    /// (a reset, or a gauge) reports `None` for growth rather than wrapping.
    pub fn delta_since(&self, earlier: &Counters) -> CounterDeltas {
        let mut deltas = CounterDeltas::default();
        for counter in Counter::ALL {
            if let (Some(now), Some(then)) = (self.get(counter), earlier.get(counter)) {
                deltas.values[counter.slot()] = now.checked_sub(then);
            }
        }
        deltas
    }
}

/// Growth of each counter between two snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CounterDeltas {
    values: [Option<u64>; 15],
}

impl CounterDeltas {
    pub fn get(&self, counter: Counter) -> Option<u64> {
        self.values[counter.slot()]
    }

    /// The growth, treating unknown as zero.
    pub(crate) fn growth(&self, counter: Counter) -> u64 {
        self.get(counter).unwrap_or(0)
    }
}

/// The `TCP:` line of /proc/net/sockstat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sockstat {
    pub inuse: u64,
    pub orphan: u64,
    /// Sockets in TIME_WAIT: the exact total, cheap to read every tick.
    pub tw: u64,
    pub alloc: u64,
    /// Pages of memory used by TCP.
    pub mem_pages: u64,
}

/// The sysctls that explain what the kernel does with a full queue,
/// TIME_WAIT and ephemeral ports. `None` where the value could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings {
    pub somaxconn: Option<u32>,
    pub tcp_max_syn_backlog: Option<u32>,
    pub tcp_syncookies: Option<u32>,
    pub tcp_abort_on_overflow: Option<u32>,
    pub tcp_max_tw_buckets: Option<u64>,
    /// `net.ipv4.ip_local_port_range`: (first, last), inclusive.
    pub ip_local_port_range: Option<(u16, u16)>,
    pub tcp_tw_reuse: Option<u32>,
    pub tcp_fin_timeout: Option<u32>,
}

/// One sysctl and where it lives under /proc/sys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sysctl {
    Somaxconn,
    TcpMaxSynBacklog,
    TcpSyncookies,
    TcpAbortOnOverflow,
    TcpMaxTwBuckets,
    IpLocalPortRange,
    TcpTwReuse,
    TcpFinTimeout,
}

impl Sysctl {
    pub const ALL: [Sysctl; 8] = [
        Sysctl::Somaxconn,
        Sysctl::TcpMaxSynBacklog,
        Sysctl::TcpSyncookies,
        Sysctl::TcpAbortOnOverflow,
        Sysctl::TcpMaxTwBuckets,
        Sysctl::IpLocalPortRange,
        Sysctl::TcpTwReuse,
        Sysctl::TcpFinTimeout,
    ];

    /// The dotted name, e.g. `net.core.somaxconn`.
    pub fn name(self) -> &'static str {
        match self {
            Sysctl::Somaxconn => "net.core.somaxconn",
            Sysctl::TcpMaxSynBacklog => "net.ipv4.tcp_max_syn_backlog",
            Sysctl::TcpSyncookies => "net.ipv4.tcp_syncookies",
            Sysctl::TcpAbortOnOverflow => "net.ipv4.tcp_abort_on_overflow",
            Sysctl::TcpMaxTwBuckets => "net.ipv4.tcp_max_tw_buckets",
            Sysctl::IpLocalPortRange => "net.ipv4.ip_local_port_range",
            Sysctl::TcpTwReuse => "net.ipv4.tcp_tw_reuse",
            Sysctl::TcpFinTimeout => "net.ipv4.tcp_fin_timeout",
        }
    }

    /// The path below /proc/sys, e.g. `net/core/somaxconn`.
    pub(crate) fn proc_path(self) -> String {
        self.name().replace('.', "/")
    }
}

impl Settings {
    /// Number of ephemeral ports per destination, from ip_local_port_range.
    pub(crate) fn ephemeral_port_count(&self) -> Option<u32> {
        self.ip_local_port_range
            .map(|(first, last)| u32::from(last.saturating_sub(first)) + 1)
    }

    /// The value as text, the way `sysctl -n` prints it.
    pub(crate) fn display_value(&self, sysctl: Sysctl) -> Option<String> {
        match sysctl {
            Sysctl::Somaxconn => self.somaxconn.map(|v| v.to_string()),
            Sysctl::TcpMaxSynBacklog => self.tcp_max_syn_backlog.map(|v| v.to_string()),
            Sysctl::TcpSyncookies => self.tcp_syncookies.map(|v| v.to_string()),
            Sysctl::TcpAbortOnOverflow => self.tcp_abort_on_overflow.map(|v| v.to_string()),
            Sysctl::TcpMaxTwBuckets => self.tcp_max_tw_buckets.map(|v| v.to_string()),
            Sysctl::IpLocalPortRange => self
                .ip_local_port_range
                .map(|(first, last)| format!("{first} {last}")),
            Sysctl::TcpTwReuse => self.tcp_tw_reuse.map(|v| v.to_string()),
            Sysctl::TcpFinTimeout => self.tcp_fin_timeout.map(|v| v.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_reports_growth_and_refuses_to_wrap() {
        let mut before = Counters::default();
        before.set(Counter::ListenOverflows, 10);
        before.set(Counter::CurrEstab, 5);
        let mut after = before;
        after.set(Counter::ListenOverflows, 16);
        after.set(Counter::CurrEstab, 3);
        let delta = after.delta_since(&before);
        assert_eq!(delta.get(Counter::ListenOverflows), Some(6));
        assert_eq!(delta.get(Counter::CurrEstab), None);
        assert_eq!(delta.get(Counter::ListenDrops), None);
        assert_eq!(delta.growth(Counter::ListenDrops), 0);
    }

    #[test]
    fn port_range_counts_both_ends() {
        let settings = Settings {
            ip_local_port_range: Some((32768, 60999)),
            ..Settings::default()
        };
        assert_eq!(settings.ephemeral_port_count(), Some(28232));
        assert_eq!(
            settings.display_value(Sysctl::IpLocalPortRange).as_deref(),
            Some("32768 60999")
        );
        assert_eq!(Sysctl::Somaxconn.proc_path(), "net/core/somaxconn");
    }
}
