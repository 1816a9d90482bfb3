//! Which network namespace to watch, and entering it.
//!
//! Owns: `NetnsTarget`, `NamespaceContext` and `enter`, the only place that
//! calls `setns`. Must not: read socket tables or sysctls itself, or change
//! the namespace of any thread but the one that calls `enter`.
//!
//! # Threads
//!
//! `enter` may move the *calling thread* into another network namespace
//! (`setns(fd, CLONE_NEWNET)`), for good. Call it on a thread dedicated to
//! collecting, and do every read that uses the returned context on that same
//! thread: `/proc/thread-self/net` and `/proc/sys/net` are resolved against
//! the namespace of the thread that opens them, and a netlink socket belongs
//! to the namespace of the thread that creates it. Other threads, the main
//! thread included, stay where they were.

use std::fs::{self, File};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::CollectError;

/// Where named namespaces live (`ip netns add NAME` bind-mounts them here).
pub(crate) const NAMED_NETNS_DIR: &str = "/run/netns";

/// The network namespace the user asked to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetnsTarget {
    /// The namespace tcpwatch runs in.
    Host,
    /// The namespace of a process.
    Pid(u32),
    /// A namespace named by `ip netns`, under /run/netns.
    Named(String),
}

impl NetnsTarget {
    /// True when the target is the namespace tcpwatch runs in (the host, or
    /// a process or name that resolves to it). False when it cannot tell.
    pub fn is_own_namespace(&self) -> bool {
        match self {
            NetnsTarget::Host => true,
            NetnsTarget::Pid(pid) => {
                same_namespace_as_ours(Path::new(&format!("/proc/{pid}/ns/net"))).unwrap_or(false)
            }
            NetnsTarget::Named(name) => {
                is_plain_name(name)
                    && same_namespace_as_ours(&Path::new(NAMED_NETNS_DIR).join(name))
                        .unwrap_or(false)
            }
        }
    }

    /// "host", "pid 1234", "netns blue".
    pub fn label(&self) -> String {
        match self {
            NetnsTarget::Host => "host".to_string(),
            NetnsTarget::Pid(pid) => format!("pid {pid}"),
            NetnsTarget::Named(name) => format!("netns {name}"),
        }
    }
}

/// How to read the chosen namespace from the thread that entered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceContext {
    /// Directory with `tcp`, `tcp6`, `netstat`, `snmp`, `sockstat`.
    pub net_dir: PathBuf,
    /// Root for sysctls (`/proc/sys`); `None` when they would show another
    /// namespace's values.
    pub sys_root: Option<PathBuf>,
    /// Whether a sock_diag socket opened on this thread sees the namespace.
    pub netlink_usable: bool,
    pub label: String,
    /// Things the user should know, e.g. why the backlog is missing.
    pub notes: Vec<String>,
    /// Why the namespace could not be entered (read from outside instead):
    /// the errno of the refusal.
    pub entry_refused: Option<i32>,
}

impl NamespaceContext {
    /// The calling thread's own namespace, read through /proc/thread-self.
    pub(crate) fn own(label: String) -> NamespaceContext {
        NamespaceContext {
            net_dir: PathBuf::from("/proc/thread-self/net"),
            sys_root: Some(PathBuf::from("/proc/sys")),
            netlink_usable: true,
            label,
            notes: Vec::new(),
            entry_refused: None,
        }
    }

    /// Another process's namespace seen from outside: /proc/PID/net only,
    /// because opening or entering `ns_path` was refused with `refusal`.
    pub(crate) fn from_outside(
        pid: u32,
        label: String,
        ns_path: &Path,
        refusal: &io::Error,
    ) -> NamespaceContext {
        let why = if is_root() {
            format!(
                "root, but {} was refused ({refusal}: a security module, a user namespace \
                 or a ptrace restriction)",
                ns_path.display()
            )
        } else {
            format!("not root ({} refused: {refusal})", ns_path.display())
        };
        NamespaceContext {
            net_dir: PathBuf::from(format!("/proc/{pid}/net")),
            sys_root: None,
            netlink_usable: false,
            label,
            notes: vec![format!(
                "{why}: reading /proc/{pid}/net (no listener backlog, no sysctls); \
                 sock_diag needs CAP_SYS_ADMIN to enter the namespace"
            )],
            entry_refused: Some(refusal.raw_os_error().unwrap_or(libc::EACCES)),
        }
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The error for a pid whose /proc entry cannot be seen: either there is
/// no such process, or /proc hides it (mounted with `hidepid`). kill(pid, 0)
/// tells them apart without sending anything.
pub(crate) fn missing_pid(pid: u32) -> CollectError {
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return CollectError::NoSuchPid { pid };
    };
    if raw <= 0 {
        return CollectError::NoSuchPid { pid };
    }
    // SAFETY: signal 0 sends nothing; it only checks that the pid exists.
    let rc = unsafe { libc::kill(raw, 0) };
    let exists = rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if exists {
        CollectError::ProcessHidden { pid }
    } else {
        CollectError::NoSuchPid { pid }
    }
}

/// The label of the namespace we run in: "host", or, under
/// `ip netns exec NAME`, "netns NAME" (what `ip netns identify` finds: the
/// entry of /run/netns with our namespace's inode).
fn own_label() -> String {
    let Ok(ours) = fs::metadata("/proc/thread-self/ns/net") else {
        return "host".to_string();
    };
    let Ok(entries) = fs::read_dir(NAMED_NETNS_DIR) else {
        return "host".to_string();
    };
    for entry in entries.flatten() {
        let Ok(meta) = fs::metadata(entry.path()) else {
            continue;
        };
        if meta.dev() == ours.dev()
            && meta.ino() == ours.ino()
            && let Some(name) = entry.file_name().to_str()
        {
            return format!("netns {name}");
        }
    }
    "host".to_string()
}

/// Prepares to watch `target`, entering its namespace if needed.
///
/// Must be called on the dedicated collector thread (see the module docs):
/// on success for `Pid` (another namespace, privileged) and `Named`, the
/// calling thread is now in the target namespace.
pub fn enter(target: &NetnsTarget) -> Result<NamespaceContext, CollectError> {
    let label = target.label();
    match target {
        NetnsTarget::Host => Ok(NamespaceContext::own(own_label())),
        NetnsTarget::Pid(pid) => enter_pid(*pid, label),
        NetnsTarget::Named(name) => enter_named(name, label),
    }
}

fn enter_pid(pid: u32, label: String) -> Result<NamespaceContext, CollectError> {
    let process_dir = PathBuf::from(format!("/proc/{pid}"));
    if pid == 0 || fs::symlink_metadata(&process_dir).is_err() {
        return Err(missing_pid(pid));
    }
    let ns_path = process_dir.join("ns/net");
    match same_namespace_as_ours(&ns_path) {
        Ok(true) => return Ok(NamespaceContext::own(label)),
        Ok(false) => {}
        Err(err) if is_not_permitted(&err) => {
            return Ok(NamespaceContext::from_outside(pid, label, &ns_path, &err));
        }
        Err(err) if is_gone(&err) => return Err(CollectError::NoSuchPid { pid }),
        Err(source) => {
            return Err(CollectError::NamespaceUnusable {
                target: label,
                source,
            });
        }
    }
    match set_network_namespace(&ns_path) {
        Ok(()) => Ok(NamespaceContext::own(label)),
        Err(err) if is_not_permitted(&err) => {
            Ok(NamespaceContext::from_outside(pid, label, &ns_path, &err))
        }
        Err(err) if is_gone(&err) => Err(CollectError::NoSuchPid { pid }),
        Err(source) => Err(CollectError::NamespaceUnusable {
            target: label,
            source,
        }),
    }
}

fn enter_named(name: &str, label: String) -> Result<NamespaceContext, CollectError> {
    let no_such = || CollectError::NoSuchNetns {
        name: name.to_string(),
    };
    if !is_plain_name(name) {
        return Err(no_such());
    }
    let path = Path::new(NAMED_NETNS_DIR).join(name);
    match set_network_namespace(&path) {
        Ok(()) => Ok(NamespaceContext::own(label)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Err(no_such()),
        Err(source) if is_not_permitted(&source) => Err(CollectError::NamespacePermission {
            target: label,
            source,
        }),
        Err(source) => Err(CollectError::NamespaceUnusable {
            target: label,
            source,
        }),
    }
}

/// A name `ip netns` could have made: one path component, not `.`/`..`.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

/// Compares the namespace file's identity (device, inode) with the calling
/// thread's, as `ls -L -i` on the two `ns/net` links would.
fn same_namespace_as_ours(ns_path: &Path) -> io::Result<bool> {
    let theirs = fs::metadata(ns_path)?;
    let ours = fs::metadata("/proc/thread-self/ns/net")?;
    Ok(theirs.dev() == ours.dev() && theirs.ino() == ours.ino())
}

/// Opens a namespace file and moves the calling thread into it.
fn set_network_namespace(ns_path: &Path) -> io::Result<()> {
    enter_file(&File::open(ns_path)?)
}

/// Moves the calling thread into the network namespace of an open
/// namespace file (`/proc/PID/ns/net`, `/run/netns/NAME`), for good: the
/// caller returns by entering its own namespace's file again.
pub(crate) fn enter_file(file: &File) -> io::Result<()> {
    // SAFETY: `file` is an open descriptor for the duration of the call;
    // setns only changes the calling thread's namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn is_not_permitted(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::PermissionDenied || err.raw_os_error() == Some(libc::EPERM)
}

fn is_gone(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound || err.raw_os_error() == Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_naturally() {
        assert_eq!(NetnsTarget::Host.label(), "host");
        assert_eq!(NetnsTarget::Pid(1234).label(), "pid 1234");
        assert_eq!(NetnsTarget::Named("blue".into()).label(), "netns blue");
    }

    #[test]
    fn host_reads_this_thread() {
        let ctx = enter(&NetnsTarget::Host).expect("host");
        assert_eq!(ctx.net_dir, Path::new("/proc/thread-self/net"));
        assert_eq!(ctx.sys_root.as_deref(), Some(Path::new("/proc/sys")));
        assert!(ctx.netlink_usable);
        assert!(ctx.notes.is_empty());
    }

    #[test]
    fn our_own_pid_is_like_host_without_setns() {
        let ctx = enter(&NetnsTarget::Pid(std::process::id())).expect("own pid");
        assert_eq!(ctx.net_dir, Path::new("/proc/thread-self/net"));
        assert_eq!(ctx.label, format!("pid {}", std::process::id()));
        assert!(ctx.netlink_usable);
    }

    #[test]
    fn reading_from_outside_names_what_was_refused() {
        let refusal = io::Error::from_raw_os_error(libc::EACCES);
        let ctx = NamespaceContext::from_outside(
            1,
            "pid 1".into(),
            Path::new("/proc/1/ns/net"),
            &refusal,
        );
        let note = ctx.notes.join("\n");
        assert!(note.contains("/proc/1/ns/net"), "{note}");
        assert!(note.contains("Permission denied"), "{note}");
        if is_root() {
            assert!(note.starts_with("root, but"), "{note}");
        } else {
            assert!(note.starts_with("not root"), "{note}");
        }
        assert_eq!(ctx.entry_refused, Some(libc::EACCES));
        assert!(!ctx.netlink_usable);
    }

    #[test]
    fn missing_pid_and_names_are_reported() {
        for pid in [999_999_999, 0] {
            let err = enter(&NetnsTarget::Pid(pid)).expect_err("no such pid");
            assert!(matches!(err, CollectError::NoSuchPid { .. }), "{err:?}");
            assert!(err.to_string().contains("ps -p"), "{err}");
        }
        for name in ["nope-tcpwatch", "", "..", "../../proc/1/ns/net"] {
            let err = enter(&NetnsTarget::Named(name.into())).expect_err("no such netns");
            assert!(
                matches!(err, CollectError::NoSuchNetns { .. }),
                "{name}: {err:?}"
            );
            assert!(err.to_string().contains("ip netns list"), "{err}");
        }
    }
}
