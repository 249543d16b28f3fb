//! The Policies tab: the active policy set version, every policy in it,
//! what each demands and how many agents it triggers on today; and the
//! set's versions (`policy_versions`), where policy admins decide proposals.

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

use super::policy_versions::{PolicyVersions, Viewer};
use super::queue::Requests;
use crate::backend::{NamedCount, PolicySetVersion};
use crate::domain::Policy;
use crate::text::sanitize;
use crate::tui::action::Action;
use crate::tui::command::{Command, RequestId};
use crate::tui::keymap::Keymap;
use crate::tui::theme::{Role, Theme};

/// What the tab shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum View {
    /// The active version's policies.
    #[default]
    Policies,
    /// Every version, with proposals to decide.
    Versions,
}

#[derive(Debug, Default)]
pub struct PoliciesScreen {
    pub policies: Vec<Policy>,
    pub reach: HashMap<String, u64>,
    pub selected: usize,
    pub loaded: bool,
    pub error: Option<String>,
    request: RequestId,
    pub view: View,
    pub versions: PolicyVersions,
    /// Who is looking (known once the console knows who signed in).
    pub viewer: Option<Viewer>,
    /// What `/` looks for in the list in view; `n` / `N` go on.
    pub find: Option<String>,
}

impl PoliciesScreen {
    /// Loads the active policies and the version history.
    pub fn load(&mut self, requests: &mut Requests) -> Vec<Command> {
        self.request = requests.issue();
        vec![
            Command::LoadPolicies {
                request: self.request,
            },
            self.versions.load(requests),
        ]
    }

    /// Shows one version of the set (its diff, plan and decision), reading
    /// the list afresh so its state is today's.
    pub fn open_version(&mut self, version: i64, requests: &mut Requests) -> Vec<Command> {
        self.view = View::Versions;
        self.versions.wanted = Some(version);
        if self.loaded {
            vec![self.versions.load(requests)]
        } else {
            self.load(requests)
        }
    }

    pub fn on_versions(
        &mut self,
        request: RequestId,
        result: Result<Vec<PolicySetVersion>, String>,
        requests: &mut Requests,
    ) -> Vec<Command> {
        self.versions
            .on_list(request, result, self.viewer.as_ref(), requests)
    }

    pub fn on_version_detail(
        &mut self,
        request: RequestId,
        result: Result<Box<crate::tui::command::ShownVersion>, String>,
    ) {
        self.versions.on_detail(request, result);
    }

    pub fn on_loaded(
        &mut self,
        request: RequestId,
        result: Result<(Vec<Policy>, Vec<NamedCount>), String>,
    ) {
        if request != self.request {
            return;
        }
        self.loaded = true;
        match result {
            Ok((policies, reach)) => {
                self.policies = policies;
                self.reach = reach
                    .into_iter()
                    .map(|count| (count.name, count.count))
                    .collect();
                self.selected = self.selected.min(self.policies.len().saturating_sub(1));
                self.error = None;
            }
            Err(error) => self.error = Some(error),
        }
    }

    pub fn on_action(&mut self, action: Action, requests: &mut Requests) -> Vec<Command> {
        if action == Action::ToggleVersions {
            self.view = match self.view {
                View::Policies => View::Versions,
                View::Versions => View::Policies,
            };
            return match self.view {
                View::Versions => self.versions.move_to(self.versions.selected, requests),
                View::Policies => Vec::new(),
            };
        }
        if action == Action::Refresh {
            return self.load(requests);
        }
        if self.view == View::Versions {
            let versions = &mut self.versions;
            if let Action::ScrollDown | Action::ScrollUp = action {
                versions.scroll_by(if action == Action::ScrollDown { 5 } else { -5 });
                return Vec::new();
            }
            let last = versions.versions.len().saturating_sub(1);
            let index = match action {
                Action::Down => versions.selected + 1,
                Action::Up => versions.selected.saturating_sub(1),
                Action::First => 0,
                Action::Last => last,
                _ => return Vec::new(),
            };
            return versions.move_to(index, requests);
        }
        match action {
            Action::Down => {
                self.selected = (self.selected + 1).min(self.policies.len().saturating_sub(1))
            }
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::First => self.selected = 0,
            Action::Last => self.selected = self.policies.len().saturating_sub(1),
            _ => {}
        }
        Vec::new()
    }

    /// Selects the next policy (or version, in that view) holding `find`
    /// (any case) after the selected one (`from_here`: the selected one
    /// too), or (`forward` false) the one before, round the list: which
    /// match of how many, and what the move loads.
    pub fn find_next(
        &mut self,
        forward: bool,
        from_here: bool,
        requests: &mut Requests,
    ) -> (Option<(usize, usize)>, Vec<Command>) {
        let Some(needle) = self.find.as_deref().map(str::to_lowercase) else {
            return (None, Vec::new());
        };
        let (matches, here): (Vec<usize>, usize) = match self.view {
            View::Policies => (
                positions(&self.policies, |policy| policy_holds(policy, &needle)),
                self.selected,
            ),
            View::Versions => (
                positions(&self.versions.versions, |version| {
                    PolicyVersions::holds(version, &needle)
                }),
                self.versions.selected,
            ),
        };
        let Some(index) = super::next_match(&matches, here, forward, from_here) else {
            return (None, Vec::new());
        };
        let found = Some((index + 1, matches.len()));
        match self.view {
            View::Policies => {
                self.selected = matches[index];
                (found, Vec::new())
            }
            View::Versions => (found, self.versions.move_to(matches[index], requests)),
        }
    }

    /// A click at (`column`, `row`) on the tab drawn in `area` selects the
    /// policy or version under it (the table scrolls as `render` draws it).
    pub fn click(
        &mut self,
        area: Rect,
        (column, row): (u16, u16),
        requests: &mut Requests,
    ) -> Vec<Command> {
        let [_, area] = split_header(area);
        let list = match self.view {
            View::Policies => policies_areas(area)[0],
            View::Versions => self.versions.areas(area)[0],
        };
        let (selected, len) = match self.view {
            View::Policies => (self.selected, self.policies.len()),
            View::Versions => (self.versions.selected, self.versions.versions.len()),
        };
        // Below the column titles.
        let clickable = super::ClickableList {
            area: list,
            above: 1,
            item_lines: 1,
        };
        let Some(index) = clickable.item_at((column, row), selected, len) else {
            return Vec::new();
        };
        match self.view {
            View::Policies => {
                self.selected = index;
                Vec::new()
            }
            View::Versions => self.versions.move_to(index, requests),
        }
    }

    pub fn render(
        &self,
        frame: &mut Frame,
        area: Rect,
        keymap: &Keymap,
        theme: &Theme,
        spinner: char,
    ) {
        let [header, area] = split_header(area);
        frame.render_widget(Paragraph::new(self.header_line(theme)), header);
        match self.view {
            View::Policies => self.render_policies(frame, area, theme, spinner),
            View::Versions => {
                self.versions
                    .render(frame, area, self.viewer.as_ref(), keymap, theme, spinner)
            }
        }
    }

    /// The active version, proposals waiting for the viewer, and who
    /// approved the active version (cut first on a narrow terminal).
    fn header_line(&self, theme: &Theme) -> Line<'static> {
        let Some(active) = self.versions.active() else {
            return Line::styled(
                match &self.versions.error {
                    Some(error) => format!(" Policy set versions unavailable: {}", sanitize(error)),
                    None => " Policy set".to_owned(),
                },
                theme.style(Role::Muted),
            );
        };
        let mut spans = vec![Span::styled(
            format!(" Policy set version {} is active", active.version),
            theme.style(Role::Title),
        )];
        let waiting = self.versions.waiting_for(self.viewer.as_ref());
        if waiting > 0 {
            spans.push(Span::styled(
                format!(
                    " · {waiting} proposal{} wait{} for your decision",
                    if waiting == 1 { "" } else { "s" },
                    if waiting == 1 { "s" } else { "" }
                ),
                theme.style(Role::Accent),
            ));
        }
        if let (Some(by), Some(at)) = (&active.decided_by, active.decided_at) {
            spans.push(Span::styled(
                format!(" · approved by {} {}", sanitize(by), at.format("%Y-%m-%d")),
                theme.style(Role::Muted),
            ));
        }
        Line::from(spans)
    }

    fn render_policies(&self, frame: &mut Frame, area: Rect, theme: &Theme, spinner: char) {
        if self.policies.is_empty() {
            let text = match (&self.error, self.loaded) {
                (Some(error), _) => format!(" Could not load policies: {}", sanitize(error)),
                (None, false) => format!(" {spinner} Loading…"),
                (None, true) => " No policy is defined.".to_owned(),
            };
            frame.render_widget(Paragraph::new(text), area);
            return;
        }
        let [table_area, detail] = policies_areas(area);
        let rows = self.policies.iter().map(|policy| {
            let (state, role) = if policy.is_active {
                ("active", Role::Ok)
            } else {
                ("inactive", Role::Muted)
            };
            let reach = self
                .reach
                .get(&policy.policy_id)
                .map_or("…".to_owned(), |n| crate::text::thousands(*n));
            Row::new(vec![
                Cell::from(sanitize(&policy.policy_id).into_owned()),
                Cell::from(policy.action.as_str()),
                Cell::from(scope_text(policy)),
                Cell::from(condition_text(policy)),
                Cell::from(Span::styled(state, theme.style(role))),
                Cell::from(reach),
            ])
            .style(theme.style(Role::Base))
        });
        let table = Table::new(
            rows,
            [
                Constraint::Fill(2),
                Constraint::Length(18),
                Constraint::Fill(2),
                Constraint::Fill(3),
                Constraint::Length(8),
                Constraint::Length(7),
            ],
        )
        .header(
            Row::new(["Policy", "Action", "Scope", "Condition", "State", "Agents"])
                .style(theme.style(Role::Header)),
        )
        .row_highlight_style(theme.style(Role::Selection))
        .highlight_symbol("▌");
        let mut state = TableState::default().with_selected(Some(self.selected));
        frame.render_stateful_widget(table, table_area, &mut state);
        if let Some(policy) = self.policies.get(self.selected) {
            frame.render_widget(
                Paragraph::new(policy_detail(
                    policy,
                    self.reach.get(&policy.policy_id).copied(),
                    theme,
                ))
                .wrap(Wrap { trim: false })
                .block(
                    Block::default()
                        .borders(Borders::TOP)
                        .border_style(theme.style(Role::Border)),
                ),
                detail,
            );
        }
    }
}

/// The tab's header line and what is below it.
fn split_header(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area)
}

/// The policies table and the selected policy's detail below it.
fn policies_areas(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Min(4), Constraint::Length(9)]).areas(area)
}

fn positions<T>(items: &[T], holds: impl Fn(&T) -> bool) -> Vec<usize> {
    items
        .iter()
        .enumerate()
        .filter(|(_, item)| holds(item))
        .map(|(index, _)| index)
        .collect()
}

/// What `needle` (lower case) finds in a policy: its id, name,
/// description, action, scope and condition.
fn policy_holds(policy: &Policy, needle: &str) -> bool {
    [
        policy.policy_id.clone(),
        policy.name.clone(),
        policy.description.clone(),
        policy.action.as_str().to_owned(),
        scope_text(policy),
        condition_text(policy),
    ]
    .iter()
    .any(|text| text.to_lowercase().contains(needle))
}

fn scope_text(policy: &Policy) -> String {
    match &policy.scope_value {
        Some(value) if policy.scope != crate::domain::PolicyScope::AllAgents => {
            format!("{} = {}", policy.scope, sanitize(value))
        }
        _ => "all agents".to_owned(),
    }
}

/// The condition as written: CEL as its author wrote it, a table as
/// `field = value` pairs.
fn condition_text(policy: &Policy) -> String {
    sanitize(&policy.condition.to_string()).into_owned()
}

fn policy_detail(policy: &Policy, reach: Option<u64>, theme: &Theme) -> Vec<Line<'static>> {
    let chain = policy
        .chain()
        .map(|chain| {
            chain
                .iter()
                .map(|role| role.label())
                .collect::<Vec<_>>()
                .join(" -> ")
        })
        .unwrap_or_else(|| "no approval chain".into());
    vec![
        Line::from(vec![
            Span::styled(
                format!(" {} ", sanitize(&policy.name)),
                theme.style(Role::Title),
            ),
            Span::styled(
                format!("({})", sanitize(&policy.policy_id)),
                theme.style(Role::Muted),
            ),
        ]),
        Line::styled(
            format!(" {}", sanitize(&policy.description)),
            theme.style(Role::Base),
        ),
        Line::styled(
            format!(" {}", sanitize(&policy.explain())),
            theme.style(Role::Base),
        ),
        Line::styled(
            format!(" action: {} · chain: {chain}", policy.action),
            theme.style(Role::Base),
        ),
        Line::styled(
            match &policy.remediation {
                Some(remediation) => format!(" when it fires: {}", sanitize(remediation)),
                None => " when it fires: what the action says".to_owned(),
            },
            theme.style(Role::Muted),
        ),
        Line::styled(
            format!(
                " triggers on {} agent(s) as they are now",
                reach.map_or("…".to_owned(), crate::text::thousands)
            ),
            theme.style(Role::Info),
        ),
    ]
}
