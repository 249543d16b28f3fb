//! The evidence of an audit run, one group at a time: every case with
//! what was asked, what the agent answered, and how the answer was read.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

use super::queue::Requests;
use crate::backend::{AuditRun, CaseOutcome, CaseOutcomeKind, CasePage, CaseQuery};
use crate::text::sanitize;
use crate::tui::action::Action;
use crate::tui::command::{Command, RequestId};
use crate::tui::theme::{Role, Theme};

/// Cases read per page.
const PAGE: u32 = 200;

/// One category of an audit's table, and the cases in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceGroup {
    /// `Female`, or `Female · Asian` for an intersection.
    pub label: String,
    pub categories: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct EvidenceView {
    pub run_id: String,
    /// The run's (first) attribute.
    pub attribute: String,
    /// The audit's table shown: `sex`, or `sex × race_ethnicity`.
    pub table: String,
    /// The categories of that table, each with what a case
    /// holds to be in it (attribute, category).
    pub groups: Vec<EvidenceGroup>,
    pub group: usize,
    pub cases: Vec<CaseOutcome>,
    pub selected: usize,
    /// The next page's start, when there is one.
    next: Option<String>,
    loading: bool,
    pub error: Option<String>,
    request: RequestId,
}

impl EvidenceView {
    pub fn open(
        run: &AuditRun,
        table: String,
        groups: Vec<EvidenceGroup>,
        requests: &mut Requests,
    ) -> (EvidenceView, Command) {
        let mut view = EvidenceView {
            run_id: run.run_id.clone(),
            attribute: run.settings.attribute.clone(),
            table,
            groups,
            group: 0,
            cases: Vec::new(),
            selected: 0,
            next: None,
            loading: false,
            error: None,
            request: 0,
        };
        let command = view.load(None, requests);
        (view, command)
    }

    fn load(&mut self, after: Option<String>, requests: &mut Requests) -> Command {
        self.request = requests.issue();
        self.loading = true;
        let categories = self
            .groups
            .get(self.group)
            .map(|group| group.categories.clone())
            .unwrap_or_default();
        // The run's own attribute is a column the store filters on; other
        // categories (an intersection's) are read from each case.
        let query = match categories.as_slice() {
            [(attribute, category)] if *attribute == self.attribute => CaseQuery {
                group: Some(category.clone()),
                ..CaseQuery::default()
            },
            _ => CaseQuery {
                categories,
                ..CaseQuery::default()
            },
        };
        Command::LoadCases {
            request: self.request,
            run_id: self.run_id.clone(),
            query: CaseQuery {
                after,
                limit: PAGE,
                ..query
            },
        }
    }

    pub fn on_cases(&mut self, request: RequestId, append: bool, result: Result<CasePage, String>) {
        if request != self.request {
            return;
        }
        self.loading = false;
        match result {
            Ok(page) => {
                if !append {
                    self.cases.clear();
                    self.selected = 0;
                }
                self.cases.extend(page.cases);
                self.next = page.next;
                self.error = None;
            }
            Err(error) => self.error = Some(error),
        }
    }

    pub fn on_action(&mut self, action: Action, requests: &mut Requests) -> Vec<Command> {
        let last = self.cases.len().saturating_sub(1);
        match action {
            Action::Down => self.selected = (self.selected + 1).min(last),
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::PageDown => self.selected = (self.selected + 20).min(last),
            Action::PageUp => self.selected = self.selected.saturating_sub(20),
            Action::First => self.selected = 0,
            Action::Last => self.selected = last,
            Action::NextGroup | Action::PreviousGroup if !self.groups.is_empty() => {
                let count = self.groups.len();
                self.group = if action == Action::NextGroup {
                    (self.group + 1) % count
                } else {
                    (self.group + count - 1) % count
                };
                return vec![self.load(None, requests)];
            }
            _ => return Vec::new(),
        }
        // Near the end of what is loaded: read the next page.
        if self.selected + 20 >= self.cases.len()
            && !self.loading
            && let Some(after) = self.next.clone()
        {
            return vec![self.load(Some(after), requests)];
        }
        Vec::new()
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme, spinner: char) {
        let group = self
            .groups
            .get(self.group)
            .map_or("?", |group| group.label.as_str());
        let more = if self.next.is_some() { "+" } else { "" };
        let header = Line::from(vec![
            Span::styled(
                format!(" Evidence of {} ", sanitize(&self.run_id)),
                theme.style(Role::Title),
            ),
            Span::styled(
                format!(
                    "· {} = {} ({} of {} groups, [ ] change) · {} case{more}{}",
                    sanitize(&self.table),
                    sanitize(group),
                    self.group + 1,
                    self.groups.len(),
                    self.cases.len(),
                    if self.cases.len() == 1 { "" } else { "s" }
                ),
                theme.style(Role::Muted),
            ),
        ]);
        let [top, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
        frame.render_widget(Paragraph::new(header), top);
        if let Some(error) = &self.error {
            frame.render_widget(
                Paragraph::new(Line::styled(
                    format!(" Could not load the cases: {}", sanitize(error)),
                    theme.style(Role::Danger),
                )),
                body,
            );
            return;
        }
        if self.cases.is_empty() {
            let text = if self.loading {
                format!(" {spinner} Loading…")
            } else {
                " No case in this group.".to_owned()
            };
            frame.render_widget(Paragraph::new(text), body);
            return;
        }
        let [list, detail] = Layout::horizontal([
            Constraint::Length(28.min(body.width / 3)),
            Constraint::Min(20),
        ])
        .areas(body);
        let items: Vec<ListItem> = self
            .cases
            .iter()
            .map(|case| {
                let (mark, role) = mark(case.outcome);
                ListItem::new(Line::from(vec![
                    Span::styled(format!("{mark} "), theme.style(role)),
                    Span::styled(
                        sanitize(&case.case_id).into_owned(),
                        theme.style(Role::Base),
                    ),
                ]))
            })
            .collect();
        let widget = List::new(items)
            .block(
                Block::default()
                    .borders(Borders::RIGHT)
                    .border_style(theme.style(Role::Border)),
            )
            .highlight_style(theme.style(Role::Selection))
            .highlight_symbol("▌");
        let mut state = ListState::default().with_selected(Some(self.selected));
        frame.render_stateful_widget(widget, list, &mut state);
        if let Some(case) = self.cases.get(self.selected) {
            frame.render_widget(
                Paragraph::new(case_lines(case, theme)).wrap(Wrap { trim: false }),
                detail,
            );
        }
    }
}

fn mark(outcome: CaseOutcomeKind) -> (&'static str, Role) {
    match outcome {
        CaseOutcomeKind::Positive => ("✓", Role::Ok),
        CaseOutcomeKind::Negative => ("✗", Role::Danger),
        CaseOutcomeKind::Unknown => ("?", Role::Warn),
    }
}

fn case_lines(case: &CaseOutcome, theme: &Theme) -> Vec<Line<'static>> {
    let (mark, role) = mark(case.outcome);
    let attributes: Vec<String> = case
        .attributes
        .iter()
        .map(|(name, value)| format!("{}={}", sanitize(name), sanitize(value)))
        .collect();
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!(" {mark} {} ", case.outcome), theme.style(role)),
            Span::styled(
                format!("{} · {}", sanitize(&case.reason), attributes.join(", ")),
                theme.style(Role::Muted),
            ),
        ]),
        Line::styled(
            format!(
                " {} ms{} · answer sha256 {}… ({} bytes){}",
                case.latency_ms,
                case.score
                    .map(|s| format!(" · score {s}"))
                    .unwrap_or_default(),
                case.response_sha256.get(..12).unwrap_or_default(),
                case.response_bytes,
                case.pair_id
                    .as_deref()
                    .map(|pair| format!(" · pair {}", sanitize(pair)))
                    .unwrap_or_default()
            ),
            theme.style(Role::Muted),
        ),
        Line::default(),
        Line::styled(" Asked", theme.style(Role::Header)),
    ];
    lines.extend(
        crate::text::sanitize_with(&case.input, true)
            .lines()
            .map(|line| Line::styled(format!(" {line}"), theme.style(Role::Base))),
    );
    lines.push(Line::default());
    lines.push(Line::styled(" Answered", theme.style(Role::Header)));
    lines.extend(
        crate::text::sanitize_with(&case.response, true)
            .lines()
            .map(|line| Line::styled(format!(" {line}"), theme.style(Role::Base))),
    );
    lines
}
