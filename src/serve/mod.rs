//! `tcpwatch serve`: a Prometheus exporter that is one more consumer of the
//! watch pipeline's ticks (with `--all-namespaces`, of the all-namespaces
//! pipeline's, every series labelled by namespace: `fleet`). The tick
//! consumer encodes each full tick once (both formats) and publishes it;
//! scrapes answer from the latest publication plus their own accept-queue
//! peaks, so a scrape never waits for a dump.
//!
//! Owns: the serve run (bind, pipeline, HTTP, signals). Must not: read the
//! kernel itself (the pipeline does) or format metrics by hand
//! (`prometheus-client` does).

pub(crate) mod exporter;
pub(crate) mod fleet;
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
use crate::collect::SourceChoice;
use crate::error::AppError;
use crate::model::TcpState;
use crate::run::fleet_pipeline::{FleetHandle, spawn_fleet_watch};
use crate::run::pipeline::{
    WatchHandle, WatchSpec, open_live_counting_sampler, open_live_sampler, sampler_config,
    spawn_watch,
};
use crate::watch::{FullTick, Tick};
use exporter::{Exporter, FullTickView};
use fleet::{FleetExporter, FleetOutput};
use http::Limits;
use metrics::{ExportOptions, ListenerKey, Watching};

use shared::Shared;

/// Runs the exporter until SIGTERM, SIGINT or SIGHUP.
pub fn run_serve(config: &Config, listen: SocketAddr, max_series: u32) -> Result<(), AppError> {
    let listener = std::net::TcpListener::bind(listen).map_err(|source| AppError::Listen {
        addr: listen,
        source,
    })?;
    let stop = stop_on_signals().map_err(AppError::Serve)?;
    let shared = Arc::new(Shared::new());
    let options = ExportOptions {
        max_series: usize::try_from(max_series).unwrap_or(usize::MAX),
    };
    // Whichever pipeline runs stops when its handle is dropped, at the end.
    let (_single, _fleet) = if config.all_namespaces {
        (None, Some(start_fleet(config, options, &shared)?))
    } else {
        (Some(start_single(config, options, &shared)?), None)
    };
    let bound = listener.local_addr().unwrap_or(listen);
    eprintln!("tcpwatch: serving metrics on http://{bound}/metrics (Ctrl-C stops)");
    http::serve(listener, shared, Limits::default(), &|| {
        stop.load(Ordering::Relaxed)
    })
    .map_err(AppError::Serve)
}

/// The one-namespace pipeline, each full tick encoded as it comes.
fn start_single(
    config: &Config,
    options: ExportOptions,
    shared: &Arc<Shared>,
) -> Result<WatchHandle, AppError> {
    let mut exporter = Exporter::new(options);
    let publisher = Arc::clone(shared);
    let mut spec = WatchSpec::from_config(config)?;
    let consume_tick = move |tick| {
        consume(&mut exporter, &publisher, tick);
        true
    };
    // No metric is per connection: unless a recording wants them, no
    // connection is followed and no socket record kept.
    if config.record.is_some() {
        spawn_watch(
            spec,
            open_live_sampler(sampler_config(config)),
            consume_tick,
        )
    } else {
        spec.follow_connections = false;
        spawn_watch(
            spec,
            open_live_counting_sampler(sampler_config(config)),
            consume_tick,
        )
    }
}

/// The all-namespaces pipeline, every namespace encoded after each round.
fn start_fleet(
    config: &Config,
    options: ExportOptions,
    shared: &Arc<Shared>,
) -> Result<FleetHandle, AppError> {
    let mut exporter = FleetExporter::new(
        options,
        Watching {
            namespace: "all".to_string(),
            source: match config.source {
                SourceChoice::Auto => "auto",
                SourceChoice::Netlink => "netlink",
                SourceChoice::Proc => "proc",
            },
            filter: config.filter.describe(),
            failed_samples: 0,
        },
        config.filter.clone(),
    );
    let publisher = Arc::clone(shared);
    spawn_fleet_watch(config, true, true, move |tick| {
        match exporter.ingest(tick) {
            FleetOutput::Nothing => {}
            FleetOutput::Publish { exposition, queues } => publisher.publish(exposition, queues),
            FleetOutput::Observe(queues) => publisher.observe(queues),
            FleetOutput::Stopped(error) => {
                eprintln!("tcpwatch: sampling stopped: {error}");
                publisher.set_error(error);
                return false;
            }
        }
        true
    })
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
            shared.publish(
                exposition,
                peaks
                    .iter()
                    .map(|p| (ListenerKey::single(p.local), p.max_queue)),
            );
        }
        Tick::Listeners { listeners, .. } => shared.observe(
            listeners
                .iter()
                .filter(|l| l.state == TcpState::Listen)
                .map(|l| (ListenerKey::single(l.local), l.recv_queue)),
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
