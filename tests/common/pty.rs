//! The real binary in a pseudo-terminal: what it draws (through a vt100
//! parser), keys sent to it, and how it exits. Only the child it started is
//! ever killed, and only when it overstays.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub struct PtyRun {
    child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    output: Arc<Mutex<Vec<u8>>>,
    parser: Arc<Mutex<vt100::Parser>>,
    reader: Option<JoinHandle<()>>,
}

impl PtyRun {
    /// Starts tcpwatch with `args` in a `cols`×`rows` terminal.
    pub fn start(args: &[&str], cols: u16, rows: u16) -> PtyRun {
        PtyRun::start_with_env(args, cols, rows, &[("TERM", Some("xterm-256color"))])
    }

    /// `start`, with environment variables set (`Some`) or removed (`None`).
    pub fn start_with_env(
        args: &[&str],
        cols: u16,
        rows: u16,
        env: &[(&str, Option<&str>)],
    ) -> PtyRun {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_tcpwatch"));
        command.args(args);
        command.env_remove("NO_COLOR");
        for (name, value) in env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            }
        }
        let child = pty.slave.spawn_command(command).expect("spawn tcpwatch");
        drop(pty.slave);
        let output = Arc::new(Mutex::new(Vec::<u8>::new()));
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            NonZeroU16::new(rows).expect("rows"),
            NonZeroU16::new(cols).expect("cols"),
            0,
        )));
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        let reader = {
            let output = Arc::clone(&output);
            let parser = Arc::clone(&parser);
            thread::spawn(move || {
                let mut buffer = [0u8; 8192];
                while let Ok(n) = reader.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    output
                        .lock()
                        .expect("output")
                        .extend_from_slice(&buffer[..n]);
                    parser.lock().expect("parser").process(&buffer[..n]);
                }
            })
        };
        let writer = pty.master.take_writer().expect("pty writer");
        PtyRun {
            child,
            master: pty.master,
            writer,
            output,
            parser,
            reader: Some(reader),
        }
    }

    pub fn screen(&self) -> String {
        self.parser.lock().expect("parser").screen().contents()
    }

    /// Polls the screen until `done` says yes or `deadline` passes; returns
    /// whether it said yes, and the last screen.
    pub fn wait_for(&self, deadline: Duration, done: impl Fn(&str) -> bool) -> (bool, String) {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return (true, screen);
            }
            if started.elapsed() > deadline {
                return (false, screen);
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The child's pid, for sending it signals (only this child, by pid).
    pub fn pid(&self) -> i32 {
        let pid = self.child.process_id().expect("tcpwatch has a pid");
        i32::try_from(pid).expect("pid fits in pid_t")
    }

    /// Sends `signal` to the child, by its pid.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the pid of the child this run started.
        let rc = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(rc, 0, "kill({}, {signal})", self.pid());
    }

    /// Whether the pty is in raw mode (no line editing, no echo), read from
    /// the master side.
    pub fn is_raw(&self) -> bool {
        let fd = self.master.as_raw_fd().expect("pty master fd");
        // SAFETY: termios is plain data; tcgetattr fills it from a valid fd.
        let mut termios: libc::termios = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::tcgetattr(fd, &mut termios) };
        assert_eq!(rc, 0, "tcgetattr on the pty master");
        termios.c_lflag & (libc::ICANON | libc::ECHO) == 0
    }

    /// Puts the pty back in canonical mode with echo, as a shell does
    /// while a job is stopped.
    pub fn cook(&self) {
        let fd = self.master.as_raw_fd().expect("pty master fd");
        // SAFETY: termios is plain data, read then written on a valid fd.
        let mut termios: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::tcgetattr(fd, &mut termios) }, 0);
        termios.c_lflag |= libc::ICANON | libc::ECHO;
        assert_eq!(unsafe { libc::tcsetattr(fd, libc::TCSANOW, &termios) }, 0);
    }

    /// The kernel's state letter for the child (`S` sleeping, `T` stopped),
    /// from /proc/PID/stat.
    pub fn process_state(&self) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        let after_name = &stat[stat.rfind(')')? + 1..];
        after_name.trim_start().chars().next()
    }

    /// Everything the child wrote so far.
    pub fn output_so_far(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("output")).into_owned()
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("send keys");
        self.writer.flush().expect("flush");
    }

    /// Waits for the child to exit; kills it (by its handle) after `limit`.
    /// Returns the exit status if it exited on its own, and all its output.
    pub fn finish(mut self, limit: Duration) -> (Option<portable_pty::ExitStatus>, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for tcpwatch") {
                break Some(status);
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                break None;
            }
            thread::sleep(Duration::from_millis(50));
        };
        drop(self.writer);
        drop(self.master);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let bytes = self.output.lock().expect("output").clone();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// The part of the output after the last entry into the alternate screen.
pub fn after_last_entry(output: &str) -> &str {
    output.rfind("\x1b[?1049h").map_or(output, |i| &output[i..])
}
