//! The delivery worker: fans events out, claims what is due, sends it,
//! and marks it sent, retried later (capped, jittered backoff) or dead.
//! Runs inside `gavel serve`, or as `gavel notify run` beside an embedded
//! store (from cron or a systemd timer).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::email::Mailer;
use super::metrics::WorkerMetrics;
use super::settings::{Endpoint, NotifySettings};
use super::{message, webhook};
use crate::backend::Event;
use crate::backend::local::LocalStore;
use crate::backend::local::notifications::{self, Claimed, Routes};
use crate::backend::local::writes;
use crate::backend::{BackendError, Result};
use crate::retry::Backoff;

/// How often an idle worker looks for work it was not woken for (events
/// another process wrote, retries coming due).
pub const POLL: Duration = Duration::from_millis(500);
/// Deliveries claimed at a time.
const BATCH: u32 = 64;
/// Deliveries sent at once (SMTP connections are pooled and reused).
const CONCURRENCY: usize = 16;

/// Retries: 5 s, 10 s, 20 s... up to an hour, jittered.
const RETRY: Backoff = Backoff {
    first: Duration::from_secs(5),
    max: Duration::from_secs(3600),
    max_retry_after: Duration::from_secs(3600),
};

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassCounts {
    pub sent: usize,
    pub failed: usize,
    pub dead: usize,
}

pub struct Worker {
    store: Arc<LocalStore>,
    mailer: Option<Mailer>,
    endpoints: Vec<Endpoint>,
    http: reqwest::Client,
    settings: NotifySettings,
    sla_days: u32,
    clock: Clock,
    metrics: WorkerMetrics,
    /// Signs scheduled reports (none: they wait until a worker has it).
    log_key: Option<Arc<crate::backend::local::logkey::LogKey>>,
}

/// Where the worker reads the time: the store's clock unless a test sets
/// its own.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Workflows alerted per transaction.
const ALERT_BATCH: usize = 200;

impl Worker {
    pub fn new(
        store: Arc<LocalStore>,
        settings: NotifySettings,
        sla_days: u32,
    ) -> std::result::Result<Worker, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gavel/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| err.to_string())?;
        let clock: Clock = {
            let store = Arc::clone(&store);
            Arc::new(move || store.now())
        };
        Ok(Worker {
            store,
            mailer: Mailer::from_settings(&settings)?,
            endpoints: settings.endpoints()?,
            http,
            settings,
            sla_days,
            clock,
            metrics: WorkerMetrics::default(),
            log_key: None,
        })
    }

    /// The worker reading the time from `clock`.
    pub fn with_clock(mut self, clock: Clock) -> Worker {
        self.clock = clock;
        self
    }

    /// The worker signing scheduled reports with the store's log key.
    pub fn with_log_key(mut self, key: Arc<crate::backend::local::logkey::LogKey>) -> Worker {
        self.log_key = Some(key);
        self
    }

    /// Makes the scheduled reports whose time has come, each recorded with
    /// its notification in one transaction; how many.
    pub async fn send_due_reports(&self) -> Result<usize> {
        let now = (self.clock)();
        let Some(key) = self.log_key.clone() else {
            let waiting = self
                .on_store(move |store| store.read(|conn| writes::any_report_due(conn, now)))
                .await?;
            if waiting {
                tracing::warn!(
                    "scheduled reports are due, but this worker has no log key to sign them"
                );
            }
            return Ok(0);
        };
        self.on_store(move |store| store.write(|tx| writes::send_due_reports(tx, &key, now)))
            .await
    }

    /// The worker counting into `metrics` (a server's, which it exposes).
    pub fn with_metrics(mut self, metrics: WorkerMetrics) -> Worker {
        self.metrics = metrics;
        self
    }

    pub fn mailer(&self) -> Option<&Mailer> {
        self.mailer.as_ref()
    }

    /// Whether anything is configured to deliver to.
    pub fn delivers(&self) -> bool {
        self.mailer.is_some() || !self.endpoints.is_empty()
    }

    fn routes(&self) -> Routes {
        Routes {
            email: self.mailer.is_some(),
            webhooks: self
                .endpoints
                .iter()
                .map(|endpoint| (endpoint.url.clone(), endpoint.kinds.clone()))
                .collect(),
        }
    }

    async fn on_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&LocalStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|err| BackendError::Storage(format!("a store task failed: {err}")))?
    }

    /// Sends the reminders, due-time alerts and escalations whose time has
    /// come (each once: the step records it in the same transaction).
    pub async fn alert_due_steps(&self) -> Result<usize> {
        let mut alerted = 0;
        loop {
            let now = (self.clock)();
            // Steps with an SLA, and incidents' report deadlines.
            let fired = self
                .on_store(move |store| {
                    store.write(|tx| {
                        Ok(writes::alert_due_steps(tx, now, ALERT_BATCH)?
                            + writes::alert_due_incidents(tx, now, ALERT_BATCH)?)
                    })
                })
                .await?;
            alerted += fired;
            self.metrics.sla_alerts.inc_by(fired as u64);
            if fired < ALERT_BATCH {
                return Ok(alerted);
            }
        }
    }

    /// One pass: alert steps whose time has come, fan out what waits, then
    /// deliver what is due, a batch at a time, until nothing is due.
    pub async fn pass(&self) -> Result<PassCounts> {
        self.alert_due_steps().await?;
        self.send_due_reports().await?;
        if !self.delivers() {
            return Ok(PassCounts::default());
        }
        loop {
            let routes = self.routes();
            let taken = self
                .on_store(move |store| {
                    store.write(|tx| notifications::fan_out(tx, &routes, Utc::now()))
                })
                .await?;
            if taken < notifications::FAN_OUT_BATCH {
                break;
            }
        }
        let mut counts = PassCounts::default();
        let lease = self.settings.claim();
        loop {
            let claimed = self
                .on_store(move |store| {
                    store.write(|tx| notifications::claim(tx, Utc::now(), lease, BATCH))
                })
                .await?;
            if claimed.is_empty() {
                return Ok(counts);
            }
            use futures_util::StreamExt;
            let outcomes: Vec<(Claimed, std::result::Result<(), String>)> =
                futures_util::stream::iter(claimed)
                    .map(|delivery| async move {
                        let outcome = self.deliver(&delivery).await;
                        (delivery, outcome)
                    })
                    .buffer_unordered(CONCURRENCY)
                    .collect()
                    .await;
            let max_attempts = self.settings.max_attempts();
            let results = outcomes;
            let sent_at = Utc::now();
            for (delivery, outcome) in &results {
                match outcome {
                    Ok(()) => {
                        counts.sent += 1;
                        let waited = sent_at - delivery.event.timestamp;
                        self.metrics.delivered("sent", Some(waited));
                    }
                    Err(err) if delivery.attempts >= max_attempts => {
                        tracing::error!(delivery = delivery.delivery_id, %err, "notification dead-lettered");
                        counts.dead += 1;
                        self.metrics.delivered("dead", None);
                    }
                    Err(err) => {
                        tracing::warn!(delivery = delivery.delivery_id, attempt = delivery.attempts, %err, "notification not delivered; will retry");
                        counts.failed += 1;
                        self.metrics.delivered("failed", None);
                    }
                }
            }
            self.on_store(move |store| {
                store.write(|tx| {
                    let now = Utc::now();
                    for (delivery, outcome) in &results {
                        match outcome {
                            Ok(()) => notifications::mark_sent(tx, delivery.delivery_id, now)?,
                            Err(err) => {
                                let retry_at = (delivery.attempts < max_attempts).then(|| {
                                    let wait =
                                        RETRY.delay(delivery.attempts.saturating_sub(1), None);
                                    now + TimeDelta::from_std(wait).unwrap_or(TimeDelta::hours(1))
                                });
                                notifications::mark_failed(
                                    tx,
                                    delivery.delivery_id,
                                    err,
                                    retry_at,
                                )?;
                            }
                        }
                    }
                    Ok(())
                })
            })
            .await?;
        }
    }

    /// Sends one delivery.
    async fn deliver(&self, delivery: &Claimed) -> std::result::Result<(), String> {
        let event: &Event = &delivery.event;
        match delivery.channel.as_str() {
            "email" => {
                let mailer = self.mailer.as_ref().ok_or("no SMTP server is configured")?;
                let Some(email) =
                    message::email(event, self.sla_days, self.settings.gavel_url.as_deref())
                else {
                    // Nothing to say by email (an event that asks nobody to act).
                    return Ok(());
                };
                let id = mailer.message_id(event.event_id, delivery.delivery_id);
                mailer.send(&delivery.target, &email, &id).await
            }
            "webhook" => {
                let endpoint = self
                    .endpoints
                    .iter()
                    .find(|endpoint| endpoint.url == delivery.target)
                    .ok_or_else(|| format!("no webhook {} is configured now", delivery.target))?;
                let webhook_id = format!("msg_gavel_{}", delivery.delivery_id);
                webhook::post(&self.http, endpoint, event, &webhook_id).await
            }
            other => Err(format!("unknown channel {other:?}")),
        }
    }

    /// Passes until `stop` resolves; a failing store is logged and tried
    /// again.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            if let Err(err) = self.pass().await {
                tracing::error!(%err, "the notification worker cannot reach the store");
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(POLL) => {}
                _ = self.store.notifications_recorded() => {}
            }
        }
    }
}
