//! `--all-namespaces --once`: one picture of every network namespace, each
//! judged by its own alert rules, printed as `namespaces[]` (JSON) or one
//! section per namespace (table); `--fail-on` counts every namespace.
//!
//! Owns: the one-shot all-namespaces flow. Must not: loop.

use std::io::{self, Write};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::Outcome;
use super::once::fail_on_outcome;
use crate::alert::{Alert, Thresholds};
use crate::cli::{Config, OutputFormat};
use crate::collect::clock::now_ms;
use crate::collect::host::host_name;
use crate::collect::namespaces::discovery::discover;
use crate::collect::namespaces::fleet::{Fleet, NamespaceStatus, OnceSample};
use crate::error::AppError;
use crate::fleet::name_namespace;
use crate::fleet::table::TableFigures;
use crate::model::judging::JudgingScope;
use crate::output::Report;
use crate::output::namespaces::{
    AllNamespaces, NamespaceReport, all_namespaces_json, write_all_namespaces_table,
};
use crate::watch::{FullTick, Watch};

/// Whole tables are dumped while the dumps so far took less than this;
/// every dump walks the host's whole table, so on a busy node with many
/// namespaces the rest get listeners and totals only.
const WHOLE_TABLE_BUDGET: Duration = Duration::from_secs(3);

/// A namespace judged, or why it could not be.
struct Judged {
    status: NamespaceStatus,
    whole_table: bool,
    tick: Result<FullTick, String>,
}

/// Every namespace sampled once and judged, with discovery's notes.
pub(super) struct Picture {
    judged: Vec<Judged>,
    notes: Vec<String>,
}

impl Picture {
    /// Samples and judges every namespace, and waits for the picture.
    pub(super) fn take(config: &Config) -> Result<Picture, AppError> {
        let (sender, taken) = mpsc::channel();
        Picture::take_in_background(config, move |picture| {
            let _ = sender.send(picture);
        })?;
        taken.recv().map_err(|_| AppError::SamplerLost)?
    }

    /// Samples and judges every namespace on a thread of its own (reading
    /// them enters namespaces) and hands the picture to `done` there, so
    /// the caller can watch live meanwhile (`--stream`: whole tables take
    /// seconds on a busy node).
    pub(super) fn take_in_background(
        config: &Config,
        done: impl FnOnce(Result<Picture, AppError>) + Send + 'static,
    ) -> Result<(), AppError> {
        let source = config.source;
        let filter = config.filter.clone();
        let scope = JudgingScope {
            crowded_destination_ratio: config.thresholds.port_exhaustion_ratio,
        };
        let thresholds = Thresholds {
            raise_after: 1,
            ..config.thresholds.clone()
        };
        thread::Builder::new()
            .name("tcpwatch-picture".to_string())
            .spawn(move || {
                let sampled = Fleet::open(source, filter, scope).map(|mut fleet| {
                    let discovery = discover();
                    fleet.apply(&discovery);
                    let samples = fleet.sample_all_once(now_ms(), WHOLE_TABLE_BUDGET);
                    (samples, discovery.notes)
                });
                done(sampled.map_err(AppError::from).map(|(samples, notes)| {
                    Picture {
                        judged: samples
                            .into_iter()
                            .map(|sample| judge(sample, &thresholds))
                            .collect(),
                        notes,
                    }
                }));
            })
            .map_err(AppError::Thread)?;
        Ok(())
    }

    /// The reports of every namespace, for the writers.
    fn all<'a>(&'a self, host: &'a str) -> AllNamespaces<'a> {
        let taken_at_ms = self
            .judged
            .iter()
            .find_map(|j| j.tick.as_ref().ok().map(FullTick::at_ms))
            .unwrap_or_else(now_ms);
        AllNamespaces {
            host,
            taken_at_ms,
            notes: &self.notes,
            namespaces: self.judged.iter().map(|j| report_of(host, j)).collect(),
        }
    }

    /// The `namespaces` document.
    pub(super) fn json(&self, host: &str) -> serde_json::Value {
        all_namespaces_json(&self.all(host))
    }

    fn alerts(&self) -> Vec<Alert> {
        self.judged
            .iter()
            .filter_map(|j| j.tick.as_ref().ok())
            .flat_map(|tick| tick.active_alerts.iter().cloned())
            .collect()
    }
}

pub fn run_all_namespaces_once(config: &Config) -> Result<Outcome, AppError> {
    let picture = Picture::take(config)?;
    let host = host_name();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match config.format {
        OutputFormat::Table => write_all_namespaces_table(&mut out, &picture.all(&host)),
        OutputFormat::Json => serde_json::to_writer(&mut out, &picture.json(&host))
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out)),
    }
    .and_then(|()| out.flush())
    .map_err(AppError::Output)?;
    Ok(fail_on_outcome(config, &picture.alerts()))
}

fn judge(sample: OnceSample, thresholds: &Thresholds) -> Judged {
    let label = sample.status.found.label();
    let tick = match sample.result {
        Some(Ok(snapshot)) => {
            let mut tick = Watch::new(thresholds.clone()).judge(snapshot);
            for alert in &mut tick.active_alerts {
                name_namespace(alert, &label);
            }
            Ok(tick)
        }
        Some(Err(error)) => Err(error.to_string()),
        None => Err(match &sample.status.access {
            Err(why) => why.clone(),
            Ok(_) => "not sampled".to_string(),
        }),
    };
    Judged {
        status: sample.status,
        whole_table: sample.whole_table,
        tick,
    }
}

fn report_of<'a>(host: &'a str, judged: &'a Judged) -> NamespaceReport<'a> {
    NamespaceReport {
        status: &judged.status,
        picture: judged
            .tick
            .as_ref()
            .map(|tick| Report {
                host,
                snapshot: &tick.snapshot,
                aggregates: &tick.aggregates,
                deltas: None,
                alerts: &tick.active_alerts,
            })
            .map_err(Clone::clone),
        whole_table: judged.whole_table,
        last_table: judged
            .tick
            .as_ref()
            .ok()
            .filter(|_| judged.whole_table)
            .map(|tick| TableFigures::from_parts(&tick.snapshot, &tick.aggregates, false)),
    }
}
