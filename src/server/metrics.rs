//! The series `/metrics` exposes (`scrape` serves them): requests,
//! connections, admission reviews, the notifier's deliveries, and the
//! store's gauges. Labels come from closed sets (the routes' patterns,
//! never a path a caller made up; methods; statuses; roles of the policy
//! set), so no caller can grow the memory the series take.

use std::time::Instant;

use axum::http::{HeaderMap, header};
use prometheus::{
    Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};
use sha2::{Digest, Sha256};

use super::listener::ConnectionMetrics;
use crate::backend::local::health::StoreGauges;
use crate::notify::metrics::WorkerMetrics;

/// Request latencies: 1 ms to 30 s (the request deadline).
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
];

/// The bearer token `/metrics` asks for, kept as its SHA-256 (compared as
/// digests, so the comparison's time says nothing about the token).
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken([u8; 32]);

impl MetricsToken {
    pub fn new(token: &str) -> MetricsToken {
        MetricsToken(Sha256::digest(token.as_bytes()).into())
    }

    pub(super) fn admits(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .is_some_and(|token| MetricsToken::new(token.trim()) == *self)
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(…)")
    }
}

/// Every series the server exposes.
pub struct Metrics {
    pub(super) registry: Registry,
    pub(super) requests: IntCounterVec,
    pub(super) latency: HistogramVec,
    admission_reviews: IntCounterVec,
    pub(super) connections: ConnectionMetrics,
    pub(super) notifier: WorkerMetrics,
    pub(super) store: StoreSeries,
    /// When the store's gauges were last read (`None`: never); held while
    /// one scrape reads them, so concurrent scrapes wait rather than read.
    pub(super) sampled: tokio::sync::Mutex<Option<Instant>>,
    pub(super) token: Option<MetricsToken>,
}

/// The gauges read from the store.
pub(super) struct StoreSeries {
    queue_depth: IntGaugeVec,
    overdue_steps: IntGauge,
    outbox: IntGaugeVec,
    outbox_events_waiting: IntGauge,
    log_size: IntGauge,
    checkpoint_size: IntGauge,
    checkpoint_age: Gauge,
    connections: IntGaugeVec,
    connections_max: IntGauge,
    pub(super) sample_failures: prometheus::IntCounter,
}

/// Only a constant name or bucket list can make these fail.
fn made<T>(metric: prometheus::Result<T>) -> T {
    metric.expect("a metric with a valid constant name")
}

impl StoreSeries {
    fn new() -> StoreSeries {
        StoreSeries {
            queue_depth: made(IntGaugeVec::new(
                Opts::new(
                    "gavel_queue_depth",
                    "Workflows in progress, by the role their current step waits on",
                ),
                &["role"],
            )),
            overdue_steps: made(IntGauge::new(
                "gavel_steps_overdue",
                "Steps in progress past their SLA's due time",
            )),
            outbox: made(IntGaugeVec::new(
                Opts::new(
                    "gavel_outbox_deliveries",
                    "Notification deliveries not sent, by state (pending, dead)",
                ),
                &["state"],
            )),
            outbox_events_waiting: made(IntGauge::new(
                "gavel_outbox_events_waiting",
                "Notification events not yet fanned out to deliveries",
            )),
            log_size: made(IntGauge::new(
                "gavel_log_entries",
                "Entries in the signed log",
            )),
            checkpoint_size: made(IntGauge::new(
                "gavel_log_checkpoint_entries",
                "Entries the newest signed checkpoint covers",
            )),
            checkpoint_age: made(Gauge::new(
                "gavel_log_checkpoint_age_seconds",
                "Seconds since the newest checkpoint was signed (absent before the first)",
            )),
            connections: made(IntGaugeVec::new(
                Opts::new(
                    "gavel_db_connections",
                    "The store's connections, by state (open, busy)",
                ),
                &["state"],
            )),
            connections_max: made(IntGauge::new(
                "gavel_db_connections_max",
                "The most connections the store holds",
            )),
            sample_failures: made(prometheus::IntCounter::new(
                "gavel_store_sample_failures_total",
                "Times the store's gauges could not be read (the values shown are older)",
            )),
        }
    }

    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.queue_depth.clone()),
            Box::new(self.overdue_steps.clone()),
            Box::new(self.outbox.clone()),
            Box::new(self.outbox_events_waiting.clone()),
            Box::new(self.log_size.clone()),
            Box::new(self.checkpoint_size.clone()),
            Box::new(self.checkpoint_age.clone()),
            Box::new(self.connections.clone()),
            Box::new(self.connections_max.clone()),
            Box::new(self.sample_failures.clone()),
        ]
    }

    pub(super) fn show(&self, gauges: &StoreGauges, now: chrono::DateTime<chrono::Utc>) {
        // A role whose queue emptied reads 0 rather than vanishing.
        self.queue_depth.reset();
        for role in crate::domain::Role::ALL {
            self.queue_depth.with_label_values(&[role.as_str()]).set(0);
        }
        for (role, depth) in &gauges.queue_by_role {
            self.queue_depth
                .with_label_values(&[role.as_str()])
                .set(saturating(*depth));
        }
        self.overdue_steps.set(saturating(gauges.overdue_steps));
        self.outbox
            .with_label_values(&["pending"])
            .set(saturating(gauges.outbox_pending));
        self.outbox
            .with_label_values(&["dead"])
            .set(saturating(gauges.outbox_dead));
        self.outbox_events_waiting
            .set(saturating(gauges.outbox_events_waiting));
        self.log_size.set(saturating(gauges.log_size));
        if let Some((size, signed_at)) = gauges.checkpoint {
            self.checkpoint_size.set(saturating(size));
            let age = (now - signed_at).num_milliseconds().max(0) as f64 / 1000.0;
            self.checkpoint_age.set(age);
        }
        let connections = gauges.connections;
        self.connections
            .with_label_values(&["open"])
            .set(saturating(connections.open));
        self.connections
            .with_label_values(&["busy"])
            .set(saturating(connections.busy));
        self.connections_max.set(saturating(connections.max));
    }
}

fn saturating(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Metrics {
    /// The series, registered; `/metrics` asks for `token` when given one.
    pub fn new(token: Option<MetricsToken>) -> Metrics {
        let registry = Registry::new();
        let requests = made(IntCounterVec::new(
            Opts::new(
                "gavel_http_requests_total",
                "Requests answered, by method, route pattern and status",
            ),
            &["method", "route", "status"],
        ));
        let latency = made(HistogramVec::new(
            HistogramOpts::new(
                "gavel_http_request_duration_seconds",
                "Time to answer a request (until its headers), by method and route pattern",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        ));
        let admission_reviews = made(IntCounterVec::new(
            Opts::new(
                "gavel_admission_reviews_total",
                "Admission reviews answered, by mode and outcome (admitted, denied, would_deny, not_judged)",
            ),
            &["mode", "outcome"],
        ));
        // Every outcome reads 0 from the start, so a rate over it exists
        // before the first review.
        for mode in ["enforce", "warn", "audit"] {
            for outcome in ["admitted", "denied", "would_deny", "not_judged"] {
                admission_reviews.with_label_values(&[mode, outcome]);
            }
        }
        let connections = ConnectionMetrics::default();
        let notifier = WorkerMetrics::default();
        let store = StoreSeries::new();
        let mut collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(requests.clone()),
            Box::new(latency.clone()),
            Box::new(admission_reviews.clone()),
        ];
        collectors.extend(connections.collectors());
        collectors.extend(notifier.collectors());
        collectors.extend(store.collectors());
        #[cfg(target_os = "linux")]
        collectors.push(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
        for collector in collectors {
            // Each name is registered once, here: this cannot fail.
            made(registry.register(collector));
        }
        Metrics {
            registry,
            requests,
            latency,
            admission_reviews,
            connections,
            notifier,
            store,
            sampled: tokio::sync::Mutex::new(None),
            token,
        }
    }

    /// An admission review answered.
    pub(super) fn admission_review(&self, mode: &str, outcome: &str) {
        self.admission_reviews
            .with_label_values(&[mode, outcome])
            .inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(None)
    }
}
