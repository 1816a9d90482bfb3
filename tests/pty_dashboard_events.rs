//! End to end with exact events (root): the real binary in a pseudo-terminal
//! at 200×60 watches two loopback ports; a connection that lives 20 ms and a
//! connect to the closed port happen between two samples. The Ports panel
//! counts the closed port's RSTs, and the state diagram's log shows the RST
//! line and the short connection's steps to the microsecond. Under CI=true
//! it fails rather than skips when it cannot run.

mod common;

use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use common::pty::PtyRun;
use common::{can_run, closed_port, is_root, short_connection_closed_by_the_client};

const DEADLINE: Duration = Duration::from_secs(15);

#[test]
fn the_dashboard_shows_real_events_rsts_and_a_20ms_connection() {
    if !can_run(is_root(), "root (perf_event_open of tracepoints)") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server_addr = listener.local_addr().expect("addr");
    let closed = closed_port();
    let ports = format!("{},{closed}", server_addr.port());
    let mut run = PtyRun::start(&["--port", &ports, "--interval", "1s"], 200, 60);
    let (started, screen) = run.wait_for(DEADLINE, |s| s.contains("RST s/r"));
    assert!(
        started,
        "exact events are on: the RST column shows\n{screen}"
    );

    let client_addr = short_connection_closed_by_the_client(&listener);
    let refused = TcpStream::connect(("127.0.0.1", closed)).expect_err("nobody listens");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);

    let counted = format!("RST (exact) at ports with no socket: :{closed} sent 1, received 1");
    let (seen, screen) = run.wait_for(DEADLINE, |s| s.contains(&counted));
    assert!(seen, "the Ports panel counts the RSTs:\n{screen}");

    run.send(b"d");
    let rst_line =
        format!("RST sent: SYN to 127.0.0.1:{closed}, no listener (connect() gets ECONNREFUSED)");
    let steps = [
        format!("{client_addr} → {server_addr}  CLOSED → SYN_SENT"),
        format!("{client_addr} → {server_addr}  FIN_WAIT2 → TIME_WAIT"),
        format!("{server_addr} → {client_addr}  LAST_ACK → CLOSED"),
    ];
    let (logged, screen) = run.wait_for(DEADLINE, |s| {
        s.contains(&rst_line) && steps.iter().all(|step| s.contains(step.as_str()))
    });
    run.send(b"q");
    let (status, _) = run.finish(Duration::from_secs(5));
    assert!(
        logged,
        "the log shows the RST and the short connection:\n{screen}"
    );
    assert!(screen.contains("● seen by the kernel"), "{screen}");
    assert!(
        status.as_ref().is_some_and(|s| s.success()),
        "exit status {status:?}"
    );
}
