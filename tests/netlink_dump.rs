//! Live tests of `NetlinkTable` against the running kernel, with sockets on
//! 127.0.0.1 and ::1 only. Other tests may open sockets concurrently, so
//! every assertion looks only at the ports these tests own.

mod netlink_support;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_support::*;
use tcpwatch::collect::DumpRequest;
use tcpwatch::collect::netlink::{NetlinkTable, WalkMode};
use tcpwatch::model::{SocketRecord, StateMask, TcpState, TimerKind};

fn on_ports(ports: &[u16]) -> DumpRequest {
    DumpRequest {
        states: StateMask::ALL,
        ports: ports.to_vec(),
        ..DumpRequest::all()
    }
}

fn find(records: &[SocketRecord], local: SocketAddr, remote: SocketAddr) -> Option<SocketRecord> {
    records
        .iter()
        .find(|r| r.local == local && r.remote == remote)
        .copied()
}

struct Connected {
    listener: TcpListener,
    client: TcpStream,
    server: TcpStream,
}

fn connected(loopback: SocketAddr) -> Connected {
    let listener = TcpListener::bind(loopback).expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    Connected {
        listener,
        client,
        server,
    }
}

#[test]
fn finds_listeners_and_connections_with_addresses_states_and_inodes() {
    let mut table = NetlinkTable::open().expect("open sock_diag");
    for loopback in [V4_LOOPBACK, V6_LOOPBACK] {
        let c = connected(loopback);
        let listen_addr = c.listener.local_addr().unwrap();
        let records = dump(&mut table, &DumpRequest::all());

        let unspecified: SocketAddr = if loopback.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        }
        .parse()
        .unwrap();
        let listener = find(&records, listen_addr, unspecified).expect("listener in dump");
        assert_eq!(listener.state, TcpState::Listen);
        assert_eq!(listener.inode, socket_inode(c.listener.as_raw_fd()));
        assert!(listener.backlog_known);
        assert!(listener.backlog().is_some_and(|b| b > 0), "{listener:?}");
        assert_eq!(listener.uid, unsafe { libc::geteuid() });

        let client_local = c.client.local_addr().unwrap();
        let client = find(&records, client_local, listen_addr).expect("client in dump");
        assert_eq!(client.state, TcpState::Established);
        assert_eq!(client.inode, socket_inode(c.client.as_raw_fd()));

        let server = find(&records, listen_addr, client_local).expect("server side in dump");
        assert_eq!(server.state, TcpState::Established);
        assert_eq!(server.inode, socket_inode(c.server.as_raw_fd()));
        assert_eq!(server.local.is_ipv4(), loopback.is_ipv4());
    }
}

#[test]
fn a_full_accept_queue_shows_queue_backlog_and_syn_sent_clients() {
    let mut table = NetlinkTable::open().expect("open sock_diag");
    for loopback in [V4_LOOPBACK, V6_LOOPBACK] {
        let scene = FullQueue::new(loopback);
        let port = scene.port();
        let records = eventually(Duration::from_secs(3), || {
            let records = dump(&mut table, &on_ports(&[port]));
            let count = |s| records.iter().filter(|r| r.state == s).count();
            (count(TcpState::SynSent) == 3 && count(TcpState::Established) == 4).then_some(records)
        })
        .expect("3 SYN_SENT and 4 ESTABLISHED within 3 s");

        let listener = records
            .iter()
            .find(|r| r.state == TcpState::Listen)
            .expect("listener");
        assert_eq!(
            (listener.recv_queue, listener.send_queue),
            (2, 1),
            "listen(1) holds 2"
        );
        assert_eq!(listener.backlog(), Some(1));
        assert_eq!(listener.inode, socket_inode(scene.listener.as_raw_fd()));

        for syn_sent in records.iter().filter(|r| r.state == TcpState::SynSent) {
            assert_eq!(syn_sent.timer, TimerKind::Retransmit, "{syn_sent:?}");
            assert!(syn_sent.timer_expires_ms > 0 && syn_sent.timer_expires_ms <= 120_000);
            assert_eq!(syn_sent.remote.port(), port);
        }
        // Server-side sockets waiting in the accept queue belong to no one yet.
        let queued = records
            .iter()
            .filter(|r| r.state == TcpState::Established && r.local.port() == port)
            .collect::<Vec<_>>();
        assert_eq!(queued.len(), 2);
        assert!(queued.iter().all(|r| r.inode == 0));
        // Every client shows up with its own inode.
        let client_inodes: BTreeSet<u64> = scene
            .clients
            .iter()
            .map(|c| socket_inode(c.as_raw_fd()))
            .collect();
        let dumped_inodes: BTreeSet<u64> = records
            .iter()
            .filter(|r| r.remote.port() == port)
            .map(|r| r.inode)
            .collect();
        assert_eq!(client_inodes, dumped_inodes);
    }
}

#[test]
fn the_port_filter_returns_only_sockets_on_those_ports() {
    let a = connected(V4_LOOPBACK);
    let b = connected(V6_LOOPBACK);
    let c = connected(V4_LOOPBACK);
    let port = |l: &TcpListener| l.local_addr().unwrap().port();
    let wanted = [port(&a.listener), port(&b.listener)];

    let check = |records: &[SocketRecord]| {
        assert!(
            records
                .iter()
                .all(|r| wanted.contains(&r.local.port()) || wanted.contains(&r.remote.port())),
            "{records:#?}"
        );
        for p in wanted {
            // listener + client + server side
            assert_eq!(
                records
                    .iter()
                    .filter(|r| r.local.port() == p || r.remote.port() == p)
                    .count(),
                3
            );
        }
        assert!(!records.iter().any(|r| r.local.port() == port(&c.listener)));
    };

    for mode in [WalkMode::OneWalk, WalkMode::TwoWalks] {
        let mut table = NetlinkTable::open().unwrap().with_walk_mode(mode);
        check(&dump(&mut table, &on_ports(&wanted)));

        // More separate ports than one kernel program holds: filtered in
        // user space.
        let mut many: Vec<u16> = (1..=6000)
            .step_by(2)
            .filter(|p| *p != port(&c.listener))
            .collect();
        many.extend(wanted);
        let records = dump(&mut table, &on_ports(&many));
        assert!(
            records
                .iter()
                .all(|r| many.contains(&r.local.port()) || many.contains(&r.remote.port()))
        );
        for p in wanted {
            assert_eq!(
                records
                    .iter()
                    .filter(|r| r.local.port() == p || r.remote.port() == p)
                    .count(),
                3
            );
        }
    }
    drop((a, b, c));
}

#[test]
fn the_state_mask_returns_only_those_states() {
    let mut table = NetlinkTable::open().unwrap();
    let c = connected(V4_LOOPBACK);
    let port = c.listener.local_addr().unwrap().port();

    let listen_only = DumpRequest::listeners(&[port]);
    let records = dump(&mut table, &listen_only);
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0].state, TcpState::Listen);

    // Whole table, LISTEN only: no other state may appear.
    let all_listeners = dump(&mut table, &DumpRequest::listeners(&[]));
    assert!(all_listeners.iter().all(|r| r.state == TcpState::Listen));
    assert!(all_listeners.iter().any(|r| r.local.port() == port));

    let established_only = DumpRequest {
        states: StateMask::of(&[TcpState::Established]),
        ports: vec![port],
        ..DumpRequest::all()
    };
    let records = dump(&mut table, &established_only);
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r.state == TcpState::Established));
}

#[test]
fn time_wait_only_returns_the_actively_closed_side_with_its_timer() {
    let mut table = NetlinkTable::open().unwrap();
    for loopback in [V4_LOOPBACK, V6_LOOPBACK] {
        let listener = TcpListener::bind(loopback).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (local, remote) = make_time_wait(&listener);
        let request = DumpRequest {
            states: StateMask::of(&[TcpState::TimeWait]),
            ports: vec![port],
            ..DumpRequest::all()
        };
        let records = eventually(Duration::from_secs(3), || {
            let records = dump(&mut table, &request);
            (!records.is_empty()).then_some(records)
        })
        .expect("a TIME_WAIT socket within 3 s");
        assert_eq!(records.len(), 1, "{records:#?}");
        let tw = records[0];
        assert_eq!(tw.state, TcpState::TimeWait);
        assert_eq!((tw.local, tw.remote), (local, remote));
        assert_eq!(tw.timer, TimerKind::TimeWait);
        assert!(
            tw.timer_expires_ms > 0 && tw.timer_expires_ms <= 60_000,
            "{tw:?}"
        );
        assert_eq!(tw.inode, 0);
    }
}

#[test]
fn one_walk_returns_both_families_and_agrees_with_two_walks() {
    let v4 = FullQueue::new(V4_LOOPBACK);
    let v6 = FullQueue::new(V6_LOOPBACK);
    let c4 = connected(V4_LOOPBACK);
    let c6 = connected(V6_LOOPBACK);
    let ports = [
        v4.port(),
        v6.port(),
        c4.listener.local_addr().unwrap().port(),
        c6.listener.local_addr().unwrap().port(),
    ];
    // Ours: an end at one of our listeners' exact addresses. The other tests
    // of this binary run meanwhile, and their sockets may carry one of our
    // port numbers on another address.
    let listeners: BTreeSet<SocketAddr> = [
        v4.listener.local_addr().unwrap(),
        v6.listener.local_addr().unwrap(),
        c4.listener.local_addr().unwrap(),
        c6.listener.local_addr().unwrap(),
    ]
    .into();
    // Let the handshakes settle so both dumps see the same table.
    std::thread::sleep(Duration::from_millis(200));

    let keys = |mode| {
        let mut table = NetlinkTable::open().unwrap().with_walk_mode(mode);
        dump(&mut table, &on_ports(&ports))
            .iter()
            .filter(|r| listeners.contains(&r.local) || listeners.contains(&r.remote))
            .map(|r| (r.key(), r.state))
            .collect::<BTreeSet<_>>()
    };
    let one = keys(WalkMode::OneWalk);
    let two = keys(WalkMode::TwoWalks);
    assert_eq!(one, two);
    assert!(
        one.iter().any(|(k, _)| k.local.is_ipv4()),
        "one walk has IPv4"
    );
    assert!(
        one.iter().any(|(k, _)| k.local.is_ipv6()),
        "one walk has IPv6"
    );
    // 2 × (listener + 3 SYN_SENT + 2 ESTABLISHED clients + 2 queued) + 2 × 3
    assert_eq!(one.len(), 2 * 8 + 2 * 3);

    let mut auto = NetlinkTable::open().unwrap();
    assert_eq!(auto.walk_mode(), WalkMode::Auto);
    assert_eq!(auto.effective_walk(), WalkMode::Auto);
    dump(&mut auto, &on_ports(&ports));
    assert_eq!(
        auto.effective_walk(),
        WalkMode::OneWalk,
        "this kernel serves TCPDIAG_GETSOCK"
    );
}

#[test]
fn dumps_can_follow_each_other_on_one_socket() {
    let mut table = NetlinkTable::open().unwrap();
    let c = connected(V6_LOOPBACK);
    let port = c.listener.local_addr().unwrap().port();
    for _ in 0..50 {
        assert_eq!(dump(&mut table, &on_ports(&[port])).len(), 3);
    }
}

#[test]
fn the_kernel_audit_rejects_a_bad_program_so_accepting_ours_means_something() {
    use netlink_sys::{Socket, SocketAddr as NetlinkAddr, protocols::NETLINK_SOCK_DIAG};
    use tcpwatch::collect::CollectError;
    use tcpwatch::collect::bytecode::port_filter;
    use tcpwatch::collect::netlink_wire::{
        BLANK_RECORD, DumpQuery, ReplyReader, encode_dump_request,
    };

    let try_program = |program: &[u8]| {
        let mut socket = Socket::new(NETLINK_SOCK_DIAG).unwrap();
        socket.bind_auto().unwrap();
        socket.connect(&NetlinkAddr::new(0, 0)).unwrap();
        let mut request = Vec::new();
        encode_dump_request(
            &mut request,
            DumpQuery::BothFamiliesOneWalk,
            StateMask::ALL.0,
            1,
            program,
        );
        socket.send(&request, 0).unwrap();
        let mut reader = ReplyReader::new(1);
        let mut record = BLANK_RECORD;
        loop {
            let mut datagram = Vec::with_capacity(1 << 16);
            socket.recv(&mut datagram, 0).unwrap();
            match reader.feed(&datagram, &mut record, &mut |_| {}) {
                Ok(tcpwatch::collect::netlink_wire::ReplyProgress::More) => continue,
                Ok(_) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    };
    assert!(try_program(&port_filter(&[80, 443])).is_ok());
    // Ranges and both address families pass the kernel's audit too.
    let prefixes: Vec<tcpwatch::model::IpPrefix> = ["10.0.0.0/8", "::1", "fe80::/10", "0.0.0.0"]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    for ops in [
        tcpwatch::collect::bytecode::AddrOps::SourceOrDestination,
        tcpwatch::collect::bytecode::AddrOps::SourceOnly,
    ] {
        let program = tcpwatch::collect::bytecode::filter_program(
            &[22, 80, 81, 82, 10000, 10001],
            &prefixes,
            ops,
        );
        assert!(try_program(&program).is_ok(), "{ops:?}");
    }
    // The same program with the first miss jump moved off an op boundary.
    let mut bad = port_filter(&[80, 443]);
    // offset 16 is the second condition's port operand: not reachable
    // through `yes` jumps (0 → 8 → 12 → 20 …), so `valid_cc` refuses it.
    bad[2..4].copy_from_slice(&16u16.to_ne_bytes());
    match try_program(&bad) {
        Err(CollectError::NetlinkRefused { source }) => {
            assert_eq!(source.raw_os_error(), Some(libc::EINVAL))
        }
        other => panic!("expected EINVAL, got {other:?}"),
    }
}

/// A connection to a listener on `server_ip`, from a client bound to
/// `client_ip` (both on loopback: the whole of 127/8 is local).
fn connected_between(server_ip: &str, client_ip: &str) -> Connected {
    let listener = TcpListener::bind(format!("{server_ip}:0")).expect("bind");
    let client = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let from: SocketAddr = format!("{client_ip}:0").parse().unwrap();
    client.bind(&from.into()).expect("bind client");
    client
        .connect(&listener.local_addr().unwrap().into())
        .expect("connect");
    let (server, _) = listener.accept().expect("accept");
    Connected {
        listener,
        client: client.into(),
        server,
    }
}

/// A dual-stack listener on [::] and an IPv4 client: the server's end is an
/// IPv6 socket whose addresses are IPv4-mapped (::ffff:127.0.0.4).
fn dual_stack_with_an_ipv4_client() -> Connected {
    let socket = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None).unwrap();
    socket.set_only_v6(false).expect("dual stack");
    let any: SocketAddr = "[::]:0".parse().unwrap();
    socket.bind(&any.into()).expect("bind [::]");
    socket.listen(8).expect("listen");
    let listener: TcpListener = socket.into();
    let port = listener.local_addr().unwrap().port();
    let client = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let from: SocketAddr = "127.0.0.4:0".parse().unwrap();
    client.bind(&from.into()).expect("bind client");
    let to: SocketAddr = format!("127.0.0.4:{port}").parse().unwrap();
    client.connect(&to.into()).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    Connected {
        listener,
        client: client.into(),
        server,
    }
}

#[test]
fn kernel_and_user_space_filters_agree_on_ranges_families_and_addresses() {
    use tcpwatch::collect::AddrSide;
    use tcpwatch::model::{IpFamily, IpPrefix};

    let pairs = [
        connected_between("127.0.0.1", "127.0.0.1"),
        connected_between("127.0.0.2", "127.0.0.1"),
        connected_between("127.0.0.1", "127.0.0.3"),
        connected(V6_LOOPBACK),
        dual_stack_with_an_ipv4_client(),
    ];
    let ours: BTreeSet<u16> = pairs
        .iter()
        .map(|p| p.listener.local_addr().unwrap().port())
        .collect();
    let (low, high) = (*ours.first().unwrap(), *ours.last().unwrap());
    let prefix = |text: &str| text.parse::<IpPrefix>().unwrap();
    // Ours by inode, not by port: the other tests of this binary run at the
    // same time, and a client of theirs may get one of our port numbers on
    // another address.
    let our_inodes: BTreeSet<u64> = pairs
        .iter()
        .flat_map(|p| {
            [
                socket_inode(p.listener.as_raw_fd()),
                socket_inode(p.client.as_raw_fd()),
                socket_inode(p.server.as_raw_fd()),
            ]
        })
        .collect();
    let ours_only = |records: Vec<SocketRecord>| -> BTreeSet<(SocketAddr, SocketAddr)> {
        records
            .into_iter()
            .filter(|r| our_inodes.contains(&r.inode))
            .map(|r| (r.local, r.remote))
            .collect()
    };
    let requests = [
        DumpRequest {
            ports: (low..=high).collect(),
            ..DumpRequest::all()
        },
        DumpRequest {
            addrs: vec![prefix("127.0.0.2")],
            ..DumpRequest::all()
        },
        DumpRequest {
            addrs: vec![prefix("127.0.0.3/32"), prefix("::1")],
            ..DumpRequest::all()
        },
        DumpRequest {
            addrs: vec![prefix("127.0.0.0/8")],
            family: Some(IpFamily::V4),
            ..DumpRequest::all()
        },
        DumpRequest {
            family: Some(IpFamily::V6),
            ports: ours.iter().copied().collect(),
            ..DumpRequest::all()
        },
        DumpRequest {
            states: StateMask::LISTEN_ONLY,
            addrs: vec![
                prefix("127.0.0.2"),
                IpPrefix::WILDCARDS[0],
                IpPrefix::WILDCARDS[1],
            ],
            addr_side: AddrSide::Local,
            ..DumpRequest::all()
        },
    ];
    for mode in [WalkMode::OneWalk, WalkMode::TwoWalks] {
        let mut table = NetlinkTable::open().unwrap().with_walk_mode(mode);
        for request in &requests {
            let in_kernel = ours_only(dump(&mut table, request));
            let everything = dump(&mut table, &DumpRequest::all());
            let in_user_space = ours_only(
                everything
                    .into_iter()
                    .filter(|r| request.admits(r))
                    .collect(),
            );
            assert_eq!(in_kernel, in_user_space, "{mode:?} {request:?}");
            assert!(
                !in_kernel.is_empty(),
                "{mode:?} {request:?} selects some of ours"
            );
        }
    }
    // An IPv4 prefix matches the IPv4-mapped addresses of a dual-stack
    // socket, in the kernel as in user space: the server end (IPv6) and the
    // client end (IPv4) of the 127.0.0.4 connection both match.
    let mapped = DumpRequest {
        addrs: vec![prefix("127.0.0.4")],
        ..DumpRequest::all()
    };
    for mode in [WalkMode::OneWalk, WalkMode::TwoWalks] {
        let mut table = NetlinkTable::open().unwrap().with_walk_mode(mode);
        let found = ours_only(dump(&mut table, &mapped));
        assert_eq!(found.len(), 2, "{mode:?}: {found:?}");
        assert!(found.iter().any(|(local, _)| local.is_ipv6()), "{found:?}");
    }

    // Spot checks of the meaning, not only the agreement.
    let mut table = NetlinkTable::open().unwrap();
    let only_2 = ours_only(dump(&mut table, &requests[1]));
    assert_eq!(
        only_2.len(),
        3,
        "listener + both ends on 127.0.0.2: {only_2:?}"
    );
    // -6: the ::1 listener and both ends, the [::] listener and the server
    // end of its IPv4 client (IPv4-mapped), never the IPv4 client itself.
    let v6 = ours_only(dump(&mut table, &requests[4]));
    assert!(
        v6.iter().all(|(local, _)| local.is_ipv6()) && v6.len() == 5,
        "{v6:?}"
    );
    drop(pairs);
}
