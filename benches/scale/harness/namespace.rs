//! The benchmark's private network namespace, `tcpwatch-bench-<pid>`:
//! creating it (loopback up, three sysctls raised inside it), entering it
//! from one thread, deleting it, and removing ones left by a run that was
//! killed.
//!
//! Owns: every `ip netns` call and every `setns`. Must not: write a sysctl
//! outside the namespace (they are set through `ip netns exec NAME sysctl`,
//! which runs inside it), or delete a namespace whose creator is alive.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::cleanup;

const PREFIX: &str = "tcpwatch-bench-";
const NETNS_DIR: &str = "/run/netns";

/// A namespace we created; deleted on drop.
pub struct BenchNamespace {
    pub name: String,
}

impl BenchNamespace {
    /// Creates `tcpwatch-bench-<pid>`, brings `lo` up and raises, inside it
    /// only, the TIME_WAIT cap and the ephemeral port range.
    pub fn create(max_time_wait: usize) -> Result<BenchNamespace, String> {
        let name = format!("{PREFIX}{}", std::process::id());
        if Path::new(NETNS_DIR).join(&name).exists() {
            run_ip(&["netns", "del", &name])?;
        }
        run_ip(&["netns", "add", &name])?;
        cleanup::register_namespace(&name);
        let namespace = BenchNamespace { name };
        run_ip(&["-n", &namespace.name, "link", "set", "lo", "up"])?;
        run_ip(&[
            "netns",
            "exec",
            &namespace.name,
            "sysctl",
            "-q",
            "-w",
            &format!("net.ipv4.tcp_max_tw_buckets={}", max_time_wait * 2 + 10_000),
            "net.ipv4.ip_local_port_range=1024 65000",
        ])?;
        Ok(namespace)
    }

    pub fn path(&self) -> PathBuf {
        Path::new(NETNS_DIR).join(&self.name)
    }
}

impl Drop for BenchNamespace {
    fn drop(&mut self) {
        delete(&self.name);
        cleanup::unregister_namespace(&self.name);
    }
}

/// `ip netns del NAME`, errors reported but not fatal.
pub fn delete(name: &str) {
    if let Err(message) = run_ip(&["netns", "del", name]) {
        eprintln!("scale: could not delete namespace {name}: {message}");
    }
}

fn run_ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Deletes `tcpwatch-bench-<pid>` namespaces whose pid is no longer alive
/// (a run killed with SIGKILL cannot clean up after itself).
pub fn remove_stale() {
    let Ok(entries) = std::fs::read_dir(NETNS_DIR) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            println!("removing stale namespace {name} (its run, pid {pid}, is gone)");
            delete(&name);
        }
    }
}

/// The inode of a namespace file: equal inodes, same namespace.
pub fn namespace_inode(path: &Path) -> Result<u64, String> {
    std::fs::metadata(path)
        .map(|m| m.ino())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Moves the calling thread into the namespace at `path`, and checks that
/// it now is there and no longer where the process started.
pub fn enter_on_this_thread(path: &Path) -> Result<(), String> {
    let before = namespace_inode(Path::new("/proc/thread-self/ns/net"))?;
    let target = namespace_inode(path)?;
    if before == target {
        return Err(format!("already in {}: refusing", path.display()));
    }
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: setns with an open namespace fd; affects this thread only.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(format!("setns: {}", std::io::Error::last_os_error()));
    }
    let after = namespace_inode(Path::new("/proc/thread-self/ns/net"))?;
    if after != target {
        return Err("setns did not move this thread".to_string());
    }
    Ok(())
}
