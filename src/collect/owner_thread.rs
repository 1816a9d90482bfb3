//! Looks up socket owners on a thread of its own, so a slow `/proc/*/fd`
//! scan (a second on a host with half a million open files) never delays a
//! tick: each tick takes what is known now and asks for the rest.
//!
//! The first lookup waits for its scan (up to `FIRST_SCAN_WAIT`), so the
//! first picture and the first alert name their processes as `--once` does.
//!
//! Owns: `BackgroundOwners` and its thread. Must not: block the caller after
//! the first lookup; a request made while a scan runs is dropped (the next
//! tick asks again).

use std::collections::HashMap;
use std::io;
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

/// How long the first lookup waits for its scan.
const FIRST_SCAN_WAIT: Duration = Duration::from_secs(3);

use super::process::ProcessResolver;
use crate::model::ProcessInfo;

#[derive(Debug, Default)]
struct Known {
    owners: HashMap<u64, ProcessInfo>,
    sees_all: bool,
}

#[derive(Debug)]
pub struct BackgroundOwners {
    requests: SyncSender<(Vec<u64>, u64)>,
    known: Arc<Mutex<Known>>,
    /// One message per finished scan.
    scanned: mpsc::Receiver<()>,
    /// Whether the first lookup has been answered.
    primed: bool,
}

impl BackgroundOwners {
    /// Starts the lookup thread; it ends when this value is dropped.
    pub(crate) fn spawn(resolver: ProcessResolver) -> io::Result<BackgroundOwners> {
        let (requests, inbox) = mpsc::sync_channel::<(Vec<u64>, u64)>(1);
        let (scan_done, scanned) = mpsc::sync_channel::<()>(1);
        let known = Arc::new(Mutex::new(Known {
            owners: HashMap::new(),
            sees_all: true,
        }));
        let shared = Arc::clone(&known);
        let mut resolver = resolver;
        thread::Builder::new()
            .name("tcpwatch-owners".to_string())
            .spawn(move || {
                for (wanted, now_ms) in inbox {
                    let owners = resolver.resolve(&wanted, now_ms);
                    let mut known = shared.lock().unwrap_or_else(PoisonError::into_inner);
                    known.owners = owners;
                    known.sees_all = resolver.can_see_all_processes();
                    drop(known);
                    let _ = scan_done.try_send(());
                }
            })?;
        Ok(BackgroundOwners {
            requests,
            known,
            scanned,
            primed: false,
        })
    }

    /// The owners known now among `wanted`, and whether every process could
    /// be inspected; asks the thread to look up the rest. The first call
    /// waits for its own scan.
    pub fn lookup(&mut self, wanted: Vec<u64>, now_ms: u64) -> (HashMap<u64, ProcessInfo>, bool) {
        let first = !std::mem::replace(&mut self.primed, true);
        if first && self.requests.send((wanted.clone(), now_ms)).is_ok() {
            let _ = self.scanned.recv_timeout(FIRST_SCAN_WAIT);
        }
        let (answer, sees_all) = {
            let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
            let answer = wanted
                .iter()
                .filter_map(|inode| known.owners.get(inode).map(|info| (*inode, info.clone())))
                .collect();
            (answer, known.sees_all)
        };
        // Busy scanning: this request is dropped, the next tick asks again.
        if !first {
            let _ = self.requests.try_send((wanted, now_ms));
        }
        (answer, sees_all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    fn inode_of(listener: &TcpListener) -> u64 {
        use std::os::fd::AsRawFd;
        let link =
            std::fs::read_link(format!("/proc/self/fd/{}", listener.as_raw_fd())).expect("fd link");
        super::super::process::parse_socket_link_bytes(link.as_os_str().as_encoded_bytes())
            .expect("a socket")
    }

    #[test]
    fn the_first_lookup_waits_for_its_scan() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let inode = inode_of(&listener);
        let mut owners = BackgroundOwners::spawn(ProcessResolver::new()).expect("thread");
        let (answer, _) = owners.lookup(vec![inode], 0);
        assert_eq!(answer.get(&inode).map(|p| p.pid), Some(std::process::id()));
    }

    #[test]
    fn later_lookups_learn_in_the_background() {
        let first = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut owners = BackgroundOwners::spawn(ProcessResolver::new()).expect("thread");
        owners.lookup(vec![inode_of(&first)], 0);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let inode = inode_of(&listener);
        let start = Instant::now();
        let mut found = None;
        let mut now_ms = 0;
        while start.elapsed() < Duration::from_secs(5) {
            // A later "now", so the resolver may scan again.
            now_ms += 60_000;
            let (answer, _) = owners.lookup(vec![inode], now_ms);
            if let Some(info) = answer.get(&inode) {
                found = Some(info.clone());
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(found.map(|p| p.pid), Some(std::process::id()));
    }
}
