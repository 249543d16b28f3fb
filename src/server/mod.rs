//! `gavel serve`: the HTTP API over an embedded store, for a team.
//!
//! Every request names its user by bearer token; the handlers are thin: they
//! parse, call the same `LocalBackend` the console uses, and map errors to
//! statuses (`backend::wire`).

mod api;
mod extract;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;

use crate::backend::local::LocalStore;

/// Largest request body accepted.
pub const MAX_BODY: usize = 1024 * 1024;

pub struct ServerState {
    pub store: Arc<LocalStore>,
    /// Idempotency keys of decisions being processed right now.
    in_flight: Mutex<HashSet<String>>,
}

/// Serves until SIGTERM or Ctrl-C, finishing requests in flight.
pub async fn serve(store: Arc<LocalStore>, listen: SocketAddr) -> color_eyre::Result<()> {
    // Handlers go in before anyone learns the address, so a SIGTERM sent
    // right after start-up is a clean stop, not the default kill.
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let listener = TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    let state = Arc::new(ServerState {
        store,
        in_flight: Mutex::new(HashSet::new()),
    });
    let app = api::router(state);
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
    println!("gavel serve: listening on http://{address}");
    tracing::info!(%address, "listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    tracing::info!("stopped");
    Ok(())
}
