//! The HTTP side of `serve` (hyper, HTTP/1.1 on a one-thread tokio
//! runtime): `GET /metrics`, a small HTML page at `/`, 404 elsewhere.
//! Limits keep hostile or broken clients from stalling it: a cap on open
//! connections (extra ones are closed at once), a time-out for the request
//! head, a cap on the head's size, and a lifetime for each connection, so a
//! client that sends slowly or never reads is cut off.
//!
//! Owns: the accept loop, the limits, routing. Must not: sample, encode a
//! tick or hold the shared lock longer than a scrape's copy.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ACCEPT, ALLOW, CONTENT_TYPE, HeaderValue, USER_AGENT};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};

use super::negotiate::{format_for, scraper_name};
use super::scrape_peaks::ScraperKey;
use super::shared::Shared;
use crate::collect::clock::now_ms;

/// How often the accept loop checks whether it was told to stop.
const STOP_POLL: Duration = Duration::from_millis(100);

/// What one client may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Open connections at most; more are closed as soon as accepted.
    pub max_connections: usize,
    /// The whole request head must arrive within this.
    pub header_timeout: Duration,
    /// A connection is closed after this, whatever it is doing.
    pub connection_lifetime: Duration,
    /// Bytes buffered per connection: a larger request head gets 431.
    pub max_head_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 512,
            header_timeout: Duration::from_secs(5),
            connection_lifetime: Duration::from_secs(30),
            max_head_bytes: 16 * 1024,
        }
    }
}

const INDEX_HTML: &str = "<!DOCTYPE html>\n<html><head><title>tcpwatch exporter</title></head>\n\
<body><h1>tcpwatch exporter</h1>\n\
<p>Listener accept queues against their backlog, TCP states per port, TIME_WAIT \
and tcpwatch's alerts, for Prometheus.</p>\n\
<p><a href=\"/metrics\">/metrics</a></p>\n</body></html>\n";

/// Serves until `stop()` says so. Returns when the accept loop ends; open
/// connections are dropped with the runtime.
pub(crate) fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    limits: Limits,
    stop: &dyn Fn() -> bool,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    runtime.block_on(accept_loop(listener, shared, limits, stop))
}

async fn accept_loop(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    limits: Limits,
    stop: &dyn Fn() -> bool,
) -> io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let open = Arc::new(AtomicUsize::new(0));
    while !stop() {
        let (stream, peer) = match tokio::time::timeout(STOP_POLL, listener.accept()).await {
            Err(_) => continue,
            Ok(Ok(accepted)) => accepted,
            Ok(Err(_)) => {
                // Out of file descriptors or an aborted handshake: back off a little.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Some(slot) = Slot::take(&open, limits.max_connections) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let _slot = slot;
            serve_connection(stream, peer, shared, limits).await;
        });
    }
    Ok(())
}

/// One open connection counted against `max_connections`.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(open: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
        let taken = open.fetch_add(1, Ordering::AcqRel);
        if taken >= max {
            open.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Slot(Arc::clone(open)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    limits: Limits,
) {
    let service = service_fn(move |request: Request<Incoming>| {
        let response = respond(&request, peer, &shared);
        async move { Ok::<_, Infallible>(response) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_head_bytes.max(8192))
        .max_headers(64)
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    // A broken or timed-out client only ends its own connection.
    let _ = tokio::time::timeout(limits.connection_lifetime, connection).await;
}

fn respond(
    request: &Request<Incoming>,
    peer: SocketAddr,
    shared: &Shared,
) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    let readable = matches!(*request.method(), Method::GET | Method::HEAD);
    match path {
        "/metrics" | "/" if !readable => {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "use GET or HEAD\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        }
        "/metrics" => metrics(request, peer, shared),
        "/" => with_body(StatusCode::OK, "text/html; charset=utf-8", INDEX_HTML),
        _ => plain(
            StatusCode::NOT_FOUND,
            "not found: the metrics are at /metrics\n",
        ),
    }
}

fn metrics(
    request: &Request<Incoming>,
    peer: SocketAddr,
    shared: &Shared,
) -> Response<Full<Bytes>> {
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let format = format_for(header(ACCEPT));
    let scraper = ScraperKey::new(
        peer.ip(),
        header(USER_AGENT).unwrap_or(""),
        scraper_name(request.uri().query()),
    );
    match shared.scrape(&scraper, format, now_ms()) {
        Some(text) => with_body(StatusCode::OK, format.content_type(), text),
        None => {
            let why = shared.last_error().map_or_else(
                || "no sample of the socket table yet; try again in a second\n".to_string(),
                |error| format!("no sample of the socket table yet: {error}\n"),
            );
            with_body(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain; charset=utf-8",
                why,
            )
        }
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    with_body(status, "text/plain; charset=utf-8", text)
}

fn with_body(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
