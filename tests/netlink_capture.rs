//! Records the sock_diag reply fixtures replayed by `tests/netlink_wire.rs`.
//! Ignored by default; run it by hand to refresh the files:
//!
//! ```text
//! cargo test --test netlink_capture -- --ignored
//! ```
//!
//! It builds a loopback scenario (LISTEN with a full queue, ESTABLISHED,
//! SYN_SENT, TIME_WAIT, on IPv4 and IPv6), dumps it filtered to its own ports
//! and writes the raw datagrams (concatenated, ending with NLMSG_DONE) plus
//! an `.expected` file describing the same sockets from the socket side:
//! `getsockname`/`getpeername`, `TCP_INFO`'s state and /proc/self/fd inodes.
//! That description never goes through the parser, so the replay test checks
//! the parser against an independent truth.

mod netlink_support;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

use netlink_support::*;
use netlink_sys::{Socket, SocketAddr as NetlinkAddr, protocols::NETLINK_SOCK_DIAG};
use tcpwatch::collect::bytecode::port_filter;
use tcpwatch::collect::netlink::NetlinkTable;
use tcpwatch::collect::netlink_wire::{AF_INET6, DumpQuery, encode_dump_request, ends_dump};
use tcpwatch::collect::{DumpRequest, SocketTable};
use tcpwatch::model::{StateMask, TcpState};

/// The kernel's TCP state of a socket, from getsockopt(TCP_INFO).
fn tcp_info_state(stream: &TcpStream) -> TcpState {
    let mut info = [0u8; 256];
    let mut len = info.len() as libc::socklen_t;
    // SAFETY: the buffer and its length are valid for the call.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "TCP_INFO: {}", std::io::Error::last_os_error());
    TcpState::from_kernel(info[0]).expect("known state")
}

fn line(
    state: TcpState,
    local: SocketAddr,
    remote: SocketAddr,
    queues: Option<(u32, u32)>,
    inode: u64,
) -> String {
    let queues = queues
        .map(|(r, w)| format!(" rq={r} wq={w}"))
        .unwrap_or_default();
    format!("{state} {local} {remote}{queues} inode={inode}")
}

fn raw_dump(query: DumpQuery, seq: u32, ports: &[u16]) -> Vec<u8> {
    let mut socket = Socket::new(NETLINK_SOCK_DIAG).unwrap();
    socket.bind_auto().unwrap();
    socket.connect(&NetlinkAddr::new(0, 0)).unwrap();
    let mut request = Vec::new();
    encode_dump_request(
        &mut request,
        query,
        StateMask::ALL.0,
        seq,
        &port_filter(ports),
    );
    socket.send(&request, 0).unwrap();
    let mut all = Vec::new();
    loop {
        let mut datagram = Vec::with_capacity(1 << 16);
        socket.recv(&mut datagram, 0).unwrap();
        all.extend_from_slice(&datagram);
        if ends_dump(&datagram, seq) {
            return all;
        }
    }
}

#[test]
#[ignore = "writes tests/fixtures/netlink; run by hand"]
fn capture_fixtures() {
    let mut expected = Vec::new();

    // IPv4: listen(1), nobody accepts, 5 connects: 2 queued, 3 SYN_SENT.
    let full = FullQueue::new(V4_LOOPBACK);
    let full_addr = full.listener.local_addr().unwrap();
    eventually(Duration::from_secs(3), || {
        let syn_sent = full
            .clients
            .iter()
            .filter(|c| tcp_info_state(c) == TcpState::SynSent)
            .count();
        (syn_sent == 3).then_some(())
    })
    .expect("3 SYN_SENT");
    expected.push(line(
        TcpState::Listen,
        full_addr,
        "0.0.0.0:0".parse().unwrap(),
        Some((2, 1)),
        socket_inode(full.listener.as_raw_fd()),
    ));
    for client in &full.clients {
        let state = tcp_info_state(client);
        let local = client.local_addr().unwrap();
        expected.push(line(
            state,
            local,
            full_addr,
            None,
            socket_inode(client.as_raw_fd()),
        ));
        if state == TcpState::Established {
            // its server side, waiting in the accept queue, owned by no one
            expected.push(line(state, full_addr, local, None, 0));
        }
    }

    // One ESTABLISHED pair and one TIME_WAIT per family.
    let mut keep = Vec::new();
    for (loopback, backlog, unspecified) in
        [(V4_LOOPBACK, 4, "0.0.0.0:0"), (V6_LOOPBACK, 8, "[::]:0")]
    {
        let listener: TcpListener = listener_with_backlog(loopback, backlog);
        let addr = listener.local_addr().unwrap();
        let (tw_local, tw_remote) = make_time_wait(&listener);
        expected.push(line(TcpState::TimeWait, tw_local, tw_remote, None, 0));
        let client = TcpStream::connect(addr).unwrap();
        let (server, _) = listener.accept().unwrap();
        let client_local = client.local_addr().unwrap();
        expected.push(line(
            TcpState::Established,
            client_local,
            addr,
            None,
            socket_inode(client.as_raw_fd()),
        ));
        expected.push(line(
            TcpState::Established,
            addr,
            client_local,
            None,
            socket_inode(server.as_raw_fd()),
        ));
        expected.push(line(
            TcpState::Listen,
            addr,
            unspecified.parse().unwrap(),
            Some((0, backlog as u32)),
            socket_inode(listener.as_raw_fd()),
        ));
        keep.push((listener, client, server));
    }

    let mut ports: Vec<u16> = vec![full_addr.port()];
    ports.extend(keep.iter().map(|(l, _, _)| l.local_addr().unwrap().port()));

    // Wait until both TIME_WAITs are visible (the FIN exchange is async).
    let mut table = NetlinkTable::open().unwrap();
    eventually(Duration::from_secs(3), || {
        let mut time_waits = 0;
        let request = DumpRequest {
            states: StateMask::of(&[TcpState::TimeWait]),
            ports: ports.clone(),
            ..DumpRequest::all()
        };
        table.dump(&request, &mut |_| time_waits += 1).unwrap();
        (time_waits == 2).then_some(())
    })
    .expect("2 TIME_WAIT");

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/netlink");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("one_walk.bin"),
        raw_dump(DumpQuery::BothFamiliesOneWalk, 1, &ports),
    )
    .unwrap();
    std::fs::write(
        dir.join("by_family_inet6.bin"),
        raw_dump(DumpQuery::Family(AF_INET6), 2, &ports),
    )
    .unwrap();
    expected.sort();
    std::fs::write(dir.join("scenario.expected"), expected.join("\n") + "\n").unwrap();
    println!("{}", expected.join("\n"));
}
