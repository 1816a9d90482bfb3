//! Recordings for tests: judged ticks from the scripted scenarios written
//! with the real recorder, and the real binary recording real sockets.

use std::path::Path;
use std::time::Duration;

use tcpwatch::alert::Thresholds;
use tcpwatch::collect::sample_loop::SamplerEvent;
use tcpwatch::collect::scenarios::listen_one_script;
use tcpwatch::record::{RecordOptions, Recorder, RecordingHeader};
use tcpwatch::watch::{FullTick, Tick, Watch};

/// The listen(1) experiment, scripted: `ticks` judged full ticks, 1 s apart.
pub fn scripted_ticks(ticks: u64) -> Vec<FullTick> {
    let mut watch = Watch::new(Thresholds::default());
    listen_one_script(1_795_470_000_000, ticks)
        .into_iter()
        .filter_map(|snapshot| {
            match watch.ingest(SamplerEvent::Full {
                at_ms: snapshot.taken_at_ms,
                result: Ok(Box::new(tcpwatch::model::Sampled::from_snapshot(snapshot))),
            }) {
                Tick::Full(full) => Some(*full),
                _ => None,
            }
        })
        .collect()
}

/// Writes `ticks` to a new recording at `path`; `close` writes the index.
pub fn write_recording(path: &Path, ticks: &[FullTick], close: bool) {
    let start_ms = ticks.first().map_or(0, |t| t.at_ms());
    let header = RecordingHeader::new(
        "testhost",
        "6.18.0",
        "host",
        vec!["tcpwatch".to_string(), "record".to_string()],
        start_ms,
        Duration::from_secs(1),
        2000,
    );
    let mut recorder = Recorder::create(
        RecordOptions {
            path: path.to_path_buf(),
            max_connections: 2000,
            max_size: None,
            keep: None,
        },
        header,
    )
    .expect("create the recording");
    for tick in ticks {
        recorder.write_tick(tick).expect("write a frame");
    }
    if close {
        recorder.finish().expect("close");
    } else {
        // Dropping would write the index: forget it, as a killed process would.
        std::mem::forget(recorder);
    }
}
