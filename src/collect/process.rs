//! Which process owns a socket: socket inode → (pid, comm), found by reading
//! the `socket:[INODE]` links under /proc/PID/fd.
//!
//! Owns: `ProcessResolver`, its cache across ticks and its rescan throttle,
//! and the pure parsers for fd links and comm. The scan itself (which
//! processes first, how deep, when to stop) is `owner_scan`'s. Must not:
//! read the clock (time is passed in), fail a sample (processes come and go
//! mid-scan; what cannot be read is skipped), or scan more often than the
//! throttle allows: a scan costs up to one readlink per open fd on the host.
//!
//! Without privilege, other users' /proc/PID/fd cannot be read; the resolver
//! remembers that so the UI can say a missing owner may just be invisible.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::path::PathBuf;

use super::owner_scan::scan_proc;
use crate::model::ProcessInfo;

/// Inode → owner map, kept across ticks and rebuilt lazily.
#[derive(Debug)]
pub(crate) struct ProcessResolver {
    proc_root: PathBuf,
    min_rescan_interval_ms: u64,
    forget_after_ms: u64,
    cache: HashMap<u64, CachedOwner>,
    last_scan_ms: Option<u64>,
    /// What the last scan cost: rescans wait at least
    /// `RESCAN_COST_FACTOR` times that, so a host with a million open files
    /// is not scanned every two seconds.
    last_scan_cost_ms: u64,
    sees_all_processes: bool,
    scans: u64,
}

/// Rescans are spaced to at least this multiple of their own cost (≤ 10% of
/// one core spent on attribution).
const RESCAN_COST_FACTOR: u64 = 10;

#[derive(Debug, Clone)]
struct CachedOwner {
    info: ProcessInfo,
    /// Last time this entry was found by a scan or asked for.
    touched_ms: u64,
}

impl Default for ProcessResolver {
    fn default() -> Self {
        ProcessResolver::new()
    }
}

impl ProcessResolver {
    /// Never rescan more often than this when a wanted inode is unknown.
    pub(crate) const DEFAULT_MIN_RESCAN_INTERVAL_MS: u64 = 2_000;
    /// Cached owners not found or asked for in this long are dropped.
    pub(crate) const DEFAULT_FORGET_AFTER_MS: u64 = 60_000;

    /// A resolver over the real /proc.
    pub fn new() -> ProcessResolver {
        ProcessResolver::with_proc_root(PathBuf::from("/proc"))
    }

    /// A resolver over a /proc-like tree (`<root>/<pid>/fd/*`, `<root>/<pid>/comm`).
    pub(crate) fn with_proc_root(proc_root: PathBuf) -> ProcessResolver {
        ProcessResolver {
            proc_root,
            min_rescan_interval_ms: Self::DEFAULT_MIN_RESCAN_INTERVAL_MS,
            forget_after_ms: Self::DEFAULT_FORGET_AFTER_MS,
            cache: HashMap::new(),
            last_scan_ms: None,
            last_scan_cost_ms: 0,
            sees_all_processes: true,
            scans: 0,
        }
    }

    #[cfg(test)]
    pub(crate) fn with_min_rescan_interval_ms(mut self, interval_ms: u64) -> ProcessResolver {
        self.min_rescan_interval_ms = interval_ms;
        self
    }

    #[cfg(test)]
    pub(crate) fn with_forget_after_ms(mut self, forget_after_ms: u64) -> ProcessResolver {
        self.forget_after_ms = forget_after_ms;
        self
    }

    /// The owners of the `wanted` inodes that are known. Answers from the
    /// cache; scans /proc only when some wanted inode is unknown and the last
    /// scan is at least the minimum interval old. Inode 0 (a connection not
    /// yet accept()ed, or TIME_WAIT) has no owner and never triggers a scan.
    pub(crate) fn resolve(&mut self, wanted: &[u64], now_ms: u64) -> HashMap<u64, ProcessInfo> {
        let missing: HashSet<u64> = wanted
            .iter()
            .copied()
            .filter(|inode| *inode != 0 && !self.cache.contains_key(inode))
            .collect();
        if !missing.is_empty() && self.may_rescan(now_ms) {
            self.rescan(&missing, now_ms);
        }
        let mut answer = HashMap::with_capacity(wanted.len());
        for inode in wanted {
            if let Some(entry) = self.cache.get_mut(inode) {
                entry.touched_ms = now_ms;
                answer.insert(*inode, entry.info.clone());
            }
        }
        self.forget_stale(now_ms);
        answer
    }

    /// False once a scan met a /proc/PID/fd it was not allowed to read (not
    /// root): owners of other users' sockets are then unknown, not absent.
    /// True before the first scan.
    pub(crate) fn can_see_all_processes(&self) -> bool {
        self.sees_all_processes
    }

    /// How many times /proc has been scanned.
    #[cfg(test)]
    pub(crate) fn scan_count(&self) -> u64 {
        self.scans
    }

    fn may_rescan(&self, now_ms: u64) -> bool {
        match self.last_scan_ms {
            None => true,
            // The wall clock went backwards: do not wait for it to catch up.
            Some(last) if now_ms < last => true,
            Some(last) => {
                now_ms - last
                    >= self
                        .min_rescan_interval_ms
                        .max(self.last_scan_cost_ms.saturating_mul(RESCAN_COST_FACTOR))
            }
        }
    }

    fn rescan(&mut self, missing: &HashSet<u64>, now_ms: u64) {
        let started = std::time::Instant::now();
        let result = scan_proc(&self.proc_root, missing, running_as_root());
        self.last_scan_cost_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.scans += 1;
        self.last_scan_ms = Some(now_ms);
        // A full scan tells the whole truth; an early stop can only add to
        // what we know is hidden.
        if result.stopped_early {
            self.sees_all_processes &= !result.forbidden;
        } else {
            self.sees_all_processes = !result.forbidden;
        }
        for (inode, info) in result.owners {
            self.cache.insert(
                inode,
                CachedOwner {
                    info,
                    touched_ms: now_ms,
                },
            );
        }
    }

    fn forget_stale(&mut self, now_ms: u64) {
        let keep_for = self.forget_after_ms;
        self.cache
            .retain(|_, entry| now_ms.saturating_sub(entry.touched_ms) <= keep_for);
    }
}

/// Whether this thread reads /proc as root: its file-access uid (the fourth
/// `Uid:` field of /proc/thread-self/status) is 0.
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/thread-self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|uids| uids.split_whitespace().nth(3).map(|fs_uid| fs_uid == "0"))
        })
        .unwrap_or(false)
}

/// An fd link's target, as the bytes readlink wrote: `socket:[12345]` →
/// 12345; anything else (`pipe:[..]`, a path) → None. Allocates nothing.
pub(crate) fn parse_socket_link_bytes(target: &[u8]) -> Option<u64> {
    let digits = target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |inode, digit| {
        inode.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
}

/// A /proc entry name that is a pid: `"1234"` → 1234; `"self"` → None.
pub(crate) fn parse_pid(name: &OsStr) -> Option<u32> {
    let text = name.to_str()?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The contents of /proc/PID/comm without its trailing newline.
pub(crate) fn parse_comm(text: &str) -> String {
    text.strip_suffix('\n').unwrap_or(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::fake_proc::FakeProc;
    use std::fs;

    #[test]
    fn expensive_scans_are_spaced_by_their_own_cost() {
        let mut resolver = ProcessResolver::new().with_min_rescan_interval_ms(2000);
        resolver.last_scan_ms = Some(0);
        resolver.last_scan_cost_ms = 10;
        assert!(!resolver.may_rescan(1999));
        assert!(
            resolver.may_rescan(2000),
            "cheap scans: the minimum interval"
        );
        resolver.last_scan_cost_ms = 800;
        assert!(!resolver.may_rescan(7999));
        assert!(
            resolver.may_rescan(8000),
            "an 800 ms scan waits 10 × 800 ms"
        );
    }
    fn owner(pid: u32, name: &str) -> ProcessInfo {
        ProcessInfo {
            pid,
            name: name.to_string(),
        }
    }

    #[test]
    fn socket_links_parse() {
        assert_eq!(parse_socket_link_bytes(b"socket:[12345]"), Some(12345));
        assert_eq!(parse_socket_link_bytes(b"pipe:[12345]"), None);
        assert_eq!(parse_socket_link_bytes(b"/dev/null"), None);
        assert_eq!(parse_socket_link_bytes(b"socket:[12x]"), None);
        assert_eq!(parse_socket_link_bytes(b"socket:[1"), None);
        assert_eq!(parse_pid(OsStr::new("1234")), Some(1234));
        assert_eq!(parse_pid(OsStr::new("self")), None);
        assert_eq!(parse_pid(OsStr::new("+1")), None);
        assert_eq!(parse_pid(OsStr::new("")), None);
        assert_eq!(parse_comm("nginx\n"), "nginx");
        assert_eq!(parse_comm("a b\n"), "a b");
    }

    #[test]
    fn fake_tree_resolves_sockets_and_ignores_other_fds() {
        let fake = FakeProc::new();
        fake.process(100, "nginx", &["socket:[1111]", "pipe:[9]", "/dev/null"]);
        fake.process(200, "sshd", &["socket:[2222]", "socket:[2223]"]);
        // A pid directory whose process vanished: no fd dir, no comm.
        fs::create_dir_all(fake.root().join("300")).expect("mkdir");
        let mut resolver = ProcessResolver::with_proc_root(fake.root());
        let found = resolver.resolve(&[1111, 2223, 9, 0], 1_000);
        assert_eq!(found.get(&1111), Some(&owner(100, "nginx")));
        assert_eq!(found.get(&2223), Some(&owner(200, "sshd")));
        assert_eq!(found.len(), 2, "pipe inode 9 and inode 0 have no owner");
        assert!(resolver.can_see_all_processes());
    }

    #[test]
    fn cache_answers_and_rescans_are_throttled() {
        let fake = FakeProc::new();
        fake.process(100, "nginx", &["socket:[1111]"]);
        let mut resolver = ProcessResolver::with_proc_root(fake.root());
        assert_eq!(resolver.resolve(&[1111], 0).len(), 1);
        assert_eq!(resolver.scan_count(), 1);

        // Known inode: no scan however often we ask.
        for now in [10, 20, 5_000] {
            assert_eq!(resolver.resolve(&[1111], now).len(), 1);
        }
        assert_eq!(resolver.scan_count(), 1);

        // A new socket appears; the first miss scans (last scan is old)...
        fake.add_fds(100, &["socket:[3333]"]);
        fake.process(400, "late", &["socket:[4444]"]);
        assert_eq!(resolver.resolve(&[3333], 6_000).len(), 1);
        assert_eq!(resolver.scan_count(), 2);
        // ...an unknown one within 2 s of it does not...
        assert!(resolver.resolve(&[5555], 7_000).is_empty());
        assert!(resolver.resolve(&[5555], 7_999).is_empty());
        assert_eq!(resolver.scan_count(), 2);
        // ...and once 2 s passed it does, again.
        assert!(resolver.resolve(&[5555], 8_000).is_empty());
        assert_eq!(resolver.scan_count(), 3);
        // Met by the full scan above but not asked for then: not kept (other
        // work on the host must not grow the cache), found by the next scan.
        assert!(resolver.resolve(&[4444], 8_001).is_empty());
        assert_eq!(resolver.scan_count(), 3);
        assert_eq!(
            resolver.resolve(&[4444], 10_000).get(&4444),
            Some(&owner(400, "late"))
        );
        assert_eq!(resolver.scan_count(), 4);
    }

    #[test]
    fn inode_zero_never_scans() {
        let fake = FakeProc::new();
        let mut resolver = ProcessResolver::with_proc_root(fake.root());
        assert!(resolver.resolve(&[0, 0], 0).is_empty());
        assert!(resolver.resolve(&[], 10_000).is_empty());
        assert_eq!(resolver.scan_count(), 0);
    }

    #[test]
    fn clock_going_backwards_does_not_block_rescans() {
        let fake = FakeProc::new();
        let mut resolver = ProcessResolver::with_proc_root(fake.root());
        resolver.resolve(&[1], 100_000);
        resolver.resolve(&[1], 1_000);
        assert_eq!(resolver.scan_count(), 2);
    }

    #[test]
    fn stale_entries_are_forgotten() {
        let fake = FakeProc::new();
        fake.process(100, "gone", &["socket:[1]"]);
        let mut resolver = ProcessResolver::with_proc_root(fake.root())
            .with_forget_after_ms(1_000)
            .with_min_rescan_interval_ms(0);
        resolver.resolve(&[1], 0);
        fs::remove_dir_all(fake.root().join("100")).expect("rm");
        assert_eq!(resolver.resolve(&[1], 500).len(), 1, "cached");
        resolver.resolve(&[], 2_000);
        assert!(
            resolver.resolve(&[1], 2_001).is_empty(),
            "forgotten, then rescanned"
        );
        assert_eq!(resolver.scan_count(), 2);
    }

    /// Runs `body` on a thread whose file-system uid is `nobody`, which drops
    /// root's file capabilities for that thread only (setfsuid is per thread).
    fn as_nobody<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::spawn(move || {
            // SAFETY: setfsuid only changes this thread's credentials.
            unsafe { libc::setfsuid(65534) };
            body()
        })
        .join()
        .expect("thread")
    }

    #[test]
    fn unreadable_fd_dirs_mean_we_cannot_see_everything() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            println!("skipped: needs root to simulate another user's process");
            return;
        }
        let fake = FakeProc::new();
        fake.process(100, "mine", &["socket:[1]"]);
        fake.process(200, "theirs", &["socket:[2]"]);
        use std::os::unix::fs::PermissionsExt;
        for pid in [100, 200] {
            let dir = fake.root().join(pid.to_string());
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        fs::set_permissions(fake.root(), fs::Permissions::from_mode(0o755)).expect("chmod");
        let fd_dir = fake.root().join("200").join("fd");
        fs::set_permissions(&fd_dir, fs::Permissions::from_mode(0o700)).expect("chmod");
        let root = fake.root();
        let (found, sees_all) = as_nobody(move || {
            let mut resolver = ProcessResolver::with_proc_root(root);
            let found = resolver.resolve(&[1, 2], 0);
            (found, resolver.can_see_all_processes())
        });
        assert!(!sees_all);
        assert!(!found.contains_key(&2));

        // The real /proc: root's processes (this one included) are hidden.
        let (found_live, sees_all_live) = as_nobody(|| {
            let mut resolver = ProcessResolver::new();
            (
                resolver.resolve(&[u64::MAX], 0),
                resolver.can_see_all_processes(),
            )
        });
        assert!(found_live.is_empty());
        assert!(!sees_all_live);
    }

    #[test]
    fn our_own_listener_resolves_to_this_process() {
        use crate::collect::procfs::ProcTable;
        use crate::collect::{DumpRequest, SocketTable};

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut table = ProcTable::new(PathBuf::from("/proc/thread-self/net"));
        // /proc/net/tcp is read in chunks and may repeat or skip a line while
        // other tests open and close sockets: read until it is consistent.
        let mut inodes = Vec::new();
        for _ in 0..5 {
            inodes.clear();
            table
                .dump(&DumpRequest::listeners(&[port]), &mut |r| {
                    inodes.push(r.inode)
                })
                .expect("dump");
            if inodes.len() == 1 {
                break;
            }
        }
        assert_eq!(inodes.len(), 1, "{inodes:?}");

        let mut resolver = ProcessResolver::new();
        let found = resolver.resolve(&inodes, 0);
        let me = found.get(&inodes[0]).expect("our listener has an owner");
        assert_eq!(me.pid, std::process::id());
        let comm = fs::read_to_string("/proc/self/comm").expect("comm");
        assert_eq!(me.name, parse_comm(&comm));
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            assert!(resolver.can_see_all_processes());
        }
    }
}
