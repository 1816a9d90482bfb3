//! The sock_diag collector: dumps the TCP table of the network namespace the
//! socket was opened in, over a NETLINK_SOCK_DIAG socket, with the state mask,
//! the family (`-4`/`-6`: one family's walk) and the port and address filter
//! (a bytecode program) pushed into the kernel.
//!
//! Owns: `NetlinkTable` (socket, buffers, choice of request type, and
//! whether a walk is big enough to be decoded beside the kernel's) and
//! `WalkMode`. Must not: interpret records, allocate per socket or per
//! message, or panic on kernel input. Byte layouts live in `netlink_wire`,
//! the filter program in `bytecode`, the two-thread walk in
//! `netlink_pipeline`.
//!
//! Written by hand on purpose, over `netlink-sys` alone: records are decoded
//! straight from the receive buffer with no allocation per socket, and the
//! `netlink-packet-sock-diag` crate can neither send `TCPDIAG_GETSOCK` (one
//! walk for both families) nor carry `INET_DIAG_REQ_BYTECODE` filters.

use std::io;
use std::os::fd::AsRawFd;

use netlink_sys::{Socket, SocketAddr as NetlinkAddr, protocols::NETLINK_SOCK_DIAG};

use super::bytecode::{AddrOps, filter_program};
use super::netlink_pipeline::{BATCH_BUFFER, MAX_BUFFERS, receive_decoding_aside};
use super::netlink_wire::{
    AF_INET, AF_INET6, BLANK_RECORD, DumpQuery, ReplyProgress, ReplyReader, encode_dump_request,
    ends_dump,
};
use super::{AddrSide, CollectError, DumpRequest, RecordSink, SocketTable};
use crate::model::{IpFamily, SocketRecord, SourceKind, StateMask};

/// How many hash-table walks a dump of both families costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkMode {
    /// Try `OneWalk`; if the kernel refuses it, use `TwoWalks` from then on.
    Auto,
    /// The compat request `TCPDIAG_GETSOCK`: IPv4 and IPv6 in one walk.
    OneWalk,
    /// `SOCK_DIAG_BY_FAMILY` for `AF_INET`, then for `AF_INET6`.
    TwoWalks,
}

/// Size asked for the socket's receive buffer.
const SOCKET_RECEIVE_BUFFER: libc::c_int = 4 << 20;
/// Our datagram buffer. The kernel sends dump datagrams of at most 32 KiB
/// (netlink caps `max_recvmsg_len`), so this never truncates one.
const DATAGRAM_BUFFER: usize = 256 << 10;
/// A walk is decoded on a second thread (`netlink_pipeline`) when the last
/// one delivered at least this many sockets: below, a thread costs more
/// than it saves.
const DECODE_ASIDE_FROM: u64 = 10_000;

/// A NETLINK_SOCK_DIAG socket and its reused buffers.
pub struct NetlinkTable {
    channel: Channel,
    mode: WalkMode,
    /// What `Auto` settled on after its first successful dump.
    settled: Option<WalkMode>,
    /// The request of the last dump (its states aside): the program below
    /// is rebuilt only when the ports or addresses change.
    filter_request: DumpRequest,
    /// `DumpRequest::ports` of the last dump as given (maybe unsorted), to
    /// notice a change without sorting.
    requested_ports: Vec<u16>,
    /// The program for `filter_request`; empty when it filters nothing or
    /// is too large for the kernel (then `filter_request.admits` runs here).
    filter_program: Vec<u8>,
}

impl NetlinkTable {
    /// Opens a sock_diag socket in the calling thread's network namespace
    /// (callers may have `setns`'d this thread first). Walk mode `Auto`.
    pub fn open() -> Result<NetlinkTable, CollectError> {
        let refused = |source: io::Error| CollectError::NetlinkRefused { source };
        let mut socket = Socket::new(NETLINK_SOCK_DIAG).map_err(refused)?;
        socket.bind_auto().map_err(refused)?;
        socket.connect(&NetlinkAddr::new(0, 0)).map_err(refused)?;
        enlarge_receive_buffer(&socket);
        Ok(NetlinkTable {
            channel: Channel {
                socket,
                datagram: Vec::with_capacity(DATAGRAM_BUFFER),
                request: Vec::with_capacity(256),
                seq: 0,
                unfinished_dump: None,
                decode_aside: false,
                last_delivered: None,
                expected: 0,
                spare: Vec::new(),
                walks_decoded_aside: 0,
            },
            mode: WalkMode::Auto,
            settled: None,
            filter_request: DumpRequest::all(),
            requested_ports: Vec::new(),
            filter_program: Vec::new(),
        })
    }

    /// Decodes big walks on a second thread while the kernel writes the
    /// next datagrams (see `netlink_pipeline`): a tick then takes about as
    /// long as the kernel's walk. The collector's choice; a table opened
    /// without it decodes on the calling thread, as a bare dump does.
    pub fn with_decoding_aside(mut self) -> NetlinkTable {
        self.channel.decode_aside = true;
        self
    }

    /// How many walks were decoded on a second thread so far.
    pub fn walks_decoded_aside(&self) -> u64 {
        self.channel.walks_decoded_aside
    }

    /// Sets the walk mode; forgets what `Auto` had settled on.
    pub fn with_walk_mode(mut self, mode: WalkMode) -> NetlinkTable {
        self.set_walk_mode(mode);
        self
    }

    /// Changes the walk mode of an open table; forgets what `Auto` had
    /// settled on.
    pub(crate) fn set_walk_mode(&mut self, mode: WalkMode) {
        self.mode = mode;
        self.settled = None;
    }

    /// The mode asked for.
    pub fn walk_mode(&self) -> WalkMode {
        self.mode
    }

    /// The mode dumps actually use: the asked-for mode, or for `Auto` what
    /// it settled on (`Auto` again until the first dump succeeded).
    pub fn effective_walk(&self) -> WalkMode {
        match self.mode {
            WalkMode::Auto => self.settled.unwrap_or(WalkMode::Auto),
            fixed => fixed,
        }
    }

    /// Rebuilds the filter program only when the requested ports or
    /// addresses changed, so repeated dumps of the same request allocate
    /// nothing.
    fn prepare_filter(&mut self, request: &DumpRequest) {
        let unchanged = request.ports == self.requested_ports
            && request.addrs == self.filter_request.addrs
            && request.addr_side == self.filter_request.addr_side;
        self.filter_request.states = request.states;
        self.filter_request.family = request.family;
        if unchanged {
            return;
        }
        self.requested_ports.clone_from(&request.ports);
        self.filter_request.ports.clone_from(&request.ports);
        // `admits` binary-searches long lists.
        self.filter_request.ports.sort_unstable();
        self.filter_request.ports.dedup();
        self.filter_request.addrs.clone_from(&request.addrs);
        self.filter_request.addr_side = request.addr_side;
        let ops = match request.addr_side {
            AddrSide::Either => AddrOps::SourceOrDestination,
            AddrSide::Local => AddrOps::SourceOnly,
        };
        self.filter_program = filter_program(&request.ports, &request.addrs, ops);
    }

    fn dump_with(
        &mut self,
        walk: WalkMode,
        states: u32,
        sink: &mut RecordSink<'_>,
    ) -> Result<(), WalkFailure> {
        // Ports or addresses but no program: too large for the kernel,
        // filter here (the family is always the walk's).
        let request = &self.filter_request;
        let in_kernel = (request.ports.is_empty() && request.addrs.is_empty())
            || !self.filter_program.is_empty();
        let program = &self.filter_program;
        let channel = &mut self.channel;
        let mut filtered = |record: &SocketRecord| {
            if request.admits(record) {
                sink(record);
            }
        };
        let sink: &mut RecordSink<'_> = if in_kernel { sink } else { &mut filtered };

        match (request.family, walk) {
            (Some(IpFamily::V4), _) => {
                channel.walk(DumpQuery::Family(AF_INET), states, program, sink)
            }
            (Some(IpFamily::V6), _) => {
                channel.walk(DumpQuery::Family(AF_INET6), states, program, sink)
            }
            (None, WalkMode::OneWalk | WalkMode::Auto) => {
                channel.walk(DumpQuery::BothFamiliesOneWalk, states, program, sink)
            }
            (None, WalkMode::TwoWalks) => {
                channel.walk(DumpQuery::Family(AF_INET), states, program, sink)?;
                channel.walk(DumpQuery::Family(AF_INET6), states, program, sink)
            }
        }
    }
}

impl SocketTable for NetlinkTable {
    fn kind(&self) -> SourceKind {
        SourceKind::Netlink
    }

    fn expect_sockets(&mut self, sockets: u64) {
        self.channel.expected = sockets;
    }

    fn dump(
        &mut self,
        request: &DumpRequest,
        sink: &mut RecordSink<'_>,
    ) -> Result<(), CollectError> {
        self.prepare_filter(request);
        let states = request.states.0;
        if request.family.is_some() {
            // One family: one SOCK_DIAG_BY_FAMILY walk whatever the mode, so
            // it tells `Auto` nothing about TCPDIAG_GETSOCK.
            return self
                .dump_with(WalkMode::TwoWalks, states, sink)
                .map_err(|f| f.error);
        }
        match self.effective_walk() {
            WalkMode::Auto => match self.dump_with(WalkMode::OneWalk, states, sink) {
                Ok(()) => {
                    self.settled = Some(WalkMode::OneWalk);
                    Ok(())
                }
                Err(failure) if failure.is_one_walk_unsupported() => {
                    self.dump_with(WalkMode::TwoWalks, states, sink)
                        .map_err(|f| f.error)?;
                    self.settled = Some(WalkMode::TwoWalks);
                    Ok(())
                }
                Err(failure) => Err(failure.error),
            },
            walk => self.dump_with(walk, states, sink).map_err(|f| f.error),
        }
    }
}

/// The socket, its buffers and the sequence numbering of requests.
struct Channel {
    socket: Socket,
    /// One datagram at a time; capacity `DATAGRAM_BUFFER`, never shrunk.
    datagram: Vec<u8>,
    request: Vec<u8>,
    seq: u32,
    /// A dump abandoned half-way: the kernel refuses new dumps (EBUSY) until
    /// its remaining datagrams have been read.
    unfinished_dump: Option<u32>,
    /// Big walks are decoded on a second thread.
    decode_aside: bool,
    /// Sockets the last walk of more than listeners delivered: whether the
    /// next such walk is big. Listener walks (small on any host, and taken
    /// between two table walks) neither set nor use it. `None` before the
    /// first, which goes by `expected` instead.
    last_delivered: Option<u64>,
    /// What the caller expects the first table walk to deliver.
    expected: u64,
    /// Datagram buffers of pipelined walks, kept for the next.
    spare: Vec<Vec<u8>>,
    walks_decoded_aside: u64,
}

/// A failed walk, with how far it got.
struct WalkFailure {
    error: CollectError,
    delivered: u64,
}

impl WalkFailure {
    /// The kernel refused the request before sending any socket, in a way
    /// that means "this request type is not supported here".
    fn is_one_walk_unsupported(&self) -> bool {
        let CollectError::NetlinkRefused { source } = &self.error else {
            return false;
        };
        self.delivered == 0
            && matches!(
                source.raw_os_error(),
                Some(libc::EINVAL | libc::EOPNOTSUPP | libc::ENOENT | libc::EPROTONOSUPPORT)
            )
    }
}

impl Channel {
    /// Sends one dump request and feeds every socket of the reply to `sink`.
    fn walk(
        &mut self,
        query: DumpQuery,
        states: u32,
        program: &[u8],
        sink: &mut RecordSink<'_>,
    ) -> Result<(), WalkFailure> {
        let no_progress = |error| WalkFailure {
            error,
            delivered: 0,
        };
        self.finish_abandoned_dump().map_err(no_progress)?;

        self.seq = self.seq.wrapping_add(1);
        encode_dump_request(&mut self.request, query, states, self.seq, program);
        retry_interrupted(|| self.socket.send(&self.request, 0))
            .map_err(|source| no_progress(refused(source)))?;

        let listeners_only = states == StateMask::LISTEN_ONLY.0;
        let expected = self.last_delivered.unwrap_or(self.expected);
        if self.decode_aside && !listeners_only && expected >= DECODE_ASIDE_FROM {
            return self.receive_pipelined(sink);
        }
        let mut reader = ReplyReader::new(self.seq);
        let mut record = BLANK_RECORD;
        loop {
            // A kernel error reply ends the dump; any other failure leaves
            // the rest of it queued on the socket.
            let step = match self.receive() {
                Ok(()) => reader
                    .feed(&self.datagram, &mut record, sink)
                    .map_err(|error| {
                        let ended = matches!(error, CollectError::NetlinkRefused { .. });
                        (error, ended)
                    }),
                Err(error) => Err((error, false)),
            };
            match step {
                Ok(ReplyProgress::More) => {}
                Ok(ReplyProgress::Done) => break,
                Err((error, ended)) => {
                    if !ended {
                        self.unfinished_dump = Some(self.seq);
                    }
                    return Err(WalkFailure {
                        error,
                        delivered: reader.delivered(),
                    });
                }
            }
        }
        if !listeners_only {
            self.last_delivered = Some(reader.delivered());
        }
        if reader.interrupted() {
            return Err(WalkFailure {
                error: CollectError::NetlinkInterrupted,
                delivered: reader.delivered(),
            });
        }
        Ok(())
    }

    /// The rest of `walk` for a big table: received here, decoded beside.
    fn receive_pipelined(&mut self, sink: &mut RecordSink<'_>) -> Result<(), WalkFailure> {
        let socket = &self.socket;
        let mut receive = |buffer: &mut Vec<u8>| append_datagram(socket, buffer);
        let outcome =
            receive_decoding_aside(&mut receive, self.seq, &mut self.spare, BATCH_BUFFER, sink);
        self.spare.truncate(MAX_BUFFERS);
        self.walks_decoded_aside += 1;
        self.last_delivered = Some(outcome.delivered);
        if !outcome.saw_end {
            self.unfinished_dump = Some(self.seq);
        }
        let failure = |error| WalkFailure {
            error,
            delivered: outcome.delivered,
        };
        outcome.result.map_err(failure)?;
        if outcome.interrupted {
            return Err(failure(CollectError::NetlinkInterrupted));
        }
        Ok(())
    }

    /// Reads one datagram into `self.datagram` (emptied first).
    fn receive(&mut self) -> Result<(), CollectError> {
        self.datagram.clear();
        append_datagram(&self.socket, &mut self.datagram)
    }

    /// Reads and drops what is left of an abandoned dump, without blocking:
    /// while a dump runs the kernel keeps its next datagram queued, so an
    /// empty queue means the dump is over.
    fn finish_abandoned_dump(&mut self) -> Result<(), CollectError> {
        let Some(seq) = self.unfinished_dump.take() else {
            return Ok(());
        };
        loop {
            self.datagram.clear();
            match retry_interrupted(|| self.socket.recv(&mut self.datagram, libc::MSG_DONTWAIT)) {
                Ok(0) => return Ok(()),
                Ok(_) if ends_dump(&self.datagram, seq) => return Ok(()),
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(error) => return Err(refused(error)),
            }
        }
    }
}

/// Reads one datagram after what `buffer` holds, into its spare capacity
/// (never grown: a datagram that does not fit is an error, not a
/// reallocation).
fn append_datagram(socket: &Socket, buffer: &mut Vec<u8>) -> Result<(), CollectError> {
    let room = buffer.capacity() - buffer.len();
    let length = retry_interrupted(|| socket.recv(buffer, libc::MSG_TRUNC)).map_err(refused)?;
    if length > room {
        return Err(CollectError::NetlinkDecode {
            reason: format!("a {length}-byte datagram did not fit the {room} bytes left"),
        });
    }
    if length == 0 {
        return Err(CollectError::NetlinkDecode {
            reason: "empty datagram".to_string(),
        });
    }
    Ok(())
}

fn refused(source: io::Error) -> CollectError {
    CollectError::NetlinkRefused { source }
}

fn retry_interrupted<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match call() {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Asks for a large receive buffer: SO_RCVBUFFORCE (root, beyond rmem_max),
/// else SO_RCVBUF. Failure only costs speed, so it is ignored.
fn enlarge_receive_buffer(socket: &Socket) {
    let size = SOCKET_RECEIVE_BUFFER;
    let set = |option| {
        // SAFETY: passes a pointer to a live c_int and its exact size.
        unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        }
    };
    if set(libc::SO_RCVBUFFORCE) != 0 {
        let _ = set(libc::SO_RCVBUF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(errno: i32, delivered: u64) -> WalkFailure {
        WalkFailure {
            error: refused(io::Error::from_raw_os_error(errno)),
            delivered,
        }
    }

    #[test]
    fn a_table_can_move_to_a_sampler_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<NetlinkTable>();
    }

    #[test]
    fn auto_falls_back_only_when_the_request_type_is_refused_up_front() {
        assert!(failure(libc::EINVAL, 0).is_one_walk_unsupported());
        assert!(failure(libc::EOPNOTSUPP, 0).is_one_walk_unsupported());
        // Refused after sockets were delivered: a real error, not a fallback.
        assert!(!failure(libc::EINVAL, 3).is_one_walk_unsupported());
        // Other errors (no memory, busy) are not "unsupported".
        assert!(!failure(libc::ENOBUFS, 0).is_one_walk_unsupported());
        let decode = WalkFailure {
            error: CollectError::NetlinkDecode {
                reason: "x".to_string(),
            },
            delivered: 0,
        };
        assert!(!decode.is_one_walk_unsupported());
    }
}
