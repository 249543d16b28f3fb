//! The approvals queue: filters, sort orders and keyset cursors.
//!
//! A cursor is the sort key of one row. Pages are read "after" or "before" a
//! cursor, so any position of a million-row queue costs one index seek.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{RiskTier, Role, WorkflowStatus};

/// The most rows one page may hold.
pub const MAX_PAGE: u32 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueSort {
    /// Longest-waiting first.
    #[default]
    Age,
    /// Highest risk first, then longest-waiting.
    Risk,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Rows after the cursor (from the start without one).
    #[default]
    Forward,
    /// Rows before the cursor (from the end without one).
    Backward,
}

/// Whose queue: what the reader may decide now, or everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueScope {
    /// Only what the reader may decide now: a role they hold, not their own
    /// request, no workflow they already decided a step of. The backend
    /// derives this from who is authenticated.
    #[default]
    Actionable,
    /// Every workflow that matches, each marked with why the reader may not
    /// decide it.
    Everything,
}

/// How the deciders column marks the author of a workflow's ethics review.
pub const REVIEWER_MARK: &str = "r:";

/// Why the reader may not decide a queue item now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotActionable {
    /// The reader requested the deployment (separation of duties).
    Requester,
    /// The reader decided a step of this workflow already.
    AlreadyDecided,
    /// The reader holds the workflow's ethics review, which decides its
    /// ethics step and no other.
    Reviewer,
    /// The current step is the ethics step, whose review is someone else's.
    ReviewedByAnother,
    /// The current step is the ethics step and nobody holds its review yet:
    /// it is assigned first (a compliance officer's task), and its author
    /// then decides the step.
    ReviewUnassigned,
    /// The current step needs a role the reader does not hold.
    RoleNotHeld { role: Role },
    /// The workflow is closed.
    Closed,
}

impl NotActionable {
    /// A short reason for a marker column.
    pub fn short(&self) -> &'static str {
        match self {
            NotActionable::Requester => "yours",
            NotActionable::AlreadyDecided => "decided",
            NotActionable::Reviewer | NotActionable::ReviewedByAnother => "review",
            NotActionable::ReviewUnassigned => "assign",
            NotActionable::RoleNotHeld { .. } => "role",
            NotActionable::Closed => "closed",
        }
    }

    /// The reason in words.
    pub fn describe(&self) -> String {
        match self {
            NotActionable::Requester => "you requested this deployment".into(),
            NotActionable::AlreadyDecided => "you decided a step of this workflow".into(),
            NotActionable::Reviewer => {
                "you hold its ethics review, which decides the ethics step only".into()
            }
            NotActionable::ReviewedByAnother => {
                "its ethics review is someone else's, whose author decides this step".into()
            }
            NotActionable::ReviewUnassigned => {
                "its ethics review is not assigned yet: once assigned, its author decides this step"
                    .into()
            }
            NotActionable::RoleNotHeld { role } => format!("waiting on {}", role.with_article()),
            NotActionable::Closed => "the workflow is closed".into(),
        }
    }

    /// Whether this is the queue's task of assigning a review (shown to
    /// compliance officers), rather than a step the reader may not decide.
    pub fn is_assignment(&self) -> bool {
        matches!(self, NotActionable::ReviewUnassigned)
    }

    /// What the workflow's ethics review (marked in the deciders column)
    /// keeps `reader` from deciding at a step of `role`: its author decides
    /// the ethics step and no other, and an ethics step whose review nobody
    /// holds waits for its assignment (for those who could take part).
    fn of_review(deciders: &str, reader: &crate::backend::User, role: Role) -> Option<Self> {
        let ethics = role == Role::EthicsReviewer;
        let Some(reviewer) = deciders
            .split('|')
            .find_map(|part| part.strip_prefix(REVIEWER_MARK))
        else {
            let concerned =
                reader.holds(Role::EthicsReviewer) || reader.holds(Role::ComplianceOfficer);
            return (ethics && concerned).then_some(NotActionable::ReviewUnassigned);
        };
        let mine = reviewer.eq_ignore_ascii_case(&reader.email);
        match (mine, ethics) {
            (true, false) => Some(NotActionable::Reviewer),
            (false, true) => Some(NotActionable::ReviewedByAnother),
            _ => None,
        }
    }

    /// Why `reader` may not decide the item now, if they may not.
    pub fn of(item: &QueueItem, deciders: &str, reader: &crate::backend::User) -> Option<Self> {
        let Some(step) = item.current_step else {
            return Some(NotActionable::Closed);
        };
        if reader.is(&item.requested_by) {
            Some(NotActionable::Requester)
        } else if deciders.contains(&format!("|{}|", reader.email.to_lowercase())) {
            Some(NotActionable::AlreadyDecided)
        } else if let Some(review) = NotActionable::of_review(deciders, reader, step.role) {
            Some(review)
        } else if !reader.holds(step.role) {
            Some(NotActionable::RoleNotHeld { role: step.role })
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QueueFilter {
    #[serde(default)]
    pub scope: QueueScope,
    /// Only items whose current step needs one of these roles; `None` means
    /// any role (within the scope).
    pub roles: Option<Vec<Role>>,
    pub status: WorkflowStatus,
    pub risk: Option<RiskTier>,
    pub team: Option<String>,
    /// Case-insensitive text contained in the agent's name or team, or a
    /// workflow id.
    pub search: Option<String>,
}

impl Default for QueueFilter {
    fn default() -> Self {
        QueueFilter {
            scope: QueueScope::Actionable,
            roles: None,
            status: WorkflowStatus::InProgress,
            risk: None,
            team: None,
            search: None,
        }
    }
}

impl QueueFilter {
    /// The reader's queue, narrowed to items waiting on `roles`.
    pub fn for_roles(roles: &[Role]) -> QueueFilter {
        QueueFilter {
            roles: Some(roles.to_vec()),
            ..QueueFilter::default()
        }
    }

    /// Every workflow with the filter's status, whoever may decide it.
    pub fn everything() -> QueueFilter {
        QueueFilter {
            scope: QueueScope::Everything,
            ..QueueFilter::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QueueQuery {
    pub filter: QueueFilter,
    pub sort: QueueSort,
    pub cursor: Option<QueueCursor>,
    pub direction: Direction,
    pub limit: u32,
}

impl QueueQuery {
    pub fn first(filter: QueueFilter, sort: QueueSort, limit: u32) -> QueueQuery {
        QueueQuery {
            filter,
            sort,
            cursor: None,
            direction: Direction::Forward,
            limit,
        }
    }

    pub fn limit(&self) -> u32 {
        self.limit.clamp(1, MAX_PAGE)
    }
}

/// One row of the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueueItem {
    pub workflow_id: String,
    pub agent_id: String,
    pub agent_name: String,
    pub team: String,
    pub triggered_by_policy: String,
    pub deployment_id: String,
    pub requested_by: String,
    pub status: WorkflowStatus,
    pub risk_tier: RiskTier,
    /// The step waiting for a decision (none for closed workflows).
    pub current_step: Option<CurrentStep>,
    pub step_count: u32,
    pub created_at: DateTime<Utc>,
    /// When the current step started waiting (when a closed workflow closed).
    pub waiting_since: DateTime<Utc>,
    pub version: i64,
    /// Why the reader may not decide this item now (only in a queue of
    /// everything; an actionable queue holds none such).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_actionable: Option<NotActionable>,
    /// When the current step is due, when its policy gives it an SLA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// The latest alert of the current step: reminded, overdue, escalated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<crate::domain::policy::sla::AlertKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CurrentStep {
    pub step_id: u32,
    pub role: Role,
    /// How many different approvers the step needs (1: one).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub quorum: u32,
    /// How many have approved it so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub approvals: u32,
}

fn one() -> u32 {
    1
}

fn is_one(count: &u32) -> bool {
    *count == 1
}

fn is_zero(count: &u32) -> bool {
    *count == 0
}

/// One page of rows, in display order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueuePage {
    pub items: Vec<QueueItem>,
    /// More rows exist before the first item.
    pub more_before: bool,
    /// More rows exist after the last item.
    pub more_after: bool,
}

impl QueuePage {
    pub fn first_cursor(&self, sort: QueueSort) -> Option<QueueCursor> {
        self.items.first().map(|item| QueueCursor::of(item, sort))
    }

    pub fn last_cursor(&self, sort: QueueSort) -> Option<QueueCursor> {
        self.items.last().map(|item| QueueCursor::of(item, sort))
    }
}

/// A position in the queue: the sort key of a row. Ordering of cursors is the
/// display ordering.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueCursor {
    /// 0 for high risk, 2 for low; 0 for every row when sorting by age.
    pub urgency: i64,
    pub waiting_since_ms: i64,
    pub workflow_id: String,
}

/// The urgency column: sorts highest risk first in ascending order.
pub fn urgency(tier: RiskTier) -> i64 {
    RiskTier::High.rank() - tier.rank()
}

impl QueueCursor {
    pub fn of(item: &QueueItem, sort: QueueSort) -> QueueCursor {
        QueueCursor {
            urgency: match sort {
                QueueSort::Age => 0,
                QueueSort::Risk => urgency(item.risk_tier),
            },
            waiting_since_ms: item.waiting_since.timestamp_millis(),
            workflow_id: item.workflow_id.clone(),
        }
    }

    /// The position just before `item`: reading forward from here includes it.
    pub fn just_before(item: &QueueItem, sort: QueueSort) -> QueueCursor {
        QueueCursor {
            workflow_id: String::new(),
            ..QueueCursor::of(item, sort)
        }
    }

    /// An opaque text form for URLs and files.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}",
            self.urgency, self.waiting_since_ms, self.workflow_id
        )
    }

    pub fn decode(text: &str) -> Result<QueueCursor, String> {
        let bad = || format!("malformed queue cursor {text:?}");
        let mut parts = text.splitn(3, '.');
        let urgency: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let waiting_since_ms: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        // An empty id is allowed: it sorts before every row with the same
        // key, which is how a window is reloaded from a row inclusive.
        let workflow_id = parts.next().filter(|id| id.len() <= 128).ok_or_else(bad)?;
        if !(0..=2).contains(&urgency) {
            return Err(bad());
        }
        Ok(QueueCursor {
            urgency,
            waiting_since_ms,
            workflow_id: workflow_id.to_owned(),
        })
    }
}

impl Serialize for QueueCursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.encode())
    }
}

impl<'de> Deserialize<'de> for QueueCursor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        QueueCursor::decode(&text).map_err(serde::de::Error::custom)
    }
}

/// Merges pages read per role (each already in display order) into one page
/// of `limit` rows in display order. Backward pages keep the rows nearest the
/// cursor, i.e. the last ones.
pub fn merge_pages(
    pages: Vec<QueuePage>,
    sort: QueueSort,
    direction: Direction,
    limit: usize,
) -> QueuePage {
    let more_before = pages.iter().any(|page| page.more_before);
    let more_after = pages.iter().any(|page| page.more_after);
    let mut items: Vec<QueueItem> = pages.into_iter().flat_map(|page| page.items).collect();
    items.sort_by_cached_key(|item| QueueCursor::of(item, sort));
    items.dedup_by(|a, b| a.workflow_id == b.workflow_id);
    let overflow = items.len().saturating_sub(limit);
    match direction {
        Direction::Forward => {
            items.truncate(limit);
            QueuePage {
                items,
                more_before,
                more_after: more_after || overflow > 0,
            }
        }
        Direction::Backward => {
            items.drain(..overflow);
            QueuePage {
                items,
                more_before: more_before || overflow > 0,
                more_after,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn item(id: &str, tier: RiskTier, hour: u32) -> QueueItem {
        QueueItem {
            workflow_id: id.into(),
            agent_id: "agt".into(),
            agent_name: "Agent".into(),
            team: "Team".into(),
            triggered_by_policy: "p".into(),
            deployment_id: "dep".into(),
            requested_by: "r@example.com".into(),
            status: WorkflowStatus::InProgress,
            risk_tier: tier,
            current_step: None,
            step_count: 2,
            created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            waiting_since: Utc.with_ymd_and_hms(2026, 1, 1, hour, 0, 0).unwrap(),
            version: 1,
            not_actionable: None,
            due_at: None,
            alert: None,
        }
    }

    fn ids(page: &QueuePage) -> Vec<&str> {
        page.items
            .iter()
            .map(|item| item.workflow_id.as_str())
            .collect()
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = QueueCursor::of(&item("wf-0000007", RiskTier::Medium, 3), QueueSort::Risk);
        assert_eq!(cursor.urgency, 1);
        assert_eq!(QueueCursor::decode(&cursor.encode()), Ok(cursor.clone()));
        let json = serde_json::to_string(&cursor).unwrap();
        assert_eq!(serde_json::from_str::<QueueCursor>(&json).unwrap(), cursor);
        assert_eq!(
            QueueCursor::decode("1.2.").map(|c| c.workflow_id),
            Ok(String::new())
        );
        for bad in ["", "1", "1.2", "x.2.wf", "1.y.wf", "9.2.wf"] {
            assert!(QueueCursor::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn risk_sort_puts_high_risk_first_then_the_oldest() {
        let mut items = [
            item("a", RiskTier::Low, 1),
            item("b", RiskTier::High, 5),
            item("c", RiskTier::High, 2),
        ];
        items.sort_by_cached_key(|item| QueueCursor::of(item, QueueSort::Risk));
        let order: Vec<&str> = items.iter().map(|i| i.workflow_id.as_str()).collect();
        assert_eq!(order, ["c", "b", "a"]);
        items.sort_by_cached_key(|item| QueueCursor::of(item, QueueSort::Age));
        let order: Vec<&str> = items.iter().map(|i| i.workflow_id.as_str()).collect();
        assert_eq!(order, ["a", "c", "b"]);
    }

    #[test]
    fn merging_per_role_pages_keeps_display_order_and_the_limit() {
        let tech = QueuePage {
            items: vec![item("a", RiskTier::Low, 1), item("c", RiskTier::Low, 3)],
            more_before: false,
            more_after: true,
        };
        let data = QueuePage {
            items: vec![item("b", RiskTier::Low, 2), item("d", RiskTier::Low, 4)],
            more_before: false,
            more_after: false,
        };
        let forward = merge_pages(
            vec![tech.clone(), data.clone()],
            QueueSort::Age,
            Direction::Forward,
            3,
        );
        assert_eq!(ids(&forward), ["a", "b", "c"]);
        assert!(forward.more_after && !forward.more_before);
        let backward = merge_pages(vec![tech, data], QueueSort::Age, Direction::Backward, 3);
        assert_eq!(ids(&backward), ["b", "c", "d"]);
        assert!(backward.more_before);
    }

    #[test]
    fn page_limits_are_clamped() {
        let mut query = QueueQuery::first(QueueFilter::default(), QueueSort::Age, 0);
        assert_eq!(query.limit(), 1);
        query.limit = 1_000_000;
        assert_eq!(query.limit(), MAX_PAGE);
    }
}
