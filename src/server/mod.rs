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
    let listener = TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    let state = Arc::new(ServerState {
        store,
        in_flight: Mutex::new(HashSet::new()),
    });
    let app = api::router(state);
    // Scripts and tests read the address from this line.
    println!("gavel serve: listening on http://{address}");
    tracing::info!(%address, "listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
