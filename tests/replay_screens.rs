//! Replaying shows the same screens as live: the dashboard fed with the
//! ticks read back from a recording draws exactly what it drew when fed the
//! live ticks (the scripted listen(1) experiment, snapshotted with insta;
//! and the real experiment on loopback, recorded by the pipeline's own
//! record slot), at several sizes; the replay adds its time bar.

mod common;

use std::time::{Duration, Instant};

use common::recording::{scripted_ticks, write_recording};
use common::screen::{START_MS, at, draw, setup};
use common::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tcpwatch::alert::Thresholds;
use tcpwatch::app::replay::Replay;
use tcpwatch::app::{App, Msg};
use tcpwatch::collect::SnapshotSource;
use tcpwatch::collect::SourceChoice;
use tcpwatch::collect::namespace::NetnsTarget;
use tcpwatch::collect::sample_loop::SamplerEvent;
use tcpwatch::collect::sampler::{Sampler, SamplerConfig};
use tcpwatch::model::{Filter, JudgingScope};
use tcpwatch::record::player::Player;
use tcpwatch::record::{RecordOptions, Recorder, Recording, RecordingHeader};
use tcpwatch::watch::{FullTick, Tick, Watch};

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 32), (160, 45)];

fn live_app(ticks: &[FullTick], width: u16, height: u16) -> App {
    let mut app = App::new(setup(width, height, false));
    for tick in ticks {
        app.update(Msg::Sampled(Tick::Full(Box::new(tick.clone()))));
    }
    at(&mut app, ticks.last().map_or(0, |t| t.at_ms()));
    app
}

fn read_back(path: &std::path::Path) -> Vec<FullTick> {
    let mut recording = Recording::open(path).expect("opens");
    (0..recording.frames().len())
        .map(|n| recording.tick(n).expect("frame"))
        .collect()
}

/// The replay view, seeked to the last frame.
fn replay_at_end(ticks: &mut Vec<FullTick>, width: u16, height: u16) -> Replay {
    let times = ticks.iter().map(|t| t.at_ms()).collect();
    let player = Player::new(times, Vec::new(), 1);
    let mut replay = Replay::new(setup(width, height, false), player, ticks);
    replay.update(
        Msg::Key(KeyEvent::new(KeyCode::Char('>'), KeyModifiers::NONE)),
        ticks,
    );
    replay
}

fn text(terminal: &Terminal<TestBackend>) -> String {
    format!("{}", terminal.backend())
}

#[test]
fn the_scripted_listen1_experiment_replays_to_the_same_screens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("listen1.rec");
    let live = scripted_ticks(8);
    write_recording(&path, &live, true);
    let mut replayed = read_back(&path);
    assert_eq!(replayed.len(), live.len());
    for (width, height) in SIZES {
        let live_screen = text(&draw(&live_app(&live, width, height), width, height));
        let replay = replay_at_end(&mut replayed, width, height);
        assert_eq!(replay.player().position(), live.len() - 1);
        let replay_screen = text(&draw(replay.app(), width, height));
        assert_eq!(replay_screen, live_screen, "{width}x{height}");
    }
    // With its time bar, as the replay dashboard draws it.
    let replay = replay_at_end(&mut replayed, 120, 32);
    let mut terminal = Terminal::new(TestBackend::new(120, 32)).expect("backend");
    terminal
        .draw(|frame| tcpwatch::ui::time_bar::render_replay(frame, &replay))
        .expect("draw");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn the_real_listen1_experiment_replays_to_the_same_screens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("real.rec");
    let listener = listen_with_backlog("127.0.0.1", 1);
    let address = local_addr(&listener);
    let header = RecordingHeader::new(
        "testhost",
        "6.18",
        "host",
        Vec::new(),
        0,
        Duration::from_millis(200),
        2000,
    );
    let mut recorder = Recorder::create(
        RecordOptions {
            path: path.clone(),
            max_connections: 2000,
            max_size: None,
            keep: None,
        },
        header,
    )
    .expect("create");
    let mut sampler = Sampler::open(SamplerConfig {
        source: SourceChoice::Netlink,
        target: NetnsTarget::Host,
        filter: Filter {
            ports: vec![address.port()],
            ..Filter::default()
        },
        scope: JudgingScope::default(),
    })
    .expect("sampler");
    // The pipeline's steps, one by one: sample, judge, record the tick.
    let mut watch = Watch::new(Thresholds::default());
    let mut live: Vec<FullTick> = Vec::new();
    let mut clients = Vec::new();
    let start = Instant::now();
    while live.len() < 12 && start.elapsed() < Duration::from_secs(20) {
        let at_ms = START_MS + live.len() as u64 * 200;
        let tick = watch.ingest(SamplerEvent::Full {
            at_ms,
            result: sampler.sample(at_ms).map(Box::new),
        });
        let Tick::Full(full) = tick else {
            panic!("a sample failed: {tick:?}");
        };
        recorder.write_tick(&full).expect("record");
        live.push(*full);
        if live.len() == 2 {
            clients.extend((0..5).map(|_| connect_nonblocking(address)));
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    recorder.finish().expect("close");
    assert!(
        live.iter().any(|t| !t.active_alerts.is_empty()),
        "the full backlog was judged live"
    );
    let mut replayed = read_back(&path);
    assert_eq!(replayed.len(), live.len());
    for (width, height) in SIZES {
        let live_screen = text(&draw(&live_app(&live, width, height), width, height));
        let replay = replay_at_end(&mut replayed, width, height);
        let replay_screen = text(&draw(replay.app(), width, height));
        assert_eq!(replay_screen, live_screen, "{width}x{height}");
        assert!(live_screen.contains("2/1"), "{live_screen}");
    }
    drop(clients);
}
