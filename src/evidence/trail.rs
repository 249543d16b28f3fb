//! The trail events a pack carries, each with its place in the log and the
//! proof that the signed checkpoint covers it: anyone holding the log's key
//! can check that an event is in the record and says what it says.

use serde::{Deserialize, Serialize};
use tlog_tiles::tlog;

use crate::domain::checkpoint;
use crate::domain::merkle;
use crate::domain::trail::{TrailEntry, canonical, hash_of};

/// One event as `trail/events.jsonl` holds it.
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

/// Checks every event against the checkpoint (signed by `key`): its hash
/// is its content's, and the tree the checkpoint signs holds it. Returns
/// the checkpoint's size and the problems found, in words.
pub fn check(
    events: &[u8],
    checkpoint_note: &str,
    key: &str,
) -> (Option<u64>, Vec<String>, Vec<PackedEvent>) {
    let verified = match checkpoint::open(checkpoint_note, key) {
        Ok(verified) => verified,
        Err(err) => {
            return (
                None,
                vec![format!("trail/checkpoint.txt: {err}")],
                Vec::new(),
            );
        }
    };
    let mut problems = Vec::new();
    let mut parsed = Vec::new();
    for (number, line) in events.split(|byte| *byte == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let event: PackedEvent = match serde_json::from_slice(line) {
            Ok(event) => event,
            Err(err) => {
                problems.push(format!("trail/events.jsonl line {}: {err}", number + 1));
                continue;
            }
        };
        let leaf = canonical(&event.prev_hash, event.seq, &event.entry);
        if leaf != event.leaf {
            problems.push(format!(
                "trail/events.jsonl: event {}'s leaf is not its fields (one or the other was changed)",
                event.seq
            ));
        }
        if hash_of(&leaf) != event.hash {
            problems.push(format!(
                "trail/events.jsonl: event {} does not hash to the hash it carries (its content was changed)",
                event.seq
            ));
        }
        let index = u64::try_from(event.seq - 1)
            .ok()
            .filter(|index| *index < verified.size);
        let proof: Option<Vec<tlog::Hash>> = event
            .proof
            .iter()
            .map(|hash| merkle::from_hex(hash))
            .collect();
        match (index, proof) {
            (None, _) => problems.push(format!(
                "trail/events.jsonl: event {} is not covered by the checkpoint of {} events",
                event.seq, verified.size
            )),
            (_, None) => problems.push(format!(
                "trail/events.jsonl: event {}'s proof is not a list of hashes",
                event.seq
            )),
            (Some(index), Some(proof)) => {
                let leaf_hash = tlog::record_hash(leaf.as_bytes());
                if tlog::check_record(&proof, verified.size, verified.root, index, leaf_hash)
                    .is_err()
                {
                    problems.push(format!(
                        "trail/events.jsonl: event {} is not in the log the checkpoint signs",
                        event.seq
                    ));
                }
            }
        }
        parsed.push(event);
    }
    (Some(verified.size), problems, parsed)
}
