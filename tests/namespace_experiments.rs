//! The experiments inside a private network namespace, watched from outside
//! with `--netns NAME` and `--pid PID`: the socket table, the counters and
//! the sysctls all come from that namespace. Inside it nothing else runs, so
//! TIME_WAIT must match sockstat exactly.

mod common;

use common::netns::{PrivateNetns, SKIP_REASON};
use common::*;

/// listen(1) without accept() and 5 clients on :10000, and 20 short
/// connections closed by the client on :10001; prints "ready", then waits.
const EXPERIMENT: &str = r#"
import socket, time
full = socket.socket(); full.bind(("127.0.0.1", 10000)); full.listen(1)
clients = []
for _ in range(5):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", 10000))
    except BlockingIOError: pass
    clients.append(c)
server = socket.socket(); server.bind(("127.0.0.1", 10001)); server.listen(64)
for _ in range(20):
    c = socket.create_connection(("127.0.0.1", 10001))
    s, _ = server.accept()
    c.close()
    s.recv(1); s.close()
time.sleep(1.5)
print("ready", flush=True)
time.sleep(60)
"#;

#[test]
fn a_named_namespace_is_watched_from_outside() {
    let Some(netns) = PrivateNetns::create("once") else {
        println!("{SKIP_REASON}");
        return;
    };
    netns.sysctl("net/core/somaxconn", "777");
    let (experiment, ready) = netns.spawn_python(EXPERIMENT);
    assert_eq!(ready, "ready");

    let pid = experiment.pid().to_string();
    for target in [["--netns", netns.name.as_str()], ["--pid", pid.as_str()]] {
        let report = once_json(&target);
        assert_eq!(
            report["source"], "netlink",
            "{target:?}: root enters with setns"
        );
        let listener = listener_entry(&report, "127.0.0.1:10000");
        assert_eq!(listener["accept_queue"], 2, "{target:?}");
        assert_eq!(listener["backlog"], 1, "{target:?}");
        assert_eq!(listener["full"], true, "{target:?}");
        assert_eq!(
            listener["process"]["pid"],
            experiment.pid(),
            "{target:?}: {listener}"
        );
        assert_eq!(port_state(&report, 10000, "SYN_SENT"), 3, "{target:?}");
        assert_eq!(port_state(&report, 10000, "ESTABLISHED"), 4, "{target:?}");
        assert_eq!(time_wait_on(&report, 10001), 20, "{target:?}");
        assert_eq!(
            report["time_wait"]["total"], report["time_wait"]["namespace_total"],
            "{target:?}: nothing else runs in the namespace, so TIME_WAIT equals sockstat's tw"
        );
        assert_eq!(
            report["sysctls"]["net.core.somaxconn"], 777,
            "{target:?}: the namespace's own sysctls"
        );
        assert!(
            counter(&report, "ListenOverflows") >= 3,
            "{target:?}: the namespace's own counters"
        );
        assert!(
            report["namespace"]
                .as_str()
                .unwrap_or("")
                .contains(if target[0] == "--pid" { "pid" } else { "netns" })
        );
    }

    // The host does not see the namespace's sockets.
    let host = once_json(&["--port", "10000"]);
    let leaked = host["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .any(|l| l["process"]["pid"] == experiment.pid());
    assert!(
        !leaked,
        "the namespace's listener showed up in the host view: {host}"
    );
}
