//! Entering another network namespace for real: a private `ip netns` with
//! its own somaxconn and a listener inside. Needs root and iproute2;
//! otherwise each test says it was skipped and passes.

mod common;

use std::path::{Path, PathBuf};

use tcpwatch::collect::namespace::{NamespaceContext, NetnsTarget, enter};
use tcpwatch::collect::procfs::ProcTable;
use tcpwatch::collect::sysctl::read_settings;
use tcpwatch::collect::{CollectError, DumpRequest, SocketTable};
use tcpwatch::model::{Settings, SocketRecord};

use common::netns::{Experiment, PrivateNetns, SKIP_REASON as SKIP};
/// Differs from the default 4096, so reading the host's value would show.
const NAMESPACE_SOMAXCONN: u32 = 1234;
const LISTEN_BACKLOG: u32 = 7;

/// A private namespace with a distinctive somaxconn, for one test.
struct TestNetns(PrivateNetns);

impl TestNetns {
    fn create(suffix: &str) -> Option<TestNetns> {
        let netns = PrivateNetns::create(suffix)?;
        netns.sysctl("net/core/somaxconn", &NAMESPACE_SOMAXCONN.to_string());
        Some(TestNetns(netns))
    }

    fn name(&self) -> &str {
        &self.0.name
    }

    /// Starts a python listener inside and returns it with its port.
    fn spawn_listener(&self) -> (Experiment, u16) {
        let script = format!(
            "import socket, time\n\
             s = socket.socket()\n\
             s.bind(('127.0.0.1', 0))\n\
             s.listen({LISTEN_BACKLOG})\n\
             print(s.getsockname()[1], flush=True)\n\
             time.sleep(120)\n"
        );
        let (experiment, line) = self.0.spawn_python(&script);
        (experiment, line.parse().expect("python printed its port"))
    }
}

fn has_python() -> bool {
    Path::new("/usr/bin/python3").exists()
}

/// What a collector thread sees after entering a namespace.
struct Seen {
    context: NamespaceContext,
    listeners: Vec<SocketRecord>,
    settings: Option<Settings>,
}

/// Enters `target` on a fresh thread (setns changes only that thread) and
/// reads the listener table and the sysctls from there.
fn enter_on_thread(target: NetnsTarget, port: u16) -> Result<Seen, CollectError> {
    std::thread::spawn(move || {
        let context = enter(&target)?;
        let mut listeners = Vec::new();
        ProcTable::new(context.net_dir.clone())
            .dump(&DumpRequest::listeners(&[port]), &mut |r| {
                listeners.push(*r)
            })?;
        let settings = context.sys_root.as_deref().map(read_settings);
        Ok(Seen {
            context,
            listeners,
            settings,
        })
    })
    .join()
    .expect("collector thread")
}

fn host_listeners(port: u16) -> Vec<SocketRecord> {
    let mut found = Vec::new();
    ProcTable::new(PathBuf::from("/proc/thread-self/net"))
        .dump(&DumpRequest::listeners(&[port]), &mut |r| found.push(*r))
        .expect("host table");
    found
}

fn assert_sees_the_namespace(seen: &Seen, port: u16) {
    assert_eq!(seen.listeners.len(), 1, "listener :{port} inside");
    assert_eq!(seen.listeners[0].local.port(), port);
    assert_eq!(seen.listeners[0].backlog(), None, "/proc has no backlog");
    let settings = seen.settings.expect("sysctls after setns");
    assert_eq!(
        settings.somaxconn,
        Some(NAMESPACE_SOMAXCONN),
        "/proc/sys/net follows the thread's namespace after setns"
    );
}

#[test]
fn named_namespace_is_entered_and_read() {
    let Some(netns) = TestNetns::create("named").filter(|_| has_python()) else {
        println!("{SKIP}");
        return;
    };
    let (_listener, port) = netns.spawn_listener();
    assert!(
        host_listeners(port).is_empty(),
        "the listener is not on the host"
    );

    let seen = enter_on_thread(NetnsTarget::Named(netns.name().to_string()), port).expect("enter");
    assert_eq!(seen.context.label, format!("netns {}", netns.name()));
    assert!(seen.context.netlink_usable);
    assert!(seen.context.notes.is_empty());
    assert_sees_the_namespace(&seen, port);

    // This thread never moved.
    assert!(host_listeners(port).is_empty());
    let host = read_settings(Path::new("/proc/sys"));
    assert_ne!(host.somaxconn, Some(NAMESPACE_SOMAXCONN));
}

#[test]
fn pid_namespace_is_entered_with_setns_as_root() {
    let Some(netns) = TestNetns::create("pid").filter(|_| has_python()) else {
        println!("{SKIP}");
        return;
    };
    let (listener, port) = netns.spawn_listener();
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", listener.pid())).expect("comm");
    assert!(
        comm.starts_with("python"),
        "ip netns exec execs python: {comm}"
    );

    let seen = enter_on_thread(NetnsTarget::Pid(listener.pid()), port).expect("enter");
    assert_eq!(seen.context.label, format!("pid {}", listener.pid()));
    assert_eq!(seen.context.net_dir, Path::new("/proc/thread-self/net"));
    assert!(seen.context.netlink_usable);
    assert_sees_the_namespace(&seen, port);
}

#[test]
fn pid_namespace_falls_back_to_proc_pid_net_without_privilege() {
    let Some(netns) = TestNetns::create("unpriv").filter(|_| has_python()) else {
        println!("{SKIP}");
        return;
    };
    let (listener, port) = netns.spawn_listener();
    let pid = listener.pid();
    let seen = std::thread::spawn(move || {
        // A raw setresuid changes this thread's credentials only (glibc's
        // wrapper would change every thread), dropping root's capabilities.
        // SAFETY: plain syscall on the current thread.
        let rc = unsafe { libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534) };
        assert_eq!(rc, 0, "setresuid");
        let context = enter(&NetnsTarget::Pid(pid))?;
        let mut listeners = Vec::new();
        ProcTable::new(context.net_dir.clone())
            .dump(&DumpRequest::listeners(&[port]), &mut |r| {
                listeners.push(*r)
            })?;
        Ok::<_, CollectError>(Seen {
            context,
            listeners,
            settings: None,
        })
    })
    .join()
    .expect("unprivileged thread")
    .expect("falls back instead of failing");
    assert_eq!(
        seen.context.net_dir,
        PathBuf::from(format!("/proc/{pid}/net"))
    );
    assert_eq!(seen.context.sys_root, None);
    assert!(!seen.context.netlink_usable);
    assert!(
        seen.context.notes[0].starts_with("not root"),
        "{:?}",
        seen.context.notes
    );
    assert_eq!(
        seen.listeners.len(),
        1,
        "/proc/PID/net shows the namespace's table"
    );
}

#[test]
fn named_namespace_needs_privilege() {
    let Some(netns) = TestNetns::create("perm") else {
        println!("{SKIP}");
        return;
    };
    let name = netns.name().to_string();
    let result = std::thread::spawn(move || {
        // SAFETY: plain syscall on the current thread.
        let rc = unsafe { libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534) };
        assert_eq!(rc, 0, "setresuid");
        enter(&NetnsTarget::Named(name)).map(|_| ())
    })
    .join()
    .expect("unprivileged thread");
    let err = result.expect_err("setns needs CAP_SYS_ADMIN");
    assert!(
        matches!(err, CollectError::NamespacePermission { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("run tcpwatch as root"), "{err}");
}

#[test]
fn missing_targets_are_named_errors() {
    let err = enter(&NetnsTarget::Pid(999_999_999)).expect_err("no pid");
    assert!(
        matches!(err, CollectError::NoSuchPid { pid: 999_999_999 }),
        "{err:?}"
    );
    let err = enter(&NetnsTarget::Named("nope".into())).expect_err("no netns");
    assert!(matches!(err, CollectError::NoSuchNetns { .. }), "{err:?}");
}
