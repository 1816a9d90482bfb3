//! The write-up's experiments, run for real on loopback: a listen(1) server
//! that never accepts, clients piling up against it, short connections
//! closed by the client, a server that never calls close(), and a connect to
//! a closed port; and undoing each, so the demo can step back.
//!
//! Owns: the demo's own sockets (all on 127.0.0.1, all closed on drop).
//! Must not: touch anything but loopback and its own sockets.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

/// The ports the demo uses, one per experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabPorts {
    pub full_queue: u16,
    pub time_wait: u16,
    pub close_wait: u16,
    pub closed: u16,
}

impl LabPorts {
    pub fn all(&self) -> Vec<u16> {
        vec![
            self.full_queue,
            self.time_wait,
            self.close_wait,
            self.closed,
        ]
    }
}

/// How long the kernel keeps a TIME_WAIT socket (TCP_TIMEWAIT_LEN).
const TIME_WAIT_LASTS: Duration = Duration::from_secs(60);

/// Holds every socket the demo opened; dropping it closes them all.
pub(crate) struct Lab {
    pub ports: LabPorts,
    /// How many of the demo's steps the sockets show now.
    pub(crate) steps_run: usize,
    backlog_one: Socket,
    accepting: TcpListener,
    never_closing: TcpListener,
    held: Vec<Socket>,
    streams: Vec<TcpStream>,
    /// When the short connections left their TIME_WAIT sockets.
    time_wait_made_at: Option<Instant>,
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Closes `socket` with an RST (SO_LINGER 0): nothing of it stays behind,
/// not even TIME_WAIT.
fn reset(socket: &Socket) -> io::Result<()> {
    socket.set_linger(Some(Duration::ZERO))
}

/// A socket bound to 127.0.0.1:`port`, not listening yet.
fn bound(port: u16) -> io::Result<Socket> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&loopback(port).into())?;
    Ok(socket)
}

fn local_port(socket: &Socket) -> io::Result<u16> {
    socket
        .local_addr()?
        .as_socket()
        .map(|a| a.port())
        .ok_or_else(|| io::Error::other("not an inet socket"))
}

impl Lab {
    /// Binds the experiment's listeners on 127.0.0.1 ephemeral ports.
    pub fn open() -> io::Result<Lab> {
        let backlog_one = bound(0)?;
        let accepting = TcpListener::bind(loopback(0))?;
        let never_closing = TcpListener::bind(loopback(0))?;
        let closed = TcpListener::bind(loopback(0))?;
        let ports = LabPorts {
            full_queue: local_port(&backlog_one)?,
            time_wait: accepting.local_addr()?.port(),
            close_wait: never_closing.local_addr()?.port(),
            closed: closed.local_addr()?.port(),
        };
        drop(closed); // nobody listens there any more
        Ok(Lab {
            ports,
            steps_run: 0,
            backlog_one,
            accepting,
            never_closing,
            held: Vec::new(),
            streams: Vec::new(),
            time_wait_made_at: None,
        })
    }

    /// `listen(1)` and never `accept()`.
    pub(crate) fn listen_with_backlog_one(&mut self) -> io::Result<()> {
        self.backlog_one.listen(1)
    }

    /// `connect()` ×n without waiting: the first two complete into the queue
    /// (listen(1) holds 2), the rest stay in SYN_SENT.
    pub(crate) fn connect_clients_to_full_queue(&mut self, clients: usize) -> io::Result<()> {
        for _ in 0..clients {
            let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
            socket.set_nonblocking(true)?;
            match socket.connect(&loopback(self.ports.full_queue).into()) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
                Err(e) => return Err(e),
            }
            self.held.push(socket);
        }
        Ok(())
    }

    /// Undoes `listen_with_backlog_one`: a listening socket cannot stop
    /// listening, so it is closed and the port bound again, not listening.
    pub(crate) fn stop_listening(&mut self) -> io::Result<()> {
        let unbound = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        drop(std::mem::replace(&mut self.backlog_one, unbound)); // frees the port
        self.backlog_one = bound(self.ports.full_queue)?;
        Ok(())
    }

    /// Undoes `connect_clients_to_full_queue`: the clients close with an
    /// RST, and the two handshakes waiting in the accept queue are taken out
    /// with accept() and reset too, so the queue is empty again.
    pub(crate) fn release_queued_clients(&mut self) -> io::Result<usize> {
        let clients = self.held.len();
        for client in self.held.drain(..) {
            reset(&client)?;
        }
        self.backlog_one.set_nonblocking(true)?;
        loop {
            match self.backlog_one.accept() {
                Ok((queued, _)) => reset(&queued)?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        self.backlog_one.set_nonblocking(false)?;
        Ok(clients)
    }

    /// Whether the short connections' TIME_WAIT sockets are still there.
    pub(crate) fn time_wait_sockets_remain(&self) -> bool {
        self.time_wait_made_at
            .is_some_and(|made| made.elapsed() < TIME_WAIT_LASTS)
    }

    /// Short request/response connections where the client calls close()
    /// first, so each leaves a TIME_WAIT socket on the client side.
    pub(crate) fn short_connections_closed_by_client(&mut self, count: usize) -> io::Result<()> {
        self.time_wait_made_at = Some(Instant::now());
        for _ in 0..count {
            let mut client = TcpStream::connect(loopback(self.ports.time_wait))?;
            let (mut server, _) = self.accepting.accept()?;
            client.write_all(b"GET /\n")?;
            let mut request = [0u8; 6];
            server.read_exact(&mut request)?;
            server.write_all(b"OK\n")?;
            let mut reply = [0u8; 3];
            client.read_exact(&mut reply)?;
            drop(client);
            let mut rest = Vec::new();
            server.read_to_end(&mut rest)?; // EOF: the client's FIN
        }
        Ok(())
    }

    /// The client hangs up; the server never calls close(): CLOSE_WAIT on the
    /// server, FIN_WAIT2 on the client.
    pub(crate) fn server_that_never_closes(&mut self, connections: usize) -> io::Result<()> {
        for _ in 0..connections {
            let client = TcpStream::connect(loopback(self.ports.close_wait))?;
            let (server, _) = self.never_closing.accept()?;
            client.shutdown(std::net::Shutdown::Write)?;
            self.streams.push(client);
            self.streams.push(server); // kept open, never closed: the leak
        }
        Ok(())
    }

    /// Undoes `server_that_never_closes`: both ends close with an RST, so
    /// neither CLOSE_WAIT nor FIN_WAIT2 stays. Returns how many closed.
    pub(crate) fn close_the_leak(&mut self) -> io::Result<usize> {
        let sockets = self.streams.len();
        for stream in self.streams.drain(..) {
            socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
        }
        Ok(sockets)
    }

    /// connect() to a port nobody listens on: the kernel answers RST.
    pub(crate) fn connect_to_closed_port(&self) -> io::Error {
        match TcpStream::connect(loopback(self.ports.closed)) {
            Ok(_) => io::Error::other("unexpectedly connected"),
            Err(e) => e,
        }
    }
}
