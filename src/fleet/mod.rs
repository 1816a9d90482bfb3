//! The all-namespaces pipeline above the collector: one judge per
//! namespace, alerts that name their namespace and container, and the rows
//! of the Namespaces panel.
//!
//! Owns: per-namespace judging and summaries. Must not: do I/O or read the
//! clock; samples come in from `collect::namespaces::fleet` with their time.

pub mod judge;
pub mod rows;
pub mod table;

use crate::alert::Alert;

/// Makes an alert say where it is: `127.0.0.1:80 in docker 3f2a9c1b7d0e`.
/// Namespace-wide alerts already name it (their subject is the label).
pub fn name_namespace(alert: &mut Alert, label: &str) {
    let suffix = format!(" in {label}");
    if alert.subject != label && !alert.subject.ends_with(&suffix) {
        alert.subject.push_str(&suffix);
    }
}
