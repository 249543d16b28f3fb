//! The pending-approvals queue: a sliding window of rows over a keyset-paged
//! list, so a million workflows scroll like a hundred.

use super::queue_views::{QueueChoice, QueueViews};
use crate::backend::{
    Direction, QueueCursor, QueueFilter, QueueItem, QueuePage, QueueQuery, QueueSort,
};
use crate::domain::{RiskTier, Role, WorkflowStatus};
use crate::tui::action::Action;
use crate::tui::command::{Command, Placement, RequestId, Select};

/// Rows per request.
pub const PAGE: u32 = 100;
/// The most rows the window holds; beyond this the far end is dropped.
pub const MAX_ROWS: usize = 400;
/// Load the next page when the selection comes this close to the window's edge.
const PREFETCH: usize = 20;
/// Changes by others recount the saved views at most this often.
pub const RECOUNT_VIEWS_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(15);

pub use crate::tui::command::Requests;

#[derive(Debug, Clone)]
pub struct QueueScreen {
    /// The user's roles (empty until known).
    pub roles: Vec<Role>,
    /// What is shown, in what order.
    pub choice: QueueChoice,
    /// The saved views (sub-tabs) and their counts.
    pub views: QueueViews,
    pub rows: Vec<QueueItem>,
    /// Absolute position of `rows[0]` when known (after g, G or counting).
    pub base: Option<u64>,
    pub more_before: bool,
    pub more_after: bool,
    pub selected: usize,
    /// First row shown.
    pub offset: usize,
    /// Rows that fit on screen (set from the layout).
    pub page_height: usize,
    pub loading: Option<(RequestId, Placement)>,
    pub error: Option<String>,
    pub loaded_once: bool,
    pub count: Option<u64>,
    count_request: RequestId,
    pub show_preview: bool,
    /// Rows someone else changed while they were on screen (marked until
    /// the user refreshes or changes the filter).
    pub changed: std::collections::HashSet<String>,
    /// The next replacing page is compared with the rows it replaces.
    watching: bool,
}

impl Default for QueueScreen {
    fn default() -> Self {
        QueueScreen {
            roles: Vec::new(),
            choice: QueueChoice::default(),
            views: QueueViews::default(),
            rows: Vec::new(),
            base: Some(0),
            more_before: false,
            more_after: false,
            selected: 0,
            offset: 0,
            page_height: 10,
            loading: None,
            error: None,
            loaded_once: false,
            count: None,
            count_request: 0,
            show_preview: true,
            changed: std::collections::HashSet::new(),
            watching: false,
        }
    }
}

impl QueueScreen {
    pub fn filter(&self) -> QueueFilter {
        self.choice.filter(&self.roles)
    }

    /// Opens on the saved view `name` (the one used last), else the first,
    /// with `sort` if one was remembered.
    pub fn open_on(&mut self, name: Option<&str>, sort: Option<QueueSort>) {
        self.views.current = name.and_then(|name| self.views.index_of(name)).unwrap_or(0);
        if let Some(view) = self.views.current() {
            self.choice = view.choice.clone();
        }
        if let Some(sort) = sort {
            self.choice.sort = sort;
        }
    }

    /// Shows saved view `index` (its filters and sort) from the top.
    pub fn switch_view(&mut self, index: usize, requests: &mut Requests) -> Vec<Command> {
        let Some(view) = self.views.views.get(index) else {
            return Vec::new();
        };
        self.views.current = index;
        self.choice = view.choice.clone();
        self.reload(requests)
    }

    /// The user changed a filter or the sort of the saved view in view.
    pub fn strays_from_view(&self) -> bool {
        self.views
            .current()
            .is_some_and(|view| view.choice != self.choice)
    }

    /// Loads the rows and counts them and every view (at start).
    pub fn start(&mut self, requests: &mut Requests) -> Vec<Command> {
        let mut commands = self.reload(requests);
        commands.push(self.views.count(&self.roles, requests));
        commands
    }

    pub fn selected_item(&self) -> Option<&QueueItem> {
        self.rows.get(self.selected)
    }

    /// The query of the list in view, from its start (what `X` saves).
    pub fn export_query(&self) -> QueueQuery {
        self.query(None, Direction::Forward)
    }

    fn query(&self, cursor: Option<QueueCursor>, direction: Direction) -> QueueQuery {
        QueueQuery {
            cursor,
            direction,
            ..QueueQuery::first(self.filter(), self.choice.sort, PAGE)
        }
    }

    fn load(
        &mut self,
        requests: &mut Requests,
        query: QueueQuery,
        placement: Placement,
    ) -> Command {
        let request = requests.issue();
        self.loading = Some((request, placement.clone()));
        Command::LoadQueue {
            request,
            query,
            placement,
        }
    }

    /// Starts over from the top with the current filter, and recounts.
    pub fn reload(&mut self, requests: &mut Requests) -> Vec<Command> {
        self.changed.clear();
        self.count_request = requests.issue();
        let count = Command::CountQueue {
            request: self.count_request,
            filter: self.filter(),
        };
        self.count = None;
        let first = self.load(
            requests,
            self.query(None, Direction::Forward),
            Placement::Replace(Select::First),
        );
        vec![first, count]
    }

    /// Reloads the rows on screen (after a decision or on refresh), keeping
    /// the selection where it was.
    pub fn refresh(&mut self, requests: &mut Requests) -> Vec<Command> {
        let mut commands = self.refresh_rows(requests);
        commands.push(self.views.count(&self.roles, requests));
        commands
    }

    fn refresh_rows(&mut self, requests: &mut Requests) -> Vec<Command> {
        let keep = Select::Keep {
            workflow_id: self.selected_item().map(|item| item.workflow_id.clone()),
            index: self.selected,
        };
        let cursor = self
            .rows
            .first()
            .filter(|_| self.more_before)
            .map(|first| QueueCursor::just_before(first, self.choice.sort));
        self.count_request = requests.issue();
        let count = Command::CountQueue {
            request: self.count_request,
            filter: self.filter(),
        };
        vec![
            self.load(
                requests,
                self.query(cursor, Direction::Forward),
                Placement::Replace(keep),
            ),
            count,
        ]
    }

    /// Refreshes after someone else changed the record: rows whose version
    /// moved are marked. The views are recounted at most every
    /// `RECOUNT_VIEWS_EVERY` (a busy store changes every second, and each
    /// view is a count of its own).
    pub fn refresh_watching(
        &mut self,
        requests: &mut Requests,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Vec<Command> {
        self.watching = true;
        let recount = self
            .views
            .counted_at
            .is_none_or(|at| now - at >= RECOUNT_VIEWS_EVERY);
        let mut commands = self.refresh_rows(requests);
        if recount {
            commands.push(self.views.count(&self.roles, requests));
        }
        commands
    }

    /// Drops a row at once (it was decided), so the next one is selected.
    pub fn remove(&mut self, workflow_id: &str) {
        if let Some(index) = self
            .rows
            .iter()
            .position(|row| row.workflow_id == workflow_id)
        {
            self.rows.remove(index);
            if self.selected >= self.rows.len() {
                self.selected = self.rows.len().saturating_sub(1);
            }
            self.count = self.count.map(|count| count.saturating_sub(1));
            self.scroll_into_view();
        }
    }

    fn scroll_into_view(&mut self) {
        let height = self.page_height.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        let last_offset = self.rows.len().saturating_sub(height);
        self.offset = self.offset.min(last_offset);
    }

    pub fn set_page_height(&mut self, height: usize) {
        self.page_height = height.max(1);
        self.scroll_into_view();
    }

    /// Moves the selection by `delta` rows, loading more at either end.
    fn move_by(&mut self, delta: isize, requests: &mut Requests) -> Vec<Command> {
        if self.rows.is_empty() {
            return Vec::new();
        }
        let last = self.rows.len() - 1;
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.scroll_into_view();
        self.prefetch(requests)
    }

    /// Asks for the next page when the selection nears an edge of the window.
    fn prefetch(&mut self, requests: &mut Requests) -> Vec<Command> {
        if self.loading.is_some() || self.rows.is_empty() {
            return Vec::new();
        }
        if self.more_after && self.selected + PREFETCH >= self.rows.len() {
            let cursor = self
                .rows
                .last()
                .map(|row| QueueCursor::of(row, self.choice.sort));
            return vec![self.load(
                requests,
                self.query(cursor, Direction::Forward),
                Placement::Append,
            )];
        }
        if self.more_before && self.selected < PREFETCH {
            let cursor = self
                .rows
                .first()
                .map(|row| QueueCursor::of(row, self.choice.sort));
            return vec![self.load(
                requests,
                self.query(cursor, Direction::Backward),
                Placement::Prepend,
            )];
        }
        Vec::new()
    }

    pub fn on_action(&mut self, action: Action, requests: &mut Requests) -> Vec<Command> {
        let page = self.page_height.max(1) as isize;
        match action {
            Action::Down => self.move_by(1, requests),
            Action::Up => self.move_by(-1, requests),
            Action::PageDown => self.move_by(page, requests),
            Action::PageUp => self.move_by(-page, requests),
            Action::First => {
                if self.base == Some(0) && !self.more_before {
                    self.selected = 0;
                    self.scroll_into_view();
                    return Vec::new();
                }
                vec![self.load(
                    requests,
                    self.query(None, Direction::Forward),
                    Placement::Replace(Select::First),
                )]
            }
            Action::Last => {
                if !self.more_after && !self.rows.is_empty() {
                    self.selected = self.rows.len() - 1;
                    self.scroll_into_view();
                    return Vec::new();
                }
                vec![self.load(
                    requests,
                    self.query(None, Direction::Backward),
                    Placement::Replace(Select::Last),
                )]
            }
            Action::NextGroup => self.switch_view(self.views.step(1), requests),
            Action::PreviousGroup => self.switch_view(self.views.step(-1), requests),
            Action::ToggleSort => {
                self.choice.sort = match self.choice.sort {
                    QueueSort::Age => QueueSort::Risk,
                    QueueSort::Risk => QueueSort::Age,
                };
                self.reload(requests)
            }
            Action::ToggleMine => {
                self.choice.mine = !self.choice.mine;
                self.reload(requests)
            }
            Action::CycleRole => {
                self.choice.mine = true;
                self.choice.role = cycle(&self.roles, self.choice.role);
                self.reload(requests)
            }
            Action::CycleRisk => {
                self.choice.risk = cycle(
                    &[RiskTier::High, RiskTier::Medium, RiskTier::Low],
                    self.choice.risk,
                );
                self.reload(requests)
            }
            Action::CycleStatus => {
                self.choice.status = match self.choice.status {
                    WorkflowStatus::InProgress => WorkflowStatus::Approved,
                    WorkflowStatus::Approved => WorkflowStatus::Rejected,
                    WorkflowStatus::Rejected => WorkflowStatus::Withdrawn,
                    WorkflowStatus::Withdrawn => WorkflowStatus::InProgress,
                };
                self.reload(requests)
            }
            Action::ClearFilters => {
                self.choice = QueueChoice {
                    sort: self.choice.sort,
                    ..QueueChoice::default()
                };
                self.reload(requests)
            }
            Action::TogglePreview => {
                self.show_preview = !self.show_preview;
                Vec::new()
            }
            Action::Refresh => {
                self.changed.clear();
                self.refresh(requests)
            }
            _ => Vec::new(),
        }
    }

    /// Selects the row at `index` of the visible rows (a mouse click).
    pub fn click(&mut self, visible_row: usize, requests: &mut Requests) -> Vec<Command> {
        let index = self.offset + visible_row;
        if index < self.rows.len() {
            self.selected = index;
            self.scroll_into_view();
            return self.prefetch(requests);
        }
        Vec::new()
    }

    pub fn on_count(&mut self, request: RequestId, result: Result<u64, String>) {
        if request == self.count_request {
            self.count = result.ok();
        }
    }

    /// Places a loaded page. Returns follow-up commands (a prefetch).
    pub fn on_page(
        &mut self,
        request: RequestId,
        placement: Placement,
        result: Result<QueuePage, String>,
        requests: &mut Requests,
    ) -> Vec<Command> {
        if self.loading.as_ref().map(|(id, _)| *id) != Some(request) {
            return Vec::new();
        }
        self.loading = None;
        let page = match result {
            Ok(page) => page,
            Err(message) => {
                self.error = Some(message);
                return Vec::new();
            }
        };
        self.error = None;
        self.loaded_once = true;
        match placement {
            Placement::Replace(select) => self.replace(page, select),
            Placement::Append => self.append(page),
            Placement::Prepend => self.prepend(page),
        }
        self.scroll_into_view();
        self.prefetch(requests)
    }

    fn replace(&mut self, page: QueuePage, select: Select) {
        let len = page.items.len();
        self.base = match select {
            Select::First => Some(0),
            Select::Last => self.count.map(|count| count.saturating_sub(len as u64)),
            Select::Keep { .. } if !page.more_before => Some(0),
            Select::Keep { .. } => self.base,
        };
        self.more_before = page.more_before;
        self.more_after = page.more_after;
        if std::mem::take(&mut self.watching) {
            let before: std::collections::HashMap<&str, i64> = self
                .rows
                .iter()
                .map(|row| (row.workflow_id.as_str(), row.version))
                .collect();
            let moved: Vec<String> = page
                .items
                .iter()
                .filter(|row| {
                    before
                        .get(row.workflow_id.as_str())
                        .is_some_and(|version| *version != row.version)
                })
                .map(|row| row.workflow_id.clone())
                .collect();
            self.changed.extend(moved);
        }
        self.rows = page.items;
        let last = self.rows.len().saturating_sub(1);
        self.selected = match select {
            Select::First => 0,
            Select::Last => last,
            Select::Keep { workflow_id, index } => workflow_id
                .and_then(|id| self.rows.iter().position(|row| row.workflow_id == id))
                .unwrap_or(index)
                .min(last),
        };
        if matches!(self.selected, 0) {
            self.offset = 0;
        } else if self.selected == last {
            self.offset = last.saturating_sub(self.page_height.saturating_sub(1));
        }
    }

    fn append(&mut self, page: QueuePage) {
        self.more_after = page.more_after;
        self.rows.extend(page.items);
        let overflow = self.rows.len().saturating_sub(MAX_ROWS);
        if overflow > 0 {
            self.rows.drain(..overflow);
            self.selected = self.selected.saturating_sub(overflow);
            self.offset = self.offset.saturating_sub(overflow);
            self.base = self.base.map(|base| base + overflow as u64);
            self.more_before = true;
        }
    }

    fn prepend(&mut self, page: QueuePage) {
        self.more_before = page.more_before;
        let added = page.items.len();
        self.rows.splice(0..0, page.items);
        self.selected += added;
        self.offset += added;
        self.base = self.base.and_then(|base| base.checked_sub(added as u64));
        if !self.more_before {
            self.base = Some(0);
        }
        if self.rows.len() > MAX_ROWS {
            self.rows.truncate(MAX_ROWS);
            self.more_after = true;
        }
    }

    /// "1,234 of 91,682" when the position is known.
    pub fn position(&self) -> Option<(u64, u64)> {
        let count = self.count?;
        let base = self.base?;
        (!self.rows.is_empty()).then_some((base + self.selected as u64 + 1, count))
    }
}

/// The next value after `current` in `values`, wrapping to `None`.
fn cycle<T: Copy + PartialEq>(values: &[T], current: Option<T>) -> Option<T> {
    match current {
        None => values.first().copied(),
        Some(value) => values
            .iter()
            .position(|candidate| *candidate == value)
            .and_then(|index| values.get(index + 1))
            .copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn item(n: usize) -> QueueItem {
        QueueItem {
            workflow_id: format!("wf-{n:07}"),
            agent_id: "agt".into(),
            agent_name: "Agent".into(),
            team: "Team".into(),
            triggered_by_policy: "p".into(),
            deployment_id: "dep".into(),
            requested_by: "r@example.com".into(),
            status: WorkflowStatus::InProgress,
            risk_tier: RiskTier::Low,
            current_step: None,
            step_count: 1,
            created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            waiting_since: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
                + chrono::Duration::minutes(n as i64),
            version: 1,
            not_actionable: None,
            due_at: None,
            alert: None,
        }
    }

    fn page(range: std::ops::Range<usize>, more_before: bool, more_after: bool) -> QueuePage {
        QueuePage {
            items: range.map(item).collect(),
            more_before,
            more_after,
        }
    }

    fn loaded(screen: &mut QueueScreen, requests: &mut Requests) {
        let commands = screen.reload(requests);
        let Command::LoadQueue {
            request, placement, ..
        } = commands[0].clone()
        else {
            panic!()
        };
        screen.on_page(request, placement, Ok(page(0..100, false, true)), requests);
    }

    #[test]
    fn moving_near_the_end_of_the_window_loads_the_next_page_after_the_last_row() {
        let (mut screen, mut requests) = (QueueScreen::default(), Requests::default());
        screen.set_page_height(20);
        loaded(&mut screen, &mut requests);
        let mut commands = Vec::new();
        for _ in 0..10 {
            commands = screen.on_action(Action::PageDown, &mut requests);
            if !commands.is_empty() {
                break;
            }
        }
        assert_eq!(screen.selected, 80, "loads when 20 rows from the end");
        let Some(Command::LoadQueue {
            request,
            query,
            placement,
        }) = commands.first().cloned()
        else {
            panic!("expected a page load, got {commands:?}");
        };
        assert_eq!(placement, Placement::Append);
        assert_eq!(query.cursor.unwrap().workflow_id, "wf-0000099");
        assert_eq!(query.direction, Direction::Forward);
        screen.on_page(
            request,
            placement,
            Ok(page(100..200, true, true)),
            &mut requests,
        );
        assert_eq!(screen.rows.len(), 200);
        assert_eq!(screen.selected, 80);
    }

    #[test]
    fn the_window_never_grows_past_its_limit() {
        let (mut screen, mut requests) = (QueueScreen::default(), Requests::default());
        loaded(&mut screen, &mut requests);
        for n in 1..8 {
            screen.selected = screen.rows.len() - 1;
            let commands = screen.on_action(Action::Down, &mut requests);
            let Some(Command::LoadQueue {
                request, placement, ..
            }) = commands.first().cloned()
            else {
                panic!()
            };
            screen.on_page(
                request,
                placement,
                Ok(page(n * 100..(n + 1) * 100, true, true)),
                &mut requests,
            );
            assert!(screen.rows.len() <= MAX_ROWS);
        }
        assert_eq!(screen.rows.last().unwrap().workflow_id, "wf-0000799");
        assert_eq!(screen.base, Some(400), "the dropped rows are counted");
        assert!(screen.more_before);
    }

    #[test]
    fn jumping_to_the_end_reads_backward_from_the_end() {
        let (mut screen, mut requests) = (QueueScreen::default(), Requests::default());
        loaded(&mut screen, &mut requests);
        screen.count = Some(1_000_000);
        let commands = screen.on_action(Action::Last, &mut requests);
        let Some(Command::LoadQueue {
            request,
            query,
            placement,
        }) = commands.first().cloned()
        else {
            panic!()
        };
        assert_eq!((query.direction, query.cursor), (Direction::Backward, None));
        screen.on_page(
            request,
            placement,
            Ok(page(999_900..1_000_000, true, false)),
            &mut requests,
        );
        assert_eq!(screen.selected_item().unwrap().workflow_id, "wf-0999999");
        assert_eq!(screen.position(), Some((1_000_000, 1_000_000)));
    }

    #[test]
    fn answers_to_superseded_requests_are_ignored() {
        let (mut screen, mut requests) = (QueueScreen::default(), Requests::default());
        let old = screen.reload(&mut requests);
        let _new = screen.on_action(Action::ToggleSort, &mut requests);
        let Command::LoadQueue {
            request, placement, ..
        } = old[0].clone()
        else {
            panic!()
        };
        screen.on_page(
            request,
            placement,
            Ok(page(0..5, false, false)),
            &mut requests,
        );
        assert!(screen.rows.is_empty(), "the old sort's rows must not show");
    }

    #[test]
    fn removing_the_selected_row_selects_the_next() {
        let (mut screen, mut requests) = (QueueScreen::default(), Requests::default());
        loaded(&mut screen, &mut requests);
        screen.selected = 5;
        screen.remove("wf-0000005");
        assert_eq!(screen.selected_item().unwrap().workflow_id, "wf-0000006");
    }

    #[test]
    fn filters_shape_the_query() {
        let mut screen = QueueScreen {
            roles: vec![Role::TechnicalLead, Role::DataSteward],
            ..QueueScreen::default()
        };
        let mut requests = Requests::default();
        assert_eq!(
            screen.filter().roles,
            Some(vec![Role::TechnicalLead, Role::DataSteward])
        );
        screen.on_action(Action::CycleRole, &mut requests);
        assert_eq!(screen.filter().roles, Some(vec![Role::TechnicalLead]));
        screen.on_action(Action::CycleRole, &mut requests);
        screen.on_action(Action::CycleRole, &mut requests);
        assert_eq!(screen.choice.role, None, "wraps back to all my roles");
        screen.on_action(Action::ToggleMine, &mut requests);
        assert_eq!(screen.filter().roles, None);
        screen.on_action(Action::CycleRisk, &mut requests);
        assert_eq!(screen.filter().risk, Some(RiskTier::High));
        screen.on_action(Action::CycleStatus, &mut requests);
        assert_eq!(screen.filter().status, WorkflowStatus::Approved);
        screen.on_action(Action::ClearFilters, &mut requests);
        assert_eq!(
            screen.filter(),
            QueueFilter::for_roles(&[Role::TechnicalLead, Role::DataSteward])
        );
    }
}
