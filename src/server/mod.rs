//! `gavel serve`: the HTTP API over an embedded store, for a team.
//!
//! Layer 7, a face (docs/architecture.md): may import the settings, services,
//! parts, contract, rules and ground. One file per route group; `state` and
//! `extract` sit below them, `api` (the router) above.
//!
//! Every request names its user by bearer token; the handlers are thin: they
//! parse, call the same `LocalBackend` the console uses, and map errors to
//! statuses (`backend::wire`).

mod admission;
mod api;
mod attestations;
mod audits;
mod delegations;
mod deployments;
mod evidence;
mod exceptions;
mod extract;
mod health;
mod inbox;
mod incidents;
mod listener;
mod log;
mod metrics;
mod obligations;
mod params;
mod policy_sets;
mod reports;
mod reviews;
mod scim;
mod scrape;
mod sign_in;
mod standing_cache;
mod state;
mod sync;
pub mod tls;
mod users;
mod workflows;

pub use sign_in::SignInGate;

pub use listener::Limits;
pub use metrics::MetricsToken;
use state::ServerState;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;

use std::time::Duration;

use crate::backend::local::LocalStore;
use crate::backend::local::logkey::LogKey;

/// When the server signs a checkpoint of the log by itself.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointPolicy {
    /// Once this many events are unsigned...
    pub every_events: u64,
    /// ...or when any are and this much time passed.
    pub every: Duration,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        CheckpointPolicy {
            every_events: 1000,
            every: Duration::from_secs(10),
        }
    }
}

/// Signs checkpoints as the policy says, until the server stops.
async fn sign_checkpoints(store: Arc<LocalStore>, key: Arc<LogKey>, policy: CheckpointPolicy) {
    let mut last_signed = std::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(1).min(policy.every)).await;
        let (store, key) = (Arc::clone(&store), Arc::clone(&key));
        let due = policy;
        let since = last_signed.elapsed();
        let signed = tokio::task::spawn_blocking(move || {
            let head = store.read(crate::backend::local::log::size)?;
            let signed = store.read(crate::backend::local::logkey::latest_checkpoint)?;
            let unsigned = head.saturating_sub(signed.map_or(0, |(size, _)| size));
            if unsigned >= due.every_events || (unsigned > 0 && since >= due.every) {
                store.write(|tx| {
                    crate::backend::local::logkey::sign_checkpoint(tx, &key, store.now())
                })?;
                return Ok::<bool, crate::backend::BackendError>(true);
            }
            Ok(false)
        })
        .await;
        match signed {
            Ok(Ok(true)) => last_signed = std::time::Instant::now(),
            Ok(Ok(false)) => {}
            Ok(Err(err)) => tracing::error!(%err, "cannot sign a checkpoint"),
            Err(err) => tracing::error!(%err, "the checkpoint task failed"),
        }
    }
}

/// Marks a task dead when it ends, however it ends.
struct Liveness(Arc<std::sync::atomic::AtomicBool>);

impl Drop for Liveness {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Where and how the server answers.
#[derive(Debug, Clone)]
pub struct Serving {
    pub limits: Limits,
    pub listen: SocketAddr,
    /// HTTPS with these files; none: plain HTTP (loopback, or behind a
    /// proxy that speaks TLS).
    pub tls: Option<tls::TlsFiles>,
    pub admission: crate::config::AdmissionSection,
    /// The bearer token `/metrics` asks for; none: it answers anyone.
    pub metrics_token: Option<MetricsToken>,
    /// Whether requests are counted and `/metrics` served.
    pub metrics: bool,
    /// The directory's provisioning (`[scim]`), if it provisions.
    pub scim: Option<crate::backend::local::directory::DirectorySettings>,
    /// `[scim] base_url`.
    pub scim_base: Option<String>,
}

/// Serves until SIGTERM or Ctrl-C, finishing requests in flight.
/// HTTP/1.1 only (clients speak it), over TLS when given its files.
pub async fn serve(
    store: Arc<LocalStore>,
    log_key: LogKey,
    policy: CheckpointPolicy,
    serving: Serving,
    sign_in: Option<SignInGate>,
    notifier: crate::notify::worker::Worker,
) -> color_eyre::Result<()> {
    let Serving {
        limits,
        listen,
        tls,
        admission,
        metrics_token,
        metrics: counting,
        scim,
        scim_base,
    } = serving;
    let metrics = Arc::new(metrics::Metrics::new(metrics_token));
    let notifier = notifier.with_metrics(metrics.notifier.clone());
    // The certificate first: a server told to speak TLS that cannot must
    // not start speaking plain HTTP.
    let tls = tls
        .map(|files| tls::Tls::load(&files).map(Arc::new))
        .transpose()
        .map_err(|err| color_eyre::eyre::eyre!("{err}"))?;
    // Handlers go in before anyone learns the address, so a SIGTERM sent
    // right after start-up is a clean stop, not the default kill.
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let listener = TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    let log_key = Arc::new(log_key);
    // The notifier signs the scheduled reports it sends.
    let notifier = notifier.with_log_key(Arc::clone(&log_key));
    let signer = tokio::spawn(sign_checkpoints(
        Arc::clone(&store),
        Arc::clone(&log_key),
        policy,
    ));
    // Delivers notifications until the server stops; an interrupted
    // delivery is claimed again by the next start once its lease ends.
    let (stop_notifier, stopped) = tokio::sync::oneshot::channel::<()>();
    // It also sends the reminders and escalations of steps with an SLA,
    // to inboxes when nothing else is configured.
    let notifier_alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let alive = Arc::clone(&notifier_alive);
    let notifier = Some(tokio::spawn(async move {
        // Dropped when the worker ends, a panic included: `/readyz` says so.
        let _alive = Liveness(alive);
        notifier
            .run(async move {
                let _ = stopped.await;
            })
            .await;
    }));
    // An obligation coverage left unfinished (a set approved by a process
    // that stopped) fills while the server serves.
    // It stops between slices when the server does.
    let filling = Arc::clone(&store);
    let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_filling = Arc::clone(&stopping);
    tokio::task::spawn_blocking(move || {
        let go_on = || !stop_filling.load(std::sync::atomic::Ordering::Relaxed);
        if let Err(err) = filling.fill_coverage_while(go_on) {
            tracing::error!("filling the obligation coverage: {err}");
        }
    });
    // The admission webhook's memory of standings, dropped on any change.
    let standings = Arc::new(standing_cache::StandingCache::default());
    let watching = standings.watch(Arc::clone(&store));
    let state = Arc::new(ServerState {
        store,
        in_flight: Mutex::new(HashSet::new()),
        log_key: Some(log_key),
        sign_in: sign_in.map(Arc::new),
        admission,
        standings: Arc::clone(&standings),
        notifier_alive,
        metrics: counting.then(|| Arc::clone(&metrics)),
        scim: scim.map(Arc::new),
        scim_base,
        tls: tls.is_some(),
    });
    let app = api::router(state, limits.request_timeout);
    let shutdown = async move {
        #[cfg(unix)]
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = terminate.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    };
    // Scripts and tests read the address from this line.
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("gavel serve: listening on {scheme}://{address}");
    tracing::info!(%address, scheme, "listening");
    let reloading = tls.as_ref().map(|tls| tls.keep_fresh());
    listener::run(
        listener,
        app,
        limits,
        tls,
        metrics.connections.clone(),
        shutdown,
    )
    .await?;
    if let Some(reloading) = reloading {
        reloading.abort();
    }
    stopping.store(true, std::sync::atomic::Ordering::Relaxed);
    signer.abort();
    watching.abort();
    let _ = stop_notifier.send(());
    if let Some(notifier) = notifier {
        let _ = notifier.await;
    }
    tracing::info!("stopped");
    Ok(())
}
