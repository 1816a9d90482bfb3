//! `tcpwatch serve` measured from the outside on the populated namespace:
//! the real binary (`serve --netns NAME --interval 1s`) scraped once a
//! second over loopback, like a Prometheus with a 1 s scrape interval. Its
//! CPU and memory over the same window as the dashboard's, and how long each
//! scrape takes from connect to the last byte.
//!
//! Owns: the serve child (started, scraped, stopped with SIGTERM through its
//! own pid, killed through its handle only if it overstays) and a minimal
//! HTTP/1.1 GET. Must not: build or change sockets, or signal any other
//! process. The child inherits the measuring thread's namespace, so its
//! loopback listener is inside the benchmark namespace, as is the scraper.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::ROLE_ENV;
use super::cleanup;
use super::dashboard::{SAMPLER_COMM, binary};
use super::options::DashboardOptions;
use super::process::{fit_window, measure_window, thread_named, thread_running};
use super::report::ServeResult;

/// The `--interval` serve is started with.
pub const INTERVAL: &str = "1s";
/// Time between scrapes, as a Prometheus `scrape_interval: 1s` would.
const SCRAPE_EVERY: Duration = Duration::from_secs(1);
const FIRST_SAMPLE_LIMIT: Duration = Duration::from_secs(120);
const STOP_LIMIT: Duration = Duration::from_secs(10);

/// Runs serve on `namespace` and measures it; the window ends before `deadline`.
pub fn measure(
    namespace: &str,
    options: &DashboardOptions,
    deadline: Instant,
) -> Result<ServeResult, String> {
    let binary = binary();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port for serve: {e}"))?
        .port();
    let address: SocketAddr = SocketAddr::from(([127, 0, 0, 1], port));
    let listen = address.to_string();
    let child = Command::new(&binary)
        .args([
            "serve",
            "--netns",
            namespace,
            "--interval",
            INTERVAL,
            "--listen",
            &listen,
        ])
        .env_remove(ROLE_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawning {} serve: {e}", binary.display()))?;
    cleanup::register_pid(child.id());
    let mut run = ServeChild { child };
    let measured = run.measure(address, options, deadline);
    let (clean_exit, ended) = run.stop();
    let mut result = measured?;
    result.binary = binary.display().to_string();
    result.clean_exit = clean_exit;
    result.ended = ended;
    Ok(result)
}

/// One timed scrape.
struct Scrape {
    /// Connect to last byte.
    ms: f64,
    /// Whether serve's sampling thread was running (a dump in progress)
    /// just before: such a scrape shows whether scrapes wait for dumps.
    sampler_busy: bool,
}

struct ServeChild {
    child: Child,
}

impl ServeChild {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("tcpwatch serve exited early ({status})")),
            Err(e) => Err(format!("waiting for tcpwatch serve: {e}")),
        }
    }

    fn measure(
        &mut self,
        address: SocketAddr,
        options: &DashboardOptions,
        deadline: Instant,
    ) -> Result<ServeResult, String> {
        let spawned = Instant::now();
        loop {
            if scrape(address).is_ok_and(|(status, _)| status == 200) {
                break;
            }
            self.check_alive()?;
            if spawned.elapsed() > FIRST_SAMPLE_LIMIT {
                return Err("serve never answered 200 on /metrics".to_string());
            }
            thread::sleep(Duration::from_millis(50));
        }
        let startup_secs = spawned.elapsed().as_secs_f64();
        let pid = self.pid();
        let sampler_tid = thread_named(pid, SAMPLER_COMM);
        thread::sleep(Duration::from_secs_f64(options.warmup_secs));
        self.check_alive()?;
        let window = fit_window(options.window_secs, deadline).ok_or_else(|| {
            "no time left in this TIME_WAIT generation for the window".to_string()
        })?;
        let mut scrapes = Vec::new();
        let mut body = String::new();
        let mut next_scrape = Instant::now();
        let figures = measure_window(pid, window, Some(next_scrape), |now| {
            let sampler_busy = sampler_tid.is_some_and(|tid| thread_running(pid, tid));
            let (status, text) = scrape(address)?;
            scrapes.push(Scrape {
                ms: now.elapsed().as_secs_f64() * 1000.0,
                sampler_busy,
            });
            if status != 200 {
                return Err(format!("a scrape answered {status}"));
            }
            body = text;
            next_scrape += SCRAPE_EVERY;
            Ok(Some(next_scrape))
        })?;
        self.check_alive()?;
        let full_port = format!("port=\"{}\"", super::plan::FULL_QUEUE_PORT);
        Ok(ServeResult {
            startup_secs,
            window_secs: figures.window_secs,
            cpu_percent: figures.cpu_percent,
            hwm_kib: figures.hwm_kib,
            rss_kib: figures.rss_kib,
            scrape_ms: scrapes.iter().map(|s| s.ms).collect(),
            busy_scrape_ms: scrapes
                .iter()
                .filter(|s| s.sampler_busy)
                .map(|s| s.ms)
                .collect(),
            body_bytes: body.len(),
            series: body.lines().filter(|l| !l.starts_with('#')).count(),
            full_listener_line: body
                .lines()
                .find(|l| {
                    l.starts_with("tcpwatch_listener_accept_queue{") && l.contains(&full_port)
                })
                .map(str::to_string),
            ..ServeResult::default()
        })
    }

    /// SIGTERM to our own child, then up to `STOP_LIMIT` for it to exit.
    fn stop(&mut self) -> (bool, String) {
        let pid = self.pid();
        if let Ok(Some(status)) = self.child.try_wait() {
            cleanup::unregister_pid(pid);
            return (false, format!("had already exited ({status})"));
        }
        // SAFETY: kill(2) on the pid of our own, still unreaped child.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
        let asked = Instant::now();
        let outcome = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    break (
                        status.success(),
                        format!(
                            "exited with {status} {:.2} s after SIGTERM",
                            asked.elapsed().as_secs_f64()
                        ),
                    );
                }
                Ok(None) if asked.elapsed() < STOP_LIMIT => {
                    thread::sleep(Duration::from_millis(20));
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break (false, "did not exit on SIGTERM; killed".to_string());
                }
            }
        };
        cleanup::unregister_pid(pid);
        outcome
    }
}

/// GET /metrics (`Connection: close`): the status and the body.
fn scrape(address: SocketAddr) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))
        .map_err(|e| format!("connecting to serve: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nUser-Agent: scale-bench\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("sending a scrape: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("reading a scrape: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| "a scrape without an HTTP head".to_string())?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    Ok((status, body.to_string()))
}
