//! The netlink (sock_diag) and /proc collectors see the same sockets: same
//! addresses, states, inodes and accept queues; only the backlog is missing
//! from /proc.

mod common;

use std::collections::BTreeSet;
use std::net::Shutdown;
use std::path::PathBuf;
use std::time::Duration;

use common::*;
use tcpwatch::collect::netlink::NetlinkTable;
use tcpwatch::collect::procfs::ProcTable;
use tcpwatch::collect::{DumpRequest, SocketTable};
use tcpwatch::model::{SocketRecord, StateMask, TcpState};

type Seen = BTreeSet<(String, String, &'static str, u64, u32)>;

/// (local, remote, state, inode, recv-queue for listeners) of every socket.
fn dump(table: &mut dyn SocketTable, ports: &[u16]) -> (Seen, Vec<SocketRecord>) {
    let mut seen = Seen::new();
    let mut listeners = Vec::new();
    let request = DumpRequest {
        states: StateMask::ALL,
        ports: ports.to_vec(),
        ..DumpRequest::all()
    };
    table
        .dump(&request, &mut |r| {
            let queue = if r.state == TcpState::Listen {
                r.recv_queue
            } else {
                0
            };
            seen.insert((
                r.local.to_string(),
                r.remote.to_string(),
                r.state.name(),
                r.inode,
                queue,
            ));
            if r.state == TcpState::Listen {
                listeners.push(*r);
            }
        })
        .expect("dump");
    (seen, listeners)
}

#[test]
fn netlink_and_proc_see_the_same_sockets() {
    let full_v4 = listen_with_backlog("127.0.0.1", 1);
    let full_v6 = listen_with_backlog("::1", 1);
    let mut keep = Vec::new();
    for listener in [&full_v4, &full_v6] {
        for _ in 0..4 {
            keep.push(connect_nonblocking(local_addr(listener)));
        }
    }
    let (pair_listener, client, server) = connected_pair();
    client
        .shutdown(Shutdown::Both)
        .expect("close the client: FIN_WAIT2 / CLOSE_WAIT");
    let ports = [
        local_addr(&full_v4).port(),
        local_addr(&full_v6).port(),
        pair_listener.local_addr().expect("addr").port(),
    ];
    std::thread::sleep(Duration::from_millis(300));

    let mut netlink = NetlinkTable::open().expect("sock_diag works unprivileged");
    let mut proc = ProcTable::new(PathBuf::from("/proc/thread-self/net"));
    let mut last = (Seen::new(), Seen::new());
    let agreed = eventually(Duration::from_secs(3), || {
        let (from_netlink, netlink_listeners) = dump(&mut netlink, &ports);
        let (from_proc, proc_listeners) = dump(&mut proc, &ports);
        assert!(netlink_listeners.iter().all(|l| l.backlog().is_some()));
        assert!(
            proc_listeners.iter().all(|l| l.backlog().is_none()),
            "/proc knows no backlog"
        );
        let same = from_netlink == from_proc;
        last = (from_netlink, from_proc);
        same
    });
    let (from_netlink, from_proc) = last;
    assert!(
        agreed,
        "netlink only: {:#?}\nproc only: {:#?}",
        from_netlink.difference(&from_proc),
        from_proc.difference(&from_netlink)
    );
    let states: BTreeSet<&str> = from_netlink.iter().map(|s| s.2).collect();
    for expected in [
        "LISTEN",
        "SYN_SENT",
        "ESTABLISHED",
        "FIN_WAIT2",
        "CLOSE_WAIT",
    ] {
        assert!(
            states.contains(expected),
            "{expected} missing from {states:?}"
        );
    }
    assert!(
        from_netlink.iter().any(|s| s.2 == "LISTEN" && s.4 == 2),
        "a queue of 2 on listen(1)"
    );
    drop((client, server));
}
