//! `--all-namespaces --once`: one picture of every network namespace, each
//! judged by its own alert rules, printed as `namespaces[]` (JSON) or one
//! section per namespace (table); `--fail-on` counts every namespace.
//!
//! Owns: the one-shot all-namespaces flow. Must not: loop.

use std::io::{self, Write};
use std::thread;
use std::time::Duration;

use super::{Outcome, now_ms};
use crate::alert::{Alert, AlertMonitor, Thresholds};
use crate::cli::{Config, OutputFormat};
use crate::collect::CollectError;
use crate::collect::namespaces::discovery::discover;
use crate::collect::namespaces::fleet::{Fleet, OnceSample};
use crate::error::AppError;
use crate::fleet::name_namespace;
use crate::model::{Aggregates, aggregate};
use crate::output::Report;
use crate::output::namespaces::{
    AllNamespaces, NamespaceReport, all_namespaces_json, write_all_namespaces_table,
};

/// Whole tables are dumped while the dumps so far took less than this;
/// every dump walks the host's whole table, so on a busy node with many
/// namespaces the rest get listeners and totals only.
const WHOLE_TABLE_BUDGET: Duration = Duration::from_secs(3);

/// A namespace judged.
struct Judged {
    sample: OnceSample,
    aggregates: Option<Aggregates>,
    alerts: Vec<Alert>,
}

pub fn run_all_namespaces_once(config: &Config) -> Result<Outcome, AppError> {
    let source = config.source;
    let filter = config.filter.clone();
    let handle = thread::Builder::new()
        .name("tcpwatch-namespaces".to_string())
        .spawn(
            move || -> Result<(Vec<OnceSample>, Vec<String>), CollectError> {
                let mut fleet = Fleet::open(source, filter)?;
                let discovery = discover();
                fleet.apply(&discovery);
                Ok((
                    fleet.sample_all_once(now_ms(), WHOLE_TABLE_BUDGET),
                    discovery.notes,
                ))
            },
        )
        .map_err(AppError::Thread)?;
    let (samples, notes) = handle.join().map_err(|_| AppError::SamplerLost)??;
    let thresholds = Thresholds {
        raise_after: 1,
        ..config.thresholds.clone()
    };
    let judged: Vec<Judged> = samples
        .into_iter()
        .map(|sample| judge(sample, &thresholds))
        .collect();
    let taken_at_ms = judged
        .iter()
        .find_map(|j| {
            j.sample
                .result
                .as_ref()?
                .as_ref()
                .ok()
                .map(|s| s.taken_at_ms)
        })
        .unwrap_or_else(now_ms);
    let all = AllNamespaces {
        taken_at_ms,
        notes: &notes,
        namespaces: judged.iter().map(report_of).collect(),
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match config.format {
        OutputFormat::Table => write_all_namespaces_table(&mut out, &all),
        OutputFormat::Json => serde_json::to_writer(&mut out, &all_namespaces_json(&all))
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out)),
    }
    .and_then(|()| out.flush())
    .map_err(AppError::Output)?;
    Ok(match config.fail_on {
        Some(level) => {
            let count = judged
                .iter()
                .flat_map(|j| &j.alerts)
                .filter(|a| a.severity >= level)
                .count();
            if count > 0 {
                Outcome::AlertsActive { level, count }
            } else {
                Outcome::Done
            }
        }
        None => Outcome::Done,
    })
}

fn judge(sample: OnceSample, thresholds: &Thresholds) -> Judged {
    let Some(Ok(snapshot)) = &sample.result else {
        return Judged {
            sample,
            aggregates: None,
            alerts: Vec::new(),
        };
    };
    let aggregates = aggregate(snapshot);
    let mut monitor = AlertMonitor::new(thresholds.clone());
    monitor.evaluate(snapshot, &aggregates);
    let label = sample.status.found.label();
    let mut alerts: Vec<Alert> = monitor.active().cloned().collect();
    for alert in &mut alerts {
        name_namespace(alert, &label);
    }
    Judged {
        aggregates: Some(aggregates),
        alerts,
        sample,
    }
}

fn report_of(judged: &Judged) -> NamespaceReport<'_> {
    let picture = match (&judged.sample.result, &judged.aggregates) {
        (Some(Ok(snapshot)), Some(aggregates)) => Ok(Report {
            snapshot,
            aggregates,
            deltas: None,
            alerts: &judged.alerts,
        }),
        (Some(Err(error)), _) => Err(error.to_string()),
        _ => Err(match &judged.sample.status.access {
            Err(why) => why.clone(),
            Ok(_) => "not sampled".to_string(),
        }),
    };
    NamespaceReport {
        status: &judged.sample.status,
        picture,
        whole_table: judged.sample.whole_table,
    }
}
