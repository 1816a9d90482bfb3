//! A /proc-like tree in a temporary directory for the owner lookup's tests:
//! `<root>/<pid>/fd/<n>` symlinks (`socket:[N]`, `pipe:[N]`, paths) and
//! `<root>/<pid>/comm`.
//!
//! Owns: building such trees. Must not: be compiled outside tests.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;

pub(crate) struct FakeProc {
    dir: tempfile::TempDir,
}

impl FakeProc {
    pub(crate) fn new() -> FakeProc {
        let fake = FakeProc {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        fs::create_dir_all(fake.root().join("net")).expect("mkdir net");
        symlink("100", fake.root().join("self")).expect("self link");
        fake
    }

    pub(crate) fn root(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// A process `pid` named `comm` whose fds 0, 1, … link to `links`.
    pub(crate) fn process(&self, pid: u32, comm: &str, links: &[&str]) {
        let fd_dir = self.root().join(pid.to_string()).join("fd");
        fs::create_dir_all(&fd_dir).expect("mkdir fd");
        fs::write(
            self.root().join(pid.to_string()).join("comm"),
            format!("{comm}\n"),
        )
        .expect("comm");
        self.add_fds(pid, links);
    }

    /// More fds for `pid`, numbered after its last.
    pub(crate) fn add_fds(&self, pid: u32, links: &[&str]) {
        let fd_dir = self.root().join(pid.to_string()).join("fd");
        let first = fs::read_dir(&fd_dir).expect("fd dir").count();
        for (n, target) in links.iter().enumerate() {
            symlink(target, fd_dir.join((first + n).to_string())).expect("fd link");
        }
    }

    /// The inodes of `pid`'s socket links in the order readdir lists them
    /// (a real /proc lists fds by number; a disk directory by its own hash).
    pub(crate) fn sockets_in_listing_order(&self, pid: u32) -> Vec<u64> {
        let fd_dir = self.root().join(pid.to_string()).join("fd");
        fs::read_dir(fd_dir)
            .expect("fd dir")
            .map(|entry| fs::read_link(entry.expect("entry").path()).expect("link"))
            .filter_map(|target| {
                super::process::parse_socket_link_bytes(target.as_os_str().as_encoded_bytes())
            })
            .collect()
    }
}
