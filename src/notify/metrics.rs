//! What the delivery worker counts, for `gavel serve`'s `/metrics`: the
//! SLA alerts it fired, the deliveries it finished by outcome, and how long
//! an event waited to be delivered.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts};

/// The worker's series; a server registers them, a lone worker just counts.
#[derive(Clone)]
pub struct WorkerMetrics {
    pub sla_alerts: IntCounter,
    pub deliveries: IntCounterVec,
    pub delivery_seconds: Histogram,
}

/// From a minute to a day: deliveries wait on retries, not on milliseconds.
const DELIVERY_BUCKETS: [f64; 10] = [
    0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 86400.0,
];

impl WorkerMetrics {
    /// Every series the worker keeps, to register.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.sla_alerts.clone()),
            Box::new(self.deliveries.clone()),
            Box::new(self.delivery_seconds.clone()),
        ]
    }

    /// A delivery finished: `outcome` is `sent`, `failed` (to be retried)
    /// or `dead`; a sent one's wait since its event is observed.
    pub fn delivered(&self, outcome: &str, waited: Option<chrono::TimeDelta>) {
        self.deliveries.with_label_values(&[outcome]).inc();
        if let Some(waited) = waited {
            let seconds = waited.num_milliseconds().max(0) as f64 / 1000.0;
            self.delivery_seconds.observe(seconds);
        }
    }
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        // The names and buckets are constants: these cannot fail.
        let metrics = WorkerMetrics {
            sla_alerts: IntCounter::new(
                "gavel_sla_alerts_total",
                "Reminders, due-time alerts and escalations of steps and incidents fired",
            )
            .expect("a valid counter"),
            deliveries: IntCounterVec::new(
                Opts::new(
                    "gavel_notification_deliveries_total",
                    "Notification deliveries finished, by outcome (sent, failed and retried, dead)",
                ),
                &["outcome"],
            )
            .expect("a valid counter"),
            delivery_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "gavel_notification_delivery_seconds",
                    "Time from an event to its delivery being sent",
                )
                .buckets(DELIVERY_BUCKETS.to_vec()),
            )
            .expect("a valid histogram"),
        };
        // Each outcome reads 0 before its first delivery.
        for outcome in ["sent", "failed", "dead"] {
            metrics.deliveries.with_label_values(&[outcome]);
        }
        metrics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_delivery_is_counted_and_its_wait_observed_a_failed_one_only_counted() {
        let metrics = WorkerMetrics::default();
        metrics.delivered("sent", Some(chrono::TimeDelta::seconds(3)));
        metrics.delivered("failed", None);
        // A clock moved back reads as no wait, not a negative one.
        metrics.delivered("sent", Some(chrono::TimeDelta::seconds(-5)));
        let count = |outcome: &str| metrics.deliveries.with_label_values(&[outcome]).get();
        assert_eq!((count("sent"), count("failed"), count("dead")), (2, 1, 0));
        assert_eq!(metrics.delivery_seconds.get_sample_count(), 2);
        assert_eq!(metrics.delivery_seconds.get_sample_sum(), 3.0);
    }
}
