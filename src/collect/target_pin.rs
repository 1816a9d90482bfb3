//! Pins the watched target at start, so that a target that vanishes is
//! noticed and a recycled pid never silently switches namespaces.
//!
//! `--pid N`: an open handle on the directory `/proc/N` of *that* process.
//! The kernel ties the handle to the process, not to the number: once the
//! process has exited (or is a zombie), lookups through it fail, even if a
//! new process got the same pid. The namespace inode it was in is kept too,
//! so a process that moved to another namespace is noticed.
//! `--netns NAME`: the namespace inode `/run/netns/NAME` pointed at; after
//! `ip netns del` the name is gone, after a re-add it points elsewhere.
//!
//! The sampling thread's `setns` keeps a namespace alive, so a dump never
//! fails when the target vanishes: the sampler asks `check` after each read.
//!
//! Owns: `TargetPin`. Must not: enter namespaces (namespace.rs does) or
//! read socket tables.

use std::fs::{self, File};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::CollectError;
use super::namespace::{NAMED_NETNS_DIR, NetnsTarget};

/// A namespace file's identity, as `ls -L -i` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsIdentity {
    pub dev: u64,
    pub ino: u64,
}

impl NsIdentity {
    pub fn of(path: &Path) -> io::Result<NsIdentity> {
        let meta = fs::metadata(path)?;
        Ok(NsIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
}

/// What tcpwatch was started on, held so that its disappearance shows.
#[derive(Debug)]
pub struct TargetPin {
    pinned: Pinned,
}

#[derive(Debug)]
enum Pinned {
    Host,
    Process {
        pid: u32,
        /// `/proc/PID`, opened O_PATH: tied to the process, not the number.
        dir: File,
        /// The namespace it was in; `None` when not permitted to look.
        netns: Option<NsIdentity>,
    },
    Named {
        name: String,
        netns: NsIdentity,
    },
}

impl TargetPin {
    /// Pins `target` as it is now. Errors say why it cannot be watched.
    pub fn open(target: &NetnsTarget) -> Result<TargetPin, CollectError> {
        let pinned = match target {
            NetnsTarget::Host => Pinned::Host,
            NetnsTarget::Pid(pid) => pin_process(*pid)?,
            NetnsTarget::Named(name) => {
                let path = Path::new(NAMED_NETNS_DIR).join(name);
                match NsIdentity::of(&path) {
                    Ok(netns) => Pinned::Named {
                        name: name.clone(),
                        netns,
                    },
                    Err(_) => {
                        return Err(CollectError::NoSuchNetns { name: name.clone() });
                    }
                }
            }
        };
        Ok(TargetPin { pinned })
    }

    /// The namespace identity pinned, when known.
    #[cfg(test)]
    pub fn netns(&self) -> Option<NsIdentity> {
        match &self.pinned {
            Pinned::Host => None,
            Pinned::Process { netns, .. } => *netns,
            Pinned::Named { netns, .. } => Some(*netns),
        }
    }

    /// `Err(TargetGone)` once the pinned target no longer exists as pinned.
    pub fn check(&self) -> Result<(), CollectError> {
        match &self.pinned {
            Pinned::Host => Ok(()),
            Pinned::Process { pid, dir, netns } => check_process(*pid, dir, *netns),
            Pinned::Named { name, netns } => check_named(name, *netns),
        }
    }
}

fn pin_process(pid: u32) -> Result<Pinned, CollectError> {
    let path = PathBuf::from(format!("/proc/{pid}"));
    if pid == 0 {
        return Err(CollectError::NoSuchPid { pid });
    }
    let dir = open_path(&path).map_err(|_| super::namespace::missing_pid(pid))?;
    match fs::read_to_string(through(&dir, "stat")) {
        // A zombie has a /proc entry but no namespace left to watch.
        Ok(stat) if matches!(process_state(&stat), Some('Z' | 'X')) => {
            return Err(CollectError::NoSuchPid { pid });
        }
        Ok(_) => {}
        // Under hidepid the directory opens but nothing in it does.
        Err(_) => return Err(super::namespace::missing_pid(pid)),
    }
    let netns = NsIdentity::of(&through(&dir, "ns/net")).ok();
    Ok(Pinned::Process { pid, dir, netns })
}

fn check_process(pid: u32, dir: &File, netns: Option<NsIdentity>) -> Result<(), CollectError> {
    let gone = |reason: String| CollectError::TargetGone {
        target: format!("pid {pid}"),
        reason,
    };
    let exited = || gone("the process has exited".to_string());
    let stat = match fs::read_to_string(through(dir, "stat")) {
        Ok(stat) => stat,
        Err(err) if is_gone(&err) => return Err(exited()),
        // Unreadable for another reason: nothing proves it is gone.
        Err(_) => return Ok(()),
    };
    if matches!(process_state(&stat), Some('Z' | 'X')) {
        return Err(exited());
    }
    if let Some(pinned) = netns {
        match NsIdentity::of(&through(dir, "ns/net")) {
            Ok(now) if now != pinned => {
                return Err(gone(format!(
                    "the process moved to another network namespace (net:[{}])",
                    now.ino
                )));
            }
            Err(err) if is_gone(&err) => return Err(exited()),
            _ => {}
        }
    }
    Ok(())
}

fn check_named(name: &str, pinned: NsIdentity) -> Result<(), CollectError> {
    let gone = |reason: &str| CollectError::TargetGone {
        target: format!("netns {name}"),
        reason: reason.to_string(),
    };
    match NsIdentity::of(&Path::new(NAMED_NETNS_DIR).join(name)) {
        Ok(now) if now == pinned => Ok(()),
        Ok(_) => Err(gone(
            "the name now refers to another namespace (deleted and added again)",
        )),
        Err(err) if is_gone(&err) => Err(gone("it was deleted (ip netns del)")),
        Err(_) => Ok(()),
    }
}

/// The state letter of a `/proc/PID/stat` line (after the `(comm)`).
fn process_state(stat: &str) -> Option<char> {
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    after_name.trim_start().chars().next()
}

/// A path resolved through the pinned directory handle.
fn through(dir: &File, name: &str) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}/{name}", dir.as_raw_fd()))
}

fn open_path(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
}

fn is_gone(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound || err.raw_os_error() == Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn the_state_letter_follows_the_last_parenthesis() {
        assert_eq!(process_state("12 (a) b) S 1 2"), Some('S'));
        assert_eq!(process_state("12 (zz) Z 1"), Some('Z'));
        assert_eq!(process_state("garbage"), None);
        assert_eq!(process_state("1 (x)"), None);
    }

    #[test]
    fn a_process_that_exits_is_gone_even_before_it_is_reaped() {
        let mut child = Command::new("sleep")
            .arg("30")
            .stdout(Stdio::null())
            .spawn()
            .expect("sleep starts");
        let pin = TargetPin::open(&NetnsTarget::Pid(child.id())).expect("pin the child");
        assert!(pin.check().is_ok());
        assert!(
            pin.netns().is_some(),
            "our own child's namespace is visible"
        );
        child.kill().expect("kill our own child");
        // Not reaped yet: a zombie.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let err = pin.check().expect_err("a zombie is gone");
        assert!(matches!(err, CollectError::TargetGone { .. }), "{err:?}");
        assert!(err.to_string().contains("has exited"), "{err}");
        child.wait().expect("reap");
        assert!(pin.check().is_err(), "still gone once reaped");
    }

    #[test]
    fn the_host_never_goes_away_and_a_missing_pid_is_refused() {
        assert!(
            TargetPin::open(&NetnsTarget::Host)
                .expect("host")
                .check()
                .is_ok()
        );
        let err = TargetPin::open(&NetnsTarget::Pid(999_999_999)).expect_err("no such pid");
        assert!(matches!(err, CollectError::NoSuchPid { .. }), "{err:?}");
    }
}
