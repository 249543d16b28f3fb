//! Appending to and verifying the hash-chained trail in SQLite.

use crate::backend::VerifyReport;
use crate::db::{Connection, OptionalExtension, params};

use super::rows::{from_ms, to_ms};
use crate::backend::{Identity, Result};
use crate::domain::trail::{
    ChainBreak, ChainVerifier, GENESIS_HASH, TrailEntry, TrailEvent, canonical, hash_of,
};

thread_local! {
    /// The person signed in for the write under way on this thread, as the
    /// identity provider asserted them (see `asserting`).
    static ASSERTED: std::cell::RefCell<Option<(String, Identity)>> =
        const { std::cell::RefCell::new(None) };
}

/// While the guard lives, events this thread appends with `email` as their
/// actor record the identity the provider asserted for this request. Set
/// around one request's write, so no write function needs to carry it.
pub fn asserting(email: &str, identity: &Identity) -> AssertedIdentity {
    ASSERTED.with(|asserted| {
        *asserted.borrow_mut() = Some((email.to_owned(), identity.clone()));
    });
    AssertedIdentity(())
}

/// Ends `asserting` when dropped.
pub struct AssertedIdentity(());

impl Drop for AssertedIdentity {
    fn drop(&mut self) {
        ASSERTED.with(|asserted| asserted.borrow_mut().take());
    }
}

/// The entry with `"identity"` in its details when its actor is the person
/// signed in for this write.
fn with_asserted_identity(entry: &TrailEntry) -> Option<TrailEntry> {
    let identity = ASSERTED.with(|asserted| {
        asserted
            .borrow()
            .as_ref()
            .filter(|(email, _)| email.eq_ignore_ascii_case(&entry.actor))
            .map(|(_, identity)| identity.clone())
    })?;
    let mut details: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&entry.details).ok()?;
    if details.contains_key("identity") {
        return None;
    }
    details.insert("identity".into(), serde_json::to_value(identity).ok()?);
    Some(TrailEntry {
        details: serde_json::Value::Object(details).to_string(),
        ..entry.clone()
    })
}

/// Appends events, carrying the chain head between them so bulk writers do
/// not look it up each time. Use within one transaction.
pub struct TrailWriter {
    chain: ChainHead,
}

impl TrailWriter {
    /// Picks up the chain where the store left it.
    pub fn resume(conn: &Connection) -> Result<TrailWriter> {
        Ok(TrailWriter {
            chain: ChainHead::resume(conn)?,
        })
    }

    pub fn append(&mut self, conn: &Connection, entry: &TrailEntry) -> Result<i64> {
        let asserted = with_asserted_identity(entry);
        let event = self
            .chain
            .next(Some(conn), asserted.unwrap_or_else(|| entry.clone()))?;
        insert_events(conn, std::slice::from_ref(&event))?;
        Ok(event.seq)
    }
}

/// The head of the chain and the log's frontier: what hashing the next
/// event needs, and nothing of the store once started (`detached`), so a
/// bulk writer can hash on another thread.
pub struct ChainHead {
    prev_hash: String,
    prev_seq: i64,
    log: super::log::LogAppender,
}

/// An event hashed and ready to store: its row, and the log hashes it
/// completes (stored from index `first_hash`).
pub struct HashedEvent {
    pub seq: i64,
    pub entry: TrailEntry,
    pub hash: String,
    pub first_hash: u64,
    pub log_hashes: Vec<tlog_tiles::tlog::Hash>,
}

impl ChainHead {
    /// Where the store left the chain; the log's frontier is read as the
    /// first events need it.
    pub fn resume(conn: &Connection) -> Result<ChainHead> {
        let head: Option<(i64, String)> = conn
            .query_row(
                "SELECT seq, hash FROM trail ORDER BY seq DESC LIMIT 1",
                crate::db::params![],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let (prev_seq, prev_hash) = head.unwrap_or((0, GENESIS_HASH.to_owned()));
        Ok(ChainHead {
            prev_hash,
            prev_seq,
            log: Default::default(),
        })
    }

    /// Where the store left the chain, with the log's whole frontier read
    /// now: it hashes without the store from here on.
    pub fn detached(conn: &Connection) -> Result<ChainHead> {
        let mut head = ChainHead::resume(conn)?;
        head.log = super::log::LogAppender::at(conn, head.prev_seq as u64)?;
        Ok(head)
    }

    /// The next event, hashed (`store` serves log hashes from before this
    /// head, when it was not detached).
    pub fn next(&mut self, store: Option<&Connection>, entry: TrailEntry) -> Result<HashedEvent> {
        let seq = self.prev_seq + 1;
        let leaf = canonical(&self.prev_hash, seq, &entry);
        let hash = hash_of(&leaf);
        let (first_hash, log_hashes) = self.log.hashes(store, (seq - 1) as u64, leaf.as_bytes())?;
        self.prev_seq = seq;
        self.prev_hash.clone_from(&hash);
        Ok(HashedEvent {
            seq,
            entry,
            hash,
            first_hash,
            log_hashes,
        })
    }
}

/// Events per statement when storing many: ten parameters each, well
/// under both engines' limits.
const EVENTS_PER_STATEMENT: usize = 100;

/// Stores hashed events, in order: their rows and their log hashes.
pub fn insert_events(conn: &Connection, events: &[HashedEvent]) -> Result<()> {
    for chunk in events.chunks(EVENTS_PER_STATEMENT) {
        let at: Vec<i64> = chunk.iter().map(|event| to_ms(event.entry.at)).collect();
        let values: Vec<&dyn crate::db::ToSql> = chunk
            .iter()
            .zip(&at)
            .flat_map(|(event, at)| {
                let entry = &event.entry;
                [
                    &event.seq as &dyn crate::db::ToSql,
                    at,
                    &entry.actor,
                    &entry.entity_type,
                    &entry.entity_id,
                    &entry.action,
                    &entry.before_version,
                    &entry.after_version,
                    &entry.details,
                    &event.hash,
                ]
            })
            .collect();
        conn.insert_rows(
            &format!("INSERT INTO trail ({EVENT_COLUMNS})"),
            10,
            &values,
            "",
        )?;
    }
    // An event's log hashes follow the previous event's: consecutive.
    let Some(first) = events.first().map(|event| event.first_hash) else {
        return Ok(());
    };
    let hashes: Vec<tlog_tiles::tlog::Hash> = events
        .iter()
        .flat_map(|event| event.log_hashes.iter().copied())
        .collect();
    super::log::store_hashes(conn, first, &hashes)
}

/// The newest event's sequence number (0 for an empty trail).
pub fn head(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(seq), 0) FROM trail",
        crate::db::params![],
        |row| row.get(0),
    )?)
}

/// Appends one event at the chain head.
pub fn append(conn: &Connection, entry: &TrailEntry) -> Result<i64> {
    TrailWriter::resume(conn)?.append(conn, entry)
}

const EVENT_COLUMNS: &str =
    "seq, at, actor, entity_type, entity_id, action, before_version, after_version, details, hash";

type RawEvent = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    String,
    String,
);

fn raw_event(row: &crate::db::Row<'_>) -> crate::db::Result<RawEvent> {
    row.try_into()
}

fn parse_event(raw: RawEvent) -> Result<TrailEvent> {
    let (
        seq,
        at,
        actor,
        entity_type,
        entity_id,
        action,
        before_version,
        after_version,
        details,
        hash,
    ) = raw;
    Ok(TrailEvent {
        seq,
        entry: TrailEntry {
            at: from_ms(at)?,
            actor,
            entity_type,
            entity_id,
            action,
            before_version,
            after_version,
            details,
        },
        hash,
    })
}

/// One entity's events, oldest first.
pub fn for_entity(
    conn: &Connection,
    entity_type: &str,
    entity_id: &str,
) -> Result<Vec<TrailEvent>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM trail WHERE entity_type = ?1 AND entity_id = ?2 ORDER BY seq"
    ))?;
    let raws = statement
        .query_map(params![entity_type, entity_id], raw_event)?
        .collect::<crate::db::Result<Vec<_>>>()?;
    raws.into_iter().map(parse_event).collect()
}

/// Checks the chain and the Merkle log's stored hashes, then replays every
/// entity from its events.
pub fn verify(conn: &Connection, now: chrono::DateTime<chrono::Utc>) -> Result<VerifyReport> {
    let mut report = verify_chain(conn)?;
    if report.broken.is_some() {
        return Ok(report);
    }
    let stored_root = super::log::size(conn)
        .and_then(|size| super::log::root(conn, size))
        .map(|root| crate::domain::merkle::hex(&root));
    match stored_root {
        Ok(root) if Some(&root) == report.log_root.as_ref() => {}
        Ok(root) => {
            report.broken = Some(ChainBreak {
                seq: report.events as i64,
                reason: format!(
                    "the Merkle log's stored hashes give root {root}, but the events give {}",
                    report.log_root.as_deref().unwrap_or("nothing")
                ),
            });
            return Ok(report);
        }
        Err(err) => {
            report.broken = Some(ChainBreak {
                seq: report.events as i64,
                reason: format!("the Merkle log is damaged: {err}"),
            });
            return Ok(report);
        }
    }
    report.replay = Some(super::replay::verify(conn)?);
    // What the store keeps so it need not recount: recounted here.
    report.figures_differ = kept_figures_that_differ(conn, now)?;
    Ok(report)
}

/// Every kept figure recounted from the records (the obligation coverage
/// judged afresh at `now`); those that differ.
pub fn kept_figures_that_differ(
    conn: &Connection,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<String>> {
    let mut differ = super::reads::standings_that_differ(conn)?;
    differ.extend(super::writes::coverage_that_differs(conn, now)?);
    differ.extend(super::reads::coverage_days_that_differ(conn)?);
    differ.extend(super::reads::standing_days_that_differ(conn)?);
    differ.extend(super::reads::blocked_counts_that_differ(conn)?);
    differ.extend(super::reads::figures_that_differ(conn)?);
    Ok(differ)
}

/// Streams the whole trail through the chain verifier.
pub fn verify_chain(conn: &Connection) -> Result<VerifyReport> {
    let mut verifier = ChainVerifier::default();
    let mut statement =
        conn.prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM trail ORDER BY seq"))?;
    let mut rows = statement.query(crate::db::params![])?;
    while let Some(row) = rows.next()? {
        let event = match raw_event(&row).map_err(Into::into).and_then(parse_event) {
            Ok(event) => event,
            Err(err) => {
                let seq = row.get::<i64>(0).unwrap_or(verifier.checked() as i64 + 1);
                return Ok(VerifyReport {
                    events: verifier.checked(),
                    head: verifier.head().to_owned(),
                    broken: Some(ChainBreak {
                        seq,
                        reason: format!("unreadable event: {err}"),
                    }),
                    replay: None,
                    log_root: None,
                    figures_differ: Vec::new(),
                });
            }
        };
        if let Err(broken) = verifier.push(&event) {
            return Ok(VerifyReport {
                events: verifier.checked(),
                head: verifier.head().to_owned(),
                broken: Some(broken),
                replay: None,
                log_root: None,
                figures_differ: Vec::new(),
            });
        }
    }
    Ok(VerifyReport {
        events: verifier.checked(),
        head: verifier.head().to_owned(),
        broken: None,
        replay: None,
        log_root: Some(verifier.log_root()),
        figures_differ: Vec::new(),
    })
}

/// One entity change, for sync: the trail is append-only and its sequence
/// number is a monotonic cursor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Change {
    pub seq: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub entity_type: String,
    pub entity_id: String,
    pub action: String,
}

/// Changes after `since`, oldest first.
pub fn changes_since(conn: &Connection, since: i64, limit: u32) -> Result<Vec<Change>> {
    let mut statement = conn.prepare_cached(
        "SELECT seq, at, entity_type, entity_id, action FROM trail WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let raws = statement
        .query_map(params![since, limit.clamp(1, 10_000)], |row| {
            Ok((
                row.get::<i64>(0)?,
                row.get::<i64>(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })?
        .collect::<crate::db::Result<Vec<(i64, i64, String, String, String)>>>()?;
    raws.into_iter()
        .map(|(seq, at, entity_type, entity_id, action)| {
            Ok(Change {
                seq,
                at: from_ms(at)?,
                entity_type,
                entity_id,
                action,
            })
        })
        .collect()
}

/// The Merkle root of the first `size` events, recomputed from the events
/// themselves (never from stored hashes); `None` when the trail holds fewer.
pub fn root_of_first(conn: &Connection, size: u64) -> Result<std::result::Result<String, u64>> {
    let mut verifier = ChainVerifier::default();
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM trail WHERE seq <= ?1 ORDER BY seq"
    ))?;
    let mut rows = statement.query([size as i64])?;
    while let Some(row) = rows.next()? {
        let event = parse_event(raw_event(&row)?)?;
        verifier.push(&event).map_err(|broken| {
            crate::backend::BackendError::Invalid(format!("the hash chain is broken: {broken}"))
        })?;
    }
    if verifier.checked() < size {
        return Ok(Err(verifier.checked()));
    }
    Ok(Ok(verifier.log_root()))
}

/// An event with its proof in the log's tree of `size` leaves (an evidence
/// pack's line, an attestation's trail).
pub fn packed(
    conn: &Connection,
    event: crate::domain::trail::TrailEvent,
    size: u64,
) -> Result<crate::domain::log_proof::PackedEvent> {
    let prev_hash: String = if event.seq == 1 {
        crate::domain::trail::GENESIS_HASH.to_owned()
    } else {
        conn.prepare_cached("SELECT hash FROM trail WHERE seq = ?1")?
            .query_row([event.seq - 1], |row| row.get(0))?
    };
    let proof = super::log::inclusion_proof(conn, (event.seq - 1) as u64, size)?
        .iter()
        .map(crate::domain::merkle::hex)
        .collect();
    Ok(crate::domain::log_proof::PackedEvent {
        leaf: crate::domain::trail::canonical(&prev_hash, event.seq, &event.entry),
        seq: event.seq,
        prev_hash,
        hash: event.hash,
        entry: event.entry,
        proof,
    })
}
