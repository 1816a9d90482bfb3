//! `tcpwatch serve`: a Prometheus exporter that is one more consumer of the
//! watch pipeline's ticks. The tick consumer encodes each full tick once
//! (both formats) and publishes it; scrapes answer from the latest
//! publication plus their own accept-queue peaks, so a scrape never waits
//! for a dump.
//!
//! Owns: the serve run (bind, pipeline, HTTP, signals). Must not: read the
//! kernel itself (the pipeline does) or format metrics by hand
//! (`prometheus-client` does).

pub(crate) mod exporter;
pub(crate) mod http;
pub(crate) mod metrics;
pub(crate) mod negotiate;
pub(crate) mod scrape_peaks;
pub(crate) mod select;
pub(crate) mod shared;
