//! A big dump decoded on a second thread while the kernel writes the next
//! datagrams: the calling thread only receives (the kernel walks its table
//! inside `recv`), and a scoped worker decodes what was received and hands
//! its sockets to the sink, in order. On a table of 100,000 sockets the
//! sink's counting is then done by the time the kernel's walk is: a tick
//! takes about as long as the walk itself, though it costs as much CPU.
//!
//! Datagrams are handed over in batches (consecutive datagrams appended to
//! one buffer are still a valid run of netlink messages): waking the
//! worker for every 32 KiB datagram would cost about what it saves.
//!
//! Owns: the worker, the hand-over of buffers in both directions and the
//! buffers kept between dumps. Must not: decode anything itself
//! (`ReplyReader` does), reorder datagrams, keep more than `IN_FLIGHT`
//! batches waiting, or leave the worker running when a receive fails.

use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};

use super::CollectError;
use super::netlink_wire::{BLANK_RECORD, ReplyProgress, ReplyReader, ends_dump};
use crate::model::SocketRecord;

/// Batches received but not yet decoded, at most.
const IN_FLIGHT: usize = 3;
/// The buffers a walk uses at most: those in flight, the one being filled
/// and the one being decoded. Worth keeping for the next walk.
pub(super) const MAX_BUFFERS: usize = IN_FLIGHT + 2;
/// A batch buffer's size: about 14 datagrams of 32 KiB per hand-over. Each
/// hand-over wakes the worker, which costs tens of microseconds on a VM.
pub(super) const BATCH_BUFFER: usize = 512 << 10;
/// A batch is handed over once less than this is left in its buffer: the
/// kernel's dump datagrams are at most 32 KiB.
const DATAGRAM_ROOM: usize = 64 << 10;

/// How a pipelined walk ended.
pub(super) struct PipelineOutcome {
    /// The first failure: a receive error, or the decoder's.
    pub(super) result: Result<(), CollectError>,
    /// Sockets handed to the sink.
    pub(super) delivered: u64,
    /// A message said the dump was interrupted (`NLM_F_DUMP_INTR`).
    pub(super) interrupted: bool,
    /// The end of the dump was received: nothing of it is left queued.
    pub(super) saw_end: bool,
}

/// Receives the reply to dump `seq` with `receive` (one datagram appended
/// to the buffer it is given, which has at least `DATAGRAM_ROOM` left),
/// decoding on a worker thread into `sink`. `spare` holds the buffers kept
/// from one dump to the next; `buffer_size` is the capacity of a new one
/// (at least twice `DATAGRAM_ROOM` is worth it).
pub(super) fn receive_decoding_aside(
    receive: &mut dyn FnMut(&mut Vec<u8>) -> Result<(), CollectError>,
    seq: u32,
    spare: &mut Vec<Vec<u8>>,
    buffer_size: usize,
    sink: &mut (dyn FnMut(&SocketRecord) + Send),
) -> PipelineOutcome {
    let (to_decoder, datagrams) = sync_channel::<Vec<u8>>(IN_FLIGHT);
    let (to_receiver, emptied) = channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let decoder = scope.spawn(move || decode(seq, &datagrams, &to_receiver, sink));
        let (received, saw_end) =
            receive_all(receive, seq, spare, buffer_size, &to_decoder, &emptied);
        // The decoder stops at the end of the dump or, when receiving
        // failed, once it has what was received before.
        drop(to_decoder);
        let decoded = decoder.join().unwrap_or_else(|_| Decoded {
            result: Err(CollectError::NetlinkDecode {
                reason: "the decoding thread panicked".to_string(),
            }),
            delivered: 0,
            interrupted: false,
        });
        spare.extend(emptied.try_iter());
        PipelineOutcome {
            // A receive failure is the first one: the decoder only saw
            // what came before it.
            result: received.and(decoded.result),
            delivered: decoded.delivered,
            interrupted: decoded.interrupted,
            saw_end,
        }
    })
}

/// The receiving side: datagrams until the end of the dump, a receive
/// failure, or the decoder giving up (it hangs up first). Returns the
/// receive result and whether the end was received.
fn receive_all(
    receive: &mut dyn FnMut(&mut Vec<u8>) -> Result<(), CollectError>,
    seq: u32,
    spare: &mut Vec<Vec<u8>>,
    buffer_size: usize,
    to_decoder: &SyncSender<Vec<u8>>,
    emptied: &Receiver<Vec<u8>>,
) -> (Result<(), CollectError>, bool) {
    loop {
        let mut buffer = emptied
            .try_recv()
            .ok()
            .or_else(|| spare.pop())
            .unwrap_or_else(|| Vec::with_capacity(buffer_size.max(DATAGRAM_ROOM)));
        buffer.clear();
        let mut last = false;
        while !last && buffer.capacity() - buffer.len() >= DATAGRAM_ROOM {
            let start = buffer.len();
            if let Err(error) = receive(&mut buffer) {
                // What came before the failure is still decoded.
                buffer.truncate(start);
                let _ = to_decoder.send(buffer);
                return (Err(error), false);
            }
            last = ends_dump(&buffer[start..], seq);
        }
        if to_decoder.send(buffer).is_err() {
            // The decoder stopped on an error: its result says which.
            return (Ok(()), last);
        }
        if last {
            return (Ok(()), true);
        }
    }
}

/// What the decoder made of the datagrams.
struct Decoded {
    result: Result<(), CollectError>,
    delivered: u64,
    interrupted: bool,
}

/// The decoding side: every batch in order, each buffer sent back.
fn decode(
    seq: u32,
    datagrams: &Receiver<Vec<u8>>,
    to_receiver: &std::sync::mpsc::Sender<Vec<u8>>,
    sink: &mut (dyn FnMut(&SocketRecord) + Send),
) -> Decoded {
    let mut reader = ReplyReader::new(seq);
    let mut record = BLANK_RECORD;
    let mut result = Err(CollectError::NetlinkDecode {
        reason: "the dump ended without NLMSG_DONE".to_string(),
    });
    for datagram in datagrams {
        let step = reader.feed(&datagram, &mut record, sink);
        // The receiver may be gone (it failed): the buffer is then freed.
        let _ = to_receiver.send(datagram);
        match step {
            Ok(ReplyProgress::More) => {}
            Ok(ReplyProgress::Done) => {
                result = Ok(());
                break;
            }
            Err(error) => {
                result = Err(error);
                break;
            }
        }
    }
    Decoded {
        result,
        delivered: reader.delivered(),
        interrupted: reader.interrupted(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An nlmsghdr of `message_type` for dump `seq`, then `payload`.
    fn message(seq: u32, message_type: u16, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(16 + payload.len()).expect("small");
        let mut out = Vec::new();
        out.extend_from_slice(&len.to_ne_bytes());
        out.extend_from_slice(&message_type.to_ne_bytes());
        out.extend_from_slice(&2u16.to_ne_bytes()); // NLM_F_MULTI
        out.extend_from_slice(&seq.to_ne_bytes());
        out.extend_from_slice(&0u32.to_ne_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// One ESTABLISHED IPv4 socket from 127.0.0.1:`port` to 127.0.0.1:80.
    fn socket_message(seq: u32, port: u16) -> Vec<u8> {
        let mut msg = [0u8; 72];
        msg[0] = 2; // AF_INET
        msg[1] = 1; // TCP_ESTABLISHED
        msg[4..6].copy_from_slice(&port.to_be_bytes());
        msg[6..8].copy_from_slice(&80u16.to_be_bytes());
        msg[8..12].copy_from_slice(&[127, 0, 0, 1]);
        msg[24..28].copy_from_slice(&[127, 0, 0, 1]);
        message(seq, 18, &msg) // TCPDIAG_GETSOCK
    }

    fn done_message(seq: u32) -> Vec<u8> {
        message(seq, 3, &0i32.to_ne_bytes())
    }

    /// Datagrams of `per_datagram` sockets each, then one with NLMSG_DONE.
    fn script(seq: u32, datagrams: usize, per_datagram: u16) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = (0..datagrams)
            .map(|d| {
                (0..per_datagram)
                    .flat_map(|i| socket_message(seq, 10_000 + d as u16 * per_datagram + i))
                    .collect()
            })
            .collect();
        out.push(done_message(seq));
        out
    }

    fn receiver(
        mut datagrams: std::vec::IntoIter<Vec<u8>>,
    ) -> impl FnMut(&mut Vec<u8>) -> Result<(), CollectError> {
        move |buffer: &mut Vec<u8>| match datagrams.next() {
            Some(datagram) => {
                let capacity = buffer.capacity();
                buffer.extend_from_slice(&datagram);
                assert_eq!(buffer.capacity(), capacity, "appended in place");
                Ok(())
            }
            None => Err(CollectError::NetlinkRefused {
                source: std::io::Error::from_raw_os_error(libc::EAGAIN),
            }),
        }
    }

    #[test]
    fn every_socket_arrives_in_order_and_buffers_are_kept() {
        let mut receive = receiver(script(7, 100, 20).into_iter());
        let mut ports = Vec::new();
        let mut spare = Vec::new();
        // 256 KiB buffers: many of these small datagrams go in one batch.
        let outcome = receive_decoding_aside(&mut receive, 7, &mut spare, 256 << 10, &mut |r| {
            ports.push(r.local.port())
        });
        assert!(outcome.result.is_ok());
        assert!(outcome.saw_end);
        assert!(!outcome.interrupted);
        assert_eq!(outcome.delivered, 2000);
        assert_eq!(ports, (10_000..12_000).collect::<Vec<u16>>());
        assert!(!spare.is_empty(), "buffers come back for the next dump");
        assert!(spare.len() <= IN_FLIGHT + 2, "{} buffers", spare.len());
    }

    #[test]
    fn a_receive_failure_mid_dump_is_reported_after_what_came_before() {
        let mut datagrams = script(7, 10, 5);
        datagrams.pop(); // no NLMSG_DONE: the receive after the tenth fails
        let mut receive = receiver(datagrams.into_iter());
        let mut count = 0;
        let outcome =
            receive_decoding_aside(&mut receive, 7, &mut Vec::new(), 4096, &mut |_| count += 1);
        assert!(matches!(
            outcome.result,
            Err(CollectError::NetlinkRefused { .. })
        ));
        assert!(!outcome.saw_end);
        assert_eq!(count, 50);
        assert_eq!(outcome.delivered, 50);
    }

    #[test]
    fn a_decoding_error_stops_the_receiver() {
        let mut datagrams = script(7, 40, 5);
        datagrams[3] = vec![0xff; 7]; // a truncated header
        let received = std::cell::Cell::new(0);
        let mut inner = receiver(datagrams.into_iter());
        let mut receive = |buffer: &mut Vec<u8>| {
            received.set(received.get() + 1);
            inner(buffer)
        };
        let outcome = receive_decoding_aside(&mut receive, 7, &mut Vec::new(), 4096, &mut |_| {});
        assert!(matches!(
            outcome.result,
            Err(CollectError::NetlinkDecode { .. })
        ));
        assert_eq!(outcome.delivered, 15, "the three datagrams before it");
        assert!(!outcome.saw_end, "the rest of the dump is left queued");
        assert!(
            received.get() <= 4 + IN_FLIGHT + 2,
            "stopped early: {} received",
            received.get()
        );
    }
}
