//! The append-only, hash-chained audit trail.
//!
//! Each event's hash covers its fields and the previous event's hash, so
//! editing, deleting or reordering any stored event breaks every later link.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The hash that precedes the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event before it is chained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrailEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub entity_type: String,
    pub entity_id: String,
    pub action: String,
    pub before_version: Option<i64>,
    pub after_version: Option<i64>,
    /// JSON text, hashed exactly as stored.
    pub details: String,
}

/// An event as stored: its place in the chain and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrailEvent {
    pub seq: i64,
    #[serde(flatten)]
    pub entry: TrailEntry,
    pub hash: String,
}

/// The hash of event `seq` given its predecessor's hash.
pub fn chain_hash(prev_hash: &str, seq: i64, entry: &TrailEntry) -> String {
    hash_of(&canonical(prev_hash, seq, entry))
}

/// The SHA-256 of an event's canonical encoding, hex.
pub fn hash_of(canonical: &str) -> String {
    crate::domain::digest::sha256_hex(canonical)
}

/// The canonical encoding of event `seq`: what its chain hash covers, and
/// its leaf in the Merkle log.
pub fn canonical(prev_hash: &str, seq: i64, entry: &TrailEntry) -> String {
    // A JSON array is an unambiguous encoding: no field can bleed into the
    // next. A tuple serializes as that array without building a JSON tree.
    let at = entry
        .at
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    serde_json::to_string(&(
        prev_hash,
        seq,
        at,
        &entry.actor,
        &entry.entity_type,
        &entry.entity_id,
        &entry.action,
        entry.before_version,
        entry.after_version,
        &entry.details,
    ))
    // Strings and integers always serialize.
    .unwrap_or_default()
}

/// Where and how the chain broke.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, utoipa::ToSchema,
)]
#[error("audit trail broken at event {seq}: {reason}")]
pub struct ChainBreak {
    pub seq: i64,
    pub reason: String,
}

/// Verifies a chain one event at a time, so a store of any size streams
/// through it.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    prev_hash: String,
    prev_seq: i64,
    checked: u64,
    /// The Merkle log's root recomputed from the events themselves.
    root: crate::domain::merkle::RootBuilder,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            prev_hash: GENESIS_HASH.to_owned(),
            prev_seq: 0,
            checked: 0,
            root: crate::domain::merkle::RootBuilder::default(),
        }
    }
}

impl ChainVerifier {
    pub fn push(&mut self, event: &TrailEvent) -> Result<(), ChainBreak> {
        if event.seq != self.prev_seq + 1 {
            return Err(ChainBreak {
                seq: event.seq,
                reason: format!(
                    "expected event {} next: events are missing or reordered",
                    self.prev_seq + 1
                ),
            });
        }
        let leaf = canonical(&self.prev_hash, event.seq, &event.entry);
        let expected = hash_of(&leaf);
        if expected != event.hash {
            return Err(ChainBreak {
                seq: event.seq,
                reason: "hash does not match the event's contents: it was altered".into(),
            });
        }
        self.root.push(leaf.as_bytes());
        self.prev_hash = expected;
        self.prev_seq = event.seq;
        self.checked += 1;
        Ok(())
    }

    /// The Merkle root of the events checked so far, from the events alone.
    pub fn log_root(&self) -> String {
        crate::domain::merkle::hex(&self.root.root())
    }

    /// Events checked so far.
    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// The hash of the last event checked (the chain head).
    pub fn head(&self) -> &str {
        &self.prev_hash
    }
}

/// Verifies a whole chain in memory; returns the number of events.
pub fn verify<'a>(events: impl IntoIterator<Item = &'a TrailEvent>) -> Result<u64, ChainBreak> {
    let mut verifier = ChainVerifier::default();
    for event in events {
        verifier.push(event)?;
    }
    Ok(verifier.checked())
}

/// Appends entries to a chain held in memory (the store does the same in SQL).
pub fn append(chain: &mut Vec<TrailEvent>, entry: TrailEntry) {
    let (prev_hash, prev_seq) = chain
        .last()
        .map_or((GENESIS_HASH, 0), |last| (last.hash.as_str(), last.seq));
    let seq = prev_seq + 1;
    let hash = chain_hash(prev_hash, seq, &entry);
    chain.push(TrailEvent { seq, entry, hash });
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(action: &str) -> TrailEntry {
        TrailEntry {
            at: Utc.with_ymd_and_hms(2026, 5, 4, 12, 0, 0).unwrap(),
            actor: "co@example.com".into(),
            entity_type: "workflow".into(),
            entity_id: "wf-1".into(),
            action: action.into(),
            before_version: Some(1),
            after_version: Some(2),
            details: r#"{"step_id":1}"#.into(),
        }
    }

    fn chain() -> Vec<TrailEvent> {
        let mut chain = Vec::new();
        for action in ["created", "approved", "rejected"] {
            append(&mut chain, entry(action));
        }
        chain
    }

    #[test]
    fn an_untouched_chain_verifies() {
        assert_eq!(verify(&chain()), Ok(3));
        assert_eq!(verify(&[]), Ok(0));
    }

    #[test]
    fn hashes_are_stable_across_releases() {
        // Changing the canonical encoding would orphan every stored trail.
        let mut chain = Vec::new();
        append(&mut chain, entry("created"));
        assert_eq!(chain[0].hash.len(), 64);
        assert_eq!(
            chain[0].hash,
            chain_hash(GENESIS_HASH, 1, &entry("created"))
        );
        assert_ne!(
            chain[0].hash,
            chain_hash(GENESIS_HASH, 2, &entry("created"))
        );
    }

    #[test]
    fn the_canonical_encoding_is_exactly_this_array() {
        // Every stored trail was hashed over these bytes.
        let mut created = entry("created");
        created.before_version = None;
        assert_eq!(
            canonical(GENESIS_HASH, 7, &created),
            format!(
                r#"["{GENESIS_HASH}",7,"2026-05-04T12:00:00.000Z","co@example.com","workflow","wf-1","created",null,2,"{{\"step_id\":1}}"]"#
            )
        );
    }

    #[test]
    fn an_edited_field_is_detected() {
        let mut chain = chain();
        chain[1].entry.actor = "mallory@example.com".into();
        assert_eq!(verify(&chain).unwrap_err().seq, 2);
        let mut chain = self::chain();
        chain[2].entry.details = r#"{"step_id":2}"#.into();
        assert!(verify(&chain).unwrap_err().reason.contains("altered"));
    }

    #[test]
    fn a_deleted_or_reordered_event_is_detected() {
        let mut chain = chain();
        chain.remove(1);
        assert_eq!(verify(&chain).unwrap_err().seq, 3);
        let mut chain = self::chain();
        chain.swap(0, 1);
        assert!(verify(&chain).is_err());
    }

    #[test]
    fn a_rehashed_forgery_still_breaks_the_next_link() {
        let mut chain = chain();
        chain[0].entry.actor = "mallory@example.com".into();
        chain[0].hash = chain_hash(GENESIS_HASH, 1, &chain[0].entry);
        assert_eq!(verify(&chain).unwrap_err().seq, 2);
    }
}
