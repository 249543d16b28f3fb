//! Which agent versions deployment checks found in use, kept in memory and
//! written in batches at most once a minute (a store's first check writes
//! at once: a command-line check is its process's only one). Never the
//! trail, never a write per check: dormancy needs the day, not the second,
//! and a crash loses at most a minute of it. The map holds only versions
//! that are an agent's record, so its size is bounded by the agents.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// How often the uses seen are written.
pub const WRITE_EVERY: Duration = Duration::from_secs(60);

/// One agent version and when a check last found it in use.
pub type Use = (String, String, DateTime<Utc>);

#[derive(Debug, Default)]
pub struct VersionUse {
    pending: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    seen: HashMap<(String, String), DateTime<Utc>>,
    written_at: Option<Instant>,
}

impl VersionUse {
    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The newest use seen and not yet written.
    pub fn recent(&self, agent_id: &str, agent_version: &str) -> Option<DateTime<Utc>> {
        self.pending()
            .seen
            .get(&(agent_id.to_owned(), agent_version.to_owned()))
            .copied()
    }

    /// Notes a use; answers the batch to write when one is due.
    pub fn note(&self, agent_id: &str, agent_version: &str, at: DateTime<Utc>) -> Option<Vec<Use>> {
        let mut pending = self.pending();
        let newest = pending
            .seen
            .entry((agent_id.to_owned(), agent_version.to_owned()))
            .or_insert(at);
        *newest = (*newest).max(at);
        let due = pending
            .written_at
            .is_none_or(|written| written.elapsed() >= WRITE_EVERY);
        if !due {
            return None;
        }
        // Marked now, so one caller writes while others go on.
        pending.written_at = Some(Instant::now());
        Some(
            pending
                .seen
                .iter()
                .map(|((agent, version), at)| (agent.clone(), version.clone(), *at))
                .collect(),
        )
    }

    /// Notes a use and, when a batch is due, writes it with `write`; a
    /// batch that fails waits for the next (the check's answer stands).
    pub async fn note_and_write<Written>(
        &self,
        agent_id: &str,
        agent_version: &str,
        at: DateTime<Utc>,
        write: impl FnOnce(Vec<Use>) -> Written,
    ) where
        Written: std::future::Future<Output = crate::backend::Result<()>>,
    {
        let Some(batch) = self.note(agent_id, agent_version, at) else {
            return;
        };
        match write(batch.clone()).await {
            Ok(()) => self.written(&batch),
            Err(err) => tracing::warn!("recording agent versions in use: {err}"),
        }
    }

    /// Forgets what a batch wrote (a newer use seen meanwhile stays).
    pub fn written(&self, batch: &[Use]) {
        let mut pending = self.pending();
        for (agent, version, at) in batch {
            let key = (agent.clone(), version.clone());
            if pending.seen.get(&key).is_some_and(|seen| seen <= at) {
                pending.seen.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_first_use_is_written_then_at_most_once_a_minute_and_newer_uses_wait() {
        let uses = VersionUse::default();
        let at = |minute| Utc.with_ymd_and_hms(2027, 1, 1, 9, minute, 0).unwrap();
        let batch = uses
            .note("agt-1", "1.0.0", at(0))
            .expect("the first is written");
        assert_eq!(batch, [("agt-1".to_owned(), "1.0.0".to_owned(), at(0))]);
        assert_eq!(
            uses.note("agt-1", "1.0.0", at(1)),
            None,
            "within the minute"
        );
        assert_eq!(uses.recent("agt-1", "1.0.0"), Some(at(1)));
        uses.written(&batch);
        assert_eq!(
            uses.recent("agt-1", "1.0.0"),
            Some(at(1)),
            "a use newer than the batch stays"
        );
        uses.note("agt-1", "1.0.0", at(0));
        assert_eq!(
            uses.recent("agt-1", "1.0.0"),
            Some(at(1)),
            "never goes back"
        );
    }
}
