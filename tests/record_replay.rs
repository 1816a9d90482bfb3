//! Record and replay on real sockets and on damaged files: a recording of
//! the write-up's listen(1) experiment and of a CLOSE_WAIT leak replays the
//! same `--once` JSON at the same instants as the live run printed; a file
//! cut short or with damaged bytes replays up to the damage or says what is
//! wrong, never panics; a full disk (a file size limit) leaves every frame
//! written whole; every recorded frame matches the JSON schema.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{Shutdown, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::recording::{scripted_ticks, write_recording};
use common::schema::{assert_valid, validator};
use common::*;
use serde_json::Value;
use tcpwatch::record::Recording;

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tcpwatch"))
}

/// The live JSON pictures of `tcpwatch --format json ARGS --record FILE`,
/// one per tick, until `done` says so; then the process gets SIGTERM (so
/// the recording is not closed cleanly: no index, found by walking).
fn record_live(
    args: &[&str],
    file: &Path,
    mut on_line: impl FnMut(usize),
    mut done: impl FnMut(&[Value]) -> bool,
) -> Vec<Value> {
    let mut child: Child = binary()
        .args(["--format", "json", "--interval", "300ms"])
        .args(args)
        .arg("--record")
        .arg(file)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start tcpwatch");
    let stdout = child.stdout.take().expect("stdout");
    let (sender, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    let mut pictures: Vec<Value> = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) && !done(&pictures) {
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(100)) {
            pictures.push(serde_json::from_str(&line).expect("a JSON picture"));
            on_line(pictures.len());
        }
    }
    // SAFETY: kill(2) on the pid of our own child; no memory is involved.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    pictures
}

fn replay_once_json(file: &Path, at: &str) -> Value {
    let output = binary()
        .arg("replay")
        .arg(file)
        .args(["--once", "--format", "json", "--at", at])
        .output()
        .expect("run replay");
    assert!(
        output.status.success(),
        "replay --at {at}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("replay prints JSON")
}

/// Every live picture, asked for at its own time, comes back the same.
fn assert_replays_as_live(file: &Path, pictures: &[Value]) {
    let recording = Recording::open(file).expect("the recording opens");
    assert!(
        recording.frames().len() >= pictures.len(),
        "{} frames for {} pictures",
        recording.frames().len(),
        pictures.len()
    );
    for picture in pictures {
        let at = picture["time"].as_str().expect("time");
        assert_eq!(&replay_once_json(file, at), picture, "at {at}");
    }
}

fn has_alert(picture: &Value, kind: &str) -> bool {
    picture["alerts"]
        .as_array()
        .is_some_and(|alerts| alerts.iter().any(|a| a["kind"] == kind))
}

fn temp_file(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

#[test]
fn the_listen1_experiment_replays_as_it_was_seen_live() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = temp_file(&dir, "listen1.rec");
    let listener = listen_with_backlog("127.0.0.1", 1);
    let address = local_addr(&listener);
    let port = address.port().to_string();
    let mut clients = Vec::new();
    let mut full_at = None;
    let pictures = record_live(
        &["--port", &port],
        &file,
        |count| {
            if count == 2 {
                clients.extend((0..5).map(|_| connect_nonblocking(address)));
            }
        },
        |pictures| {
            if full_at.is_none() {
                full_at = pictures.iter().position(|p| has_alert(p, "backlog_full"));
            }
            full_at.is_some_and(|at| pictures.len() >= at + 3)
        },
    );
    assert!(
        pictures.iter().any(|p| has_alert(p, "backlog_full")),
        "the live run saw the full backlog"
    );
    assert_replays_as_live(&file, &pictures);
    // The recording is self-describing.
    let recording = Recording::open(&file).expect("opens");
    let header = recording.header();
    assert!(
        header.flags.iter().any(|f| f == &port),
        "{:?}",
        header.flags
    );
    assert!(
        header
            .kernel
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    );
    assert_eq!(header.namespace, "host");
    // SIGTERM left no index: the frames were found by walking, none damaged.
    assert_eq!(recording.damage(), None);
    drop(clients);
}

#[test]
fn a_close_wait_leak_replays_as_it_was_seen_live_and_its_events_stream_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = temp_file(&dir, "close_wait.rec");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut kept = Vec::new();
    let pictures = record_live(
        &["--port", &port.to_string(), "--close-wait-samples", "2"],
        &file,
        |count| {
            if count == 2 {
                for _ in 0..3 {
                    let client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                    let (server, _) = listener.accept().expect("accept");
                    client.shutdown(Shutdown::Write).expect("client FIN");
                    kept.push((client, server)); // the server never calls close()
                }
            }
        },
        |pictures| {
            pictures
                .iter()
                .filter(|p| has_alert(p, "close_wait_leak"))
                .count()
                >= 2
        },
    );
    assert!(pictures.iter().any(|p| has_alert(p, "close_wait_leak")));
    assert_replays_as_live(&file, &pictures);

    let output = binary()
        .arg("replay")
        .arg(&file)
        .arg("--stream")
        .output()
        .expect("replay --stream");
    assert!(output.status.success());
    let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines[0]["type"], "snapshot");
    assert!(
        lines.iter().any(|l| l["type"] == "alert"
            && l["event"] == "raised"
            && l["kind"] == "close_wait_leak"),
        "the raise streams again"
    );
    assert!(lines.iter().any(|l| l["to"] == "CLOSE_WAIT"), "{lines:?}");
    let validator = validator();
    for line in &lines {
        assert_valid(&validator, line);
    }
    drop(kept);
}

#[test]
fn every_recorded_frame_matches_the_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = temp_file(&dir, "scripted.rec");
    write_recording(&file, &scripted_ticks(8), true);
    let mut recording = Recording::open(&file).expect("opens");
    let validator = validator();
    for number in 0..recording.frames().len() {
        let text = recording.frame_text(number).expect("frame");
        let frame: Value = serde_json::from_slice(&text).expect("JSON");
        assert_valid(&validator, &frame);
        assert!(frame["connections"].is_array() && frame["listener_peaks"].is_object());
    }
}

/// Opens and reads every frame; returns the frames that decoded.
fn read_what_remains(path: &Path) -> Result<Vec<u64>, String> {
    let mut recording = Recording::open(path).map_err(|e| e.to_string())?;
    let mut times = Vec::new();
    for number in 0..recording.frames().len() {
        match recording.tick(number) {
            Ok(tick) => times.push(tick.at_ms()),
            Err(error) => {
                let text = error.to_string();
                assert!(text.contains("damaged"), "a clear error: {text}");
            }
        }
    }
    Ok(times)
}

#[test]
fn a_recording_cut_anywhere_replays_up_to_the_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let whole = temp_file(&dir, "whole.rec");
    let ticks = scripted_ticks(6);
    write_recording(&whole, &ticks, false);
    let bytes = std::fs::read(&whole).expect("read");
    let all: Vec<u64> = ticks.iter().map(|t| t.at_ms()).collect();
    assert_eq!(read_what_remains(&whole), Ok(all.clone()));
    let cut = temp_file(&dir, "cut.rec");
    for len in (0..bytes.len()).step_by(5) {
        std::fs::write(&cut, &bytes[..len]).expect("write");
        match read_what_remains(&cut) {
            Ok(times) => assert_eq!(times, all[..times.len()], "cut at {len}"),
            Err(error) => assert!(
                error.contains("not a tcpwatch recording") || error.contains("damaged"),
                "cut at {len}: {error}"
            ),
        }
    }
    // Through the binary too: a clear word on stderr, the whole frames on stdout.
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).expect("write");
    let output = binary()
        .arg("replay")
        .arg(&cut)
        .arg("--stream")
        .output()
        .expect("run");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is damaged") && stderr.contains("5 whole frames"),
        "{stderr}"
    );
}

#[test]
fn damaged_bytes_are_caught_never_replayed_and_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let whole = temp_file(&dir, "whole.rec");
    let ticks = scripted_ticks(5);
    write_recording(&whole, &ticks, true);
    let bytes = std::fs::read(&whole).expect("read");
    let all: Vec<u64> = ticks.iter().map(|t| t.at_ms()).collect();
    let damaged = temp_file(&dir, "damaged.rec");
    // A deterministic spread of positions, each byte changed.
    let mut position = 7usize;
    for _ in 0..300 {
        position = (position * 7919 + 13) % bytes.len();
        let mut copy = bytes.clone();
        copy[position] ^= 0x5a;
        std::fs::write(&damaged, &copy).expect("write");
        if let Ok(times) = read_what_remains(&damaged) {
            assert!(
                times.iter().all(|t| all.contains(t)),
                "byte {position}: only recorded frames come back"
            );
        }
    }
    std::fs::write(&damaged, b"random bytes, not a recording at all").expect("write");
    let output = binary()
        .arg("replay")
        .arg(&damaged)
        .arg("--once")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a tcpwatch recording"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[test]
fn a_full_disk_leaves_every_written_frame_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = temp_file(&dir, "limited.rec");
    const LIMIT: u64 = 24_000;
    let mut command = binary();
    command
        .args(["--interval", "100ms", "--max-connections", "20", "record"])
        .arg(&file)
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn().expect("start");
    let output = child.wait_with_output().expect("it stops by itself");
    assert_eq!(output.status.code(), Some(1), "a write error ends the run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("failed") && stderr.contains("intact"),
        "{stderr}"
    );
    let size = std::fs::metadata(&file).expect("the file stays").len();
    assert!(size <= LIMIT, "{size}");
    let recording = Recording::open(&file).expect("opens");
    assert_eq!(recording.damage(), None, "cut back to the last whole frame");
    assert!(!recording.frames().is_empty());
    let frames = recording.frames().len();
    assert_eq!(read_what_remains(&file).map(|t| t.len()), Ok(frames));
}
