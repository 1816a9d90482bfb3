//! Running `tcpwatch serve` and a real Prometheus server on loopback, and a
//! tiny HTTP/1.1 client to talk to them. Every process started here is
//! killed by its own pid when the value is dropped; temporary configs and
//! data directories go away with it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::eventually;

/// A free port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A tool the test needs: its path, or `None` (the caller skips, or fails in CI).
pub fn tool(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.is_file())
}

/// Whether a test that cannot run must fail rather than skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A Prometheus tool (`prometheus`, `promtool`) on PATH; without it the
/// test skips with a line, or fails under CI.
pub fn needed(name: &str) -> Option<PathBuf> {
    let found = tool(name);
    if found.is_none() {
        assert!(
            !in_ci(),
            "{name} is not installed: .ci/run installs Debian's prometheus package"
        );
        eprintln!("skipped: {name} is not installed (apt-get install prometheus)");
    }
    found
}

/// `promtool check metrics` on a scrape: its complaints, empty when none.
pub fn promtool_complaints(promtool: &Path, text: &str) -> String {
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    check
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    let output = check.wait_with_output().expect("promtool ends");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() && said.is_empty() {
        String::new()
    } else {
        format!("{}: {said}", output.status)
    }
}

/// One HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// GET `path` with extra header lines; `Connection: close`, 10 s time-out.
pub fn get(address: SocketAddr, path: &str, headers: &[&str]) -> std::io::Result<Reply> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    send_raw(address, request.as_bytes())
}

/// Sends bytes as they are and reads the reply until the server closes.
pub fn send_raw(address: SocketAddr, bytes: &[u8]) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(bytes)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_reply(&raw)
}

pub fn parse_reply(raw: &[u8]) -> std::io::Result<Reply> {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no HTTP head in {text:?}")))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {head:?}")))?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok(Reply {
        status,
        head: head.to_string(),
        body,
    })
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// `tcpwatch serve` on a free loopback port.
pub struct Serve {
    child: Child,
    pub address: SocketAddr,
}

impl Serve {
    /// Starts it with extra watch flags and waits for its first sample.
    pub fn start(flags: &[&str]) -> Serve {
        let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let listen = address.to_string();
        let mut args = vec!["serve", "--listen", listen.as_str()];
        args.extend_from_slice(flags);
        let child = Command::new(env!("CARGO_BIN_EXE_tcpwatch"))
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tcpwatch serve");
        let serve = Serve { child, address };
        let up = eventually(Duration::from_secs(20), || {
            serve.scrape(&[]).is_ok_and(|reply| reply.status == 200)
        });
        assert!(up, "tcpwatch serve never answered 200 on {address}");
        serve
    }

    pub fn scrape(&self, headers: &[&str]) -> std::io::Result<Reply> {
        get(self.address, "/metrics", headers)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits; the exit status, or `None` if it did not stop.
    pub fn terminate(self, within: Duration) -> Option<std::process::ExitStatus> {
        self.signal(libc::SIGTERM, within)
    }

    /// Sends `signal` and waits; the exit status, or `None` if it did not stop.
    pub fn signal(mut self, signal: i32, within: Duration) -> Option<std::process::ExitStatus> {
        // SAFETY: kill(2) on the pid of our own, unreaped child.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, signal);
        }
        let mut status = None;
        eventually(within, || {
            status = self.child.try_wait().ok().flatten();
            status.is_some()
        });
        status
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A sample's value in the Prometheus text format: the first line that
/// starts with `series` (name and labels as written).
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A real Prometheus server scraping `target` every second, with its own
/// config and data directory.
pub struct Prometheus {
    child: Child,
    pub address: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    pub fn start(binary: &Path, target: SocketAddr) -> Prometheus {
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: tcpwatch\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("write prometheus.yml");
        let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={address}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let prometheus = Prometheus {
            child,
            address,
            _dir: dir,
        };
        let ready = eventually(Duration::from_secs(30), || {
            get(address, "/-/ready", &[]).is_ok_and(|r| r.status == 200)
        });
        assert!(ready, "prometheus never became ready on {address}");
        prometheus
    }

    /// An instant query through the HTTP API: each series' labels and value.
    pub fn query(&self, expression: &str) -> Vec<(Value, f64)> {
        let path = format!("/api/v1/query?query={}", percent_encode(expression));
        let Ok(reply) = get(self.address, &path, &[]) else {
            return Vec::new();
        };
        let Ok(json) = serde_json::from_str::<Value>(&reply.body) else {
            return Vec::new();
        };
        json["data"]["result"]
            .as_array()
            .map(|series| {
                series
                    .iter()
                    .filter_map(|s| {
                        let value = s["value"][1].as_str()?.parse().ok()?;
                        Some((s["metric"].clone(), value))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The value of a query that must return one series.
    pub fn value(&self, expression: &str) -> Option<f64> {
        match self.query(expression).as_slice() {
            [(_, value)] => Some(*value),
            _ => None,
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
