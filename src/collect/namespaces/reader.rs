//! Reads one network namespace from the dedicated all-namespaces thread: a
//! sock_diag socket opened once inside it through `setns`, and its /proc net
//! files read by briefly entering it again; without the privilege to enter,
//! the lowest process's `/proc/PID/net` from outside.
//!
//! Owns: `Home`, `NamespaceReader` and the visit that enters a namespace and
//! always comes back. Must not: be used from any thread but the one that
//! made its `Home`; keep a namespace's file open once discovery no longer
//! finds it (dropping the reader releases it).

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use super::discovery::FoundNamespace;
use crate::collect::namespace::NetnsTarget;
use crate::collect::namespace::{NAMED_NETNS_DIR, NamespaceContext, enter_file};
use crate::collect::sampler::{Sampler, SamplerConfig};
use crate::collect::{CollectError, SourceChoice};
use crate::model::Filter;
use crate::model::judging::JudgingScope;

/// The namespace the all-namespaces thread started in: every visit returns
/// here.
pub struct Home {
    file: File,
}

impl Home {
    /// The calling thread's namespace now.
    pub fn here() -> Result<Home, CollectError> {
        let path = PathBuf::from("/proc/thread-self/ns/net");
        File::open(&path)
            .map(|file| Home { file })
            .map_err(|source| CollectError::ProcUnreadable { path, source })
    }

    fn go_back(&self) -> Result<(), CollectError> {
        enter_file(&self.file).map_err(|source| CollectError::NamespaceUnusable {
            target: "host (returning from another namespace)".to_string(),
            source,
        })
    }
}

/// How a namespace is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// tcpwatch's own namespace: nothing to enter.
    Own,
    /// Entered with setns for each read; sock_diag, backlogs and sysctls.
    Entered,
    /// `/proc/PID/net` from outside (no privilege to enter): no backlogs.
    Outside { pid: u32 },
}

/// One namespace's open source.
pub struct NamespaceReader {
    /// The namespace file to enter (`Access::Entered` only). Held open, it
    /// keeps the namespace alive: drop the reader when the namespace is gone.
    entry: Option<File>,
    access: Access,
    sampler: Sampler,
}

impl NamespaceReader {
    /// Opens the namespace's source on the calling thread, which must be the
    /// thread `home` was made on. `Err` says, for people, why it cannot be
    /// read (never aborts the run).
    pub fn open(
        found: &FoundNamespace,
        home: &Home,
        source: SourceChoice,
        filter: &Filter,
        scope: JudgingScope,
    ) -> Result<NamespaceReader, String> {
        let label = found.label();
        let config = SamplerConfig {
            source,
            target: NetnsTarget::Host,
            filter: filter.clone(),
            scope,
        };
        if found.is_host {
            let sampler = Sampler::in_context(config, NamespaceContext::own(label))
                .map_err(|e| e.to_string())?;
            return Ok(NamespaceReader {
                entry: None,
                access: Access::Own,
                sampler: sampler.without_owners(),
            });
        }
        let ns_path = namespace_file_path(found);
        let entered = match open_namespace_file(found, &ns_path) {
            Ok(file) => match enter_file(&file) {
                Ok(()) => {
                    let opened =
                        Sampler::in_context(config.clone(), NamespaceContext::own(label.clone()));
                    home.go_back().map_err(|e| e.to_string())?;
                    let sampler = opened.map_err(|e| e.to_string())?;
                    return Ok(NamespaceReader {
                        entry: Some(file),
                        access: Access::Entered,
                        sampler: sampler.without_owners(),
                    });
                }
                Err(err) => err,
            },
            Err(err) => err,
        };
        let why = if is_permission(&entered) {
            "entering it needs CAP_SYS_ADMIN (run as root)".to_string()
        } else {
            format!("cannot enter it ({entered})")
        };
        let Some(pid) = found.pid else {
            return Err(why);
        };
        let outside = NamespaceContext::from_outside(pid, label, &ns_path, &entered);
        let probe = outside.net_dir.join("sockstat");
        if let Err(err) = std::fs::read(&probe) {
            let reason = if is_permission(&err) {
                "reading another user's /proc/PID/net needs CAP_SYS_PTRACE".to_string()
            } else {
                format!("{}: {err}", probe.display())
            };
            return Err(format!("{why}; {reason}"));
        }
        let sampler = Sampler::in_context(config, outside).map_err(|e| format!("{why}; {e}"))?;
        Ok(NamespaceReader {
            entry: None,
            access: Access::Outside { pid },
            sampler: sampler.without_owners(),
        })
    }

    pub fn access(&self) -> Access {
        self.access
    }

    /// Runs `read` with the thread inside the namespace (when it must be),
    /// and always comes back home. Failing to enter is the inner error (the
    /// namespace may be gone); failing to come back is `Stranded`, which the
    /// caller must stop on: the thread would read the wrong namespace.
    pub fn visit<T>(
        &mut self,
        home: &Home,
        read: impl FnOnce(&mut Sampler) -> Result<T, CollectError>,
    ) -> Result<Result<T, CollectError>, Stranded> {
        let Some(entry) = &self.entry else {
            return Ok(read(&mut self.sampler));
        };
        if let Err(source) = enter_file(entry) {
            return Ok(Err(CollectError::NamespaceUnusable {
                target: self.sampler.namespace_label().to_string(),
                source,
            }));
        }
        let result = read(&mut self.sampler);
        home.go_back().map_err(Stranded)?;
        Ok(result)
    }
}

/// The thread could not return to its own namespace.
#[derive(Debug)]
pub struct Stranded(pub CollectError);

/// The namespace's own file: its `ip netns` mount, else its lowest
/// process's `ns/net`.
fn namespace_file_path(found: &FoundNamespace) -> PathBuf {
    match (&found.name, found.pid) {
        (Some(name), _) => PathBuf::from(NAMED_NETNS_DIR).join(name),
        (None, Some(pid)) => PathBuf::from(format!("/proc/{pid}/ns/net")),
        (None, None) => PathBuf::new(),
    }
}

/// Opens the namespace file, checked to still be the namespace found.
fn open_namespace_file(found: &FoundNamespace, path: &std::path::Path) -> io::Result<File> {
    let file = File::open(path)?;
    if file.metadata()?.ino() != found.id.0 {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "the namespace changed since it was found",
        ));
    }
    Ok(file)
}

fn is_permission(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::PermissionDenied || err.raw_os_error() == Some(libc::EPERM)
}
