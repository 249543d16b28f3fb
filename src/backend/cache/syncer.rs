//! The sync loop: pulls the server's changes into the cache and pushes the
//! outbox to the server, acting on what `sync::plan` decides. It runs beside
//! the console (never in its render loop) and as `gavel sync`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, mpsc, watch};

use super::outbox::{self, Change, StoredEntry};
use crate::backend::http::{FeedAnswer, HttpBackend};
use crate::backend::local::feed::{ChangedEntities, SNAPSHOT_TABLES, SnapshotPage};

use crate::backend::local::{LocalStore, mirror, reads_workflow};
use crate::backend::sync::plan::{self, EntryState, Outcome};
use crate::backend::sync::status::{PendingItem, Progress, SyncStatus};
use crate::backend::{BackendError, GovernanceBackend, Result};
use crate::domain::{ReviewStatus, StepStatus, Workflow};

/// Changes asked for per request of the feed.
const FEED_PAGE: u32 = 5_000;
/// Rows per snapshot page of a full sync.
const SNAPSHOT_PAGE: u32 = 5_000;
/// How often the loop syncs while the server answers, and probes while not.
const ONLINE_INTERVAL: Duration = Duration::from_secs(15);
const OFFLINE_INTERVAL: Duration = Duration::from_secs(5);
/// Between passes, while online, the change feed alone is followed this
/// often, so another person's decision shows within seconds (one small
/// request when nothing moved).
const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);
/// `last_synced_at` is written to the file at most this often (an empty
/// sync then costs no disk write).
const CONTACT_WRITE_INTERVAL: chrono::Duration = chrono::Duration::seconds(60);

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    pub pushed: usize,
    pub conflicts: usize,
    pub failed: usize,
    pub pulled_changes: usize,
    /// Rows loaded, when the pass was a full sync.
    pub full_sync_rows: Option<u64>,
    /// Reviews arrived (their templates may be new to the cache).
    pub reviews_pulled: bool,
}

pub struct Syncer {
    store: Arc<LocalStore>,
    remote: Arc<HttpBackend>,
    status: watch::Sender<SyncStatus>,
    wake: Notify,
    /// One pass at a time (the loop and an explicit "sync now" share it).
    running: tokio::sync::Mutex<()>,
    policies_fetched: AtomicBool,
    /// A cache file still to be checked before the loop's first pass.
    unchecked: Option<std::path::PathBuf>,
    /// The check failed: nothing more is written to this file.
    damaged: AtomicBool,
    /// The server refused the token (its user was removed, or it was
    /// rotated): nothing more is queued in this user's name.
    token_refused: AtomicBool,
    /// Where this client remembers the server's log; when set, every good
    /// pass also witnesses the log.
    witness_dir: std::sync::OnceLock<std::path::PathBuf>,
    /// Whose cache this is, as the server says (for the inbox's copy).
    person: std::sync::OnceLock<String>,
}

fn signed_out_words(server: &str) -> String {
    format!("signed out: run `gavel auth login --url {server}` (unsent work is kept)")
}

/// Runs `work` on the cache off the async threads.
async fn blocking<T: Send + 'static>(
    store: &Arc<LocalStore>,
    work: impl FnOnce(&LocalStore) -> Result<T> + Send + 'static,
) -> Result<T> {
    let store = Arc::clone(store);
    crate::backend::blocking(move || work(&store)).await
}

impl Syncer {
    pub fn new(
        store: Arc<LocalStore>,
        remote: Arc<HttpBackend>,
        unchecked: Option<std::path::PathBuf>,
    ) -> Arc<Syncer> {
        let (status, _) = watch::channel(SyncStatus::default());
        Arc::new(Syncer {
            store,
            remote,
            status,
            wake: Notify::new(),
            running: tokio::sync::Mutex::new(()),
            policies_fetched: AtomicBool::new(false),
            unchecked,
            damaged: AtomicBool::new(false),
            token_refused: AtomicBool::new(false),
            witness_dir: std::sync::OnceLock::new(),
            person: std::sync::OnceLock::new(),
        })
    }

    pub fn subscribe(&self) -> watch::Receiver<SyncStatus> {
        self.status.subscribe()
    }

    pub fn status(&self) -> SyncStatus {
        self.status.borrow().clone()
    }

    /// Tells the screens that rows they show changed.
    fn rows_changed(&self) {
        self.status
            .send_modify(|status| status.generation = status.generation.wrapping_add(1));
    }

    /// Asks the loop for a pass now (after a change was queued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Syncs until the task is dropped.
    pub async fn run(self: Arc<Self>) {
        if let Some(path) = self.unchecked.clone() {
            let checked = blocking(&self.store, super::file::check).await;
            if let Err(damage) = checked {
                // Writing on would spread the damage: stop, and have the
                // next start set the file aside (the outbox is exported then).
                self.damaged.store(true, Ordering::SeqCst);
                let _ = crate::files::write(
                    &super::file::damage_marker(&path),
                    damage.to_string().as_bytes(),
                    crate::files::Existing::Replace,
                );
                self.status.send_modify(|status| {
                    status.problem = Some(format!(
                        "the offline cache failed its integrity check ({damage}); quit and start Gavel again to rebuild it — unsent changes are kept"
                    ));
                });
                return;
            }
        }
        loop {
            // Errors are in the status; the loop goes on.
            let _ = self.pass().await;
            let wait = if self.status.borrow().online == Some(true) {
                ONLINE_INTERVAL
            } else {
                OFFLINE_INTERVAL
            };
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                let next = deadline.min(tokio::time::Instant::now() + FOLLOW_INTERVAL);
                tokio::select! {
                    _ = tokio::time::sleep_until(next) => {}
                    _ = self.wake.notified() => break,
                }
                if tokio::time::Instant::now() >= deadline {
                    break;
                }
                self.follow().await;
            }
        }
    }

    /// Follows the server's change feed alone (no push, no witness), when
    /// online and no pass is running: rows that arrive show at once, and
    /// the inbox comes with them.
    async fn follow(&self) {
        if self.status.borrow().online != Some(true) || self.damaged.load(Ordering::SeqCst) {
            return;
        }
        let Ok(_one_at_a_time) = self.running.try_lock() else {
            return;
        };
        // Errors wait for the next full pass, which reports them.
        if let Ok(report) = self.pull().await
            && report.pulled_changes > 0
            && self.sync_inbox().await.is_ok()
        {
            // Again, so the screens read the inbox that came with the rows.
            self.rows_changed();
        }
    }

    /// Witness the server's log on every good pass, remembering it in `dir`.
    pub fn witness_in(&self, dir: std::path::PathBuf) {
        let _ = self.witness_dir.set(dir);
    }

    /// Checks the server's log against what was witnessed; a failure that
    /// is evidence stays on the status line.
    async fn witness(&self) {
        let Some(dir) = self.witness_dir.get() else {
            return;
        };
        if let Err(err) = crate::backend::witness::witness(&self.remote, dir).await
            && err.is_evidence()
        {
            let warning = err.to_string();
            self.status
                .send_modify(|status| status.witness_warning = Some(warning));
        }
    }

    /// Whether the person's sign-in ended (it could not be renewed): what
    /// they decide waits until they sign in again.
    pub fn signed_out(&self) -> bool {
        self.remote.sign_in_ended()
    }

    /// What to tell a person whose sign-in ended, in a few words.
    pub fn signed_out_words(&self) -> String {
        signed_out_words(&self.remote.location())
    }

    /// Whether the server refused this cache's token on the last pass.
    pub fn token_refused(&self) -> bool {
        self.token_refused.load(Ordering::SeqCst)
    }

    /// One pass: pull, push what is due, pull again if anything was pushed.
    pub async fn pass(&self) -> Result<PassReport> {
        let _one_at_a_time = self.running.lock().await;
        if self.damaged.load(Ordering::SeqCst) {
            return Err(BackendError::Storage(
                "the offline cache is damaged: restart Gavel to rebuild it".into(),
            ));
        }
        self.status.send_modify(|status| status.syncing = true);
        let result = self.pass_inner().await;
        if result.is_ok() {
            self.witness().await;
        }
        match &result {
            Ok(_) => self.token_refused.store(false, Ordering::SeqCst),
            Err(BackendError::Unauthenticated(_)) => {
                self.token_refused.store(true, Ordering::SeqCst)
            }
            Err(_) => {}
        }
        let now = Utc::now();
        // The server answered (even if what it said was refused) unless it
        // could not be reached at all.
        let online = match &result {
            Ok(_) => true,
            Err(BackendError::Unavailable(_)) => false,
            Err(_) => self.status.borrow().online.unwrap_or(true),
        };
        let synced = result.is_ok();
        let previous = self.status.borrow().clone();
        let was_online = previous.online.unwrap_or(true);
        let write_contact = (!online && was_online)
            || (synced
                && (!was_online
                    || previous
                        .last_synced_at
                        .is_none_or(|at| now - at >= CONTACT_WRITE_INTERVAL)));
        if write_contact {
            // Best effort: the status below is right even if this fails.
            let _ = blocking(&self.store, move |store| {
                store.write(|tx| mirror::record_contact(tx, online, now))
            })
            .await;
        }
        let signed_out = self.signed_out();
        let server = self.remote.location();
        self.status.send_modify(|status| {
            status.syncing = false;
            status.full_sync = None;
            status.online = Some(online);
            if online {
                status.offline_since = None;
            } else if status.offline_since.is_none() {
                status.offline_since = Some(now);
            }
            if synced {
                status.last_synced_at = Some(now);
            }
            status.problem = match &result {
                Ok(_) | Err(BackendError::Unavailable(_)) => None,
                Err(BackendError::Unauthenticated(_)) if signed_out => {
                    Some(signed_out_words(&server))
                }
                Err(err) => Some(format!("sync failed: {err}")),
            };
        });
        self.publish().await?;
        result
    }

    async fn pass_inner(&self) -> Result<PassReport> {
        let was_online = self.status.borrow().online;
        let mut report = self.pull().await?;
        if was_online != Some(true) {
            // Back in touch: what waited out a backoff goes now.
            let now = Utc::now();
            blocking(&self.store, move |store| {
                store.write(|tx| outbox::make_due(tx, now))
            })
            .await?;
        }
        let push = self.push(&mut report).await;
        if report.pushed > 0 || report.conflicts > 0 {
            let again = self.pull().await?;
            report.pulled_changes += again.pulled_changes;
        }
        push?;
        self.sync_person().await?;
        self.sync_inbox().await?;
        self.sync_delegations().await?;
        Ok(report)
    }

    /// Who the person is now: roles and teams granted or taken away since
    /// the last pass, so a decision made here is checked as the server
    /// will check it.
    /// Written only when it changed: an empty pass stays a read.
    async fn sync_person(&self) -> Result<()> {
        let me = self.remote.me().await?;
        let email = self.person.get_or_init(|| me.email.clone()).clone();
        let kept = blocking(&self.store, move |store| {
            store.read(|conn| crate::backend::local::reads_user(conn, &email))
        })
        .await?;
        let unchanged = kept.is_some_and(|kept| {
            (&kept.name, &kept.roles, &kept.teams, kept.service)
                == (&me.name, &me.roles, &me.teams, me.service)
        });
        if unchanged {
            return Ok(());
        }
        blocking(&self.store, move |store| {
            store.write(|tx| mirror::put_user(tx, &me))
        })
        .await
    }

    /// The delegations the person gave or received, ended ones too, so a
    /// decision made offline for someone is checked here as the server
    /// will check it.
    pub async fn sync_delegations(&self) -> Result<()> {
        let email = match self.person.get() {
            Some(email) => email.clone(),
            None => {
                let email = self.remote.me().await?.email;
                self.person.get_or_init(|| email).clone()
            }
        };
        let delegations = match self.remote.delegations(true).await {
            // A server from before delegations: nothing to keep.
            Err(BackendError::NotFound { .. }) => return Ok(()),
            other => other?,
        };
        blocking(&self.store, move |store| {
            store.write(|tx| {
                crate::backend::local::writes::keep_delegations(tx, &email, &delegations)
            })
        })
        .await
    }

    /// The person's inbox: what was read here goes to the server, then the
    /// copy is replaced by the server's (reading only goes one way, so the
    /// two never disagree for long).
    async fn sync_inbox(&self) -> Result<()> {
        let email = match self.person.get() {
            Some(email) => email.clone(),
            None => {
                let email = self.remote.me().await?.email;
                self.person.get_or_init(|| email).clone()
            }
        };
        let items = match self.remote.inbox().await {
            // A server from before inboxes: nothing to keep.
            Err(BackendError::NotFound { .. }) => return Ok(()),
            other => other?,
        };
        let (mine, theirs) = (email.clone(), items.clone());
        let read_here = blocking(&self.store, move |store| {
            store.read(|conn| {
                crate::backend::local::inbox::read_here_not_there(conn, &mine, &theirs)
            })
        })
        .await?;
        let mut items = items;
        if !read_here.is_empty() {
            // The server now holds them read too; no need to ask it again.
            self.remote.mark_read(&read_here).await?;
            for item in items
                .iter_mut()
                .filter(|item| read_here.contains(&item.event_id))
            {
                item.read = true;
            }
        }
        blocking(&self.store, move |store| {
            store.write(|tx| crate::backend::local::inbox::keep_inbox_copy(tx, &email, &items))
        })
        .await
    }

    /// Reads the cache's state into the published status (after a pass, and
    /// after the console queued a change).
    pub async fn publish(&self) -> Result<()> {
        let (items, contact) = blocking(&self.store, |store| {
            store.read(|conn| {
                let entries = outbox::entries(conn)?;
                let items = entries
                    .into_iter()
                    .map(|stored| pending_item(conn, stored))
                    .collect::<Result<Vec<_>>>()?;
                Ok((items, mirror::contact(conn)?))
            })
        })
        .await?;
        self.status.send_modify(|status| {
            status.items = items;
            let at = |ms: Option<i64>| ms.and_then(DateTime::<Utc>::from_timestamp_millis);
            // Before the first pass, the file says how things were left.
            if status.last_synced_at.is_none() {
                status.last_synced_at = at(contact.0);
                status.offline_since = at(contact.1);
            }
        });
        Ok(())
    }

    /// Makes every waiting change due now.
    pub async fn make_due(&self) -> Result<()> {
        let now = Utc::now();
        blocking(&self.store, move |store| {
            store.write(|tx| outbox::make_due(tx, now))
        })
        .await
    }

    /// Gives up an entry in conflict (or failed), at the user's word.
    pub async fn discard(&self, id: i64) -> Result<()> {
        let now = Utc::now();
        let discarded = blocking(&self.store, move |store| {
            store.write(|tx| outbox::discard(tx, id, now))
        })
        .await?;
        // The cache shows the server's state again for that entity (when it
        // can be asked; otherwise the next change to it brings it).
        if let Some(rows) = self.server_rows(&discarded.change).await {
            blocking(&self.store, move |store| {
                store.write(|tx| mirror::force(tx, &rows))
            })
            .await?;
            self.rows_changed();
        }
        self.publish().await
    }

    async fn push(&self, report: &mut PassReport) -> Result<()> {
        loop {
            let entries = blocking(&self.store, |store| store.read(outbox::entries)).await?;
            let plain: Vec<plan::OutboxEntry> =
                entries.iter().map(|stored| stored.entry.clone()).collect();
            let due = plan::next_to_push(&plain, Utc::now());
            if due.is_empty() {
                return Ok(());
            }
            for id in due {
                let Some(stored) = entries.iter().find(|stored| stored.entry.id == id) else {
                    continue;
                };
                let (rows, outcome, unreachable) = match self.send(stored).await {
                    Ok(rows) => (Some(rows), Outcome::Applied, None),
                    Err(err) => {
                        let unreachable = matches!(err, BackendError::Unavailable(_))
                            .then(|| BackendError::Unavailable(err.to_string()));
                        let outcome = plan::classify(&Err(err));
                        // Show the server's side of a conflict next to ours.
                        let rows = match outcome {
                            Outcome::Conflict(_) => self.server_rows(&stored.change).await,
                            _ => None,
                        };
                        (rows, outcome, unreachable)
                    }
                };
                match outcome {
                    Outcome::Applied => report.pushed += 1,
                    Outcome::Conflict(_) => report.conflicts += 1,
                    Outcome::Failed(_) => report.failed += 1,
                    Outcome::Retry(_) => {}
                }
                let after = plan::after_push(&stored.entry, &outcome, Utc::now());
                let refused = matches!(outcome, Outcome::Conflict(_));
                blocking(&self.store, move |store| {
                    store.write(|tx| {
                        outbox::settle(tx, id, after.as_ref())?;
                        match &rows {
                            Some(rows) if refused => mirror::force(tx, rows)?,
                            Some(rows) => mirror::upsert(tx, rows)?,
                            None => {}
                        }
                        Ok(())
                    })
                })
                .await?;
                if let Some(err) = unreachable {
                    // The server is away: the rest waits for the next pass.
                    return Err(err);
                }
            }
        }
    }

    /// Sends one change; the rows the server answered with.
    async fn send(&self, stored: &StoredEntry) -> Result<ChangedEntities> {
        let mut rows = ChangedEntities::default();
        match &stored.change {
            Change::Decision(decision) => {
                rows.workflows.push(self.remote.decide(decision).await?);
            }
            Change::ReviewDraft {
                review_id,
                answers,
                form_state,
            } => {
                let review = self
                    .remote
                    .save_review_draft(review_id, answers, form_state.as_ref())
                    .await?;
                rows.reviews.push(review);
            }
            Change::ReviewSubmit { review_id, answers } => {
                match self.remote.submit_review(review_id, answers).await {
                    Ok(review) => rows.reviews.push(review),
                    Err(BackendError::Conflict(why)) => {
                        // A submission whose answer was lost on the way back
                        // is already there: the same answers, submitted.
                        let review = self.remote.review(review_id).await?;
                        if review.status == ReviewStatus::Submitted && review.answers == *answers {
                            rows.reviews.push(review);
                        } else {
                            return Err(BackendError::Conflict(why));
                        }
                    }
                    Err(err) => return Err(err),
                }
            }
        }
        Ok(rows)
    }

    /// The server's current row of a change's entity (best effort).
    async fn server_rows(&self, change: &Change) -> Option<ChangedEntities> {
        let mut rows = ChangedEntities::default();
        match change {
            Change::Decision(decision) => {
                let workflow = self.remote.workflow(&decision.workflow_id).await.ok()?;
                rows.workflows.push(workflow);
            }
            Change::ReviewDraft { review_id, .. } | Change::ReviewSubmit { review_id, .. } => {
                rows.reviews.push(self.remote.review(review_id).await.ok()?);
            }
        }
        Some(rows)
    }

    async fn pull(&self) -> Result<PassReport> {
        let synced = blocking(&self.store, |store| store.read(mirror::synced_cursor)).await?;
        let report = match synced {
            None => self.full_sync().await?,
            Some(cursor) => match self.follow_feed(cursor).await? {
                Some(report) => report,
                None => self.full_sync().await?,
            },
        };
        if !self.policies_fetched.load(Ordering::Relaxed) {
            let policies = self.remote.policies().await?;
            blocking(&self.store, move |store| {
                store.write(|tx| mirror::replace_policies(tx, &policies))
            })
            .await?;
            self.policies_fetched.store(true, Ordering::Relaxed);
        }
        // Only new reviews can name a template the cache lacks (the check
        // reads every review, so an empty sync skips it).
        let missing = if report.reviews_pulled || report.full_sync_rows.is_some() {
            blocking(&self.store, |store| store.read(mirror::missing_templates)).await?
        } else {
            Vec::new()
        };
        for template_id in missing {
            let template = self.remote.review_template(&template_id).await?;
            blocking(&self.store, move |store| {
                store.write(|tx| mirror::put_template(tx, &template))
            })
            .await?;
        }
        if report.pulled_changes > 0 || report.full_sync_rows.is_some() {
            self.rows_changed();
        }
        Ok(report)
    }

    /// Applies the feed from `cursor` to the head; `None` when the server
    /// no longer knows the cursor and a full sync is due.
    async fn follow_feed(&self, mut cursor: i64) -> Result<Option<PassReport>> {
        let mut report = PassReport::default();
        loop {
            let page = match self.remote.changes(cursor, FEED_PAGE).await? {
                FeedAnswer::Resync => return Ok(None),
                FeedAnswer::Page(page) => page,
            };
            let sequence: Vec<i64> = page.changes.iter().map(|change| change.seq).collect();
            // Checked before anything is written: a bad page leaves the
            // cursor where it was.
            plan::accept_page(cursor, &sequence, page.next)
                .map_err(|err| BackendError::Invalid(format!("the server's change page: {err}")))?;
            if page.changes.is_empty() {
                return Ok(Some(report));
            }
            let count = page.changes.len();
            let head = page.head;
            report.reviews_pulled |= !page.entities.reviews.is_empty();
            cursor = blocking(&self.store, move |store| {
                store.write(|tx| mirror::apply_page(tx, &page))
            })
            .await?;
            report.pulled_changes += count;
            if cursor >= head {
                return Ok(Some(report));
            }
        }
    }

    /// Builds the mirror again from snapshot pages, then follows the feed
    /// from the first page's head. Fetching the next page overlaps applying
    /// the last.
    async fn full_sync(&self) -> Result<PassReport> {
        self.status.send_modify(|status| {
            status.full_sync = Some(Progress {
                table: SNAPSHOT_TABLES[0].into(),
                rows: 0,
            });
        });
        let me = self.remote.me().await?;
        let first = self
            .remote
            .snapshot(SNAPSHOT_TABLES[0], "", SNAPSHOT_PAGE)
            .await?;
        let head = first.head;
        blocking(&self.store, move |store| {
            store.write(|tx| {
                mirror::begin_full_sync(tx)?;
                mirror::put_user(tx, &me)
            })
        })
        .await?;
        let (pages, mut incoming) = mpsc::channel::<Result<(&'static str, SnapshotPage)>>(2);
        let remote = Arc::clone(&self.remote);
        let fetcher = tokio::spawn(async move {
            let mut first = Some(first);
            for table in SNAPSHOT_TABLES {
                let mut after = String::new();
                loop {
                    let page = match first.take() {
                        Some(page) => Ok(page),
                        None => remote.snapshot(table, &after, SNAPSHOT_PAGE).await,
                    };
                    let next = page.as_ref().ok().and_then(|page| page.next.clone());
                    let failed = page.is_err();
                    if pages.send(page.map(|page| (table, page))).await.is_err() || failed {
                        return;
                    }
                    match next {
                        Some(next) => after = next,
                        None => break,
                    }
                }
            }
        });
        let mut rows = 0u64;
        while let Some(page) = incoming.recv().await {
            let (table, page) = page?;
            let count = page_rows(&page);
            blocking(&self.store, move |store| {
                store.write(|tx| mirror::apply_snapshot(tx, &page))
            })
            .await?;
            rows += count;
            self.status.send_modify(|status| {
                status.full_sync = Some(Progress {
                    table: table.into(),
                    rows,
                });
            });
        }
        fetcher
            .await
            .map_err(|err| BackendError::Storage(format!("snapshot fetch failed: {err}")))?;
        blocking(&self.store, move |store| {
            store.write(|tx| mirror::finish_full_sync(tx, head))
        })
        .await?;
        self.policies_fetched.store(false, Ordering::Relaxed);
        let mut report = self.follow_feed(head).await?.unwrap_or_default();
        report.full_sync_rows = Some(rows);
        Ok(report)
    }
}

fn page_rows(page: &SnapshotPage) -> u64 {
    let rows = &page.rows;
    (rows.agents.len()
        + rows.workflows.len()
        + rows.reviews.len()
        + rows.deployments.len()
        + rows.audits.len()) as u64
}

fn pending_item(conn: &crate::db::Connection, stored: StoredEntry) -> Result<PendingItem> {
    let server_now = match (&stored.change, stored.entry.state) {
        (Change::Decision(decision), EntryState::Conflict) => {
            match reads_workflow(conn, &decision.workflow_id) {
                Ok(workflow) => Some(describe_workflow(&workflow, decision.step_id)),
                Err(_) => None,
            }
        }
        _ => None,
    };
    Ok(PendingItem {
        id: stored.entry.id,
        entity: stored.entry.entity,
        state: stored.entry.state,
        change: stored.change.describe(),
        made_at: stored.created_at,
        attempts: stored.entry.attempts,
        server_answer: stored.entry.server_answer,
        server_now,
    })
}

/// What the server holds for a step someone else may have decided.
pub fn describe_workflow(workflow: &Workflow, step_id: u32) -> String {
    let step = workflow.steps.iter().find(|step| step.step_id == step_id);
    match step {
        Some(step) if step.status != StepStatus::Pending => {
            let verdict = match step.status {
                StepStatus::Approved => "approved",
                StepStatus::Rejected => "rejected",
                _ => "skipped",
            };
            let by = step
                .approver_email
                .as_deref()
                .map(|who| format!(" by {who}"))
                .unwrap_or_default();
            let comment = step
                .comment
                .as_deref()
                .filter(|comment| !comment.trim().is_empty())
                .map(|comment| format!(": \"{comment}\""))
                .unwrap_or_default();
            format!(
                "step {step_id} {verdict}{by}{comment} (workflow {}, version {})",
                workflow.status.as_str(),
                workflow.version
            )
        }
        _ => format!(
            "step {step_id} still open (workflow {}, version {})",
            workflow.status.as_str(),
            workflow.version
        ),
    }
}
