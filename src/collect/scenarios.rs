//! Prepared scripts for `ScriptedSource`: what the kernel would report during
//! known experiments, for screen tests and the demo.
//!
//! Owns: the scenario builders. Must not: touch the kernel or the clock;
//! every time is derived from the `start_ms` passed in.

use std::collections::HashMap;
use std::time::Duration;

use crate::model::listen_one::{ListenOne, record as socket};
use crate::model::{
    Counter, Counters, ProcessInfo, Settings, Snapshot, SocketRecord, Sockstat, SourceKind,
    TcpState, TimerKind,
};

fn listener(local: &str, queue: u32, backlog: u32, inode: u64) -> SocketRecord {
    let nobody = if local.starts_with('[') {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    };
    SocketRecord {
        recv_queue: queue,
        send_queue: backlog,
        ..socket(TcpState::Listen, local, nobody, inode)
    }
}

/// The write-up's experiment at second `tick` after `start_ms`: a server on
/// 127.0.0.1:10000 called listen(1) and never accept()s; five clients
/// connected. Two completed (queue 2 of capacity 2, FULL), three are stuck
/// in SYN_SENT retrying. Beside it an sshd on :22 and a web app on :8080
/// that leaves TIME_WAIT behind and has two CLOSE_WAIT it never closes.
pub fn listen_one_experiment(start_ms: u64, tick: u64) -> Snapshot {
    let taken_at_ms = start_ms + tick * 1000;
    let mut snap = Snapshot::empty(taken_at_ms, SourceKind::Netlink);
    snap.elapsed = Duration::from_micros(2_400);
    let scene = ListenOne {
        seconds: tick,
        ..ListenOne::experiment()
    };
    snap.listeners = vec![
        listener("0.0.0.0:22", 0, 128, 900),
        listener("0.0.0.0:8080", 0, 511, 950),
        scene.listener(),
    ];
    let mut owners = scene.owners();
    owners.insert(900, process(612, "sshd"));
    owners.insert(950, process(2210, "gunicorn"));

    let mut sockets = vec![socket(
        TcpState::Established,
        "10.0.0.5:22",
        "10.0.0.9:51514",
        901,
    )];
    owners.insert(901, process(7781, "sshd"));
    sockets.extend(scene.sockets());
    for i in 0..2u16 {
        sockets.push(socket(
            TcpState::CloseWait,
            "10.0.0.5:8080",
            &format!("10.0.0.7:{}", 52000 + i),
            960 + u64::from(i),
        ));
        owners.insert(960 + u64::from(i), process(2210, "gunicorn"));
    }
    for i in 0..3u16 {
        sockets.push(socket(
            TcpState::Established,
            "10.0.0.5:8080",
            &format!("10.0.0.8:{}", 53000 + i),
            970 + u64::from(i),
        ));
        owners.insert(970 + u64::from(i), process(2210, "gunicorn"));
    }
    // TIME_WAIT on :8080 rises and falls in waves of 60 s.
    let time_wait = 20 + (tick % 60) * 2
        - if tick % 60 > 30 {
            (tick % 60 - 30) * 3
        } else {
            0
        };
    for i in 0..time_wait as u16 {
        let mut tw = socket(
            TcpState::TimeWait,
            "10.0.0.5:8080",
            &format!("10.0.0.8:{}", 33000 + i),
            0,
        );
        tw.timer = TimerKind::TimeWait;
        tw.timer_expires_ms = 60_000 - u32::from(i) * 700 % 59_000;
        sockets.push(tw);
    }
    snap.sockets = sockets;
    snap.owners = owners;
    snap.counters = counters(tick);
    snap.sockstat = Some(Sockstat {
        inuse: 16,
        orphan: 0,
        tw: time_wait,
        alloc: 20,
        mem_pages: 3,
    });
    snap.settings = linux_defaults();
    snap
}

/// The sysctls of a stock Linux 6.x host, as scripted snapshots carry them.
pub fn linux_defaults() -> Settings {
    Settings {
        somaxconn: Some(4096),
        tcp_max_syn_backlog: Some(1024),
        tcp_syncookies: Some(1),
        tcp_abort_on_overflow: Some(0),
        tcp_max_tw_buckets: Some(262_144),
        ip_local_port_range: Some((32768, 60999)),
        tcp_tw_reuse: Some(2),
        tcp_fin_timeout: Some(60),
    }
}

/// A host in trouble at second `tick`: the listen(1) experiment and the
/// CLOSE_WAIT leak of `listen_one_experiment`, plus a load generator that
/// holds 18 of the 20 ephemeral ports towards 10.0.0.20:80 (a tiny
/// ip_local_port_range), and TIME_WAIT at 90 of tcp_max_tw_buckets = 100.
pub fn troubled_host(start_ms: u64, tick: u64) -> Snapshot {
    let mut snap = listen_one_experiment(start_ms, tick);
    for i in 0..18u16 {
        let state = if i < 10 {
            TcpState::TimeWait
        } else {
            TcpState::Established
        };
        let inode = if state == TcpState::TimeWait {
            0
        } else {
            3000 + u64::from(i)
        };
        let mut client = socket(
            state,
            &format!("10.0.0.5:{}", 40000 + i),
            "10.0.0.20:80",
            inode,
        );
        if state == TcpState::TimeWait {
            client.timer = TimerKind::TimeWait;
            client.timer_expires_ms = 50_000;
        } else {
            snap.owners.insert(inode, process(3300, "loadgen"));
        }
        snap.sockets.push(client);
    }
    snap.settings.ip_local_port_range = Some((40000, 40019));
    snap.settings.tcp_max_tw_buckets = Some(100);
    snap.settings.tcp_tw_reuse = Some(0);
    if let Some(sockstat) = snap.sockstat.as_mut() {
        sockstat.tw = 90;
    }
    snap
}

/// `ticks` seconds of the experiment, one snapshot per second.
pub fn listen_one_script(start_ms: u64, ticks: u64) -> Vec<Snapshot> {
    (0..ticks)
        .map(|tick| listen_one_experiment(start_ms, tick))
        .collect()
}

/// Where a close sequence stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosePhase {
    /// Three connections to 127.0.0.1:9000 are open.
    Open,
    /// The clients called close(): FIN_WAIT2 on their side, CLOSE_WAIT on
    /// the server's (which has not called close() yet).
    ClientsClosed,
    /// The server called close() too: the clients sit in TIME_WAIT, the
    /// server's sockets are gone.
    BothClosed,
}

/// A server on 127.0.0.1:9000 and three clients closing their connections
/// first, at `at_ms`.
pub fn close_sequence(at_ms: u64, phase: ClosePhase) -> Snapshot {
    let mut snap = Snapshot::empty(at_ms, SourceKind::Netlink);
    snap.elapsed = Duration::from_micros(900);
    snap.listeners = vec![listener("127.0.0.1:9000", 0, 128, 3000)];
    for i in 0..3u16 {
        let client = format!("127.0.0.1:{}", 45000 + i);
        let client_inode = 3101 + u64::from(i);
        let server_inode = 3201 + u64::from(i);
        let (client_state, server_state) = match phase {
            ClosePhase::Open => (TcpState::Established, Some(TcpState::Established)),
            ClosePhase::ClientsClosed => (TcpState::FinWait2, Some(TcpState::CloseWait)),
            ClosePhase::BothClosed => (TcpState::TimeWait, None),
        };
        let mut record = socket(client_state, &client, "127.0.0.1:9000", client_inode);
        if client_state == TcpState::TimeWait {
            record.inode = 0;
            record.timer = TimerKind::TimeWait;
            record.timer_expires_ms = 59_000 - u32::from(i) * 1000;
        }
        snap.sockets.push(record);
        if let Some(state) = server_state {
            snap.sockets
                .push(socket(state, "127.0.0.1:9000", &client, server_inode));
        }
    }
    snap
}

/// A busy web host at second `tick`: a pre-fork server with two
/// SO_REUSEPORT listeners on 127.0.0.1:18082 (two processes), a client
/// whose peer never reads (Send-Q 4,163,072, the peer's Recv-Q in the
/// millions), a client that called close() on unsent data (an orphan in
/// FIN_WAIT1 with Send-Q 3,782,145), connections waiting for accept() and
/// TIME_WAIT left behind.
pub fn busy_web_host(start_ms: u64, tick: u64) -> Snapshot {
    let taken_at_ms = start_ms + tick * 1000;
    let mut snap = Snapshot::empty(taken_at_ms, SourceKind::Netlink);
    snap.elapsed = Duration::from_micros(3_100);
    let mut owners = HashMap::new();
    snap.listeners = vec![
        listener("127.0.0.1:18082", 1, 128, 5001),
        listener("127.0.0.1:18082", 3, 128, 5002),
        listener("0.0.0.0:5432", 0, 244, 5100),
        listener("[::]:9000", 0, 4096, 5200),
    ];
    owners.insert(5001, process(3101, "gunicorn"));
    owners.insert(5002, process(3102, "gunicorn"));
    owners.insert(5100, process(880, "postgres"));
    owners.insert(5200, process(990, "minio"));
    let mut sockets = Vec::new();
    // A client pushing to a peer that never reads.
    let mut stuck = socket(
        TcpState::Established,
        "127.0.0.1:43512",
        "127.0.0.1:18082",
        6001,
    );
    stuck.send_queue = 4_163_072;
    stuck.timer = TimerKind::Probe;
    stuck.timer_expires_ms = 1_600;
    sockets.push(stuck);
    owners.insert(6001, process(4410, "uploader"));
    let mut unread = socket(
        TcpState::Established,
        "127.0.0.1:18082",
        "127.0.0.1:43512",
        6002,
    );
    unread.recv_queue = 6_291_456;
    sockets.push(unread);
    owners.insert(6002, process(3101, "gunicorn"));
    // close() with 3.6 MiB still unsent: the kernel owns it now.
    let mut orphan = socket(TcpState::FinWait1, "127.0.0.1:43514", "127.0.0.1:18082", 0);
    orphan.send_queue = 3_782_145;
    orphan.timer = TimerKind::Probe;
    orphan.timer_expires_ms = 3_200;
    sockets.push(orphan);
    // Completed handshakes nobody accept()ed yet (the queues above).
    for (i, client_port) in [43520u16, 43521, 43522, 43523].into_iter().enumerate() {
        let client = format!("127.0.0.1:{client_port}");
        sockets.push(socket(TcpState::Established, "127.0.0.1:18082", &client, 0));
        let inode = 6100 + i as u64;
        sockets.push(socket(
            TcpState::Established,
            &client,
            "127.0.0.1:18082",
            inode,
        ));
        owners.insert(inode, process(4420, "loadgen"));
    }
    for i in 0..3u16 {
        let inode = 6200 + u64::from(i);
        sockets.push(socket(
            TcpState::Established,
            "10.0.0.5:5432",
            &format!("10.0.0.8:{}", 40100 + i),
            inode,
        ));
        owners.insert(inode, process(881 + u32::from(i), "postgres"));
    }
    for i in 0..6u16 {
        let mut tw = socket(
            TcpState::TimeWait,
            &format!("127.0.0.1:{}", 44000 + i),
            "127.0.0.1:18082",
            0,
        );
        tw.timer = TimerKind::TimeWait;
        tw.timer_expires_ms = 50_000 - u32::from(i) * 7_000;
        sockets.push(tw);
    }
    snap.table_size = sockets.len() as u64;
    snap.sockets = sockets;
    snap.owners = owners;
    // A quiet kernel: connections open, nothing overflows or resets.
    let mut counters = Counters::default();
    for counter in Counter::ALL {
        counters.set(counter, 0);
    }
    counters.set(Counter::ActiveOpens, 900 + tick * 6);
    counters.set(Counter::PassiveOpens, 700 + tick * 6);
    counters.set(Counter::CurrEstab, 12);
    snap.counters = counters;
    snap.sockstat = Some(Sockstat {
        inuse: 24,
        orphan: 1,
        tw: 6,
        alloc: 30,
        mem_pages: 2100,
    });
    snap.settings = linux_defaults();
    snap
}

fn counters(tick: u64) -> Counters {
    let mut counters = Counters::default();
    counters.set(Counter::ListenOverflows, 100 + tick * 3);
    counters.set(Counter::ListenDrops, 100 + tick * 3);
    counters.set(Counter::ActiveOpens, 500 + tick * 5);
    counters.set(Counter::PassiveOpens, 400 + tick * 4);
    counters
}

fn process(pid: u32, name: &str) -> ProcessInfo {
    ProcessInfo {
        pid,
        name: name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::aggregate;

    #[test]
    fn the_experiment_shows_the_write_ups_picture() {
        let agg = aggregate(&listen_one_experiment(0, 10));
        let port = agg.port(10000).expect("port 10000");
        assert_eq!(port.counts.get(TcpState::Listen), 1);
        assert_eq!(port.counts.get(TcpState::Established), 4);
        assert_eq!(port.counts.get(TcpState::SynSent), 3);
        let listener = agg
            .listeners
            .iter()
            .find(|l| l.port() == 10000)
            .expect("listener");
        assert_eq!(listener.is_full(), Some(true));
    }
}
