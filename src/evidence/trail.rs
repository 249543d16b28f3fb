//! The trail events a pack carries, each with its place in the log and the
//! proof that the signed checkpoint covers it: anyone holding the log's key
//! can check that an event is in the record and says what it says.

use crate::domain::checkpoint;
pub use crate::domain::log_proof::PackedEvent;
use crate::domain::log_proof::check_event;

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
        problems.extend(
            check_event(&event, verified.size, verified.root)
                .into_iter()
                .map(|problem| format!("trail/events.jsonl: {problem}")),
        );
        parsed.push(event);
    }
    (Some(verified.size), problems, parsed)
}
