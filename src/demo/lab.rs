//! The write-up's experiments, run for real on loopback: a listen(1) server
//! that never accepts, clients piling up against it, short connections
//! closed by the client, a server that never calls close(), and a connect to
//! a closed port.
//!
//! Owns: the demo's own sockets (all on 127.0.0.1, all closed on drop).
//! Must not: touch anything but loopback and its own sockets.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};

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

/// Holds every socket the demo opened; dropping it closes them all.
pub(crate) struct Lab {
    pub ports: LabPorts,
    backlog_one: Socket,
    accepting: TcpListener,
    never_closing: TcpListener,
    held: Vec<Socket>,
    streams: Vec<TcpStream>,
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
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
        let backlog_one = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        backlog_one.bind(&loopback(0).into())?;
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
            backlog_one,
            accepting,
            never_closing,
            held: Vec::new(),
            streams: Vec::new(),
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

    /// Short request/response connections where the client calls close()
    /// first, so each leaves a TIME_WAIT socket on the client side.
    pub(crate) fn short_connections_closed_by_client(&mut self, count: usize) -> io::Result<()> {
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

    /// connect() to a port nobody listens on: the kernel answers RST.
    pub(crate) fn connect_to_closed_port(&self) -> io::Error {
        match TcpStream::connect(loopback(self.ports.closed)) {
            Ok(_) => io::Error::other("unexpectedly connected"),
            Err(e) => e,
        }
    }
}
