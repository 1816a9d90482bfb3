//! A big table decoded beside the kernel's walk (`NetlinkTable::
//! with_decoding_aside`, what the sampler uses) gives exactly what the
//! same dump decoded on the calling thread gives, on a real kernel: 12,000
//! connected loopback sockets in a namespace the test creates and removes.

mod common;
mod netlink_support;

use std::net::SocketAddr;

use common::netns::{PrivateNetns, can_make_namespaces};
use netlink_support::dump;
use tcpwatch::collect::namespace::{NetnsTarget, enter};
use tcpwatch::collect::netlink::{NetlinkTable, WalkMode};
use tcpwatch::collect::{DumpRequest, SocketTable};
use tcpwatch::model::{SocketRecord, StateMask, TcpState};

/// Connected pairs the python holder keeps open: twice as many sockets.
const PAIRS: usize = 6_000;

const HOLDER: &str = r#"
import resource, socket, time
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
listener = socket.socket()
listener.bind(("127.0.0.1", 7000))
listener.listen(4096)
held = []
for _ in range(6000):
    client = socket.create_connection(("127.0.0.1", 7000))
    server, _ = listener.accept()
    held += [client, server]
print("ready", flush=True)
time.sleep(120)
"#;

/// Every socket of the table as (local, remote, state), sorted.
fn sorted(records: &[SocketRecord]) -> Vec<(SocketAddr, SocketAddr, TcpState)> {
    let mut keys: Vec<_> = records
        .iter()
        .map(|r| (r.local, r.remote, r.state))
        .collect();
    keys.sort();
    keys
}

#[test]
fn a_big_table_decoded_beside_the_walk_is_the_same_table() {
    if !can_make_namespaces() {
        return;
    }
    let netns = PrivateNetns::create("aside").expect("a private namespace");
    let (_holder, ready) = netns.spawn_python(HOLDER);
    assert_eq!(ready, "ready");
    let name = netns.name.clone();
    // Entering a namespace changes the calling thread: a thread of its own.
    let (serial, aside, walks_aside, filtered) = std::thread::spawn(move || {
        enter(&NetnsTarget::Named(name)).expect("enter the namespace");
        let all = DumpRequest::all();
        let mut plain = NetlinkTable::open()
            .expect("sock_diag")
            .with_walk_mode(WalkMode::OneWalk);
        let mut beside = NetlinkTable::open()
            .expect("sock_diag")
            .with_walk_mode(WalkMode::OneWalk)
            .with_decoding_aside();
        let serial = dump(&mut plain, &all);
        // The first walk learns the table is big; the next ones go beside.
        let first = dump(&mut beside, &all);
        assert_eq!(sorted(&first), sorted(&serial));
        assert_eq!(beside.walks_decoded_aside(), 0, "unknown size: not yet");
        // Told what to expect (as the sampler does from sockstat), a table
        // decodes even its first walk beside.
        let mut told = NetlinkTable::open()
            .expect("sock_diag")
            .with_walk_mode(WalkMode::OneWalk)
            .with_decoding_aside();
        told.expect_sockets(12_001);
        let told_first = dump(&mut told, &all);
        assert_eq!(told.walks_decoded_aside(), 1);
        assert_eq!(sorted(&told_first), sorted(&serial));
        let aside = dump(&mut beside, &all);
        // A listeners-only walk between two table walks (as the sampler
        // takes them) is decoded here and does not make the next one small.
        let listeners = dump(&mut beside, &DumpRequest::listeners(&[]));
        assert_eq!(listeners.len(), 1);
        assert_eq!(beside.walks_decoded_aside(), 1, "the listeners: here");
        let again = dump(&mut beside, &all);
        assert_eq!(sorted(&again), sorted(&aside), "a steady table");
        // A state mask and a port program still apply.
        let established_on_7000 = DumpRequest {
            states: StateMask::of(&[TcpState::Established]),
            ports: vec![7000],
            ..DumpRequest::all()
        };
        let filtered = dump(&mut beside, &established_on_7000);
        (serial, aside, beside.walks_decoded_aside(), filtered)
    })
    .join()
    .expect("the dumping thread");

    assert_eq!(serial.len(), 2 * PAIRS + 1, "the pairs and the listener");
    assert_eq!(sorted(&aside), sorted(&serial));
    assert_eq!(walks_aside, 3, "every walk after the first");
    assert_eq!(filtered.len(), 2 * PAIRS);
    assert!(
        filtered.iter().all(|r| r.state == TcpState::Established),
        "no LISTEN"
    );
}
