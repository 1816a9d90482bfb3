//! Recording cost and size at scale, and replay seek time, on a synthetic
//! table shaped like the scale benchmark's (100k sockets: 40% ESTABLISHED,
//! 55% TIME_WAIT, 2.5% FIN_WAIT2, 2.5% CLOSE_WAIT) spread over 200 watched
//! service ports, one tick a second. Timers count down every tick, a few
//! connections churn (`--churn N` per second, default 20), listener queues
//! move. Writes a whole hour (3,600 frames; `--frames N` for fewer) with the
//! real recorder, then opens the file and seeks to random frames.
//!
//! cargo bench --bench record [-- --frames 3600 --churn 20]
//!
//! No kernel and no network: the table is built in memory.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use tcpwatch::collect::scenarios::linux_defaults;
use tcpwatch::model::{
    ListenerPeak, ListenerPeaks, Snapshot, SocketRecord, SourceKind, TcpState, TimerKind, aggregate,
};
use tcpwatch::record::{RecordOptions, Recorder, Recording, RecordingHeader};
use tcpwatch::watch::FullTick;

const SOCKETS: usize = 100_000;
const PORTS: u16 = 200;
const FIRST_PORT: u16 = 10_000;
const START_MS: u64 = 1_795_470_000_000;

fn addr(ip: u32, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port))
}

fn state_of(i: usize) -> TcpState {
    match i % 40 {
        0..=15 => TcpState::Established,
        16..=37 => TcpState::TimeWait,
        38 => TcpState::FinWait2,
        _ => TcpState::CloseWait,
    }
}

fn socket(i: usize, generation: u32) -> SocketRecord {
    let state = state_of(i);
    let service = FIRST_PORT + (i % usize::from(PORTS)) as u16;
    let client_ip = 0x7f0a_0000 + (i / 50_000) as u32 * 0x100 + (generation % 200);
    let client_port = 20_000 + (i % 40_000) as u16;
    let (timer, expires) = match state {
        TcpState::TimeWait => (TimerKind::TimeWait, 60_000),
        TcpState::Established => (TimerKind::KeepAlive, 7_200_000),
        _ => (TimerKind::None, 0),
    };
    SocketRecord {
        state,
        local: addr(0x7f02_0001, service),
        remote: addr(client_ip, client_port),
        recv_queue: 0,
        send_queue: 0,
        backlog_known: true,
        inode: if state == TcpState::TimeWait {
            0
        } else {
            1_000_000 + i as u64
        },
        uid: 1000,
        timer,
        timer_expires_ms: expires - (i as u32 % 1000) * 50,
        retransmits: 0,
    }
}

struct Table {
    sockets: Vec<SocketRecord>,
    generation: Vec<u32>,
}

impl Table {
    fn new() -> Table {
        Table {
            sockets: (0..SOCKETS).map(|i| socket(i, 0)).collect(),
            generation: vec![0; SOCKETS],
        }
    }

    /// One second later: timers down a second, `churn` connections replaced.
    fn step(&mut self, second: u64, churn: usize) {
        for record in &mut self.sockets {
            if record.timer != TimerKind::None {
                record.timer_expires_ms = record.timer_expires_ms.saturating_sub(1000);
                if record.timer_expires_ms == 0 {
                    record.timer_expires_ms = 60_000;
                }
            }
        }
        for k in 0..churn {
            let i = ((second as usize) * 7919 + k * 104_729) % SOCKETS;
            self.generation[i] += 1;
            self.sockets[i] = socket(i, self.generation[i]);
        }
    }

    fn tick(&self, second: u64) -> FullTick {
        let at_ms = START_MS + second * 1000;
        let mut snapshot = Snapshot::empty(at_ms, SourceKind::Netlink);
        snapshot.settings = linux_defaults();
        snapshot.elapsed = Duration::from_micros(85_000 + (second % 7) * 1_013);
        snapshot.listeners = (0..PORTS)
            .map(|p| SocketRecord {
                state: TcpState::Listen,
                local: addr(0x7f02_0001, FIRST_PORT + p),
                remote: addr(0, 0),
                recv_queue: ((second + u64::from(p)) % 5) as u32,
                send_queue: 4096,
                backlog_known: true,
                inode: 500 + u64::from(p),
                uid: 1000,
                timer: TimerKind::None,
                timer_expires_ms: 0,
                retransmits: 0,
            })
            .collect();
        snapshot.sockets = self.sockets.clone();
        snapshot.table_size = SOCKETS as u64;
        let aggregates = aggregate(&snapshot);
        let peaks = ListenerPeaks::from_parts(
            snapshot
                .listeners
                .iter()
                .map(|l| ListenerPeak {
                    local: l.local,
                    inode: l.inode,
                    max_queue: l.recv_queue + 1,
                    backlog: Some(l.send_queue),
                    full_samples: 0,
                    samples: 10,
                    first_full_ms: None,
                    last_seen_ms: at_ms - 100,
                })
                .collect(),
            10,
            Some((at_ms - 1000, at_ms - 100)),
        );
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
            peaks,
        }
    }
}

/// This thread's CPU time: the machine is shared, so wall time would count
/// other work too.
fn cpu_now() -> Duration {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut time) };
    Duration::new(time.tv_sec as u64, time.tv_nsec as u32)
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let frames = arg("--frames", 3600);
    let churn = arg("--churn", 20) as usize;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hour.rec");
    let header = RecordingHeader::new(
        "bench",
        "6.18",
        "host",
        vec!["bench".into()],
        START_MS,
        Duration::from_secs(1),
        2000,
    );
    let mut recorder = Recorder::create(
        RecordOptions {
            path: path.clone(),
            max_connections: 2000,
            max_size: None,
            keep: None,
        },
        header,
    )
    .expect("create");
    let mut table = Table::new();
    let mut write_ms = Vec::with_capacity(frames as usize);
    println!(
        "record: {SOCKETS} sockets, {PORTS} ports, {frames} frames at 1 s, churn {churn}/s, 2000 connections kept per frame"
    );
    for second in 0..frames {
        table.step(second, churn);
        let tick = table.tick(second);
        let start = cpu_now();
        recorder.write_tick(&tick).expect("write");
        write_ms.push((cpu_now() - start).as_secs_f64() * 1000.0);
        if second % 600 == 599 {
            println!(
                "  {:>5} frames  {:>7.2} MiB",
                second + 1,
                recorder.size() as f64 / 1_048_576.0
            );
        }
    }
    recorder.finish().expect("finish");
    {
        // Where a frame's time goes, on the last tick.
        use tcpwatch::record::frame::{compress, frame_text, select_connections};
        let tick = table.tick(frames);
        let start = cpu_now();
        let kept = select_connections(&tick, 2000);
        let select = cpu_now() - start;
        let start = cpu_now();
        let text = frame_text("bench", &tick, 2000);
        let json = cpu_now() - start;
        let start = cpu_now();
        let packed = compress(&text, None).expect("compress");
        let alone = cpu_now() - start;
        println!(
            "one frame: select {} of {SOCKETS} in {:.1} ms; JSON (select included) {:.1} ms, {} KiB; zstd alone {:.1} ms -> {} KiB",
            kept.len(),
            select.as_secs_f64() * 1000.0,
            json.as_secs_f64() * 1000.0,
            text.len() / 1024,
            alone.as_secs_f64() * 1000.0,
            packed.len() / 1024
        );
    }
    let size = std::fs::metadata(&path).expect("size").len();
    write_ms.sort_by(f64::total_cmp);
    let mean = write_ms.iter().sum::<f64>() / write_ms.len() as f64;
    println!(
        "size: {:.2} MiB for {frames} frames ({:.1} KiB/frame); one hour: {:.1} MiB",
        size as f64 / 1_048_576.0,
        size as f64 / 1024.0 / frames as f64,
        size as f64 / 1_048_576.0 * 3600.0 / frames as f64
    );
    println!(
        "write per frame, CPU time (select + JSON + zstd + write): mean {mean:.2} ms, median {:.2}, p99 {:.2}, max {:.2} => {:.2}% of a core at 1 s",
        percentile(&write_ms, 0.5),
        percentile(&write_ms, 0.99),
        percentile(&write_ms, 1.0),
        mean / 10.0
    );

    let start = Instant::now();
    let mut recording = Recording::open(&path).expect("open");
    let open_ms = start.elapsed().as_secs_f64() * 1000.0;
    let count = recording.frames().len();
    let mut seek_ms = Vec::new();
    let mut seek_cpu_ms = Vec::new();
    let mut position = 12_345usize;
    for _ in 0..50 {
        position = (position * 7919 + 17) % count;
        // A fresh reader each time: no keyframe cached, the worst case.
        let mut fresh = Recording::open(&path).expect("open");
        let start = Instant::now();
        let cpu_start = cpu_now();
        let at = fresh.frames()[position].at_ms;
        let number = fresh.frame_at(at).expect("frame");
        let tick = fresh.tick(number).expect("decode");
        assert_eq!(tick.at_ms(), at);
        seek_ms.push(start.elapsed().as_secs_f64() * 1000.0);
        seek_cpu_ms.push((cpu_now() - cpu_start).as_secs_f64() * 1000.0);
    }
    seek_ms.sort_by(f64::total_cmp);
    seek_cpu_ms.sort_by(f64::total_cmp);
    println!(
        "replay: open {open_ms:.2} ms ({count} frames, index from the footer); seek+decode a random frame: wall median {:.1} ms, max {:.1} ms; CPU median {:.1} ms, max {:.1} ms",
        percentile(&seek_ms, 0.5),
        percentile(&seek_ms, 1.0),
        percentile(&seek_cpu_ms, 0.5),
        percentile(&seek_cpu_ms, 1.0)
    );
    println!(
        "load average while measuring: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    // Without the index (a recording cut by SIGKILL): walk the headers.
    let cut = dir.path().join("cut.rec");
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&cut, &bytes[..bytes.len() - 20]).expect("write");
    let start = Instant::now();
    let walked = Recording::open(&cut).expect("open");
    println!(
        "replay without the index (walking {} record headers): open {:.1} ms",
        walked.frames().len(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    let _ = recording.tick(0);
}
