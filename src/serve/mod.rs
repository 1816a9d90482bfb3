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

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::Config;
use crate::error::AppError;
use crate::model::TcpState;
use crate::run::pipeline::{WatchSpec, open_live_sampler, sampler_config, spawn_watch};
use crate::watch::{FullTick, Tick};
use exporter::{Exporter, FullTickView};
use http::Limits;
use metrics::ExportOptions;

use shared::Shared;

/// Runs the exporter until SIGTERM, SIGINT or SIGHUP.
pub fn run_serve(config: &Config, listen: SocketAddr, max_series: u32) -> Result<(), AppError> {
    let listener = std::net::TcpListener::bind(listen).map_err(|source| AppError::Listen {
        addr: listen,
        source,
    })?;
    let stop = stop_on_signals().map_err(AppError::Serve)?;
    let shared = Arc::new(Shared::new());
    let mut exporter = Exporter::new(ExportOptions {
        max_series: usize::try_from(max_series).unwrap_or(usize::MAX),
    });
    let publisher = Arc::clone(&shared);
    let _pipeline = spawn_watch(
        WatchSpec::from_config(config)?,
        open_live_sampler(sampler_config(config)),
        move |tick| {
            consume(&mut exporter, &publisher, tick);
            true
        },
    )?;
    let bound = listener.local_addr().unwrap_or(listen);
    eprintln!("tcpwatch: serving metrics on http://{bound}/metrics (Ctrl-C stops)");
    http::serve(listener, shared, Limits::default(), &|| {
        stop.load(Ordering::Relaxed)
    })
    .map_err(AppError::Serve)
}

/// A flag raised by SIGTERM, SIGINT or SIGHUP; a second one exits at once.
/// (Not the dashboard's signal thread: a daemon keeps Ctrl-Z's default.)
fn stop_on_signals() -> io::Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let raised = Arc::new(AtomicBool::new(false));
    for signal in [SIGTERM, SIGINT, SIGHUP] {
        signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&raised))?;
        signal_hook::flag::register(signal, Arc::clone(&raised))?;
    }
    Ok(raised)
}

/// One tick in: the exposition and the peaks scrapes will read.
fn consume(exporter: &mut Exporter, shared: &Shared, tick: Tick) {
    match tick {
        Tick::Full(full) => {
            let FullTick {
                snapshot,
                aggregates,
                deltas,
                active_alerts,
                peaks,
                ..
            } = *full;
            let exposition = exporter.full(FullTickView {
                snapshot: &snapshot,
                aggregates,
                deltas,
                active_alerts,
                peaks: &peaks,
            });
            shared.publish(exposition, peaks.iter().map(|p| (p.local, p.max_queue)));
        }
        Tick::Listeners { listeners, .. } => shared.observe(
            listeners
                .iter()
                .filter(|l| l.state == TcpState::Listen)
                .map(|l| (l.local, l.recv_queue)),
        ),
        Tick::Totals {
            counters, sockstat, ..
        } => {
            if let Some(exposition) = exporter.totals(&counters, sockstat) {
                shared.replace(exposition);
            }
        }
        Tick::Failed { error, .. } => {
            if let Some(exposition) = exporter.failed() {
                shared.replace(exposition);
            }
            shared.set_error(error.to_string());
        }
    }
}
