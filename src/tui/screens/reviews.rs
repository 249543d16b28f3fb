//! The Reviews tab: the reviews assigned to me, and the form for one.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::queue::Requests;
use super::review_form::{AnswerForm, FormSubject};
use crate::backend::ReviewSummary;
use crate::domain::ReviewStatus;
use crate::text::{humanize_age, sanitize};
use crate::tui::action::Action;
use crate::tui::command::{Command, RequestId};
use crate::tui::theme::{Role, Theme};

#[derive(Debug, Default)]
pub struct ReviewsScreen {
    pub items: Vec<ReviewSummary>,
    pub selected: usize,
    /// The text `/` looks for in the list (agent, workflow, review, status).
    pub find: Option<String>,
    pub loaded: bool,
    pub error: Option<String>,
    request: RequestId,
    pub open_request: RequestId,
    pub form: Option<AnswerForm>,
}

impl ReviewsScreen {
    /// The open form, when it is the one `key` names (an answer for a
    /// form closed or replaced since is dropped).
    pub fn form_for(&mut self, key: &super::review_form::FormKey) -> Option<&mut AnswerForm> {
        self.form.as_mut().filter(|form| form.subject.key() == *key)
    }

    pub fn load(&mut self, requests: &mut Requests) -> Command {
        self.request = requests.issue();
        Command::LoadReviews {
            request: self.request,
        }
    }

    pub fn open(&mut self, review_id: String, requests: &mut Requests) -> Command {
        self.open_request = requests.issue();
        Command::OpenReview {
            request: self.open_request,
            review_id,
        }
    }

    pub fn on_list(&mut self, request: RequestId, result: Result<Vec<ReviewSummary>, String>) {
        if request != self.request {
            return;
        }
        self.loaded = true;
        match result {
            Ok(mut items) => {
                // Work to do first: assigned and drafts, then submitted.
                items.sort_by_key(|item| {
                    (
                        item.status == ReviewStatus::Submitted,
                        std::cmp::Reverse(item.assigned_at),
                    )
                });
                let keep = self
                    .items
                    .get(self.selected)
                    .map(|item| item.review_id.clone());
                self.items = items;
                self.selected = keep
                    .and_then(|id| self.items.iter().position(|item| item.review_id == id))
                    .unwrap_or(0)
                    .min(self.items.len().saturating_sub(1));
                self.error = None;
            }
            Err(error) => self.error = Some(error),
        }
    }

    pub fn on_action(&mut self, action: Action, requests: &mut Requests) -> Vec<Command> {
        match action {
            Action::Down => {
                self.selected = (self.selected + 1).min(self.items.len().saturating_sub(1))
            }
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::First => self.selected = 0,
            Action::Last => self.selected = self.items.len().saturating_sub(1),
            Action::Refresh => return vec![self.load(requests)],
            Action::Open => {
                if let Some(item) = self.items.get(self.selected) {
                    let id = item.review_id.clone();
                    return vec![self.open(id, requests)];
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Selects the next review holding `find` (any case) after the selected
    /// one (`from_here`: the selected one too), or (`forward` false) the
    /// one before, round the list: which match of how many.
    pub fn find_next(&mut self, forward: bool, from_here: bool) -> Option<(usize, usize)> {
        let needle = self.find.as_deref()?.to_lowercase();
        let matches: Vec<usize> = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| {
                [
                    item.agent_name.as_str(),
                    item.workflow_id.as_str(),
                    item.review_id.as_str(),
                    item.status.as_str(),
                ]
                .iter()
                .any(|text| text.to_lowercase().contains(&needle))
            })
            .map(|(index, _)| index)
            .collect();
        let index = super::next_match(&matches, self.selected, forward, from_here)?;
        self.selected = matches[index];
        Some((index + 1, matches.len()))
    }

    /// A click at (`column`, `row`) on the list drawn in `area` selects
    /// the row under it (the table scrolls as `render` draws it).
    pub fn click(&mut self, area: Rect, column: u16, row: u16) {
        if self.form.is_some() {
            return;
        }
        // Below the title line and the column titles.
        let clickable = super::ClickableList {
            area,
            above: 2,
            item_lines: 1,
        };
        if let Some(index) = clickable.item_at((column, row), self.selected, self.items.len()) {
            self.selected = index;
        }
    }

    pub fn render(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        now: DateTime<Utc>,
        spinner: char,
        unconfirmed: &std::collections::BTreeSet<String>,
    ) {
        if let Some(form) = &self.form {
            form.render(
                frame,
                area,
                theme,
                matches!(&form.subject, FormSubject::Review(review) if unconfirmed.contains(&review.review_id)),
            );
            return;
        }
        let [header, list] =
            ratatui::layout::Layout::vertical([Constraint::Length(1), Constraint::Min(1)])
                .areas(area);
        let open = self
            .items
            .iter()
            .filter(|item| item.status != ReviewStatus::Submitted)
            .count();
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(" Ethics reviews ", theme.style(Role::Title)),
                Span::styled(
                    format!("{open} to do · {} in all", self.items.len()),
                    theme.style(Role::Muted),
                ),
            ])),
            header,
        );
        if self.items.is_empty() {
            let (text, role) = match (&self.error, self.loaded) {
                (Some(error), _) => (
                    format!("Could not load reviews: {}", sanitize(error)),
                    Role::Danger,
                ),
                (None, false) => (format!("{spinner} Loading…"), Role::Info),
                (None, true) => (
                    "No ethics review is assigned to you.".to_owned(),
                    Role::Muted,
                ),
            };
            frame.render_widget(Paragraph::new(Line::styled(text, theme.style(role))), list);
            return;
        }
        let rows = self.items.iter().map(|item| {
            let role = match item.status {
                ReviewStatus::Assigned => Role::Warn,
                ReviewStatus::Draft => Role::Info,
                ReviewStatus::Submitted => Role::Ok,
            };
            // A draft or submission saved offline says so beside its status.
            let status = if unconfirmed.contains(&item.review_id) {
                Line::from(vec![
                    Span::styled(item.status.as_str(), theme.style(role)),
                    Span::styled(" ⟳", theme.style(Role::Info)),
                ])
            } else {
                Line::styled(item.status.as_str(), theme.style(role))
            };
            Row::new(vec![
                Cell::from(sanitize(&item.agent_name).into_owned()),
                Cell::from(sanitize(&item.workflow_id).into_owned()),
                Cell::from(status),
                Cell::from(humanize_age(item.assigned_at, now)),
                Cell::from(sanitize(&item.review_id).into_owned()),
            ])
            .style(theme.style(Role::Base))
        });
        let table = Table::new(
            rows,
            [
                Constraint::Fill(3),
                Constraint::Length(12),
                Constraint::Length(10),
                Constraint::Length(10),
                Constraint::Length(12),
            ],
        )
        .header(
            Row::new(["Agent", "Workflow", "Status", "Assigned", "Review"])
                .style(theme.style(Role::Header)),
        )
        .row_highlight_style(theme.style(Role::Selection))
        .highlight_symbol("▌");
        let mut state = TableState::default().with_selected(Some(self.selected));
        frame.render_stateful_widget(table, list, &mut state);
    }
}
