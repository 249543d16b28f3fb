//! Running a case file against the agent: bounded concurrency, an optional
//! request rate, outcomes committed through the backend in small batches
//! as they arrive, progress on the terminal, and a clean stop on Ctrl-C.
//! A case is asked again only if its outcome was never committed, and the
//! store keeps a case's first outcome, so a resumed run never counts a
//! case twice.

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::agent::{AgentClient, Answer, AskError};
use super::cases::Case;
use super::classifier::{Classifier, truncate_bytes};
use crate::backend::{
    AuditRun, BackendError, CaseOutcome, CaseOutcomeKind, CaseQuery, GovernanceBackend,
    MAX_OUTCOME_BATCH, RESPONSE_KEPT_CHARS,
};
use crate::domain::BiasAudit;

/// Outcomes are committed at least this often...
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// ...or once this many wait.
const FLUSH_AT: usize = 256;
/// A batch stays under the server's body limit.
const MAX_BATCH_BYTES: usize = 768 * 1024;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A bar with rate and ETA (stderr is a terminal).
    Bar,
    /// A plain line every few seconds (logs, CI).
    Lines,
    Quiet,
}

/// How a run ended.
#[derive(Debug)]
pub enum RunEnd {
    /// Every case has an outcome and the audit is recorded.
    Finished(Box<BiasAudit>),
    /// Stopped on request; what was committed stays.
    Stopped { done: u64, total: u64 },
    /// Some cases got no answer after their retries; a resume asks them
    /// again.
    Incomplete {
        done: u64,
        total: u64,
        failed: u64,
        last_error: String,
    },
    /// Nothing more can work (a refused key, a wrong endpoint, a store
    /// that refuses the outcomes).
    Fatal { done: u64, reason: String },
}

/// The figures a run keeps while it goes.
#[derive(Default)]
struct Tally {
    committed: AtomicU64,
    unknown: AtomicU64,
    failed: AtomicU64,
}

/// Every case of a run that `query` selects, page by page, to `each`
/// (which says whether to go on).
pub async fn each_case(
    backend: &dyn GovernanceBackend,
    run_id: &str,
    query: CaseQuery,
    mut each: impl FnMut(CaseOutcome) -> bool,
) -> Result<(), BackendError> {
    let mut query = query;
    loop {
        let page = backend.audit_run_cases(run_id, &query).await?;
        for case in page.cases {
            if !each(case) {
                return Ok(());
            }
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(()),
        }
    }
}

/// Cases of the run that already have an outcome.
pub async fn done_cases(
    backend: &dyn GovernanceBackend,
    run_id: &str,
) -> Result<HashSet<String>, BackendError> {
    let mut done = HashSet::new();
    let query = CaseQuery {
        limit: 5_000,
        ..CaseQuery::default()
    };
    each_case(backend, run_id, query, |case| {
        done.insert(case.case_id);
        true
    })
    .await?;
    Ok(done)
}

/// The evidence of one answered case.
pub fn evidence(case: Case, answer: &Answer, classifier: &Classifier) -> CaseOutcome {
    let classified = match &answer.unreadable {
        Some(why) => super::classifier::Classified {
            outcome: CaseOutcomeKind::Unknown,
            score: None,
            reason: format!("unreadable answer: {why}"),
        },
        None => classifier.classify(&answer.text, answer.value.as_ref()),
    };
    let kept: String = answer.text.chars().take(RESPONSE_KEPT_CHARS).collect();
    CaseOutcome {
        case_id: case.id,
        attributes: case.attributes,
        pair_id: case.pair_id,
        input: truncate_bytes(&answer.sent, 60 * 1024).to_owned(),
        response: kept,
        response_sha256: crate::domain::digest::sha256_hex(answer.text.as_bytes()),
        response_bytes: answer.text.len() as u64,
        outcome: classified.outcome,
        score: classified.score,
        reason: truncate_bytes(&classified.reason, 1000).to_owned(),
        latency_ms: answer.latency.as_millis().min(u64::MAX as u128) as u64,
        recorded_at: None,
    }
}

/// Runs the pending cases of `run` and, when every case has an outcome,
/// finishes it into the audit. `stop` resolves when the user asks to stop.
pub async fn execute(
    backend: Arc<dyn GovernanceBackend>,
    run: &AuditRun,
    cases: Vec<Case>,
    client: AgentClient,
    classifier: Classifier,
    progress: Progress,
    stop: impl std::future::Future<Output = ()> + Send,
) -> Result<RunEnd, BackendError> {
    let done = done_cases(backend.as_ref(), &run.run_id).await?;
    let total = run.case_count;
    let pending: Vec<Case> = cases
        .into_iter()
        .filter(|case| !done.contains(&case.id))
        .collect();
    let tally = Arc::new(Tally::default());
    tally.committed.store(done.len() as u64, Ordering::Relaxed);
    let fatal: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let halted = Arc::new(AtomicBool::new(false));
    let last_error: Arc<std::sync::Mutex<String>> = Arc::default();

    let (sender, receiver) = mpsc::channel::<CaseOutcome>(FLUSH_AT * 4);
    let writer = tokio::spawn(write_outcomes(
        Arc::clone(&backend),
        run.run_id.clone(),
        receiver,
        Arc::clone(&tally),
        Arc::clone(&fatal),
        Arc::clone(&halted),
    ));
    let shown = tokio::spawn(show_progress(
        progress,
        run.run_id.clone(),
        total,
        Arc::clone(&tally),
        Arc::clone(&halted),
    ));

    let settings = &run.settings;
    let limiter = settings.requests_per_second.and_then(|rate| {
        // governor counts whole cells: below 1/s, spread one per period.
        let quota = if rate >= 1.0 {
            governor::Quota::per_second(NonZeroU32::new(rate.round() as u32)?)
        } else {
            governor::Quota::with_period(Duration::from_secs_f64(1.0 / rate))?
        };
        Some(Arc::new(governor::RateLimiter::direct(quota)))
    });
    let client = Arc::new(client);
    let classifier = Arc::new(classifier);
    // A fixed set of askers pulling from one queue: no task or permit per
    // case, so the runner costs little beside the requests themselves.
    let queue = Arc::new(std::sync::Mutex::new(pending.into_iter()));
    let mut askers = JoinSet::new();
    for _ in 0..settings.concurrency.max(1) {
        let (queue, client, classifier, sender, limiter) = (
            Arc::clone(&queue),
            Arc::clone(&client),
            Arc::clone(&classifier),
            sender.clone(),
            limiter.clone(),
        );
        let (tally, fatal, halted, last_error) = (
            Arc::clone(&tally),
            Arc::clone(&fatal),
            Arc::clone(&halted),
            Arc::clone(&last_error),
        );
        askers.spawn(async move {
            loop {
                if halted.load(Ordering::Relaxed) {
                    return;
                }
                let Some(case) = queue.lock().ok().and_then(|mut queue| queue.next()) else {
                    return;
                };
                if let Some(limiter) = &limiter {
                    limiter.until_ready().await;
                }
                match client.ask(&case).await {
                    Ok(answer) => {
                        let outcome = evidence(case, &answer, &classifier);
                        if outcome.outcome == CaseOutcomeKind::Unknown {
                            tally.unknown.fetch_add(1, Ordering::Relaxed);
                        }
                        if sender.send(outcome).await.is_err() {
                            return;
                        }
                    }
                    Err(AskError::Failed(reason)) => {
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut last) = last_error.lock() {
                            *last = format!("case {}: {reason}", case.id);
                        }
                    }
                    Err(AskError::Fatal(reason)) => {
                        if let Ok(mut fatal) = fatal.lock() {
                            fatal.get_or_insert(reason);
                        }
                        halted.store(true, Ordering::Relaxed);
                        return;
                    }
                }
            }
        });
    }
    let dispatch = async { while askers.join_next().await.is_some() {} };
    let stopped = tokio::select! {
        () = dispatch => false,
        () = stop => true,
    };
    if stopped {
        halted.store(true, Ordering::Relaxed);
    }
    // Answers in flight when stopped are dropped: their cases have no
    // outcome, so a resume asks them again.
    drop(sender);
    let written = writer.await;
    halted.store(true, Ordering::Relaxed);
    let _ = shown.await;
    if let Ok(Err(err)) = written {
        return Err(err);
    }
    let committed = tally.committed.load(Ordering::Relaxed);
    if let Some(reason) = fatal.lock().ok().and_then(|fatal| fatal.clone()) {
        return Ok(RunEnd::Fatal {
            done: committed,
            reason,
        });
    }
    if stopped {
        return Ok(RunEnd::Stopped {
            done: committed,
            total,
        });
    }
    let failed = tally.failed.load(Ordering::Relaxed);
    if failed > 0 || committed < total {
        return Ok(RunEnd::Incomplete {
            done: committed,
            total,
            failed,
            last_error: last_error.lock().map(|e| e.clone()).unwrap_or_default(),
        });
    }
    let audit = match backend.finish_audit_run(&run.run_id).await {
        Ok(audit) => audit,
        // Finished before (an answer lost on the way): read what it became.
        Err(BackendError::Conflict(_)) => {
            let finished = backend.audit_run(&run.run_id).await?;
            let audit_id = finished.audit_id.ok_or_else(|| {
                BackendError::Conflict(format!("run {} could not be finished", run.run_id))
            })?;
            backend
                .audits(&run.agent_id)
                .await?
                .into_iter()
                .find(|audit| audit.audit_id == audit_id)
                .ok_or_else(|| BackendError::not_found("audit", &audit_id))?
        }
        Err(err) => return Err(err),
    };
    Ok(RunEnd::Finished(Box::new(audit)))
}

/// Commits outcomes in small batches; a batch the backend cannot take for
/// now is kept and sent again, so nothing answered is lost while the
/// process lives.
async fn write_outcomes(
    backend: Arc<dyn GovernanceBackend>,
    run_id: String,
    mut receiver: mpsc::Receiver<CaseOutcome>,
    tally: Arc<Tally>,
    fatal: Arc<std::sync::Mutex<Option<String>>>,
    halted: Arc<AtomicBool>,
) -> Result<(), BackendError> {
    let mut batch: Vec<CaseOutcome> = Vec::new();
    let mut incoming = Vec::with_capacity(FLUSH_AT);
    let mut bytes = 0;
    let mut open = true;
    let mut last_flush = Instant::now();
    while open || !batch.is_empty() {
        let wait = FLUSH_EVERY.saturating_sub(last_flush.elapsed());
        if open {
            // Whatever has arrived, in one wake-up.
            let room = FLUSH_AT.saturating_sub(batch.len()).max(1);
            match tokio::time::timeout(wait, receiver.recv_many(&mut incoming, room)).await {
                Ok(0) => open = false,
                Ok(_) => {
                    for outcome in incoming.drain(..) {
                        // Close enough to its JSON size to keep batches
                        // under the server's limit, without writing it twice.
                        bytes += outcome.input.len() + outcome.response.len() * 2 + 512;
                        batch.push(outcome);
                    }
                }
                Err(_) => {}
            }
        }
        let due = !open
            || batch.len() >= FLUSH_AT.min(MAX_OUTCOME_BATCH)
            || bytes >= MAX_BATCH_BYTES
            || last_flush.elapsed() >= FLUSH_EVERY;
        if !due || batch.is_empty() {
            if last_flush.elapsed() >= FLUSH_EVERY {
                last_flush = Instant::now();
            }
            continue;
        }
        let mut attempt = 0;
        loop {
            match backend.record_case_outcomes(&run_id, &batch).await {
                Ok(recorded) => {
                    tally.committed.store(recorded.done, Ordering::Relaxed);
                    break;
                }
                Err(BackendError::Unavailable(reason)) if attempt < 20 => {
                    tracing::warn!(%reason, "outcomes not committed yet; retrying");
                    let backoff = crate::retry::Backoff {
                        first: Duration::from_millis(200),
                        max: Duration::from_secs(5),
                        max_retry_after: Duration::from_secs(30),
                    };
                    tokio::time::sleep(backoff.delay(attempt, None)).await;
                    attempt += 1;
                }
                Err(err) => {
                    if let Ok(mut fatal) = fatal.lock() {
                        fatal.get_or_insert(format!("the store refused the outcomes: {err}"));
                    }
                    halted.store(true, Ordering::Relaxed);
                    // Drain so the askers are not blocked; nothing more is
                    // committed.
                    receiver.close();
                    while receiver.recv().await.is_some() {}
                    return Ok(());
                }
            }
        }
        batch.clear();
        bytes = 0;
        last_flush = Instant::now();
    }
    Ok(())
}

async fn show_progress(
    mode: Progress,
    run_id: String,
    total: u64,
    tally: Arc<Tally>,
    halted: Arc<AtomicBool>,
) {
    let started = Instant::now();
    let first = tally.committed.load(Ordering::Relaxed);
    let bar = (mode == Progress::Bar).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos}/{len} cases {wide_bar} {per_sec} · ETA {eta} · {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_position(first);
        bar
    });
    let mut last_line = Instant::now();
    loop {
        let finished =
            halted.load(Ordering::Relaxed) || tally.committed.load(Ordering::Relaxed) >= total;
        let committed = tally.committed.load(Ordering::Relaxed);
        let note = format!(
            "{} unknown, {} failed",
            tally.unknown.load(Ordering::Relaxed),
            tally.failed.load(Ordering::Relaxed)
        );
        match (&bar, mode) {
            (Some(bar), _) => {
                bar.set_position(committed);
                bar.set_message(note);
            }
            (None, Progress::Lines)
                if finished || last_line.elapsed() >= Duration::from_secs(2) =>
            {
                let rate = (committed - first) as f64 / started.elapsed().as_secs_f64().max(0.001);
                let left = total.saturating_sub(committed);
                let eta = if rate > 0.0 {
                    format!("{:.0} s", left as f64 / rate)
                } else {
                    "?".into()
                };
                eprintln!(
                    "audit run {run_id}: {committed}/{total} cases ({:.0}%), {rate:.0}/s, ETA {eta}, {note}",
                    committed as f64 * 100.0 / total.max(1) as f64
                );
                last_line = Instant::now();
            }
            _ => {}
        }
        if finished {
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
