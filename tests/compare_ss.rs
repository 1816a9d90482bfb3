//! `tcpwatch --once --port P --format json` on the listen(1) experiment
//! reports exactly what `ss -lnt` and `ss -tan` show.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use common::*;

fn ss(args: &[&str]) -> Option<String> {
    let output = Command::new("ss").args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// State name → count, from `ss -Htan` lines (state is the first column).
fn ss_state_counts(text: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let state = line.split_whitespace().next().expect("state column");
        let name = state
            .parse::<tcpwatch::model::TcpState>()
            .expect("ss state name")
            .name();
        *counts.entry(name.to_string()).or_default() += 1;
    }
    counts
}

#[test]
fn listen_one_matches_ss() {
    if !common::can_run(
        ss(&["-V"]).is_some(),
        "`ss` (iproute2); .ci/run installs it",
    ) {
        return;
    }
    let listener = listen_with_backlog("127.0.0.1", 1);
    let address = local_addr(&listener);
    let port = address.port();
    let _clients: Vec<_> = (0..5).map(|_| connect_nonblocking(address)).collect();
    let filter = format!("( sport = :{port} or dport = :{port} )");
    let port_arg = port.to_string();

    // Wait until the picture is stable, then read both tools back to back.
    let agreed = eventually(Duration::from_secs(6), || {
        let ss_all = ss(&["-Htan", &filter]).unwrap_or_default();
        let ss_listen = ss(&["-Hltn", &format!("sport = :{port}")]).unwrap_or_default();
        let report = once_json(&["--port", &port_arg]);
        let ours: BTreeMap<String, u64> = report["ports"][0]["states"]
            .as_object()
            .map(|states| {
                states
                    .iter()
                    .filter_map(|(k, v)| v.as_u64().filter(|n| *n > 0).map(|n| (k.clone(), n)))
                    .collect()
            })
            .unwrap_or_default();
        let theirs = ss_state_counts(&ss_all);
        // ss -lnt: State Recv-Q Send-Q Local Peer
        let columns: Vec<&str> = ss_listen.split_whitespace().collect();
        let listener_json = &report["listeners"][0];
        let queues_match = columns.len() >= 3
            && columns[1].parse::<u64>().ok() == listener_json["accept_queue"].as_u64()
            && columns[2].parse::<u64>().ok() == listener_json["backlog"].as_u64();
        println!("ss: {theirs:?} {columns:?}\ntcpwatch: {ours:?} {listener_json}");
        ours == theirs && queues_match && ours.get("SYN_SENT") == Some(&3)
    });
    assert!(
        agreed,
        "tcpwatch and ss never agreed on the listen(1) experiment"
    );
}
