//! Serving the series: `record` counts and times every request, and
//! `GET /metrics` answers in Prometheus' classic text format.
//!
//! What each request costs is a few atomic increments; the store's gauges
//! (queues, the outbox, the log) are read at most once per `SAMPLE_EVERY`
//! whoever scrapes, so a caller scraping in a loop costs the store nothing
//! more.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{Encoder, TextEncoder};

use super::extract::{ApiError, unauthenticated};
use super::state::AppState;

/// The store's gauges are read at most this often.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// How long the store may take to answer a sample.
const SAMPLE_DEADLINE: Duration = Duration::from_secs(5);

/// The method as a label: the ones the API answers, anything else `other`.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts and times every request, under its route's pattern (a path no
/// route matched is `unmatched`).
pub(super) async fn record(State(state): AppState, request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let Some(metrics) = &state.metrics else {
        return response;
    };
    metrics
        .latency
        .with_label_values(&[method, route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .with_label_values(&[method, route.as_str(), response.status().as_str()])
        .inc();
    response
}

/// `GET /metrics`.
pub(super) async fn metrics(State(state): AppState, headers: HeaderMap) -> Response {
    let Some(metrics) = &state.metrics else {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "metrics are turned off")
            .into_response();
    };
    if let Some(token) = &metrics.token
        && !token.admits(&headers)
    {
        return unauthenticated("/metrics needs its bearer token ([server] metrics_token_env)")
            .into_response();
    }
    let mut sampled = metrics.sampled.lock().await;
    if sampled.is_none_or(|at| at.elapsed() >= SAMPLE_EVERY) {
        let store = Arc::clone(&state.store);
        let now = store.now();
        let read = tokio::time::timeout(
            SAMPLE_DEADLINE,
            tokio::task::spawn_blocking(move || store.gauges(now)),
        )
        .await;
        match read {
            Ok(Ok(Ok(gauges))) => metrics.store.show(&gauges, now),
            Ok(Ok(Err(err))) => {
                metrics.store.sample_failures.inc();
                tracing::warn!(%err, "cannot read the store's gauges");
            }
            Ok(Err(_)) | Err(_) => {
                metrics.store.sample_failures.inc();
                tracing::warn!("the store's gauges did not come within {SAMPLE_DEADLINE:?}");
            }
        }
        // A failure waits its turn too: a store in trouble is not asked
        // again on every scrape.
        *sampled = Some(Instant::now());
    }
    let mut text = Vec::new();
    let encoded = TextEncoder::new().encode(&metrics.registry.gather(), &mut text);
    drop(sampled);
    match encoded {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
            text,
        )
            .into_response(),
        Err(err) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "metrics",
            format!("cannot encode the metrics: {err}"),
        )
        .into_response(),
    }
}
