//! `tcpwatch demo` on a terminal: the live dashboard, opened on the state
//! diagram, watches the lab's ports with the real sampler while the
//! narrator runs the steps beside it. The dashboard stays open after the
//! demo until `q`.
//!
//! Owns: the wiring of lab, sampler, narrator and dashboard. Must not: draw
//! or hold UI state.

use std::time::Duration;

use super::lab::Lab;
use super::narrator::{Pacing, narrate};
use crate::app::Msg;
use crate::cli::Config;
use crate::collect::SnapshotSource;
use crate::collect::namespace::NetnsTarget;
use crate::collect::sampler::Sampler;
use crate::error::AppError;
use crate::live::{DashboardExtras, color_for, host_name, run_dashboard_beside};
use crate::model::Filter;
use crate::run::now_ms;

/// The demo samples at least this often, so short-lived states get caught.
const DEMO_INTERVAL: Duration = Duration::from_millis(500);

pub fn run_demo_dashboard(config: &Config) -> Result<(), AppError> {
    let lab = Lab::open().map_err(AppError::Demo)?;
    let mut demo_config = config.clone();
    demo_config.filter = Filter {
        ports: lab.ports.all(),
        ..Filter::default()
    };
    demo_config.target = NetnsTarget::Host;
    demo_config.interval = config.interval.min(DEMO_INTERVAL);
    let sampler_config = demo_config.sampler_config();
    let extras = DashboardExtras {
        open_diagram: true,
        companion: Some(Box::new(move |sender, stop| {
            narrate(
                lab,
                Pacing::default(),
                now_ms,
                |event| sender.send(Msg::Narration(event)).is_ok(),
                &stop,
            );
        })),
    };
    run_dashboard_beside(
        &demo_config,
        host_name(),
        color_for(config),
        move || Sampler::open(sampler_config).map(|s| Box::new(s) as Box<dyn SnapshotSource>),
        extras,
    )
}
