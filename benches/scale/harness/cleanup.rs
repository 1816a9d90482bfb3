//! What must be undone however the run ends: the child processes it
//! started and the namespace it created. Normal paths undo them in `Drop`;
//! SIGINT/SIGTERM/SIGHUP run `clean_everything` from a signal thread.
//!
//! Owns: the registry of our pids and namespaces, and the signal thread.
//! Must not: signal any pid it was not given.

use std::sync::Mutex;

use super::namespace;

struct Registry {
    pids: Vec<i32>,
    namespaces: Vec<String>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    pids: Vec::new(),
    namespaces: Vec::new(),
});

fn with_registry<T>(f: impl FnOnce(&mut Registry) -> T) -> T {
    let mut guard = REGISTRY.lock().unwrap_or_else(|poison| poison.into_inner());
    f(&mut guard)
}

pub fn register_pid(pid: u32) {
    with_registry(|r| r.pids.push(pid as i32));
}

pub fn unregister_pid(pid: u32) {
    with_registry(|r| r.pids.retain(|p| *p != pid as i32));
}

pub fn register_namespace(name: &str) {
    with_registry(|r| r.namespaces.push(name.to_string()));
}

pub fn unregister_namespace(name: &str) {
    with_registry(|r| r.namespaces.retain(|n| n != name));
}

/// Kills every registered child (SIGKILL, by pid) and deletes every
/// registered namespace.
pub fn clean_everything() {
    let (pids, namespaces) = with_registry(|r| {
        (
            std::mem::take(&mut r.pids),
            std::mem::take(&mut r.namespaces),
        )
    });
    for pid in pids {
        // SAFETY: kill(2) on a pid we started and have not reaped.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    for name in namespaces {
        namespace::delete(&name);
    }
}

/// Installs (once) a thread that cleans up and exits on SIGINT, SIGTERM or
/// SIGHUP.
pub fn install_signal_handlers() -> Result<(), String> {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    let mut result = Ok(());
    INSTALLED.call_once(|| {
        let signals = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ]);
        match signals {
            Ok(mut signals) => {
                std::thread::spawn(move || {
                    if let Some(signal) = signals.forever().next() {
                        eprintln!("\nscale: signal {signal}: cleaning up");
                        clean_everything();
                        std::process::exit(128 + signal);
                    }
                });
            }
            Err(e) => result = Err(format!("signal handlers: {e}")),
        }
    });
    result
}
