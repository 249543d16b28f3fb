//! How sync is doing, as plain data: what the status line, the pending
//! markers and the conflict dialog show.

use std::collections::BTreeSet;

use chrono::{DateTime, Local, Utc};
use serde::{Deserialize, Serialize};

use super::plan::EntryState;

/// One change the server has not confirmed, as the user sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingItem {
    pub id: i64,
    /// "workflow wf-1", "review rev-2".
    pub entity: String,
    pub state: EntryState,
    /// What the user did ("approve step 2 of wf-1").
    pub change: String,
    pub made_at: DateTime<Utc>,
    pub attempts: u32,
    /// What the server said last, for conflicts, failures and retries.
    pub server_answer: Option<String>,
    /// For a conflict on a workflow: what the server holds now.
    pub server_now: Option<String>,
}

impl PendingItem {
    /// The entity's id without its type ("wf-1").
    pub fn entity_id(&self) -> &str {
        self.entity
            .split_once(' ')
            .map_or(self.entity.as_str(), |(_, id)| id)
    }
}

/// A first (or repeated full) sync in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub table: String,
    pub rows: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// Whether the server answered the last attempt to reach it (`None`
    /// before the first attempt).
    pub online: Option<bool>,
    pub offline_since: Option<DateTime<Utc>>,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub syncing: bool,
    pub full_sync: Option<Progress>,
    pub items: Vec<PendingItem>,
    /// A problem that is not just the server being away (a malformed page,
    /// a damaged cache); shown until the next good sync.
    pub problem: Option<String>,
    /// Bumped whenever sync changed rows the screens show.
    pub generation: u64,
    /// The server's log did not hold against what this client witnessed;
    /// stays for as long as the console runs.
    pub witness_warning: Option<String>,
}

fn ago(minutes: i64) -> String {
    match minutes {
        i64::MIN..=0 => "just now".to_owned(),
        1..=59 => format!("{minutes} min ago"),
        60..=2879 => format!("{} h ago", minutes / 60),
        _ => format!("{} days ago", minutes / 1440),
    }
}

impl SyncStatus {
    pub fn waiting(&self) -> usize {
        self.count(EntryState::Pending)
    }

    pub fn conflicts(&self) -> usize {
        self.count(EntryState::Conflict) + self.count(EntryState::Failed)
    }

    fn count(&self, state: EntryState) -> usize {
        self.items.iter().filter(|item| item.state == state).count()
    }

    /// Ids of entities with a change waiting to reach the server.
    pub fn unconfirmed(&self) -> BTreeSet<String> {
        self.ids(|state| state == EntryState::Pending)
    }

    /// Ids of entities with a change the server refused.
    pub fn refused(&self) -> BTreeSet<String> {
        self.ids(|state| state != EntryState::Pending)
    }

    fn ids(&self, wanted: impl Fn(EntryState) -> bool) -> BTreeSet<String> {
        self.items
            .iter()
            .filter(|item| wanted(item.state))
            .map(|item| item.entity_id().to_owned())
            .collect()
    }

    /// The status line's words: "offline since 14:02, last synced 12 min
    /// ago · 3 pending sync · 1 conflict".
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let last = self
            .last_synced_at
            .map(|at| format!("last synced {}", ago((now - at).num_minutes())));
        let mut parts = Vec::new();
        if let Some(progress) = &self.full_sync {
            parts.push(format!(
                "first sync: {} {}…",
                crate::text::thousands(progress.rows),
                progress.table
            ));
        } else if self.online == Some(false)
            || (self.online.is_none() && self.offline_since.is_some())
        {
            let since = self
                .offline_since
                .map(|at| format!("offline since {}", at.with_timezone(&Local).format("%H:%M")));
            parts.push(
                [since.or_else(|| Some("offline".into())), last]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        } else if self.syncing {
            parts.push("syncing…".into());
        } else if self.online.is_none() {
            parts.push(last.unwrap_or_else(|| "not synced yet".into()));
        } else {
            parts.push(match &self.last_synced_at {
                Some(at) => format!("synced {}", ago((now - *at).num_minutes())),
                None => "online".into(),
            });
        }
        if self.waiting() > 0 {
            parts.push(format!("{} pending sync", self.waiting()));
        }
        match self.conflicts() {
            0 => {}
            1 => parts.push("1 conflict".into()),
            n => parts.push(format!("{n} conflicts")),
        }
        if let Some(problem) = &self.problem {
            parts.push(problem.clone());
        }
        parts.join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn item(state: EntryState) -> PendingItem {
        PendingItem {
            id: 1,
            entity: "workflow wf-1".into(),
            state,
            change: "approve step 1 of wf-1".into(),
            made_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            attempts: 0,
            server_answer: None,
            server_now: None,
        }
    }

    #[test]
    fn offline_shows_since_when_and_how_stale() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let status = SyncStatus {
            online: Some(false),
            offline_since: Some(now - Duration::minutes(20)),
            last_synced_at: Some(now - Duration::minutes(25)),
            items: vec![item(EntryState::Pending), item(EntryState::Conflict)],
            ..SyncStatus::default()
        };
        let since = (now - Duration::minutes(20))
            .with_timezone(&Local)
            .format("%H:%M")
            .to_string();
        assert_eq!(
            status.describe(now),
            format!("offline since {since}, last synced 25 min ago · 1 pending sync · 1 conflict")
        );
        assert_eq!(status.unconfirmed(), BTreeSet::from(["wf-1".to_owned()]));
        assert_eq!(status.refused(), BTreeSet::from(["wf-1".to_owned()]));
    }

    #[test]
    fn online_and_first_sync_read_plainly() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let mut status = SyncStatus {
            online: Some(true),
            last_synced_at: Some(now - Duration::hours(3)),
            ..SyncStatus::default()
        };
        assert_eq!(status.describe(now), "synced 3 h ago");
        status.full_sync = Some(Progress {
            table: "workflows".into(),
            rows: 45_000,
        });
        assert_eq!(status.describe(now), "first sync: 45,000 workflows…");
    }
}
