//! `serve --all-namespaces` against real namespaces: two made with `ip netns
//! add` and one with an `unshare -n` process; the write-up's listen(1)
//! experiment (never accept()ed, 5 clients) runs in one named namespace.
//! Over HTTP, the full listener and its `backlog_full` alert must carry that
//! namespace's name as `netns` (and no other namespace may claim them), the
//! unnamed namespace its inode, the host `host`; `promtool check metrics`
//! must accept the scrape; and a real Prometheus scraping it every second
//! must answer the same through its API.
//!
//! Needs root, iproute2, unshare, python3 and Debian's prometheus package;
//! under CI=true a missing one fails the test. Every namespace and child
//! made here is removed (by name, by pid).

mod common;

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use common::eventually;
use common::netns::{FULL_LISTENER, PrivateNetns, can_make_namespaces, unshared_python};
use common::serve::{Prometheus, Serve, needed, promtool_complaints, sample};

#[test]
fn every_series_names_its_namespace_and_the_full_listener_is_in_the_right_one() {
    if !can_make_namespaces() {
        return;
    }
    let (Some(promtool), Some(prometheus)) = (needed("promtool"), needed("prometheus")) else {
        return;
    };
    let named: Vec<PrivateNetns> = ["serve-a", "serve-b"]
        .iter()
        .map(|suffix| PrivateNetns::create(suffix).expect("ip netns add"))
        .collect();
    let (_listener, ready) = named[1].spawn_python(FULL_LISTENER);
    assert_eq!(ready, "ready");
    let (unnamed, ready) =
        unshared_python("print('ready', flush=True)\nimport time; time.sleep(120)");
    assert_eq!(ready, "ready");
    let unnamed_inode = std::fs::metadata(format!("/proc/{}/ns/net", unnamed.pid()))
        .expect("the unshare'd namespace")
        .ino();

    let serve = Serve::start(&["--all-namespaces", "--interval", "500ms"]);
    let full_ns = &named[1].name;
    let listener = |family: &str, netns: &str| {
        format!("tcpwatch_{family}{{netns=\"{netns}\",listen=\"127.0.0.1:10000\",port=\"10000\",")
    };
    let queue = listener("listener_accept_queue", full_ns);
    let backlog = listener("listener_backlog", full_ns);
    let alert = format!(
        "tcpwatch_alert_active{{netns=\"{full_ns}\",kind=\"backlog_full\",severity=\"critical\",subject=\"127.0.0.1:10000\"}}"
    );
    let syn_sent =
        format!("tcpwatch_sockets{{netns=\"{full_ns}\",port=\"10000\",state=\"syn_sent\"}}");
    let mut text = String::new();
    let mut seen = Vec::new();
    let settled = eventually(Duration::from_secs(60), || {
        text = serve.scrape(&[]).map(|r| r.body).unwrap_or_default();
        seen = [&queue, &backlog, &alert, &syn_sent]
            .iter()
            .map(|series| sample(&text, series))
            .collect();
        seen == [Some(2.0), Some(1.0), Some(1.0), Some(3.0)]
    });
    assert!(
        settled,
        "queue, backlog, backlog_full, syn_sent in {full_ns}: {seen:?} (want 2, 1, 1, 3)\n{text}"
    );
    // Every namespace is there, under its name, its inode, or `host`;
    // the other two made here claim neither the listener nor its alert.
    // (Other namespaces on the host are not ours to judge.)
    let unnamed_label = unnamed_inode.to_string();
    for netns in [named[0].name.as_str(), unnamed_label.as_str(), "host"] {
        assert!(
            sample(
                &text,
                &format!("tcpwatch_time_wait_sockets{{netns=\"{netns}\"")
            )
            .is_some(),
            "no series for netns {netns}:\n{text}"
        );
    }
    for netns in [named[0].name.as_str(), unnamed_label.as_str()] {
        for claim in [
            format!("netns=\"{netns}\",listen=\"127.0.0.1:10000\""),
            format!("netns=\"{netns}\",kind=\"backlog_full\""),
        ] {
            assert!(!text.contains(&claim), "{claim} in:\n{text}");
        }
    }
    assert!(
        text.contains("tcpwatch_watch_info{namespace=\"all\""),
        "{text}"
    );
    let complaints = promtool_complaints(&promtool, &text);
    assert!(
        complaints.is_empty(),
        "promtool check metrics: {complaints}"
    );

    // A real Prometheus sees the same.
    let server = Prometheus::start(&prometheus, serve.address);
    let queries = [
        format!("tcpwatch_listener_accept_queue{{netns=\"{full_ns}\",listen=\"127.0.0.1:10000\"}}"),
        format!("tcpwatch_listener_backlog{{netns=\"{full_ns}\",listen=\"127.0.0.1:10000\"}}"),
        format!("tcpwatch_alert_active{{netns=\"{full_ns}\",kind=\"backlog_full\"}}"),
        format!("tcpwatch_sockets{{netns=\"{full_ns}\",port=\"10000\",state=\"syn_sent\"}}"),
    ];
    let mut answers = Vec::new();
    let answered = eventually(Duration::from_secs(60), || {
        answers = queries.iter().map(|q| server.value(q)).collect();
        answers == [Some(2.0), Some(1.0), Some(1.0), Some(3.0)]
    });
    assert!(
        answered,
        "Prometheus: queue, backlog, backlog_full, syn_sent in {full_ns}: {answers:?} (want 2, 1, 1, 3)"
    );
    drop(unnamed);
}
