//! Pins the hot-path promise: once warmed up, a dump allocates nothing,
//! however many sockets it reports. Counts heap allocations made by this
//! thread with a counting global allocator (its own test binary, so the
//! allocator sees no other tests).

mod netlink_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{TcpListener, TcpStream};

use netlink_support::*;
use tcpwatch::collect::netlink::{NetlinkTable, WalkMode};
use tcpwatch::collect::{DumpRequest, SocketTable};
use tcpwatch::model::StateMask;

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to System; only bumps a thread-local counter.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn a_warm_dump_allocates_nothing() {
    let before = allocations();
    drop(std::hint::black_box(Vec::<u8>::with_capacity(64)));
    assert!(allocations() > before, "the counter counts");

    // A few dozen sockets of our own so the dump has something to report.
    let mut keep = Vec::new();
    for loopback in [V4_LOOPBACK, V6_LOOPBACK] {
        let listener = TcpListener::bind(loopback).unwrap();
        for _ in 0..10 {
            let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let server = listener.accept().unwrap().0;
            keep.push((client, server));
        }
        keep.push((
            TcpStream::connect(listener.local_addr().unwrap()).unwrap(),
            listener.accept().unwrap().0,
        ));
    }
    let port = keep[0].1.local_addr().unwrap().port();

    let requests = [
        DumpRequest::all(),
        DumpRequest::listeners(&[]),
        DumpRequest {
            states: StateMask::ALL,
            ports: vec![port, 9],
            ..DumpRequest::all()
        },
        DumpRequest {
            states: StateMask::ALL,
            // 3000 separate ports and ours: more than a program holds, so
            // filtered in user space.
            ports: (1..=6000).step_by(2).chain([port]).collect(),
            ..DumpRequest::all()
        },
    ];
    for mode in [WalkMode::Auto, WalkMode::OneWalk, WalkMode::TwoWalks] {
        let mut table = NetlinkTable::open().unwrap().with_walk_mode(mode);
        for request in &requests {
            let mut seen = 0u64;
            table.dump(request, &mut |_| seen += 1).unwrap(); // warm-up
            let before = allocations();
            table.dump(request, &mut |_| seen += 1).unwrap();
            let made = allocations() - before;
            assert_eq!(
                made,
                0,
                "{mode:?} {:?} {} ports: {made} allocations",
                request.states,
                request.ports.len()
            );
            assert!(seen > 0 || request.states == StateMask::LISTEN_ONLY);
        }
    }
}
