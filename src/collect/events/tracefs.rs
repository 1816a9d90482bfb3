//! Finding tracefs and reading the tracepoints' `format` files from it.
//!
//! If tracefs (or debugfs with its `tracing/` directory) is mounted, the
//! files are read there. If not (the default on these machines), a dedicated
//! thread enters a private mount namespace (`unshare(CLONE_NEWNS)`), makes
//! every mount in it private so nothing propagates back, mounts tracefs on
//! /sys/kernel/tracing there, reads the files and exits: the namespace and
//! its mount vanish with the thread and the host's mounts are untouched.
//!
//! Owns: locating tracefs and reading `events/<group>/<name>/format`. Must
//! not: write anything under tracefs (no `enable`, no `filter` files).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::error::EventsError;
use super::format::TraceFormat;

/// A tracepoint by group and name, e.g. `sock` / `inet_sock_set_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracepointName {
    pub group: &'static str,
    pub name: &'static str,
}

/// Where the format files were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TracefsOrigin {
    /// An existing mount of tracefs (or debugfs/tracing).
    Mounted(PathBuf),
    /// Mounted in a private mount namespace for the time of the read.
    PrivateMount,
}

/// Reads the `format` file of each tracepoint, in order.
pub fn read_formats(
    tracepoints: &[TracepointName],
) -> Result<(Vec<TraceFormat>, TracefsOrigin), EventsError> {
    if let Some(root) = mounted_tracefs() {
        let formats = read_formats_under(&root, tracepoints)?;
        return Ok((formats, TracefsOrigin::Mounted(root)));
    }
    let wanted = tracepoints.to_vec();
    let reader = std::thread::Builder::new()
        .name("tcpwatch-tracefs".into())
        .spawn(move || -> Result<Vec<TraceFormat>, EventsError> {
            mount_private_tracefs()?;
            read_formats_under(Path::new(PRIVATE_MOUNT_POINT), &wanted)
        })
        .map_err(|source| EventsError::Thread { source })?;
    let formats = reader.join().map_err(|_| EventsError::Thread {
        source: io::Error::other("the tracefs thread panicked"),
    })??;
    Ok((formats, TracefsOrigin::PrivateMount))
}

const PRIVATE_MOUNT_POINT: &str = "/sys/kernel/tracing";

/// The first tracefs mount in /proc/self/mounts, or debugfs's `tracing/`.
fn mounted_tracefs() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mounts").ok()?;
    tracefs_in_mounts(&mounts).filter(|root| root.join("events").is_dir())
}

/// Picks tracefs from the text of /proc/self/mounts; debugfs as second choice.
pub(crate) fn tracefs_in_mounts(mounts: &str) -> Option<PathBuf> {
    let mut debugfs = None;
    for line in mounts.lines() {
        let mut parts = line.split_whitespace();
        let (_device, Some(point), Some(kind)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let point = unescape_mount_path(point);
        match kind {
            "tracefs" => return Some(PathBuf::from(point)),
            "debugfs" if debugfs.is_none() => debugfs = Some(Path::new(&point).join("tracing")),
            _ => {}
        }
    }
    debugfs
}

/// /proc/self/mounts writes spaces as `\040`.
fn unescape_mount_path(path: &str) -> String {
    path.replace("\\040", " ").replace("\\011", "\t")
}

/// On the calling thread only: a private mount namespace with tracefs mounted.
fn mount_private_tracefs() -> Result<(), EventsError> {
    let no_tracefs = |source: io::Error| {
        if matches!(source.raw_os_error(), Some(libc::EPERM | libc::EACCES)) {
            EventsError::Permission { source }
        } else {
            EventsError::NoTracefs { source }
        }
    };
    // SAFETY: unshare and mount are called with valid NUL-terminated strings;
    // CLONE_NEWNS affects only this thread, which exits after reading.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            return Err(no_tracefs(io::Error::last_os_error()));
        }
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            return Err(no_tracefs(io::Error::last_os_error()));
        }
        if libc::mount(
            c"nodev".as_ptr(),
            c"/sys/kernel/tracing".as_ptr(),
            c"tracefs".as_ptr(),
            // No MS_RDONLY: tracefs has one superblock, and a read-only
            // request must never reach a mount another namespace uses.
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        ) != 0
        {
            return Err(no_tracefs(io::Error::last_os_error()));
        }
    }
    Ok(())
}

fn read_formats_under(
    root: &Path,
    tracepoints: &[TracepointName],
) -> Result<Vec<TraceFormat>, EventsError> {
    tracepoints
        .iter()
        .map(|tp| {
            let path = root
                .join("events")
                .join(tp.group)
                .join(tp.name)
                .join("format");
            let text = fs::read_to_string(&path).map_err(|source| {
                if source.kind() == io::ErrorKind::PermissionDenied {
                    EventsError::Permission { source }
                } else {
                    EventsError::MissingTracepoint {
                        group: tp.group,
                        name: tp.name,
                        source,
                    }
                }
            })?;
            TraceFormat::parse(&text).map_err(|e| EventsError::BadFormat {
                group: tp.group,
                name: tp.name,
                reason: e.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_tracefs_then_debugfs_tracing() {
        let mounts = "sysfs /sys sysfs rw 0 0\ndebugfs /sys/kernel/debug debugfs rw 0 0\n";
        assert_eq!(
            tracefs_in_mounts(mounts),
            Some(PathBuf::from("/sys/kernel/debug/tracing"))
        );
        let both = format!("{mounts}tracefs /mnt/my\\040trace tracefs rw 0 0\n");
        assert_eq!(
            tracefs_in_mounts(&both),
            Some(PathBuf::from("/mnt/my trace"))
        );
        assert_eq!(tracefs_in_mounts("proc /proc proc rw 0 0\n"), None);
        assert_eq!(tracefs_in_mounts("garbage\n\n"), None);
    }
}
