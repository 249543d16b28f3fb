//! The queue's saved views: named filters and sorts from the config, shown
//! as sub-tabs with their counts (gh-dash's sections), and what the
//! current one is.

use crate::backend::{QueueFilter, QueueScope, QueueSort};
use crate::config::SavedView;
use crate::domain::{RiskTier, Role, WorkflowStatus};
use crate::text::{sanitize, thousands};
use crate::tui::command::{Command, RequestId, Requests};

/// What the queue shows and in what order: a saved view's settings, or
/// the user's own once they change a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueChoice {
    /// Only items waiting on my roles (else every workflow of `status`).
    pub mine: bool,
    /// One of my roles, or all of them.
    pub role: Option<Role>,
    pub risk: Option<RiskTier>,
    pub team: Option<String>,
    pub search: Option<String>,
    pub status: WorkflowStatus,
    pub sort: QueueSort,
}

impl Default for QueueChoice {
    fn default() -> Self {
        QueueChoice {
            mine: true,
            role: None,
            risk: None,
            team: None,
            search: None,
            status: WorkflowStatus::InProgress,
            sort: QueueSort::Age,
        }
    }
}

impl QueueChoice {
    pub fn of(view: &SavedView) -> QueueChoice {
        QueueChoice {
            mine: view.mine,
            role: view.role,
            risk: view.risk,
            team: view.team.clone().filter(|team| !team.trim().is_empty()),
            search: view
                .search
                .clone()
                .filter(|search| !search.trim().is_empty()),
            status: view.status,
            sort: view.sort,
        }
    }

    /// The store's filter for a reader holding `roles`.
    pub fn filter(&self, roles: &[Role]) -> QueueFilter {
        let mine = self.mine && self.status == WorkflowStatus::InProgress;
        let roles = match (mine, self.role) {
            (false, _) => None,
            // A view naming a role the reader does not hold shows nothing
            // rather than everything.
            (true, Some(role)) => Some(vec![role]),
            (true, None) => Some(roles.to_vec()),
        };
        QueueFilter {
            // Mine: what I may decide now; else everything, each item
            // marked with why it is not mine to decide.
            scope: if mine {
                QueueScope::Actionable
            } else {
                QueueScope::Everything
            },
            roles,
            status: self.status,
            risk: self.risk,
            team: self.team.clone(),
            search: self.search.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedView {
    pub name: String,
    pub choice: QueueChoice,
}

/// The views, which one is current, and how many items each holds.
#[derive(Debug, Clone)]
pub struct QueueViews {
    pub views: Vec<NamedView>,
    pub current: usize,
    /// Per view, once counted.
    pub counts: Vec<Option<u64>>,
    /// When the counts last arrived (the app's clock).
    pub counted_at: Option<chrono::DateTime<chrono::Utc>>,
    counting: RequestId,
}

impl Default for QueueViews {
    fn default() -> Self {
        QueueViews::new(&SavedView::defaults())
    }
}

/// Between two sub-tabs.
pub const SEPARATOR: &str = " │ ";

impl QueueViews {
    pub fn new(saved: &[SavedView]) -> QueueViews {
        let views: Vec<NamedView> = saved
            .iter()
            .map(|view| NamedView {
                name: sanitize(view.name.trim()).into_owned(),
                choice: QueueChoice::of(view),
            })
            .collect();
        QueueViews {
            counts: vec![None; views.len()],
            views,
            current: 0,
            counted_at: None,
            counting: 0,
        }
    }

    pub fn current(&self) -> Option<&NamedView> {
        self.views.get(self.current)
    }

    /// The view called `name` (any case).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.views
            .iter()
            .position(|view| view.name.eq_ignore_ascii_case(name.trim()))
    }

    /// The view `step` places after (or, negative, before) the current,
    /// round the ends.
    pub fn step(&self, step: isize) -> usize {
        let len = self.views.len().max(1) as isize;
        (self.current as isize + step).rem_euclid(len) as usize
    }

    /// Counts every view (one request: a newer one supersedes it).
    pub fn count(&mut self, roles: &[Role], requests: &mut Requests) -> Command {
        self.counting = requests.issue();
        Command::CountQueueViews {
            request: self.counting,
            filters: self
                .views
                .iter()
                .map(|view| view.choice.filter(roles))
                .collect(),
        }
    }

    pub fn on_counts(
        &mut self,
        request: RequestId,
        counts: Vec<Result<u64, String>>,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        if request == self.counting && counts.len() == self.views.len() {
            self.counts = counts.into_iter().map(Result::ok).collect();
            self.counted_at = Some(now);
        }
    }

    /// Each sub-tab's text: its name and, once counted, its count.
    pub fn labels(&self) -> Vec<String> {
        self.views
            .iter()
            .zip(&self.counts)
            .map(|(view, count)| match count {
                Some(count) => format!("{} {}", view.name, thousands(*count)),
                None => format!("{} …", view.name),
            })
            .collect()
    }

    /// The sub-tab under `column` of a line whose labels start at `start`
    /// (a click): the labels as `labels` words them, `SEPARATOR` between.
    pub fn at_column(&self, start: u16, column: u16) -> Option<usize> {
        let mut left = start;
        for (index, label) in self.labels().iter().enumerate() {
            let width = label.chars().count() as u16;
            if column >= left && column < left + width {
                return Some(index);
            }
            left += width + SEPARATOR.chars().count() as u16;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(name: &str, mine: bool, risk: Option<RiskTier>) -> SavedView {
        SavedView {
            risk,
            mine,
            name: name.to_owned(),
            ..SavedView::defaults().remove(0)
        }
    }

    #[test]
    fn a_view_becomes_the_store_filter_for_its_reader() {
        let roles = [Role::TechnicalLead, Role::DataSteward];
        let mine = QueueChoice::of(&view("Mine", true, None)).filter(&roles);
        assert_eq!(mine, QueueFilter::for_roles(&roles));
        let high = QueueChoice::of(&view("High", false, Some(RiskTier::High))).filter(&roles);
        assert_eq!(
            (high.scope, high.roles, high.risk),
            (QueueScope::Everything, None, Some(RiskTier::High))
        );
    }

    #[test]
    fn switching_goes_round_and_counts_land_only_from_the_latest_request() {
        let mut views = QueueViews::new(&[
            view("Mine", true, None),
            view("All", false, None),
            view("High", false, Some(RiskTier::High)),
        ]);
        assert_eq!((views.step(1), views.step(-1)), (1, 2));
        views.current = 2;
        assert_eq!(views.step(1), 0);
        assert_eq!(views.index_of("high"), Some(2));
        let mut requests = Requests::default();
        let Command::CountQueueViews { request: old, .. } = views.count(&[], &mut requests) else {
            panic!("a count of the views")
        };
        let Command::CountQueueViews { request, filters } = views.count(&[], &mut requests) else {
            panic!("a count of the views")
        };
        assert_eq!(filters.len(), 3);
        views.on_counts(old, vec![Ok(9), Ok(9), Ok(9)], chrono::Utc::now());
        assert_eq!(
            views.counts,
            [None, None, None],
            "a superseded count is dropped"
        );
        views.on_counts(
            request,
            vec![Ok(3), Err("down".into()), Ok(1_204)],
            chrono::Utc::now(),
        );
        assert_eq!(views.labels(), ["Mine 3", "All …", "High 1,204"]);
        // "Mine 3 │ All … │ High 1,204" from column 1.
        assert_eq!(views.at_column(1, 1), Some(0));
        assert_eq!(views.at_column(1, 7), None, "the separator is no tab");
        assert_eq!(views.at_column(1, 10), Some(1));
        assert_eq!(views.at_column(1, 18), Some(2));
        assert_eq!(views.at_column(1, 40), None);
    }
}
