//! `tcpwatch serve` against the real thing: a real Prometheus server scrapes
//! it every second on loopback while the write-up's listen(1) experiment
//! runs, and its HTTP API must answer with the kernel's numbers; `promtool
//! check metrics` must accept a scrape; a burst that fills and drains a
//! queue between two scrapes must show in `_peak`. Without prometheus or
//! promtool the tests skip, except under CI=true where they fail.

mod common;

use std::net::TcpStream;
use std::time::Duration;

use common::serve::{Prometheus, Serve, needed, promtool_complaints, sample};
use common::*;

#[test]
fn prometheus_sees_the_listen_one_experiment() {
    let Some(prometheus) = needed("prometheus") else {
        return;
    };
    let listener = listen_with_backlog("127.0.0.1", 1);
    let address = local_addr(&listener);
    let port = address.port().to_string();
    let _clients: Vec<_> = (0..5).map(|_| connect_nonblocking(address)).collect();
    let serve = Serve::start(&["--port", &port]);
    let server = Prometheus::start(&prometheus, serve.address);

    let queue = format!("tcpwatch_listener_accept_queue{{port=\"{port}\"}}");
    let backlog = format!("tcpwatch_listener_backlog{{port=\"{port}\"}}");
    let syn_sent = format!("tcpwatch_sockets{{port=\"{port}\",state=\"syn_sent\"}}");
    let alert =
        format!("tcpwatch_alert_active{{kind=\"backlog_full\",subject=\"127.0.0.1:{port}\"}}");
    let mut seen = Vec::new();
    let settled = eventually(Duration::from_secs(60), || {
        seen = [
            &queue,
            &backlog,
            &syn_sent,
            &alert,
            &"up{job=\"tcpwatch\"}".to_string(),
        ]
        .iter()
        .map(|q| server.value(q))
        .collect();
        seen == [Some(2.0), Some(1.0), Some(3.0), Some(1.0), Some(1.0)]
    });
    assert!(
        settled,
        "queue, backlog, syn_sent, backlog_full, up: {seen:?} (want 2, 1, 3, 1, 1)"
    );
    let labels = &server.query(&queue)[0].0;
    assert_eq!(labels["listen"], format!("127.0.0.1:{port}"));
    drop(listener);
}

#[test]
fn promtool_accepts_a_scrape() {
    let Some(promtool) = needed("promtool") else {
        return;
    };
    let listener = listen_with_backlog("127.0.0.1", 1);
    let _clients: Vec<_> = (0..3)
        .map(|_| connect_nonblocking(local_addr(&listener)))
        .collect();
    let serve = Serve::start(&[]);
    let reply = serve.scrape(&[]).expect("scrape");
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{}",
        reply.head
    );
    let complaints = promtool_complaints(&promtool, &reply.body);
    assert!(
        complaints.is_empty(),
        "promtool check metrics: {complaints}"
    );
    let openmetrics = serve
        .scrape(&["Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5"])
        .expect("scrape");
    assert!(openmetrics.body.ends_with("# EOF\n"));
    assert!(
        openmetrics
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{}",
        openmetrics.head
    );
}

/// Fills a queue with `clients` completed connections, holds them, then
/// accepts and closes them all: the queue is back at 0.
fn burst(listener: &socket2::Socket, clients: usize, hold: Duration) {
    let target = local_addr(listener);
    let connected: Vec<TcpStream> = (0..clients)
        .map(|_| TcpStream::connect(target).expect("connect into a queue with room"))
        .collect();
    std::thread::sleep(hold);
    for _ in 0..clients {
        drop(listener.accept().expect("accept"));
    }
    drop(connected);
}

#[test]
fn a_burst_between_scrapes_shows_in_the_peak_for_every_scraper() {
    let listener = listen_with_backlog("127.0.0.1", 64);
    let port = local_addr(&listener).port().to_string();
    // Full samples every 10 s: only the 10 Hz listener sampler can see it.
    let serve = Serve::start(&["--port", &port, "--interval", "10s"]);
    let peak_line = format!("tcpwatch_listener_accept_queue_peak{{listen=\"127.0.0.1:{port}\"");
    let queue_line = format!("tcpwatch_listener_accept_queue{{listen=\"127.0.0.1:{port}\"");
    let prometheus_like = ["User-Agent: Prometheus/2.42.0"];
    let curl_like = ["User-Agent: curl/7.88.1"];
    for headers in [&prometheus_like, &curl_like] {
        let before = serve.scrape(headers).expect("scrape");
        assert_eq!(
            sample(&before.body, &peak_line),
            Some(0.0),
            "{}",
            before.body
        );
    }
    burst(&listener, 8, Duration::from_millis(500));
    for headers in [&prometheus_like, &curl_like] {
        let after = serve.scrape(headers).expect("scrape");
        assert_eq!(
            sample(&after.body, &queue_line),
            Some(0.0),
            "the full sample did not see the burst"
        );
        assert_eq!(
            sample(&after.body, &peak_line),
            Some(8.0),
            "{headers:?}: the burst must show in the peak"
        );
    }
    let again = serve.scrape(&prometheus_like).expect("scrape");
    assert_eq!(
        sample(&again.body, &peak_line),
        Some(0.0),
        "shown once per scraper"
    );
}

#[test]
fn prometheus_records_a_burst_that_only_the_peak_saw() {
    let Some(prometheus) = needed("prometheus") else {
        return;
    };
    let listener = listen_with_backlog("127.0.0.1", 64);
    let port = local_addr(&listener).port().to_string();
    let serve = Serve::start(&["--port", &port, "--interval", "10s"]);
    let server = Prometheus::start(&prometheus, serve.address);
    let scraped = eventually(Duration::from_secs(30), || {
        server.value("up{job=\"tcpwatch\"}") == Some(1.0)
    });
    assert!(scraped, "prometheus never scraped tcpwatch");
    burst(&listener, 8, Duration::from_millis(400));
    let peak = format!("max_over_time(tcpwatch_listener_accept_queue_peak{{port=\"{port}\"}}[1m])");
    let queue = format!("max_over_time(tcpwatch_listener_accept_queue{{port=\"{port}\"}}[1m])");
    let mut seen = (None, None);
    let recorded = eventually(Duration::from_secs(20), || {
        seen = (server.value(&peak), server.value(&queue));
        seen.0 == Some(8.0)
    });
    assert!(recorded, "peak, queue over the last minute: {seen:?}");
    assert_eq!(seen.1, Some(0.0), "the burst fell between full samples");
}
