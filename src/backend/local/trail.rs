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
    prev_hash: String,
    prev_seq: i64,
}

impl TrailWriter {
    /// Picks up the chain where the store left it.
    pub fn resume(conn: &Connection) -> Result<TrailWriter> {
        let head: Option<(i64, String)> = conn
            .query_row(
                "SELECT seq, hash FROM trail ORDER BY seq DESC LIMIT 1",
                crate::db::params![],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let (prev_seq, prev_hash) = head.unwrap_or((0, GENESIS_HASH.to_owned()));
        Ok(TrailWriter {
            prev_hash,
            prev_seq,
        })
    }

    pub fn append(&mut self, conn: &Connection, entry: &TrailEntry) -> Result<i64> {
        let asserted = with_asserted_identity(entry);
        let entry = asserted.as_ref().unwrap_or(entry);
        let seq = self.prev_seq + 1;
        let leaf = canonical(&self.prev_hash, seq, entry);
        let hash = hash_of(&leaf);
        super::log::append_leaf(conn, (seq - 1) as u64, leaf.as_bytes())?;
        conn.prepare_cached(
            "INSERT INTO trail (seq, at, actor, entity_type, entity_id, action, before_version, after_version, details, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            seq,
            to_ms(entry.at),
            entry.actor,
            entry.entity_type,
            entry.entity_id,
            entry.action,
            entry.before_version,
            entry.after_version,
            entry.details,
            hash,
        ])?;
        self.prev_seq = seq;
        self.prev_hash = hash;
        Ok(seq)
    }
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
pub fn verify(conn: &Connection) -> Result<VerifyReport> {
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
    report.figures_differ = kept_figures_that_differ(conn)?;
    Ok(report)
}

/// Every kept figure recounted from the records; those that differ.
pub fn kept_figures_that_differ(conn: &Connection) -> Result<Vec<String>> {
    let mut differ = super::reads::standings_that_differ(conn)?;
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
