//! The holder role: a child process that enters the benchmark namespace,
//! opens its share of the population (`plan::HolderPlan`) and keeps it open
//! until its stdin closes or it is killed.
//!
//! Owns: opening and holding sockets, with raw `libc` calls so that building
//! 100k connections takes seconds. Must not: run outside the benchmark
//! namespace (it refuses unless the namespace it entered differs from the
//! one it started in), or outlive the orchestrator (PR_SET_PDEATHSIG).
//!
//! Protocol on stdout, one line each: `ready FDS` once the held sockets are
//! open, `tw COUNT` after the `tw` command on stdin built the TIME_WAIT
//! sockets, `error MESSAGE` on failure.

use std::io::{self, BufRead, Write};
use std::net::Ipv4Addr;
use std::os::fd::RawFd;
use std::time::Duration;

use super::namespace;
use super::plan::{
    BATCH, BUSY_PORT, FULL_QUEUE_ADDR, FULL_QUEUE_CLIENTS, FULL_QUEUE_PORT, HolderPlan, IDLE_PORTS,
    SERVICES,
};

/// Environment: the orchestrator's pid (checked against getppid) and the
/// namespace file to enter.
pub const PARENT_ENV: &str = "TCPWATCH_BENCH_PARENT";
pub const NETNS_ENV: &str = "TCPWATCH_BENCH_NETNS";

pub fn run() -> Result<(), String> {
    let result = hold();
    if let Err(message) = &result {
        println!("error {message}");
    }
    result
}

fn hold() -> Result<(), String> {
    let env = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let plan = HolderPlan::from_env(&env(HolderPlan::ENV)?)?;
    let parent: i32 = env(PARENT_ENV)?
        .parse()
        .map_err(|_| "bad parent pid".to_string())?;
    // SAFETY: prctl with an integer argument; getppid has no preconditions.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            return Err("the orchestrator is gone".to_string());
        }
    }
    namespace::enter_on_this_thread(std::path::Path::new(&env(NETNS_ENV)?))?;
    raise_fd_limit()?;

    let mut builder = Builder::new(plan);
    builder.open_listeners()?;
    builder.open_established()?;
    builder.open_half_closed()?;
    println!("ready {}", builder.held.len());

    let stdin = io::stdin();
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        match line.trim() {
            "tw" => {
                let built = builder.open_time_wait()?;
                println!("tw {built}");
            }
            "exit" => break,
            other => return Err(format!("unknown command {other:?}")),
        }
        io::stdout().flush().map_err(|e| format!("stdout: {e}"))?;
    }
    Ok(())
}

fn raise_fd_limit() -> Result<(), String> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a pointer to a live rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(format!("getrlimit: {}", io::Error::last_os_error()));
        }
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            return Err(format!("setrlimit: {}", io::Error::last_os_error()));
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Family {
    V4,
    V6,
}

struct Builder {
    plan: HolderPlan,
    /// One listener per service, on 127.2.<index>.1.
    services: Vec<RawFd>,
    /// [::1]:8080 for the IPv6 pairs (holder 0).
    ipv6_service: Option<RawFd>,
    /// Everything kept open (listeners included).
    held: Vec<RawFd>,
    /// Connections opened so far: picks the next client address.
    opened: usize,
}

impl Builder {
    fn new(plan: HolderPlan) -> Builder {
        Builder {
            plan,
            services: Vec::new(),
            ipv6_service: None,
            held: Vec::with_capacity(plan.held_fds() + 16),
            opened: 0,
        }
    }

    fn open_listeners(&mut self) -> Result<(), String> {
        for (port, _) in SERVICES {
            let fd = listener_v4(self.plan.service_addr(), port, 4096)?;
            self.services.push(fd);
            self.held.push(fd);
        }
        if !self.plan.extras {
            return Ok(());
        }
        let v6 = listener_v6(BUSY_PORT, true, 4096)?;
        self.ipv6_service = Some(v6);
        self.held.push(v6);
        self.held
            .push(listener_v4(Ipv4Addr::UNSPECIFIED, IDLE_PORTS[0], 128)?);
        self.held.push(listener_v6(IDLE_PORTS[1], false, 128)?);
        // listen(1), never accept()ed: holds 2, the third client's SYN is
        // dropped and it stays in SYN_SENT.
        let full = listener_v4(FULL_QUEUE_ADDR, FULL_QUEUE_PORT, 1)?;
        self.held.push(full);
        for _ in 0..FULL_QUEUE_CLIENTS {
            let client = client_v4(Ipv4Addr::new(127, 3, 0, 2))?;
            connect_v4(client, FULL_QUEUE_ADDR, FULL_QUEUE_PORT)?;
            self.held.push(client);
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// Opens `count` connections: IPv4 ones spread over the services by
    /// their share, or IPv6 ones to [::1]:8080; returns (clients, servers).
    fn connect_batch(
        &mut self,
        family: Family,
        count: usize,
    ) -> Result<(Vec<RawFd>, Vec<RawFd>), String> {
        let mut clients = Vec::with_capacity(count);
        let mut per_listener = [0usize; SERVICES.len()];
        for _ in 0..count {
            let client = match family {
                Family::V4 => {
                    let service = service_for(self.opened);
                    let client = client_v4(self.plan.client_addr(self.opened))?;
                    connect_v4(client, self.plan.service_addr(), SERVICES[service].0)?;
                    per_listener[service] += 1;
                    client
                }
                Family::V6 => {
                    let client = socket(libc::AF_INET6)?;
                    connect_v6_loopback(client, BUSY_PORT)?;
                    client
                }
            };
            self.opened += 1;
            clients.push(client);
        }
        let mut servers = Vec::with_capacity(count);
        match family {
            Family::V4 => {
                for (service, &n) in per_listener.iter().enumerate() {
                    for _ in 0..n {
                        servers.push(accept(self.services[service])?);
                    }
                }
            }
            Family::V6 => {
                let listener = self
                    .ipv6_service
                    .ok_or_else(|| "no IPv6 listener".to_string())?;
                for _ in 0..count {
                    servers.push(accept(listener)?);
                }
            }
        }
        Ok((clients, servers))
    }

    /// Runs `each` over batches of IPv4 connections.
    fn in_batches(
        &mut self,
        total: usize,
        mut each: impl FnMut(&mut Builder, Vec<RawFd>, Vec<RawFd>),
    ) -> Result<(), String> {
        let mut done = 0;
        while done < total {
            let count = BATCH.min(total - done);
            let (clients, servers) = self.connect_batch(Family::V4, count)?;
            each(self, clients, servers);
            done += count;
        }
        Ok(())
    }

    fn open_established(&mut self) -> Result<(), String> {
        let ipv6 = self.plan.ipv6_pairs.min(self.plan.established_pairs);
        let mut done = 0;
        while done < ipv6 {
            let count = BATCH.min(ipv6 - done);
            let (clients, servers) = self.connect_batch(Family::V6, count)?;
            self.held.extend(clients);
            self.held.extend(servers);
            done += count;
        }
        self.in_batches(self.plan.established_pairs - ipv6, |b, clients, servers| {
            b.held.extend(clients);
            b.held.extend(servers);
        })
    }

    /// The client shuts down its sending side and keeps its fd: FIN_WAIT2
    /// (not orphaned, so no timeout); the server never closes: CLOSE_WAIT.
    fn open_half_closed(&mut self) -> Result<(), String> {
        let mut failure = None;
        self.in_batches(self.plan.half_closed_pairs, |b, clients, servers| {
            for &client in &clients {
                // SAFETY: shutdown on a socket we own.
                if unsafe { libc::shutdown(client, libc::SHUT_WR) } != 0 {
                    failure = Some(format!("shutdown: {}", io::Error::last_os_error()));
                }
            }
            b.held.extend(clients);
            b.held.extend(servers);
        })?;
        failure.map_or(Ok(()), Err)
    }

    /// The client closes first, then the server: the client's side ends in
    /// TIME_WAIT (60 s), the server's is gone.
    fn open_time_wait(&mut self) -> Result<usize, String> {
        self.in_batches(self.plan.time_wait, |_, clients, servers| {
            for fd in clients.into_iter().chain(servers) {
                // SAFETY: closing a socket we own, once.
                unsafe { libc::close(fd) };
            }
        })?;
        Ok(self.plan.time_wait)
    }
}

fn last_error(what: &str) -> String {
    format!("{what}: {}", io::Error::last_os_error())
}

fn socket(family: libc::c_int) -> Result<RawFd, String> {
    // SAFETY: plain socket(2) call.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(last_error("socket"));
    }
    Ok(fd)
}

fn set_int(fd: RawFd, level: libc::c_int, option: libc::c_int, value: libc::c_int) {
    // SAFETY: passes a pointer to a live c_int and its size.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            option,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

fn sockaddr_v4(ip: Ipv4Addr, port: u16) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    }
}

fn sockaddr_v6(ip: std::net::Ipv6Addr, port: u16) -> libc::sockaddr_in6 {
    libc::sockaddr_in6 {
        sin6_family: libc::AF_INET6 as libc::sa_family_t,
        sin6_port: port.to_be(),
        sin6_flowinfo: 0,
        sin6_addr: libc::in6_addr {
            s6_addr: ip.octets(),
        },
        sin6_scope_id: 0,
    }
}

fn bind_raw<T>(fd: RawFd, address: &T) -> Result<(), String> {
    // SAFETY: `address` is a live sockaddr_in/sockaddr_in6 of its own size.
    let rc = unsafe {
        libc::bind(
            fd,
            (address as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(last_error("bind"));
    }
    Ok(())
}

fn listen(fd: RawFd, backlog: i32) -> Result<RawFd, String> {
    // SAFETY: listen on a bound socket we own.
    if unsafe { libc::listen(fd, backlog) } != 0 {
        return Err(last_error("listen"));
    }
    // Blocking accept with a timeout, so a lost handshake cannot hang us.
    // SAFETY: fcntl on our fd; SO_RCVTIMEO with a live timeval.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        let timeout = libc::timeval {
            tv_sec: 10,
            tv_usec: 0,
        };
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&timeout as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
    Ok(fd)
}

fn listener_v4(ip: Ipv4Addr, port: u16, backlog: i32) -> Result<RawFd, String> {
    let fd = socket(libc::AF_INET)?;
    set_int(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1);
    bind_raw(fd, &sockaddr_v4(ip, port)).map_err(|e| format!("{e} ({ip}:{port})"))?;
    listen(fd, backlog)
}

fn listener_v6(port: u16, loopback_only: bool, backlog: i32) -> Result<RawFd, String> {
    let fd = socket(libc::AF_INET6)?;
    set_int(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1);
    set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1);
    let ip = if loopback_only {
        std::net::Ipv6Addr::LOCALHOST
    } else {
        std::net::Ipv6Addr::UNSPECIFIED
    };
    bind_raw(fd, &sockaddr_v6(ip, port)).map_err(|e| format!("{e} ([{ip}]:{port})"))?;
    listen(fd, backlog)
}

/// A client socket bound to `source`, its port chosen at connect time
/// (IP_BIND_ADDRESS_NO_PORT) so ports are shared across destinations.
fn client_v4(source: Ipv4Addr) -> Result<RawFd, String> {
    let fd = socket(libc::AF_INET)?;
    set_int(fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, 1);
    bind_raw(fd, &sockaddr_v4(source, 0)).map_err(|e| format!("{e} ({source})"))?;
    Ok(fd)
}

fn connect_raw<T>(fd: RawFd, address: &T) -> Result<(), String> {
    // SAFETY: `address` is a live sockaddr of its own size.
    let rc = unsafe {
        libc::connect(
            fd,
            (address as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    let error = io::Error::last_os_error();
    if rc == 0 || error.raw_os_error() == Some(libc::EINPROGRESS) {
        Ok(())
    } else {
        Err(format!("connect: {error}"))
    }
}

fn connect_v4(fd: RawFd, ip: Ipv4Addr, port: u16) -> Result<(), String> {
    connect_raw(fd, &sockaddr_v4(ip, port)).map_err(|e| format!("{e} ({ip}:{port})"))
}

fn connect_v6_loopback(fd: RawFd, port: u16) -> Result<(), String> {
    connect_raw(fd, &sockaddr_v6(std::net::Ipv6Addr::LOCALHOST, port))
}

fn accept(listener: RawFd) -> Result<RawFd, String> {
    loop {
        // SAFETY: accept4 with null address pointers is allowed.
        let fd = unsafe {
            libc::accept4(
                listener,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        };
        if fd >= 0 {
            return Ok(fd);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(format!("accept: {error}"));
        }
    }
}

/// The service of the i-th connection: tenths 0–4 go to the first service,
/// 5–7 to the second, 8–9 to the third (`SERVICES` shares).
fn service_for(i: usize) -> usize {
    let slot = i % 10;
    let mut acc = 0;
    SERVICES
        .iter()
        .position(|(_, tenths)| {
            acc += tenths;
            slot < acc
        })
        .unwrap_or(0)
}
