//! Probes for the orchestrator, outside the API and its tokens: `/healthz`
//! says the process answers; `/readyz` says it can serve (the store
//! answers at this build's schema, the log key is loaded, the notification
//! worker runs), 503 naming what is not.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::state::AppState;

/// How long the store may take to answer the probe.
const STORE_DEADLINE: Duration = Duration::from_secs(2);

pub(super) async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

pub(super) async fn readyz(State(state): AppState) -> impl IntoResponse {
    let store = std::sync::Arc::clone(&state.store);
    let schema = tokio::time::timeout(
        STORE_DEADLINE,
        tokio::task::spawn_blocking(move || store.schema_state()),
    )
    .await;
    let store_check = match schema {
        Ok(Ok(Ok(Ok(())))) => "ok".to_owned(),
        Ok(Ok(Ok(Err(why)))) => why,
        Ok(Ok(Err(err))) => format!("the store does not answer: {err}"),
        Ok(Err(_)) => "the store's probe failed".to_owned(),
        Err(_) => format!("the store did not answer within {STORE_DEADLINE:?}"),
    };
    let log_key = if state.log_key.is_some() {
        "ok"
    } else {
        "no log key loaded"
    };
    let notifier = if state.notifier_alive.load(Ordering::Relaxed) {
        "ok"
    } else {
        "the notification worker stopped"
    };
    let ready = [store_check.as_str(), log_key, notifier]
        .iter()
        .all(|check| *check == "ok");
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(serde_json::json!({
            "ready": ready,
            "checks": { "store": store_check, "log_key": log_key, "notifier": notifier },
        })),
    )
}
