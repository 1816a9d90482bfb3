//! Who we run on: the host name and the kernel release, for the JSON
//! documents and the recording header.
//!
//! Owns: reading them. Must not: fail; an unreadable name becomes "unknown".

use std::fs;

fn read_trimmed(path: &str) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The host name, as `uname -n` prints it.
pub fn host_name() -> String {
    read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(|| "unknown".to_string())
}

/// The kernel release, as `uname -r` prints it.
pub fn kernel_release() -> String {
    read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_never_empty() {
        assert!(!host_name().is_empty());
        assert!(
            kernel_release()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        );
    }
}
