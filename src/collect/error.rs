//! Errors from talking to the kernel, each worded so the user knows what to do.
//!
//! Owns: `CollectError`. Must not: print or exit; callers decide.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectError {
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
}
