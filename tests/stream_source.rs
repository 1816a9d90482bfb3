//! `--stream` says where its sockets come from: its first line, a
//! `snapshot`, carries the source and the notes, so a fallback to /proc (sock_diag refused, e.g. by seccomp returning EPERM for
//! `socket(AF_NETLINK)`) is never silent.
//!
//! The seccomp filter is installed in the child only (before exec); no
//! privilege is needed.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(10);

/// Makes `socket(AF_NETLINK, ...)` fail with EPERM in this process and its
/// children, like a container runtime's seccomp profile.
fn refuse_netlink_sockets() -> std::io::Result<()> {
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    const RET_ERRNO: u32 = 0x0005_0000;
    const RET_ALLOW: u32 = 0x7fff_0000;
    let nr = u32::try_from(libc::SYS_socket).expect("syscall number");
    let family = u32::try_from(libc::AF_NETLINK).expect("AF_NETLINK");
    let eperm = u32::try_from(libc::EPERM).expect("EPERM");
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let program = [
        op(LD_W_ABS, 0, 0, 0),  // seccomp_data.nr
        op(JEQ_K, 0, 3, nr),    // socket()? else allow
        op(LD_W_ABS, 0, 0, 16), // args[0], the family
        op(JEQ_K, 0, 1, family),
        op(RET_K, 0, 0, RET_ERRNO | eperm),
        op(RET_K, 0, 0, RET_ALLOW),
    ];
    let fprog = libc::sock_fprog {
        len: u16::try_from(program.len()).expect("short program"),
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: prctl with valid arguments; `fprog` points at `program`,
    // both alive for the call.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &fprog) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn first_stream_line(seccomp: bool) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tcpwatch"));
    command
        .args(["--stream", "--port", "1", "--interval", "200ms"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if seccomp {
        // SAFETY: the closure only calls prctl, which is async-signal-safe.
        unsafe {
            command.pre_exec(refuse_netlink_sockets);
        }
    }
    let mut child = command.spawn().expect("tcpwatch starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(DEADLINE);
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("--stream prints a first line");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[test]
fn the_stream_starts_with_its_source() {
    let line = first_stream_line(false);
    assert_eq!(line["type"], "snapshot", "{line}");
    assert!(
        line["source"] == "netlink" || line["source"] == "proc",
        "{line}"
    );
    assert_eq!(line["namespace"], "host");
    assert!(line["notes"].is_array(), "{line}");
}

#[test]
fn a_refused_sock_diag_falls_back_to_proc_and_says_so() {
    let line = first_stream_line(true);
    assert_eq!(line["type"], "snapshot", "{line}");
    assert_eq!(line["source"], "proc", "{line}");
    let notes = line["notes"].to_string();
    assert!(notes.contains("sock_diag"), "{notes}");
    assert!(notes.contains("backlogs unknown"), "{notes}");
}
