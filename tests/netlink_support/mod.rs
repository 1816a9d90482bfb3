//! Loopback socket scenarios shared by the `netlink_*` tests: listeners with
//! a chosen backlog, non-blocking connects, TIME_WAIT makers, and the socket
//! inode of a file descriptor as /proc/self/fd shows it.
//!
//! Owns: creating and holding test sockets on 127.0.0.1 / ::1 only. Must
//! not: touch other interfaces or sockets the tests did not create.

#![allow(dead_code)]

use std::io::Read;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use tcpwatch::collect::netlink::NetlinkTable;
use tcpwatch::collect::{DumpRequest, SocketTable};
use tcpwatch::model::SocketRecord;

pub const V4_LOOPBACK: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
pub const V6_LOOPBACK: SocketAddr = SocketAddr::new(std::net::IpAddr::V6(Ipv6Addr::LOCALHOST), 0);

/// Every socket `table` reports for `request`, in the kernel's order.
pub fn dump(table: &mut NetlinkTable, request: &DumpRequest) -> Vec<SocketRecord> {
    let mut records = Vec::new();
    table
        .dump(request, &mut |r| records.push(*r))
        .expect("dump");
    records
}

/// The inode of the socket behind `fd`, from the `socket:[N]` link.
pub fn socket_inode(fd: RawFd) -> u64 {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).expect("readlink /proc/self/fd");
    let text = link.to_string_lossy();
    text.strip_prefix("socket:[")
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a socket link: {text}"))
}

fn to_sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in6.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

fn new_tcp_socket(addr: SocketAddr, flags: libc::c_int) -> OwnedFd {
    let family = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC | flags, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: fd is a fresh descriptor we own.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A listener on `addr` (port 0: any) with an explicit `listen(backlog)`,
/// since std's `TcpListener` always asks for 128.
pub fn listener_with_backlog(addr: SocketAddr, backlog: i32) -> TcpListener {
    let fd = new_tcp_socket(addr, 0);
    let (storage, len) = to_sockaddr(addr);
    // SAFETY: storage/len describe a valid sockaddr for this family.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&storage as *const libc::sockaddr_storage).cast(),
            len,
        )
    };
    assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
    // SAFETY: listen(2) on our socket.
    let rc = unsafe { libc::listen(fd.as_raw_fd(), backlog) };
    assert_eq!(rc, 0, "listen: {}", std::io::Error::last_os_error());
    TcpListener::from(fd)
}

/// Starts a non-blocking connect to `target`; the socket is returned at once
/// (usually with the handshake still in flight).
pub fn connect_nonblocking(target: SocketAddr) -> TcpStream {
    let fd = new_tcp_socket(target, libc::SOCK_NONBLOCK);
    let (storage, len) = to_sockaddr(target);
    // SAFETY: storage/len describe a valid sockaddr for this family.
    let rc = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&storage as *const libc::sockaddr_storage).cast(),
            len,
        )
    };
    let err = std::io::Error::last_os_error();
    assert!(
        rc == 0 || err.raw_os_error() == Some(libc::EINPROGRESS),
        "connect: {err}"
    );
    TcpStream::from(fd)
}

/// Produces a TIME_WAIT socket: a client connects to `listener`, the server
/// accepts, the client closes first (active close), then the server closes.
/// Returns the client's (local, remote) pair, which the TIME_WAIT keeps.
pub fn make_time_wait(listener: &TcpListener) -> (SocketAddr, SocketAddr) {
    let client =
        TcpStream::connect(listener.local_addr().expect("listener addr")).expect("connect");
    let (mut server, _) = listener.accept().expect("accept");
    let pair = (
        client.local_addr().expect("local"),
        client.peer_addr().expect("peer"),
    );
    drop(client);
    // Wait for the client's FIN, then close: the client goes TIME_WAIT.
    let mut byte = [0u8; 1];
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let _ = server.read(&mut byte);
    drop(server);
    pair
}

/// Retries `check` until it returns `Some` or `timeout` passes.
pub fn eventually<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A listen(1) listener that nobody accepts from, with 5 non-blocking
/// connects: 2 complete into the accept queue (listen(N) holds N+1), 3 stay
/// in SYN_SENT as the kernel drops their SYNs.
pub struct FullQueue {
    pub listener: TcpListener,
    pub clients: Vec<TcpStream>,
}

impl FullQueue {
    pub fn new(loopback: SocketAddr) -> FullQueue {
        let listener = listener_with_backlog(loopback, 1);
        let target = listener.local_addr().expect("listener addr");
        let mut clients = Vec::new();
        for _ in 0..5 {
            clients.push(connect_nonblocking(target));
            // Let each handshake settle so exactly the first two complete.
            std::thread::sleep(Duration::from_millis(20));
        }
        FullQueue { listener, clients }
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().expect("listener addr").port()
    }
}
