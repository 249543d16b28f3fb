//! A trail event with its place in the signed log: the exact leaf the log
//! hashed and its RFC 6962 inclusion proof, so anyone holding the log's key
//! can check the event is in the record and says what it says (evidence
//! packs and attestations carry them).

use serde::{Deserialize, Serialize};
use tlog_tiles::tlog;

use crate::domain::merkle;
use crate::domain::trail::{TrailEntry, canonical, hash_of};

/// One event with its proof (a line of a pack's `trail/events.jsonl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedEvent {
    pub seq: i64,
    /// The hash of the event before it in the whole trail (its chain link).
    pub prev_hash: String,
    pub hash: String,
    #[serde(flatten)]
    pub entry: TrailEntry,
    /// The exact text the log hashed as leaf `seq - 1` (a JSON array of
    /// the fields above), so a checker needs no Gavel code to find it.
    pub leaf: String,
    /// The RFC 6962 inclusion proof of leaf `seq - 1` in the checkpoint's
    /// tree, hex, leaf to root.
    pub proof: Vec<String>,
}

/// Checks one event against a checkpoint's tree (`size` leaves, `root`):
/// its leaf is its fields, its hash its leaf's, and the proof places it in
/// the tree. Returns the problems, in words.
pub fn check_event(event: &PackedEvent, size: u64, root: tlog::Hash) -> Vec<String> {
    let mut problems = Vec::new();
    let leaf = canonical(&event.prev_hash, event.seq, &event.entry);
    if leaf != event.leaf {
        problems.push(format!(
            "event {}'s leaf is not its fields (one or the other was changed)",
            event.seq
        ));
    }
    if hash_of(&leaf) != event.hash {
        problems.push(format!(
            "event {} does not hash to the hash it carries (its content was changed)",
            event.seq
        ));
    }
    let index = u64::try_from(event.seq - 1)
        .ok()
        .filter(|index| *index < size);
    let proof: Option<Vec<tlog::Hash>> = event
        .proof
        .iter()
        .map(|hash| merkle::from_hex(hash))
        .collect();
    match (index, proof) {
        (None, _) => problems.push(format!(
            "event {} is not covered by the checkpoint of {size} events",
            event.seq
        )),
        (_, None) => problems.push(format!(
            "event {}'s proof is not a list of hashes",
            event.seq
        )),
        (Some(index), Some(proof)) => {
            let leaf_hash = tlog::record_hash(leaf.as_bytes());
            if tlog::check_record(&proof, size, root, index, leaf_hash).is_err() {
                problems.push(format!(
                    "event {} is not in the log the checkpoint signs",
                    event.seq
                ));
            }
        }
    }
    problems
}
