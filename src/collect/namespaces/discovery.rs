//! Finds every network namespace on the host: the distinct inodes behind
//! `/proc/*/ns/net`, the names under `/run/netns`, and the namespace tcpwatch
//! itself runs in; labels each with the best name available.
//!
//! Owns: `NamespaceId`, `FoundNamespace`, `Discovery`, the scan of /proc and
//! /run/netns, and the pure `merge` that turns what the scan saw into the
//! list. Must not: enter a namespace or read socket tables.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::cgroup::{CgroupOrigin, origin_from_cgroup};
use crate::collect::namespace::NAMED_NETNS_DIR;

/// A network namespace's identity: its nsfs inode (`ls -L -i /proc/PID/ns/net`,
/// the number in `net:[4026531840]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NamespaceId(pub u64);

/// One namespace and what identifies it to a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundNamespace {
    pub id: NamespaceId,
    /// The namespace tcpwatch runs in.
    pub is_host: bool,
    /// Its `ip netns` name, if it has one.
    pub name: Option<String>,
    /// The lowest PID inside, and its command (`/proc/PID/comm`).
    pub pid: Option<u32>,
    pub command: Option<String>,
    /// What the lowest PID's cgroup says (container, pod, systemd unit).
    pub origin: CgroupOrigin,
}

impl FoundNamespace {
    /// The best name for people: `host`, `netns blue`, `docker 3f2a9c1b7d0e`,
    /// `pod 1b2c3d4e (containerd …)`, `pid 4242 nginx`, `systemd x.service`,
    /// else `netns:[INODE]`.
    pub fn label(&self) -> String {
        if self.is_host {
            return "host".to_string();
        }
        if let Some(name) = &self.name {
            return format!("netns {name}");
        }
        if (self.origin.container.is_some() || self.origin.pod_uid.is_some())
            && let Some(label) = self.origin.label()
        {
            return label;
        }
        match (self.pid, &self.command) {
            (Some(pid), Some(command)) => format!("pid {pid} {command}"),
            (Some(pid), None) => format!("pid {pid}"),
            (None, _) => self
                .origin
                .label()
                .unwrap_or_else(|| format!("netns:[{}]", self.id.0)),
        }
    }
}

/// What one scan of /proc and /run/netns saw, before merging.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanResult {
    /// (namespace, pid) for every process whose `ns/net` could be read.
    pub members: Vec<(NamespaceId, u32)>,
    /// (namespace, name) for every live mount under /run/netns.
    pub named: Vec<(NamespaceId, String)>,
    pub host: Option<NamespaceId>,
    /// Processes whose namespace could not be read (another user's, not root).
    pub hidden_processes: usize,
    /// Whether the scan ran as root (then a hidden process is a sandbox's).
    pub as_root: bool,
}

/// The namespaces found, host first, then by inode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    pub namespaces: Vec<FoundNamespace>,
    /// Why some namespaces may be missing, for the user.
    pub notes: Vec<String>,
}

/// Merges a scan into the list. `describe(pid)` gives the command and cgroup
/// origin of a namespace's lowest PID (the only per-process reads beyond
/// `ns/net`).
pub fn merge(
    scan: &ScanResult,
    mut describe: impl FnMut(u32) -> (Option<String>, CgroupOrigin),
) -> Discovery {
    let mut lowest: BTreeMap<NamespaceId, Option<u32>> = BTreeMap::new();
    for (id, pid) in &scan.members {
        let slot = lowest.entry(*id).or_insert(Some(*pid));
        *slot = slot.map(|p| p.min(*pid));
    }
    let mut names: BTreeMap<NamespaceId, String> = BTreeMap::new();
    for (id, name) in &scan.named {
        lowest.entry(*id).or_insert(None);
        let slot = names.entry(*id).or_insert_with(|| name.clone());
        if name < slot {
            *slot = name.clone();
        }
    }
    if let Some(host) = scan.host {
        lowest.entry(host).or_insert(None);
    }
    let mut namespaces: Vec<FoundNamespace> = lowest
        .into_iter()
        .map(|(id, pid)| {
            let (command, origin) = pid.map(&mut describe).unwrap_or_default();
            FoundNamespace {
                id,
                is_host: scan.host == Some(id),
                name: names.remove(&id),
                pid,
                command,
                origin,
            }
        })
        .collect();
    namespaces.sort_by_key(|ns| (!ns.is_host, ns.id));
    let mut notes = Vec::new();
    if scan.hidden_processes > 0 {
        let why = if scan.as_root {
            "permission denied even to root"
        } else {
            "another user's; run as root to see them"
        };
        notes.push(format!(
            "{} processes' namespaces could not be read ({why})",
            scan.hidden_processes
        ));
    }
    Discovery { namespaces, notes }
}

/// `net:[4026531840]` → 4026531840.
pub fn parse_ns_link(link: &str) -> Option<NamespaceId> {
    link.strip_prefix("net:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
        .map(NamespaceId)
}

/// Scans the real /proc and /run/netns.
pub fn scan() -> ScanResult {
    scan_under(Path::new("/proc"), Path::new(NAMED_NETNS_DIR))
}

/// Scans a /proc tree and a named-namespace directory (tests pass others).
pub fn scan_under(proc_root: &Path, named_dir: &Path) -> ScanResult {
    let mut result = ScanResult {
        // SAFETY: geteuid has no preconditions and cannot fail.
        as_root: unsafe { libc::geteuid() } == 0,
        host: namespace_of(&proc_root.join("thread-self/ns/net"))
            .or_else(|_| namespace_of(&proc_root.join("self/ns/net")))
            .ok(),
        ..ScanResult::default()
    };
    if let Ok(entries) = fs::read_dir(proc_root) {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<u32>().ok())
            else {
                continue;
            };
            match namespace_of(&entry.path().join("ns/net")) {
                Ok(id) => result.members.push((id, pid)),
                Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {
                    result.hidden_processes += 1;
                }
                // Gone while we looked, or a kernel thread: nothing to see.
                Err(_) => {}
            }
        }
    }
    let nsfs_device = fs::metadata(proc_root.join("self/ns/net"))
        .map(|m| m.dev())
        .ok();
    if let Ok(entries) = fs::read_dir(named_dir) {
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            // A live `ip netns` name is an nsfs bind mount; a leftover file
            // from a crashed `ip netns add` is not.
            if let Ok(meta) = fs::metadata(entry.path())
                && Some(meta.dev()) == nsfs_device
            {
                result.named.push((NamespaceId(meta.ino()), name));
            }
        }
    }
    result
}

/// The namespace behind an `ns/net` link.
fn namespace_of(link: &Path) -> io::Result<NamespaceId> {
    let target = fs::read_link(link)?;
    target
        .to_str()
        .and_then(parse_ns_link)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not a net namespace link"))
}

/// The command and cgroup origin of a live process (empty when it is gone).
pub fn describe_process(pid: u32) -> (Option<String>, CgroupOrigin) {
    let dir = format!("/proc/{pid}");
    let command = fs::read_to_string(format!("{dir}/comm"))
        .ok()
        .map(|text| text.trim_end().to_string())
        .filter(|text| !text.is_empty());
    let origin = fs::read_to_string(format!("{dir}/cgroup"))
        .map(|text| origin_from_cgroup(&text))
        .unwrap_or_default();
    (command, origin)
}

/// Scans and merges: the whole discovery, as the sampler runs it.
pub fn discover() -> Discovery {
    merge(&scan(), describe_process)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::namespaces::cgroup::{Container, Runtime};

    const HOST: NamespaceId = NamespaceId(4026531840);

    #[test]
    fn ns_links_parse() {
        assert_eq!(parse_ns_link("net:[4026531840]"), Some(HOST));
        for bad in ["net:[]", "mnt:[4026531840]", "net:[12", "net:[x]", ""] {
            assert_eq!(parse_ns_link(bad), None, "{bad}");
        }
    }

    #[test]
    fn one_entry_per_inode_with_the_lowest_pid_and_the_best_label() {
        let docker = NamespaceId(4026532500);
        let named = NamespaceId(4026532600);
        let plain = NamespaceId(4026532700);
        let empty_named = NamespaceId(4026532800);
        let scan = ScanResult {
            members: vec![
                (HOST, 1),
                (docker, 900),
                (docker, 812),
                (named, 1500),
                (plain, 2000),
                (HOST, 7),
            ],
            named: vec![
                (named, "blue".into()),
                (empty_named, "zeta".into()),
                (empty_named, "alpha".into()),
            ],
            host: Some(HOST),
            hidden_processes: 3,
            as_root: false,
        };
        let mut described = Vec::new();
        let found = merge(&scan, |pid| {
            described.push(pid);
            let origin = if pid == 812 {
                CgroupOrigin {
                    container: Some(Container {
                        runtime: Runtime::Docker,
                        id: "ab".repeat(32),
                    }),
                    ..CgroupOrigin::default()
                }
            } else {
                CgroupOrigin::default()
            };
            (Some(format!("cmd{pid}")), origin)
        });
        described.sort_unstable();
        assert_eq!(
            described,
            vec![1, 812, 1500, 2000],
            "only the lowest pid is read"
        );
        let labels: Vec<String> = found.namespaces.iter().map(FoundNamespace::label).collect();
        assert_eq!(
            labels,
            vec![
                "host",
                "docker abababababab",
                "netns blue",
                "pid 2000 cmd2000",
                "netns alpha",
            ]
        );
        assert_eq!(found.namespaces[0].id, HOST);
        assert_eq!(
            found.namespaces[4].pid, None,
            "a name with no process inside"
        );
        assert!(found.notes[0].contains("3 processes"), "{:?}", found.notes);
    }

    #[test]
    fn the_real_host_is_found_and_labelled_host() {
        let found = discover();
        let host = found
            .namespaces
            .iter()
            .find(|ns| ns.is_host)
            .expect("our own namespace");
        assert_eq!(host.label(), "host");
        assert_eq!(found.namespaces[0].id, host.id, "host first");
        let ours = fs::read_link("/proc/self/ns/net").expect("readable");
        assert_eq!(parse_ns_link(ours.to_str().unwrap_or("")), Some(host.id));
    }

    #[test]
    fn a_missing_proc_tree_gives_an_empty_scan() {
        let scan = scan_under(
            Path::new("/nonexistent-proc"),
            Path::new("/nonexistent-netns"),
        );
        assert!(scan.members.is_empty() && scan.named.is_empty() && scan.host.is_none());
    }
}
