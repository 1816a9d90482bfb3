//! The measurements for one table size, all in one run so they can be
//! compared: a thread enters the benchmark namespace, times the empty
//! namespace's walk, waits for the population, then times in interleaved
//! rounds the bare dumps, tcpwatch's ticks, the listener sample and `ss`,
//! then the CPU cost of the 10 Hz listener sampler, and last (where enabled)
//! the real binary's live dashboard (`dashboard`), in a TIME_WAIT generation
//! that lasts its whole run. A child process (`run_rss_probe`) reports the
//! peak RSS of full ticks.
//!
//! Owns: what is timed and how (wall clock per call, medians over rounds,
//! rounds stopped before the first TIME_WAIT socket expires). Must not:
//! build sockets (that is `population`) or format the table (`report`).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tcpwatch::alert::{Alert, AlertKind, Thresholds};
use tcpwatch::collect::namespace::NetnsTarget;
use tcpwatch::collect::netlink::{NetlinkTable, WalkMode};
use tcpwatch::collect::sampler::{Sampler, SamplerConfig};
use tcpwatch::collect::{DumpRequest, SnapshotSource, SocketTable, SourceChoice};
use tcpwatch::model::{
    Filter, JudgingScope, Snapshot, SocketRecord, SourceKind, StateMask, TcpState,
    aggregate::Aggregator,
};
use tcpwatch::watch::{FullTick, Watch};

use super::ROLE_ENV;
use super::cleanup;
use super::dashboard;
use super::namespace::{self, BenchNamespace};
use super::options::Options;
use super::plan::{BUSY_PORT, Expected, FULL_QUEUE_CLIENTS, Plan, SERVICES};
use super::population::Population;
use super::report::{Census, SizeResult, Timings};
use super::serve;

/// TIME_WAIT generations the rounds may use per size: after the first
/// expires, they wait for it to go and have it rebuilt, at most this many
/// times in all. The dashboard may take one more.
const MAX_GENERATIONS: usize = 4;
/// Ticks the RSS probe runs (keeping the previous snapshot, like the app).
const RSS_TICKS: usize = 3;
const RSS_NETNS_ENV: &str = "TCPWATCH_BENCH_NETNS";
/// The shortest window worth a TIME_WAIT generation of its own: below it, a
/// live run goes ahead on the shrinking table instead.
const MIN_LIVE_WINDOW: Duration = Duration::from_secs(10);

/// Builds the population for `size`, measures it, and tears it down.
/// An empty namespace's walk costs about 0.2 ms here; above this, another
/// namespace's table is still being torn down.
const SETTLED_EMPTY_WALK_MS: f64 = 1.0;
/// How long to wait for that teardown at most.
const TEARDOWN_WAIT: Duration = Duration::from_secs(120);

/// The line that starts a size.
fn announce_build(size: usize, plan: &Plan) {
    println!(
        "\nN={}: building {} sockets with {} holders…",
        super::report::human_count(size),
        plan.expected().total(),
        plan.holders.len()
    );
}

/// Builds the table of `size` sockets and only holds it for `secs` (within
/// one TIME_WAIT lifetime), for a profiler: `--hold`.
pub fn hold_size(size: usize, secs: f64) -> Result<(), String> {
    let plan = Plan::new(size);
    let expected = plan.expected();
    let namespace = BenchNamespace::create(expected.time_wait)?;
    let name = namespace.name.clone();
    announce_build(size, &plan);
    let started = Instant::now();
    let mut population = Population::build_held(namespace, plan)?;
    population.build_time_wait()?;
    println!(
        "  built in {:.1} s; holding namespace {name} for {secs} s (tcpwatch --netns {name})",
        started.elapsed().as_secs_f64()
    );
    std::thread::sleep(Duration::from_secs_f64(secs));
    drop(population);
    Ok(())
}

pub fn measure_size(options: &Options, size: usize) -> Result<SizeResult, String> {
    let plan = Plan::new(size);
    let expected = plan.expected();
    let namespace = BenchNamespace::create(expected.time_wait)?;
    let path = namespace.path();
    let name = namespace.name.clone();

    let (ready_tx, ready_rx) = channel::<(f64, f64)>();
    let (go_tx, go_rx) = channel::<Instant>();
    let (refresh_tx, refresh_rx) = channel::<()>();
    let thread_options = options.clone();
    let thread = std::thread::Builder::new()
        .name("measure".to_string())
        .spawn(move || {
            let ready = ready_tx;
            let mut measurer = Measurer::enter(&path, name, thread_options, size, expected)?;
            let floor = measurer.settled_empty_walk()?;
            ready
                .send(floor)
                .map_err(|_| "orchestrator gone".to_string())?;
            let tw_started = go_rx.recv().map_err(|_| "aborted".to_string())?;
            let mut refresh = || -> Result<Instant, String> {
                refresh_tx
                    .send(())
                    .map_err(|_| "orchestrator gone".to_string())?;
                go_rx.recv().map_err(|_| "aborted".to_string())
            };
            measurer.run(tw_started, &mut refresh)
        })
        .map_err(|e| format!("spawning the measuring thread: {e}"))?;
    let (floor, teardown_wait_secs) = match ready_rx.recv() {
        Ok(settled) => settled,
        Err(_) => return Err(joined(thread).err().unwrap_or_default()),
    };

    announce_build(size, &plan);
    let started = Instant::now();
    let mut population = Population::build_held(namespace, plan)?;
    let held_secs = started.elapsed().as_secs_f64();
    let tw_started = Instant::now();
    population.build_time_wait()?;
    let tw_secs = tw_started.elapsed().as_secs_f64();
    println!(
        "  held sockets in {held_secs:.1} s, {} TIME_WAIT in {tw_secs:.1} s; measuring…",
        expected.time_wait
    );
    go_tx
        .send(tw_started)
        .map_err(|_| "the measuring thread is gone".to_string())?;
    // The thread asks for a new TIME_WAIT generation when the first one
    // has expired; its channel closes when it is done.
    while refresh_rx.recv().is_ok() {
        let started = Instant::now();
        population.build_time_wait()?;
        println!(
            "  rebuilt {} TIME_WAIT in {:.1} s",
            expected.time_wait,
            started.elapsed().as_secs_f64()
        );
        go_tx
            .send(started)
            .map_err(|_| "the measuring thread is gone".to_string())?;
    }
    let mut result = joined(thread)?;
    result.size = size;
    result.holders = population.holder_count();
    result.held_build_secs = held_secs;
    result.tw_build_secs = tw_secs;
    result.empty_walk_ms = floor;
    result.teardown_wait_secs = teardown_wait_secs;
    drop(population);
    Ok(result)
}

fn joined(
    thread: std::thread::JoinHandle<Result<SizeResult, String>>,
) -> Result<SizeResult, String> {
    thread
        .join()
        .map_err(|_| "the measuring thread panicked".to_string())?
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn text(error: impl std::fmt::Display) -> String {
    error.to_string()
}

/// Opens a sampler like `tcpwatch` does, in the calling thread's namespace.
fn open_sampler(ports: Vec<u16>) -> Result<Sampler, String> {
    Sampler::open(SamplerConfig {
        source: SourceChoice::Netlink,
        target: NetnsTarget::Host,
        filter: Filter {
            ports,
            states: StateMask::ALL,
            ..Filter::default()
        },
        scope: JudgingScope::default(),
    })
    .map_err(text)
}

/// One full tick as the live modes run it: sample (aggregating while the
/// dump streams in), then the `Watch` every mode runs: every alert rule on
/// the aggregates with the interval's listener peaks, the active alerts,
/// connections followed (up to `FOLLOW_AT_MOST` sockets), counter deltas.
/// The tick replaces the previous one, whose drop is timed too.
/// Returns (total, of which sampling, CPU of every thread in ms).
fn tick(
    sampler: &mut Sampler,
    watch: &mut Watch,
    previous: &mut Option<FullTick>,
) -> Result<(Duration, Duration, f64), String> {
    let cpu_before = process_cpu();
    let started = Instant::now();
    let sampled = sampler.sample(now_ms()).map_err(text)?;
    let sampling = started.elapsed();
    let judged = watch.judge(sampled);
    black_box(&judged);
    *previous = Some(judged);
    let total = started.elapsed();
    Ok((total, sampling, (process_cpu() - cpu_before) * 1e3))
}

struct Measurer {
    name: String,
    options: Options,
    size: usize,
    expected: Expected,
    one_walk: NetlinkTable,
    two_walks: NetlinkTable,
}

impl Measurer {
    fn enter(
        path: &Path,
        name: String,
        options: Options,
        size: usize,
        expected: Expected,
    ) -> Result<Measurer, String> {
        namespace::enter_on_this_thread(path)?;
        let open = |mode| {
            NetlinkTable::open()
                .map(|t| t.with_walk_mode(mode))
                .map_err(text)
        };
        Ok(Measurer {
            name,
            options,
            size,
            expected,
            one_walk: open(WalkMode::OneWalk)?,
            two_walks: open(WalkMode::TwoWalks)?,
        })
    }

    /// The empty walk once the sockets of an earlier size's namespace are
    /// gone: the kernel tears a deleted namespace's table down in the
    /// background for tens of seconds after a big size, on the same two
    /// cores the rounds would be timed on. Waits (up to
    /// `TEARDOWN_WAIT`) until the empty walk costs under
    /// `SETTLED_EMPTY_WALK_MS`; returns (its cost, seconds waited).
    fn settled_empty_walk(&mut self) -> Result<(f64, f64), String> {
        let started = Instant::now();
        loop {
            let floor = self.empty_walk()?;
            if floor < SETTLED_EMPTY_WALK_MS || started.elapsed() >= TEARDOWN_WAIT {
                return Ok((floor, started.elapsed().as_secs_f64()));
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    }

    /// The one-walk dump of the still empty namespace: the floor every walk
    /// pays (all hash buckets, and every other namespace's sockets).
    fn empty_walk(&mut self) -> Result<f64, String> {
        let mut times = Vec::new();
        for _ in 0..5 {
            times.push(ms(bare(&mut self.one_walk, &DumpRequest::all())?.0));
        }
        Ok(super::report::median(&times))
    }

    fn run(
        mut self,
        first_tw_started: Instant,
        refresh: &mut dyn FnMut() -> Result<Instant, String>,
    ) -> Result<SizeResult, String> {
        // TIME_WAIT lasts 60 s: rounds must end before the first socket of a
        // generation expires.
        let window = Duration::from_secs_f64(self.options.time_wait_window_secs);
        let mut generation = Generation {
            first_started: first_tw_started,
            started: first_tw_started,
            // When the build of the current generation finished (≈ now).
            built: Instant::now(),
            deadline: first_tw_started + window,
            window,
            count: 1,
        };
        let census = self.census()?;
        let mut notes = census.shortfalls(&self.expected);
        if notes.iter().any(|n| n.starts_with("FAIL")) {
            return Err(format!("population is wrong: {}", notes.join("; ")));
        }
        let mut result = if self.options.live_only {
            SizeResult {
                live_only: true,
                ..SizeResult::default()
            }
        } else {
            self.collector(&mut generation, refresh, &mut notes)?
        };
        result.census = census;

        if self.options.dashboard.enabled_for(self.size) {
            let deadline = self.live_deadline("dashboard", &mut generation, refresh, &mut notes)?;
            let before = sockstat_time_wait();
            match dashboard::measure(&self.name, &self.options.dashboard, deadline) {
                Ok(mut measured) => {
                    measured.time_wait_before = before;
                    measured.time_wait_after = sockstat_time_wait();
                    note_time_wait_fall("dashboard", before, measured.time_wait_after, &mut notes);
                    result.dashboard = Some(measured);
                }
                Err(message) => result.dashboard_error = Some(message),
            }
        }
        if self.options.serve_enabled_for(self.size) {
            let deadline = self.live_deadline("serve", &mut generation, refresh, &mut notes)?;
            let before = sockstat_time_wait();
            match serve::measure(&self.name, &self.options.dashboard, deadline) {
                Ok(mut measured) => {
                    measured.time_wait_before = before;
                    measured.time_wait_after = sockstat_time_wait();
                    note_time_wait_fall("serve", before, measured.time_wait_after, &mut notes);
                    result.serve = Some(measured);
                }
                Err(message) => result.serve_error = Some(message),
            }
        }
        result.notes = notes;
        Ok(result)
    }

    /// The collector's figures: the rule checks, the interleaved rounds, the
    /// RSS probe and the listener sampler's CPU.
    fn collector(
        &mut self,
        generation: &mut Generation,
        refresh: &mut dyn FnMut() -> Result<Instant, String>,
        notes: &mut Vec<String>,
    ) -> Result<SizeResult, String> {
        let mut tw_seen = TimeWaitRange::default();
        let checks = self.check_rules()?;

        let mut full = open_sampler(Vec::new())?;
        let mut port = open_sampler(vec![BUSY_PORT])?;
        let mut full_watch = Watch::new(Thresholds::default());
        let mut port_watch = Watch::new(Thresholds::default());
        // The first tick also scans /proc/*/fd for the listeners' owners.
        let first_started = Instant::now();
        let mut previous_full = Some(full_watch.judge(full.sample(now_ms()).map_err(text)?));
        let first_tick_ms = ms(first_started.elapsed());
        let mut previous_port = Some(port_watch.judge(port.sample(now_ms()).map_err(text)?));
        // Counted while the dump streamed in; a snapshot keeps at most the
        // sampler's retention limit of the records themselves.
        let snapshot_of = |tick: &Option<FullTick>| {
            tick.as_ref()
                .map(|t| (t.snapshot.table_size as usize, t.snapshot.sockets.len()))
                .unwrap_or_default()
        };
        let (tick_sockets, tick_kept) = snapshot_of(&previous_full);
        let (port_sockets, _) = snapshot_of(&previous_port);

        let (rss_base_kib, rss_peak_kib) = rss_probe(&self.name)?;

        let table_request = DumpRequest {
            states: StateMask::ALL.without(TcpState::Listen),
            ports: Vec::new(),
            ..DumpRequest::all()
        };
        let without_time_wait = DumpRequest {
            states: StateMask::ALL.without(TcpState::TimeWait),
            ports: Vec::new(),
            ..DumpRequest::all()
        };
        let ss_filter = format!("( sport = :{BUSY_PORT} or dport = :{BUSY_PORT} )");
        let mut t = Timings::default();
        let mut slowest_round = Duration::ZERO;
        let rounds = rounds_for(self.options.reps, self.expected.total());
        for round in 0..rounds {
            if round > 0 && Instant::now() + slowest_round > generation.deadline {
                if generation.count == MAX_GENERATIONS {
                    notes.push(format!(
                        "stopped after {round} of {} rounds: out of TIME_WAIT generations",
                        rounds
                    ));
                    break;
                }
                // Let the first generation expire, then have it rebuilt.
                self.renew(generation, refresh)?;
                notes.push(format!(
                    "rounds {}–: TIME_WAIT generation {} (the previous one expired)",
                    round + 1,
                    generation.count
                ));
            }
            let round_started = Instant::now();
            tw_seen.record(sockstat_time_wait());
            let all = DumpRequest::all();
            let cpu_before = process_cpu();
            t.bare_one.push(ms(bare(&mut self.one_walk, &all)?.0));
            t.bare_one_cpu.push((process_cpu() - cpu_before) * 1e3);
            t.bare_two.push(ms(bare(&mut self.two_walks, &all)?.0));
            t.bare_no_time_wait
                .push(ms(bare(&mut self.one_walk, &without_time_wait)?.0));
            let (total, sampled, cpu) = tick(&mut full, &mut full_watch, &mut previous_full)?;
            t.tick.push(ms(total));
            t.tick_sample.push(ms(sampled));
            t.tick_cpu.push(cpu);
            t.port_tick
                .push(ms(tick(&mut port, &mut port_watch, &mut previous_port)?.0));
            t.streamed
                .push(ms(streamed_tick(&mut self.one_walk, &table_request)?));
            let started = Instant::now();
            black_box(full.sample_listeners().map_err(text)?);
            t.listeners.push(ms(started.elapsed()));
            t.ss.push(ms(self.in_namespace(&["ss", "-tan"])?));
            t.ss_port
                .push(ms(self.in_namespace(&["ss", "-tan", &ss_filter])?));
            t.exec_true.push(ms(self.in_namespace(&["true"])?));
            let (once_wall, once_cpu) = self.once_process(&dashboard::binary())?;
            t.once.push(ms(once_wall));
            t.once_cpu.push(once_cpu);
            if let Some(before) = dashboard::once_before_binary() {
                let (wall, cpu) = self.once_process(&before)?;
                t.once_before.push(ms(wall));
                t.once_before_cpu.push(cpu);
            }
            t.rounds += 1;
            tw_seen.record(sockstat_time_wait());
            slowest_round = slowest_round.max(round_started.elapsed());
        }
        let measured_secs = generation.first_started.elapsed().as_secs_f64();
        let round_generations = generation.count;

        let (listener_cpu_percent, listener_calls) = listener_cpu(&mut full, &self.options)?;
        drop((full, port, previous_full, previous_port));
        Ok(SizeResult {
            timings: t,
            reps_asked: rounds,
            tick_sockets,
            tick_kept,
            port_sockets,
            first_tick_ms,
            rss_base_kib,
            rss_peak_kib,
            listener_cpu_percent,
            listener_calls,
            listener_secs: self.options.listener_secs,
            time_wait_min: tw_seen.min,
            time_wait_max: tw_seen.max,
            generations: round_generations,
            measured_secs,
            checks,
            ..SizeResult::default()
        })
    }

    /// The deadline for a live run (`who`: the dashboard or serve), whose
    /// window is then cut to end before it: the current TIME_WAIT
    /// generation's when it lasts the run, or leaves as long a window as a
    /// fresh one would; else a fresh one's, once the current one has
    /// expired. When not even a fresh one would leave `MIN_LIVE_WINDOW`
    /// (its build takes nearly TIME_WAIT's lifetime, as on a loaded machine
    /// at 1M), the run goes ahead on the shrinking table with a note;
    /// sockstat before and after tells how much was left.
    fn live_deadline(
        &self,
        who: &str,
        generation: &mut Generation,
        refresh: &mut dyn FnMut() -> Result<Instant, String>,
        notes: &mut Vec<String>,
    ) -> Result<Instant, String> {
        let d = &self.options.dashboard;
        let fixed = dashboard::STARTUP_ALLOWANCE + Duration::from_secs_f64(d.warmup_secs);
        let asked = Duration::from_secs_f64(d.window_secs);
        // The window each choice leaves (it is cut to fit its deadline).
        let current_left = generation
            .deadline
            .saturating_duration_since(Instant::now() + fixed);
        let build = generation
            .built
            .saturating_duration_since(generation.started);
        let fresh_left = generation.window.saturating_sub(build + fixed);
        let enough = MIN_LIVE_WINDOW.min(asked);
        if current_left >= asked
            || (current_left >= enough && current_left >= fresh_left.min(asked))
        {
            return Ok(generation.deadline);
        }
        if fresh_left >= enough {
            self.renew(generation, refresh)?;
            notes.push(format!(
                "{who}: TIME_WAIT generation {} (a fresh one, to last its run)",
                generation.count
            ));
            return Ok(generation.deadline);
        }
        let half_gone =
            sockstat_time_wait().is_none_or(|tw| tw * 2 < self.expected.time_wait as u64);
        if half_gone {
            self.renew(generation, refresh)?;
        }
        notes.push(format!(
            "{who}: ran on a shrinking table: a TIME_WAIT build takes {:.0} s, so no generation lasts {:.0} s of startup and warm-up and {:.0} s of window within the {:.0} s it is used (see sockstat tw before/after)",
            build.as_secs_f64(),
            fixed.as_secs_f64(),
            enough.as_secs_f64(),
            generation.window.as_secs_f64()
        ));
        Ok(Instant::now() + fixed + asked + Duration::from_secs(1))
    }

    /// Waits for the current TIME_WAIT generation to expire, then has the
    /// holders build the next one.
    fn renew(
        &self,
        generation: &mut Generation,
        refresh: &mut dyn FnMut() -> Result<Instant, String>,
    ) -> Result<(), String> {
        self.await_time_wait_expiry(generation.started, generation.built)?;
        generation.started = refresh()?;
        generation.built = Instant::now();
        generation.deadline = generation.started + generation.window;
        generation.count += 1;
        Ok(())
    }

    /// Waits until the TIME_WAIT generation built from `started` to `built`
    /// has expired (sockstat shows under 1% of the plan). Each socket lasts
    /// 60 s, plus the timer wheel's slack: give up 80 s after the last one.
    fn await_time_wait_expiry(&self, started: Instant, built: Instant) -> Result<(), String> {
        let limit = built + Duration::from_secs(80);
        let target = self.expected.time_wait as u64;
        while Instant::now() < limit {
            if sockstat_time_wait().is_some_and(|tw| tw * 100 <= target) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(format!(
            "TIME_WAIT sockets still there {:.0} s after their build began",
            started.elapsed().as_secs_f64()
        ))
    }

    /// Counts what the kernel reports, by state (one-walk dump).
    fn census(&mut self) -> Result<Census, String> {
        let mut census = Census::default();
        self.one_walk
            .dump(&DumpRequest::all(), &mut |record: &SocketRecord| {
                census.add(record.state);
            })
            .map_err(text)?;
        Ok(census)
    }

    /// `tcpwatch --netns NAME --once --format json` as a user runs it: the
    /// whole process, which enters the namespace itself. Returns its wall
    /// time and the CPU it used (user + system, all threads), which a
    /// loaded machine stretches less: a short process that hands work
    /// between threads waits for a core at every hand-over.
    fn once_process(&self, binary: &Path) -> Result<(Duration, f64), String> {
        let cpu_before = children_cpu();
        let started = Instant::now();
        let status = Command::new(binary)
            .args(["--netns", &self.name, "--once", "--format", "json"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("{} --once: {e}", binary.display()))?;
        let elapsed = started.elapsed();
        // --once exits 0, or 3 when --fail-on is met (not asked here).
        if !status.success() {
            return Err(format!("{} --once: {status}", binary.display()));
        }
        Ok((elapsed, 1000.0 * (children_cpu() - cpu_before)))
    }

    /// The alert rules on the whole table, as the live modes run them,
    /// checked against the plan: the one crowded destination (every IPv6
    /// client, ::1 → [::1]:8080) must be flagged with its exact count, and
    /// the CLOSE_WAIT sockets of every service port as a leak with their
    /// exact count and owning processes named. Above the retention limit the
    /// snapshot keeps only part of the records: the answers must not change.
    fn check_rules(&self) -> Result<Vec<String>, String> {
        let ipv6 = self.expected.ipv6_clients;
        let mut sampler = open_sampler(Vec::new())?;
        let probe = sampler.sample(now_ms()).map_err(text)?;
        let range = probe
            .snapshot
            .settings
            .ip_local_port_range
            .map(|(first, last)| u32::from(last.saturating_sub(first)) + 1)
            .ok_or("ip_local_port_range unread")?;
        // Just under the IPv6 destination's share; every IPv4 destination
        // holds one or two ports.
        let ratio = 0.9 * ipv6 as f64 / f64::from(range);
        let mut sampler = Sampler::open(SamplerConfig {
            source: SourceChoice::Netlink,
            target: NetnsTarget::Host,
            filter: Filter::default(),
            scope: JudgingScope {
                crowded_destination_ratio: ratio,
            },
        })
        .map_err(text)?;
        let mut watch = Watch::new(Thresholds {
            port_exhaustion_ratio: ratio,
            ..Thresholds::default()
        });
        let started = Instant::now();
        let mut kept = (0, 0);
        let mut evaluations = 0;
        let mut active: Vec<Alert> = Vec::new();
        // A CLOSE_WAIT leak waits up to 3 s for its sockets' owners (looked
        // up on their own thread), as in the live modes: the rules get at
        // least 6 evaluations and at least 5 s.
        while evaluations < 6 || started.elapsed() < Duration::from_secs(5) {
            let sampled = sampler.sample(now_ms()).map_err(text)?;
            kept = (sampled.snapshot.sockets.len(), sampled.snapshot.table_size);
            active = watch.judge(sampled).active_alerts;
            evaluations += 1;
            let leaks = active
                .iter()
                .filter(|a| a.kind == AlertKind::CloseWaitLeak)
                .count();
            if leaks == SERVICES.len() && active.iter().any(|a| a.kind == AlertKind::PortExhaustion)
            {
                break;
            }
        }
        let mut lines = vec![format!(
            "rules on {} sockets, {} records kept: {evaluations} evaluations in {:.1} s",
            kept.1,
            kept.0,
            started.elapsed().as_secs_f64()
        )];
        // In tiny tables the full listener's clients (127.3.0.2, three
        // ports) may reach the same share: that one is right too.
        let full_queue_clients = format!("holds {FULL_QUEUE_CLIENTS} of {range}");
        let exhausted: Vec<&Alert> = active
            .iter()
            .filter(|a| a.kind == AlertKind::PortExhaustion)
            .filter(|a| {
                !(a.subject == "127.3.0.2 → 127.3.0.1:7000"
                    && a.summary.contains(&full_queue_clients))
            })
            .collect();
        let wanted = format!("holds {ipv6} of {range} ephemeral ports");
        match exhausted[..] {
            [alert] if alert.subject == "::1 → [::1]:8080" && alert.summary.contains(&wanted) => {
                lines.push(format!("port_exhaustion OK: {}", alert.summary));
            }
            _ => {
                return Err(format!(
                    "port_exhaustion: wanted one alert on ::1 → [::1]:8080 that {wanted}, got {exhausted:?}"
                ));
            }
        }
        let leaks: Vec<&Alert> = active
            .iter()
            .filter(|a| a.kind == AlertKind::CloseWaitLeak)
            .collect();
        let counted: u64 = leaks
            .iter()
            .filter_map(|a| a.summary.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        let named = leaks
            .iter()
            .all(|a| a.summary.contains("owned by") && !a.summary.contains("process unknown"));
        let ports_ok = SERVICES
            .iter()
            .all(|(port, _)| leaks.iter().any(|a| a.subject == format!("port {port}")));
        if !(ports_ok && named && counted == self.expected.close_wait as u64) {
            return Err(format!(
                "close_wait_leak: wanted one alert per service port, {} sockets in all, owners named; got {leaks:?}",
                self.expected.close_wait
            ));
        }
        for alert in leaks {
            lines.push(format!("close_wait_leak OK: {}", alert.summary));
        }
        Ok(lines)
    }

    fn in_namespace(&self, command: &[&str]) -> Result<Duration, String> {
        let started = Instant::now();
        let status = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(command)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("ip netns exec {}: {e}", command.join(" ")))?;
        let elapsed = started.elapsed();
        if !status.success() {
            return Err(format!("ip netns exec {}: {status}", command.join(" ")));
        }
        Ok(elapsed)
    }
}

/// One TIME_WAIT generation: built from `started` to `built`, its first
/// socket expires 60 s after `started` (`deadline` leaves some slack).
struct Generation {
    /// When the first generation's build began.
    first_started: Instant,
    started: Instant,
    built: Instant,
    deadline: Instant,
    /// `--tw-window`: how long after its build began a generation is used.
    window: Duration,
    /// Generations built so far.
    count: usize,
}

/// Notes a live run during which sockstat's TIME_WAIT fell by over 1%.
fn note_time_wait_fall(
    who: &str,
    before: Option<u64>,
    after: Option<u64>,
    notes: &mut Vec<String>,
) {
    if let (Some(b), Some(a)) = (before, after)
        && a * 100 < b * 99
    {
        notes.push(format!(
            "{who}: TIME_WAIT fell from {b} to {a} during its run"
        ));
    }
}

/// The smallest and largest sockstat TIME_WAIT count seen around rounds.
#[derive(Default)]
struct TimeWaitRange {
    min: Option<u64>,
    max: Option<u64>,
}

impl TimeWaitRange {
    fn record(&mut self, value: Option<u64>) {
        if let Some(v) = value {
            self.min = Some(self.min.map_or(v, |m| m.min(v)));
            self.max = Some(self.max.map_or(v, |m| m.max(v)));
        }
    }
}

/// Small tables make short, noisy rounds: up to 100k sockets, run up to
/// five times the rounds asked for (a 10k round takes about 50 ms).
fn rounds_for(reps: usize, size: usize) -> usize {
    reps * (100_000 / size.max(1)).clamp(1, 5)
}

/// A dump whose sink only counts: the floor for any collector.
fn bare(table: &mut NetlinkTable, request: &DumpRequest) -> Result<(Duration, u64), String> {
    let mut count = 0u64;
    let started = Instant::now();
    table
        .dump(request, &mut |_: &SocketRecord| count += 1)
        .map_err(text)?;
    Ok((started.elapsed(), black_box(count)))
}

/// What a tick would cost if it aggregated while receiving instead of
/// storing every record: a LISTEN dump, then the table straight into an
/// `Aggregator`. (No counters or owners: a lower bound for the design.)
fn streamed_tick(table: &mut NetlinkTable, request: &DumpRequest) -> Result<Duration, String> {
    let started = Instant::now();
    let mut snapshot = Snapshot::empty(now_ms(), SourceKind::Netlink);
    table
        .dump(&DumpRequest::listeners(&[]), &mut |r: &SocketRecord| {
            snapshot.listeners.push(*r)
        })
        .map_err(text)?;
    let mut aggregator = Aggregator::new(&snapshot, JudgingScope::default());
    table
        .dump(request, &mut |r: &SocketRecord| aggregator.add(r))
        .map_err(text)?;
    black_box(aggregator.finish());
    Ok(started.elapsed())
}

/// The TIME_WAIT count of the calling thread's namespace, from sockstat.
fn sockstat_time_wait() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/net/sockstat").ok()?;
    let tcp = text.lines().find(|l| l.starts_with("TCP:"))?;
    let mut words = tcp.split_whitespace();
    while let Some(word) = words.next() {
        if word == "tw" {
            return words.next()?.parse().ok();
        }
    }
    None
}

/// Runs the listener sampler at 10 Hz; returns the CPU it used (user +
/// system, this thread) as a percentage of one core, and the call count.
fn listener_cpu(sampler: &mut Sampler, options: &Options) -> Result<(f64, usize), String> {
    let period = Duration::from_millis(100);
    let length = Duration::from_secs_f64(options.listener_secs);
    let cpu_before = thread_cpu();
    let started = Instant::now();
    let mut calls = 0;
    let mut next = started;
    while started.elapsed() < length {
        black_box(sampler.sample_listeners().map_err(text)?);
        calls += 1;
        next += period;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let cpu = thread_cpu() - cpu_before;
    Ok((100.0 * cpu / started.elapsed().as_secs_f64(), calls))
}

/// CPU seconds (user + system) used by the calling thread.
/// CPU seconds (user + system) of every thread of this process.
fn process_cpu() -> f64 {
    cpu_of(libc::RUSAGE_SELF)
}

fn thread_cpu() -> f64 {
    cpu_of(libc::RUSAGE_THREAD)
}

/// CPU seconds (user + system) of every child waited for so far.
fn children_cpu() -> f64 {
    cpu_of(libc::RUSAGE_CHILDREN)
}

fn cpu_of(who: libc::c_int) -> f64 {
    // SAFETY: zeroed rusage is a valid value; getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pointer to a live rusage.
    unsafe { libc::getrusage(who, &mut usage) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Peak RSS of a fresh process doing full ticks: spawned from this thread,
/// so it starts in the benchmark namespace. Returns (baseline, peak) KiB.
fn rss_probe(name: &str) -> Result<(u64, u64), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let child = Command::new(exe)
        .env(ROLE_ENV, "rss")
        .env(RSS_NETNS_ENV, Path::new("/run/netns").join(name))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("spawning the RSS probe: {e}"))?;
    let pid = child.id();
    cleanup::register_pid(pid);
    let output = child.wait_with_output();
    cleanup::unregister_pid(pid);
    let output = output.map_err(|e| format!("RSS probe: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let numbers: Vec<u64> = stdout
        .split_whitespace()
        .skip_while(|w| *w != "rss")
        .skip(1)
        .filter_map(|w| w.parse().ok())
        .collect();
    match numbers[..] {
        [base, peak, ..] if output.status.success() => Ok((base, peak)),
        _ => Err(format!("RSS probe failed: {}", stdout.trim())),
    }
}

/// The `rss` role: full ticks in the namespace inherited from the parent
/// thread; prints `rss BASELINE_KIB PEAK_KIB SOCKETS`.
pub fn run_rss_probe() -> Result<(), String> {
    let expected: PathBuf = std::env::var_os(RSS_NETNS_ENV)
        .ok_or_else(|| format!("{RSS_NETNS_ENV} is not set"))?
        .into();
    let own = namespace::namespace_inode(Path::new("/proc/self/ns/net"))?;
    if own != namespace::namespace_inode(&expected)? {
        return Err("the RSS probe is not in the benchmark namespace".to_string());
    }
    let baseline = high_water_kib()?;
    let mut sampler = open_sampler(Vec::new())?;
    let mut watch = Watch::new(Thresholds::default());
    let mut previous = Some(watch.judge(sampler.sample(now_ms()).map_err(text)?));
    for _ in 0..RSS_TICKS {
        tick(&mut sampler, &mut watch, &mut previous)?;
    }
    let kept = previous.map_or(0, |t| t.snapshot.sockets.len());
    println!("rss {baseline} {} {kept}", high_water_kib()?);
    Ok(())
}

/// VmHWM of this process, KiB.
fn high_water_kib() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(text)?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmHWM in /proc/self/status".to_string())
}
