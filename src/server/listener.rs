//! Accepting connections: who may hold one, and for how long.
//!
//! A stalled or greedy client must not starve the others. Each connection's
//! request headers must arrive within a deadline (hyper applies it only when
//! it is given a timer, and applies the same deadline to an idle keep-alive
//! connection); each request has a deadline of its own (the router's timeout
//! layer); and one address holds at most so many connections, all of them at
//! most so many more.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};

use super::tls::{ClientCertificate, Tls};
use crate::config::ServerSection;

/// How long requests in flight get to finish once the server is told to stop.
const DRAIN: Duration = Duration::from_secs(10);

/// File descriptors kept for the store, its journal, the log and the logs.
const RESERVED_FILES: u64 = 64;

/// How long and how much a client may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub per_address: usize,
    pub total: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            per_address: 64,
            total: 10_000,
        }
    }
}

impl Limits {
    /// The defaults, patched by the config's `[server]` section.
    pub fn from_config(section: &ServerSection) -> Limits {
        let defaults = Limits::default();
        Limits {
            header_timeout: section
                .header_timeout_seconds
                .map_or(defaults.header_timeout, |secs| {
                    Duration::from_secs(secs.max(1))
                }),
            request_timeout: section
                .request_timeout_seconds
                .map_or(defaults.request_timeout, |secs| {
                    Duration::from_secs(secs.max(1))
                }),
            per_address: section
                .connections_per_address
                .unwrap_or(defaults.per_address)
                .max(1),
            total: section.max_connections.unwrap_or(defaults.total).max(1),
        }
    }
}

/// Who holds connections right now.
#[derive(Debug, Default)]
struct Holders {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
    refused_since_warning: u64,
    last_warning: Option<Instant>,
}

/// Counts connections and turns away those over a limit.
struct Admission {
    per_address: usize,
    total: usize,
    holders: Mutex<Holders>,
    metrics: ConnectionMetrics,
}

/// The connections as `/metrics` shows them: held now, and turned away
/// (over a limit, or a TLS handshake that failed or never came).
#[derive(Clone)]
pub struct ConnectionMetrics {
    open: prometheus::IntGauge,
    refused: prometheus::IntCounterVec,
}

impl ConnectionMetrics {
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![Box::new(self.open.clone()), Box::new(self.refused.clone())]
    }

    fn refused(&self, reason: &str) {
        self.refused.with_label_values(&[reason]).inc();
    }
}

impl Default for ConnectionMetrics {
    fn default() -> Self {
        // Constant names: these cannot fail.
        let metrics = ConnectionMetrics {
            open: prometheus::IntGauge::new("gavel_http_connections_open", "Connections held now")
                .expect("a valid gauge"),
            refused: prometheus::IntCounterVec::new(
                prometheus::Opts::new(
                    "gavel_http_connections_refused_total",
                    "Connections turned away, by reason (address_full, server_full, tls_handshake)",
                ),
                &["reason"],
            )
            .expect("a valid counter"),
        };
        for reason in ["address_full", "server_full", "tls_handshake"] {
            metrics.refused.with_label_values(&[reason]);
        }
        metrics
    }
}

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    AddressFull,
    ServerFull,
}

/// A held connection; dropping it frees its place.
struct Ticket {
    admission: Arc<Admission>,
    address: IpAddr,
}

impl Admission {
    fn new(per_address: usize, total: usize, metrics: ConnectionMetrics) -> Arc<Admission> {
        Arc::new(Admission {
            per_address,
            total,
            holders: Mutex::new(Holders::default()),
            metrics,
        })
    }

    fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Ticket, Refusal> {
        let mut holders = self.holders.lock().unwrap_or_else(|e| e.into_inner());
        let refusal = if holders.total >= self.total {
            Some(Refusal::ServerFull)
        } else if holders.by_address.get(&address).copied().unwrap_or(0) >= self.per_address {
            Some(Refusal::AddressFull)
        } else {
            None
        };
        if let Some(refusal) = refusal {
            self.metrics.refused(match refusal {
                Refusal::AddressFull => "address_full",
                Refusal::ServerFull => "server_full",
            });
            // One line per ten seconds, not one per refused connection: a
            // flood must not become a flood of log lines.
            holders.refused_since_warning += 1;
            let due = holders
                .last_warning
                .is_none_or(|at| at.elapsed() >= Duration::from_secs(10));
            if due {
                tracing::warn!(
                    %address,
                    ?refusal,
                    refused = holders.refused_since_warning,
                    "turning connections away"
                );
                holders.refused_since_warning = 0;
                holders.last_warning = Some(Instant::now());
            }
            return Err(refusal);
        }
        holders.total += 1;
        *holders.by_address.entry(address).or_insert(0) += 1;
        self.metrics.open.inc();
        Ok(Ticket {
            admission: Arc::clone(self),
            address,
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut holders = self
            .admission
            .holders
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        holders.total = holders.total.saturating_sub(1);
        self.admission.metrics.open.dec();
        if let Some(count) = holders.by_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                holders.by_address.remove(&self.address);
            }
        }
    }
}

/// Raises this process's open-files limit as far as it may go, so the
/// connection cap, not the kernel, is what turns clients away. Returns the
/// limit now in force, if the platform tells.
fn raise_open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit only read and write `limit`.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return None;
            }
            if limit.rlim_cur < limit.rlim_max {
                let wanted = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                    limit = wanted;
                }
            }
        }
        #[allow(clippy::useless_conversion)] // rlim_t is not u64 everywhere
        Some(u64::from(limit.rlim_cur))
    }
    #[cfg(not(unix))]
    None
}

/// Answers a connection turned away, best effort and without waiting: the
/// socket is new, so its send buffer has room for these few bytes.
fn refuse(stream: &TcpStream, refusal: Refusal) {
    let message = match refusal {
        Refusal::AddressFull => "too many connections from your address; close some and retry",
        Refusal::ServerFull => "the server holds as many connections as it can; retry shortly",
    };
    let body =
        serde_json::json!({ "error": "too_many_connections", "message": message }).to_string();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
}

/// Whether an accept error is about one connection (try the next) rather
/// than the listener (back off: the process is out of files, say).
fn is_connection_error(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// The app as one connection serves it: each request carries the client
/// certificate the connection presented (none on plain HTTP).
#[derive(Clone)]
struct WithCertificate {
    app: Router,
    certificate: ClientCertificate,
}

impl tower::Service<Request<Incoming>> for WithCertificate {
    type Response = <Router as tower::Service<Request<Incoming>>>::Response;
    type Error = <Router as tower::Service<Request<Incoming>>>::Error;
    type Future = <Router as tower::Service<Request<Incoming>>>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        tower::Service::<Request<Incoming>>::poll_ready(&mut self.app, cx)
    }

    fn call(&mut self, mut request: Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(self.certificate.clone());
        self.app.call(request)
    }
}

fn for_connection(
    app: &Router,
    certificate: ClientCertificate,
) -> TowerToHyperService<WithCertificate> {
    TowerToHyperService::new(WithCertificate {
        app: app.clone(),
        certificate,
    })
}

/// Serves `app` on `listener` (over TLS when `tls` is given) until
/// `shutdown` resolves, then gives requests in flight a while to finish.
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<Arc<Tls>>,
    metrics: ConnectionMetrics,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut total = limits.total;
    if let Some(files) = raise_open_files_limit() {
        let room = usize::try_from(files.saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX);
        if room < total {
            tracing::warn!(
                files,
                wanted = limits.total,
                holding = room,
                "the open-files limit caps connections below the configured maximum"
            );
            total = room.max(1);
        }
    }
    let admission = Admission::new(limits.per_address, total, metrics.clone());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer): (TcpStream, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) if is_connection_error(&err) => continue,
                Err(err) => {
                    tracing::error!(%err, "cannot accept a connection; pausing");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let address = peer.ip().to_canonical();
        let ticket = match admission.admit(address) {
            Ok(ticket) => ticket,
            Err(refusal) => {
                refuse(&stream, refusal);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let Some(tls) = &tls else {
            let service = for_connection(&app, ClientCertificate::default());
            let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                let _held = ticket;
                if let Err(err) = connection.await {
                    tracing::debug!(%err, %peer, "connection ended");
                }
            });
            continue;
        };
        // The handshake off the accept loop, under the headers' deadline: a
        // client that opens a socket and says nothing holds only its ticket.
        let (acceptor, http, app) = (tls.acceptor.clone(), http.clone(), app.clone());
        let watcher = graceful.watcher();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let _held = ticket;
            let stream =
                match tokio::time::timeout(limits.header_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(err)) => {
                        tracing::debug!(%err, %peer, "TLS handshake failed");
                        metrics.refused("tls_handshake");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        metrics.refused("tls_handshake");
                        return;
                    }
                };
            let certificate = super::tls::client_certificate(stream.get_ref().1);
            let service = for_connection(&app, certificate);
            let connection = watcher.watch(http.serve_connection(TokioIo::new(stream), service));
            if let Err(err) = connection.await {
                tracing::debug!(%err, %peer, "connection ended");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => {
            tracing::warn!("requests still running after {DRAIN:?}; stopping anyway");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_share_and_frees_it_on_drop() {
        let metrics = ConnectionMetrics::default();
        let admission = Admission::new(2, 3, metrics.clone());
        let first: IpAddr = "127.0.0.1".parse().unwrap();
        let second: IpAddr = "127.0.0.2".parse().unwrap();
        let a = admission.admit(first).unwrap();
        let _b = admission.admit(first).unwrap();
        assert_eq!(admission.admit(first).err(), Some(Refusal::AddressFull));
        let _c = admission.admit(second).unwrap();
        assert_eq!(admission.admit(second).err(), Some(Refusal::ServerFull));
        assert_eq!(metrics.open.get(), 3);
        drop(a);
        assert_eq!(metrics.open.get(), 2);
        assert!(admission.admit(first).is_ok());
        let refused = |reason: &str| metrics.refused.with_label_values(&[reason]).get();
        assert_eq!((refused("address_full"), refused("server_full")), (1, 1));
    }

    #[test]
    fn the_config_patches_the_defaults_and_zero_means_one() {
        let section = ServerSection {
            header_timeout_seconds: Some(0),
            connections_per_address: Some(8),
            ..ServerSection::default()
        };
        let limits = Limits::from_config(&section);
        assert_eq!(limits.header_timeout, Duration::from_secs(1));
        assert_eq!(limits.per_address, 8);
        assert_eq!(limits.request_timeout, Limits::default().request_timeout);
        assert_eq!(limits.total, 10_000);
    }
}
