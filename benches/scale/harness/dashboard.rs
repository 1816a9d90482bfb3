//! The live dashboard measured from the outside: the real `tcpwatch` binary
//! (`--netns NAME --interval 1s`) in a 120×40 pseudo-terminal, watching the
//! populated benchmark namespace. Measures its average CPU and memory over a
//! window (from `/proc/PID`), and how long a key takes to change the screen
//! while dumps run.
//!
//! Owns: the pty child (started, watched, asked to quit with `q`, killed
//! through its own handle only if it overstays), the screen (a vt100 parser
//! fed by a reader thread, which also timestamps an awaited change), and the
//! `/proc/PID` reads of that child. Must not: build or change sockets, enter
//! or change a namespace (the binary's own `--netns` does; the child merely
//! inherits the measuring thread's), or signal any other process.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::PathBuf;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

use super::ROLE_ENV;
use super::cleanup;
use super::options::DashboardOptions;
use super::process::{fit_window, measure_window, thread_named, thread_running};
use super::report::{DashboardResult, Press};

pub const COLS: u16 = 120;
pub const ROWS: u16 = 40;
/// The `--interval` the dashboard is started with.
pub const INTERVAL: &str = "1s";
/// Environment variable naming another binary to measure.
pub const BIN_ENV: &str = "TCPWATCH_BENCH_BIN";
/// What the help overlay's border says (`src/ui/help.rs`): the key `?`
/// toggles it, so every press has a visible effect to wait for.
const HELP_MARK: &str = "Help · Esc closes";
/// The key timed: `?` opens the help overlay and closes it again.
const KEY: &[u8] = b"?";
/// A key that has not shown by then counts as missed.
const KEY_LIMIT: Duration = Duration::from_secs(10);
/// How long the first full sample may take to reach the screen.
const FIRST_SAMPLE_LIMIT: Duration = Duration::from_secs(120);
/// How long the binary has to exit after `q` before it is killed.
const QUIT_LIMIT: Duration = Duration::from_secs(10);
/// The comm of the binary's sampling thread (`tcpwatch-sampler`, cut to
/// the kernel's 15 characters).
pub const SAMPLER_COMM: &str = "tcpwatch-sample";
/// What to allow for the start (cold first tick included) when deciding
/// whether a TIME_WAIT generation lasts the whole measurement.
pub const STARTUP_ALLOWANCE: Duration = Duration::from_secs(10);

/// A second binary whose `--once` is timed in the same rounds as the
/// measured one's (a before/after comparison under the same load).
pub const ONCE_BEFORE_ENV: &str = "TCPWATCH_BENCH_ONCE_BEFORE";

/// The binary `ONCE_BEFORE_ENV` names, if set.
pub fn once_before_binary() -> Option<PathBuf> {
    std::env::var_os(ONCE_BEFORE_ENV).map(PathBuf::from)
}

/// The binary measured: `TCPWATCH_BENCH_BIN`, or the `tcpwatch` cargo built
/// with this benchmark (same profile: release for `cargo bench`, debug for
/// `cargo test`).
pub fn binary() -> PathBuf {
    std::env::var_os(BIN_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_tcpwatch")))
}

/// Runs the dashboard on `namespace` and measures it. The window is cut
/// short so that it ends before `deadline` (when the table stops being N).
pub fn measure(
    namespace: &str,
    options: &DashboardOptions,
    deadline: Instant,
) -> Result<DashboardResult, String> {
    let binary = binary();
    if !binary.is_file() {
        return Err(format!("no tcpwatch binary at {}", binary.display()));
    }
    let mut run = PtyChild::start(&binary, &["--netns", namespace, "--interval", INTERVAL])?;
    let measured = run.measure(options, deadline);
    let (clean_exit, ended) = run.quit();
    let mut result = measured?;
    result.binary = binary.display().to_string();
    result.clean_exit = clean_exit;
    result.ended = ended;
    Ok(result)
}

/// What the reader thread shares: the parsed screen, and the change the
/// measuring side is waiting for.
struct Screen {
    parser: vt100::Parser,
    watch: Option<Watch>,
}

/// "Tell me when the help overlay is `shown` (or gone)": checked after every
/// chunk of output is parsed, so the time is the moment the change arrived.
struct Watch {
    shown: bool,
    at: Sender<Instant>,
}

fn help_shown(parser: &vt100::Parser) -> bool {
    parser.screen().contents().contains(HELP_MARK)
}

struct PtyChild {
    child: Box<dyn Child + Send + Sync>,
    pid: u32,
    master: Option<Box<dyn MasterPty + Send>>,
    writer: Option<Box<dyn Write + Send>>,
    screen: Arc<Mutex<Screen>>,
    reader: Option<JoinHandle<()>>,
    finished: bool,
}

impl PtyChild {
    fn start(binary: &std::path::Path, args: &[&str]) -> Result<PtyChild, String> {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| format!("openpty: {e}"))?;
        let mut command = CommandBuilder::new(binary);
        command.args(args);
        command.env("TERM", "xterm-256color");
        command.env_remove("NO_COLOR");
        command.env_remove(ROLE_ENV);
        let child = pty
            .slave
            .spawn_command(command)
            .map_err(|e| format!("spawning {}: {e}", binary.display()))?;
        drop(pty.slave);
        let Some(pid) = child.process_id() else {
            return Err("the tcpwatch child has no pid".to_string());
        };
        cleanup::register_pid(pid);
        let screen = Arc::new(Mutex::new(Screen {
            parser: vt100::Parser::new(
                NonZeroU16::new(ROWS).expect("rows"),
                NonZeroU16::new(COLS).expect("cols"),
                0,
            ),
            watch: None,
        }));
        let mut run = PtyChild {
            child,
            pid,
            master: None,
            writer: None,
            screen: Arc::clone(&screen),
            reader: None,
            finished: false,
        };
        let mut reader = pty
            .master
            .try_clone_reader()
            .map_err(|e| format!("pty reader: {e}"))?;
        run.writer = Some(
            pty.master
                .take_writer()
                .map_err(|e| format!("pty writer: {e}"))?,
        );
        run.master = Some(pty.master);
        run.reader = Some(
            thread::Builder::new()
                .name("dash-reader".to_string())
                .spawn(move || {
                    let mut buffer = [0u8; 16384];
                    while let Ok(n) = reader.read(&mut buffer) {
                        if n == 0 {
                            break;
                        }
                        let mut screen = lock(&screen);
                        screen.parser.process(&buffer[..n]);
                        let arrived = Instant::now();
                        let reached = screen
                            .watch
                            .as_ref()
                            .is_some_and(|w| help_shown(&screen.parser) == w.shown);
                        if reached && let Some(watch) = screen.watch.take() {
                            let _ = watch.at.send(arrived);
                        }
                    }
                })
                .map_err(|e| format!("spawning the pty reader: {e}"))?,
        );
        Ok(run)
    }

    fn screen_text(&self) -> String {
        lock(&self.screen).parser.screen().contents()
    }

    /// Whether the child has exited; an error with its last screen if so.
    fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "tcpwatch exited early ({status:?}); its screen:\n{}",
                self.screen_text()
            )),
            Err(e) => Err(format!("waiting for tcpwatch: {e}")),
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| "pty writer closed".to_string())?;
        writer
            .write_all(bytes)
            .and_then(|()| writer.flush())
            .map_err(|e| format!("writing to the pty: {e}"))
    }

    /// Waits until the status line (the second) has text: the first full
    /// sample is on screen. (The first line may be cut at 120 columns.)
    fn wait_for_first_sample(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let screen = self.screen_text();
            if screen.lines().nth(1).is_some_and(|l| !l.trim().is_empty()) {
                return Ok(());
            }
            self.check_alive()?;
            if started.elapsed() > FIRST_SAMPLE_LIMIT {
                return Err(format!(
                    "no full sample on screen after {} s; the screen:\n{screen}",
                    FIRST_SAMPLE_LIMIT.as_secs()
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn measure(
        &mut self,
        options: &DashboardOptions,
        deadline: Instant,
    ) -> Result<DashboardResult, String> {
        let spawned = Instant::now();
        self.wait_for_first_sample()?;
        let startup_secs = spawned.elapsed().as_secs_f64();
        let sampler_tid = thread_named(self.pid, SAMPLER_COMM);
        thread::sleep(Duration::from_secs_f64(options.warmup_secs));
        self.check_alive()?;

        let Some(window) = fit_window(options.window_secs, deadline) else {
            return Err(format!(
                "no time left in this TIME_WAIT generation for the window (first sample on screen after {startup_secs:.1} s); the header:\n{}",
                self.screen_text()
                    .lines()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        };
        let mean_gap = (window.as_secs_f64() / (options.keys + 1) as f64).min(1.0);
        let mut random = XorShift::seeded();
        let mut gap = || Duration::from_secs_f64(mean_gap * (0.5 + random.unit()));
        let mut presses = Vec::new();
        let first_key = (options.keys > 0).then(|| Instant::now() + gap());
        let figures = measure_window(self.pid, window, first_key, |_| {
            presses.push(self.press(sampler_tid)?);
            Ok((presses.len() < options.keys).then(|| Instant::now() + gap()))
        })?;
        // Leave the help closed (timed too), then let one redraw pass.
        if help_shown(&lock(&self.screen).parser) {
            presses.push(self.press(sampler_tid)?);
        }
        thread::sleep(Duration::from_millis(600));
        self.check_alive()?;
        let screen = self.screen_text();
        Ok(DashboardResult {
            startup_secs,
            window_asked_secs: options.window_secs,
            window_secs: figures.window_secs,
            warmup_secs: options.warmup_secs,
            cpu_percent: figures.cpu_percent,
            hwm_kib: figures.hwm_kib,
            rss_kib: figures.rss_kib,
            presses,
            header: screen
                .lines()
                .take(2)
                .map(|l| l.trim_end().to_string())
                .collect(),
            screen,
            ..DashboardResult::default()
        })
    }

    /// Sends the key and times it until the help overlay has toggled on
    /// screen. Notes whether the sampling thread and the UI thread were
    /// running (state R) just before.
    fn press(&mut self, sampler_tid: Option<u32>) -> Result<Press, String> {
        let (at, arrived) = mpsc::channel();
        {
            let mut screen = lock(&self.screen);
            let opens = !help_shown(&screen.parser);
            screen.watch = Some(Watch { shown: opens, at });
        }
        let sampler_busy = sampler_tid.is_some_and(|tid| thread_running(self.pid, tid));
        let ui_busy = thread_running(self.pid, self.pid);
        let sent = Instant::now();
        self.send(KEY)?;
        let latency_ms = match arrived.recv_timeout(KEY_LIMIT) {
            Ok(at) => Some(at.saturating_duration_since(sent).as_secs_f64() * 1e3),
            Err(_) => {
                lock(&self.screen).watch = None;
                self.check_alive()?;
                None
            }
        };
        Ok(Press {
            latency_ms,
            sampler_busy,
            ui_busy,
        })
    }

    /// Asks the binary to quit with `q`; kills it (through its handle, that
    /// is its pid) if it has not exited after `QUIT_LIMIT`. Returns whether
    /// it exited cleanly, and how it ended.
    fn quit(&mut self) -> (bool, String) {
        if self.finished {
            return (false, "already finished".to_string());
        }
        self.finished = true;
        let _ = self.send(b"q");
        let started = Instant::now();
        let outcome = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    break (
                        status.success(),
                        format!(
                            "exited with status {} {:.1} s after q",
                            status.exit_code(),
                            started.elapsed().as_secs_f64()
                        ),
                    );
                }
                Ok(None) if started.elapsed() < QUIT_LIMIT => {
                    thread::sleep(Duration::from_millis(20));
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break (
                        false,
                        format!("killed: still running {} s after q", QUIT_LIMIT.as_secs()),
                    );
                }
            }
        };
        cleanup::unregister_pid(self.pid);
        drop(self.writer.take());
        drop(self.master.take());
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        outcome
    }
}

impl Drop for PtyChild {
    fn drop(&mut self) {
        if !self.finished {
            self.quit();
        }
    }
}

fn lock(screen: &Mutex<Screen>) -> MutexGuard<'_, Screen> {
    screen.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// Random phases for the key presses (no crate needed for this).
struct XorShift(u64);

impl XorShift {
    fn seeded() -> XorShift {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        XorShift((nanos ^ (u64::from(std::process::id()) << 32)) | 1)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}
