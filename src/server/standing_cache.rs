//! What the admission webhook knows of agent versions' standing, in memory:
//! a review is answered without a database round trip once its version
//! was judged. The whole cache is dropped when the store's change mark
//! moves (any decision, incident, exception or policy change, by this
//! server or another), and each entry also lapses when time alone would
//! change its answer (a recertification due, dormancy, an exception's end)
//! or after a minute at most.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::backend::local::LocalStore;
use crate::domain::admission::Standing;

/// The longest an entry is trusted without a look at the store.
const MAX_AGE: TimeDelta = TimeDelta::seconds(60);
/// How often the change mark is read.
const WATCH_EVERY: Duration = Duration::from_millis(500);
/// The most versions held: unknown names sent by anyone must not grow it
/// without bound.
const MAX_ENTRIES: usize = 10_000;

/// Each agent version judged, with its standing and until when it holds.
type Entries = HashMap<(String, String), (Standing, DateTime<Utc>)>;

#[derive(Debug, Default)]
pub struct StandingCache {
    entries: Mutex<Entries>,
}

impl StandingCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The version's standing, if judged and still good at `now`.
    pub fn get(&self, agent: &str, version: &str, now: DateTime<Utc>) -> Option<Standing> {
        self.entries()
            .get(&(agent.to_owned(), version.to_owned()))
            .filter(|(_, until)| now < *until)
            .map(|(standing, _)| standing.clone())
    }

    /// Keeps a judgment until `until` (at most a minute from `now`).
    pub fn put(
        &self,
        agent: &str,
        version: &str,
        standing: Standing,
        now: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) {
        let until = until.map_or(now + MAX_AGE, |until| until.min(now + MAX_AGE));
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, kept_until)| now < *kept_until);
            if entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        entries.insert((agent.to_owned(), version.to_owned()), (standing, until));
    }

    pub fn clear(&self) {
        self.entries().clear();
    }

    /// Drops everything whenever the store's change mark moves, until the
    /// task is aborted.
    pub fn watch(self: &Arc<Self>, store: Arc<LocalStore>) -> tokio::task::JoinHandle<()> {
        let cache = Arc::clone(self);
        tokio::spawn(async move {
            let mut seen = None;
            let mut tick = tokio::time::interval(WATCH_EVERY);
            loop {
                tick.tick().await;
                let store = Arc::clone(&store);
                let mark = tokio::task::spawn_blocking(move || store.change_mark())
                    .await
                    .ok()
                    .and_then(Result::ok);
                // An unreadable mark is a change: judge afresh.
                if mark.is_none() || mark != seen {
                    cache.clear();
                    seen = mark;
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_lapses_at_its_time_or_after_a_minute_and_the_cache_is_bounded() {
        let cache = StandingCache::default();
        let now = Utc::now();
        let stands = Standing::Stands {
            artifacts: Vec::new(),
        };
        cache.put(
            "a",
            "1",
            stands.clone(),
            now,
            Some(now + TimeDelta::seconds(5)),
        );
        assert_eq!(cache.get("a", "1", now), Some(stands.clone()));
        assert_eq!(cache.get("a", "1", now + TimeDelta::seconds(5)), None);
        cache.put("b", "1", stands.clone(), now, None);
        assert!(cache.get("b", "1", now + TimeDelta::seconds(59)).is_some());
        assert!(cache.get("b", "1", now + MAX_AGE).is_none());
        for n in 0..MAX_ENTRIES + 10 {
            cache.put(&format!("x{n}"), "1", stands.clone(), now, None);
        }
        assert!(cache.entries().len() <= MAX_ENTRIES);
        cache.clear();
        assert_eq!(cache.get("a", "1", now), None);
    }
}
