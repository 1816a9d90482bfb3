//! Errors from talking to the kernel, each worded so the user knows what to do.
//!
//! Owns: `CollectError`. Must not: print or exit; callers decide.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectError {
    #[error("cannot start a collector thread ({source}); the system is out of threads or memory")]
    Thread {
        #[source]
        source: io::Error,
    },
    #[error("the kernel refused the sock_diag netlink request ({source}); try --source proc")]
    NetlinkRefused {
        #[source]
        source: io::Error,
    },
    #[error("could not decode the kernel's sock_diag reply: {reason}; try --source proc")]
    NetlinkDecode { reason: String },
    #[error(
        "the socket table changed too much during the sock_diag dump (NLM_F_DUMP_INTR); sample again"
    )]
    NetlinkInterrupted,
    #[error("cannot read {}: {source}; is /proc mounted and readable? (mount -t proc proc /proc)", path.display())]
    ProcUnreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}:{line}: {reason}", path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("no process with pid {pid}: check the pid with `ps -p {pid}`")]
    NoSuchPid { pid: u32 },
    #[error(
        "process {pid} exists but /proc hides it (mounted with hidepid): run tcpwatch as root, as the process's user, or in the group named by the gid= mount option"
    )]
    ProcessHidden { pid: u32 },
    #[error("no network namespace named '{name}': list them with `ip netns list`")]
    NoSuchNetns { name: String },
    #[error(
        "not permitted to enter the network namespace of {target} ({source}): run tcpwatch as root or with CAP_SYS_ADMIN"
    )]
    NamespacePermission {
        target: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "{target} is gone: {reason}; nothing left to watch (start tcpwatch again on the new target)"
    )]
    TargetGone { target: String, reason: String },
    #[error(
        "cannot enter the network namespace of {target} ({source}); check it still exists with `ip netns list` or `ls -l /proc/<pid>/ns/net`"
    )]
    NamespaceUnusable {
        target: String,
        #[source]
        source: io::Error,
    },
}

impl CollectError {
    /// Whether sampling again cannot help: the watched target is gone.
    pub fn is_final(&self) -> bool {
        matches!(self, CollectError::TargetGone { .. })
    }
}

/// A problem found by one of the pure text parsers, before the caller knows
/// which file the text came from. `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub(crate) struct ParseError {
    pub line: usize,
    pub reason: String,
}

impl ParseError {
    pub fn new(line: usize, reason: impl Into<String>) -> ParseError {
        ParseError {
            line,
            reason: reason.into(),
        }
    }

    /// Attaches the file the text was read from.
    pub(crate) fn in_file(self, path: impl Into<PathBuf>) -> CollectError {
        CollectError::Malformed {
            path: path.into(),
            line: self.line,
            reason: self.reason,
        }
    }
}
