//! The Policies tab's versions view: the policy set's history, newest
//! first, and for the selected version who proposed and decided it, the
//! diff and impact its plan recorded, and whether it waits for the viewer.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

use super::queue::Requests;
use crate::backend::{PolicySetDetail, PolicySetState, PolicySetVersion};
use crate::domain::policy::plan::{Plan, text_diff};
use crate::text::{sanitize, truncate};
use crate::tui::action::Action;
use crate::tui::command::{Command, RequestId, ShownVersion};
use crate::tui::keymap::Keymap;
use crate::tui::mode::Mode;
use crate::tui::theme::{Role, Theme};

/// Who is looking at the versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub email: String,
    pub policy_admin: bool,
}

/// Whether the viewer may decide a version, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decidable {
    Yes,
    No(String),
}

#[derive(Debug, Default)]
pub struct PolicyVersions {
    /// Every version, newest first.
    pub versions: Vec<PolicySetVersion>,
    pub loaded: bool,
    pub error: Option<String>,
    pub selected: usize,
    /// The selected version's text and plan, once loaded.
    pub shown: Option<PolicySetDetail>,
    /// The text of the version it was planned against, for the text diff.
    base_source: Option<String>,
    /// How far the version's detail is scrolled (`J` / `K`).
    pub scroll: u16,
    /// The most `scroll` may be, as the last frame found it.
    pub(crate) bottom: std::cell::Cell<u16>,
    shown_error: Option<(i64, String)>,
    /// A version to select once the list is read (opened from the inbox).
    pub wanted: Option<i64>,
    list_request: RequestId,
    shown_request: RequestId,
}

impl PolicyVersions {
    pub fn load(&mut self, requests: &mut Requests) -> Command {
        self.list_request = requests.issue();
        Command::LoadPolicySets {
            request: self.list_request,
        }
    }

    /// The version list arrived; loads the selected version's detail. The
    /// first time, a proposal waiting for the viewer is selected.
    pub fn on_list(
        &mut self,
        request: RequestId,
        result: Result<Vec<PolicySetVersion>, String>,
        viewer: Option<&Viewer>,
        requests: &mut Requests,
    ) -> Vec<Command> {
        if request != self.list_request {
            return Vec::new();
        }
        let first = !self.loaded;
        self.loaded = true;
        match result {
            Ok(versions) => {
                let kept = self.selected_version().map(|v| v.version);
                self.versions = versions;
                self.error = None;
                let waiting = first
                    .then(|| {
                        self.versions
                            .iter()
                            .position(|v| waits_for(v, viewer) == Some(Decidable::Yes))
                    })
                    .flatten();
                let wanted = self
                    .wanted
                    .take()
                    .and_then(|wanted| self.versions.iter().position(|v| v.version == wanted));
                self.selected = wanted
                    .or(waiting)
                    .or_else(|| {
                        kept.and_then(|kept| self.versions.iter().position(|v| v.version == kept))
                    })
                    .unwrap_or(0);
                // A decided version's state has moved on: read it again.
                self.shown = None;
                self.load_selected(requests)
            }
            Err(error) => {
                self.error = Some(error);
                Vec::new()
            }
        }
    }

    pub fn on_detail(&mut self, request: RequestId, result: Result<Box<ShownVersion>, String>) {
        if request != self.shown_request {
            return;
        }
        match result {
            Ok(shown) => {
                self.shown_error = None;
                self.scroll = 0;
                self.shown = Some(shown.detail);
                self.base_source = shown.base_source;
            }
            Err(error) => {
                let version = self.selected_version().map_or(0, |v| v.version);
                self.shown_error = Some((version, error));
            }
        }
    }

    pub fn selected_version(&self) -> Option<&PolicySetVersion> {
        self.versions.get(self.selected)
    }

    /// The active version's number.
    pub fn active(&self) -> Option<&PolicySetVersion> {
        self.versions
            .iter()
            .find(|v| v.state == PolicySetState::Active)
    }

    /// Proposals the viewer may decide.
    pub fn waiting_for(&self, viewer: Option<&Viewer>) -> usize {
        self.versions
            .iter()
            .filter(|v| waits_for(v, viewer) == Some(Decidable::Yes))
            .count()
    }

    /// The loaded plan of the selected version, in one line.
    pub fn selected_impact(&self) -> Option<String> {
        let shown = self.shown.as_ref()?;
        let selected = self.selected_version()?;
        (shown.version.version == selected.version)
            .then(|| recorded_plan(shown).map(|plan| plan.impact.summary()))
            .flatten()
    }

    pub fn move_to(&mut self, index: usize, requests: &mut Requests) -> Vec<Command> {
        let index = index.min(self.versions.len().saturating_sub(1));
        if index == self.selected && self.shown.is_some() {
            return Vec::new();
        }
        self.selected = index;
        self.load_selected(requests)
    }

    fn load_selected(&mut self, requests: &mut Requests) -> Vec<Command> {
        let Some(version) = self.selected_version().map(|v| v.version) else {
            return Vec::new();
        };
        if self
            .shown
            .as_ref()
            .is_some_and(|shown| shown.version.version == version)
        {
            return Vec::new();
        }
        self.shown_request = requests.issue();
        vec![Command::LoadPolicySet {
            request: self.shown_request,
            version,
        }]
    }

    /// The version list (its column titles, then up to eight versions)
    /// and the selected version's detail below.
    pub fn areas(&self, area: Rect) -> [Rect; 2] {
        let list_height = (self.versions.len() as u16 + 1).clamp(3, 9);
        Layout::vertical([Constraint::Length(list_height), Constraint::Min(3)]).areas(area)
    }

    /// What `needle` (lower case) finds in a version: its number, state,
    /// description, who proposed and decided it, the decision's comment.
    pub fn holds(version: &PolicySetVersion, needle: &str) -> bool {
        [
            format!("v{}", version.version),
            version.state.as_str().to_owned(),
            version.description.clone(),
            version.proposed_by.clone(),
            version.decided_by.clone().unwrap_or_default(),
            version.comment.clone().unwrap_or_default(),
        ]
        .iter()
        .any(|text| text.to_lowercase().contains(needle))
    }

    pub fn render(
        &self,
        frame: &mut Frame,
        area: Rect,
        viewer: Option<&Viewer>,
        keymap: &Keymap,
        theme: &Theme,
        spinner: char,
    ) {
        if self.versions.is_empty() {
            let text = match (&self.error, self.loaded) {
                (Some(error), _) => {
                    format!(
                        " Could not load the policy set versions: {}",
                        sanitize(error)
                    )
                }
                (None, false) => format!(" {spinner} Loading…"),
                (None, true) => " No policy set version is recorded.".to_owned(),
            };
            frame.render_widget(Paragraph::new(text), area);
            return;
        }
        let [list, detail] = self.areas(area);
        let rows = self.versions.iter().map(|version| {
            let state_role = match version.state {
                PolicySetState::Active => Role::Ok,
                PolicySetState::Proposed => Role::Warn,
                PolicySetState::Rejected => Role::Danger,
                PolicySetState::Superseded => Role::Muted,
            };
            let note = match waits_for(version, viewer) {
                Some(Decidable::Yes) => "waits for you".to_owned(),
                Some(Decidable::No(_)) => "waits for a policy admin".to_owned(),
                None => version
                    .decided_by
                    .as_deref()
                    .map(|by| format!("by {}", sanitize(by)))
                    .unwrap_or_default(),
            };
            Row::new(vec![
                Cell::from(format!("v{}", version.version)),
                Cell::from(Span::styled(
                    version.state.as_str(),
                    theme.style(state_role),
                )),
                Cell::from(sanitize(&version.description).into_owned()),
                Cell::from(sanitize(&version.proposed_by).into_owned()),
                Cell::from(version.proposed_at.format("%Y-%m-%d").to_string()),
                Cell::from(note),
            ])
            .style(theme.style(Role::Base))
        });
        let table = Table::new(
            rows,
            [
                Constraint::Length(7),
                Constraint::Length(10),
                Constraint::Fill(3),
                Constraint::Fill(2),
                Constraint::Length(10),
                Constraint::Fill(2),
            ],
        )
        .header(
            Row::new(["Version", "State", "Description", "Proposed by", "On", ""])
                .style(theme.style(Role::Header)),
        )
        .row_highlight_style(theme.style(Role::Selection))
        .highlight_symbol("▌");
        let mut state = TableState::default().with_selected(Some(self.selected));
        frame.render_stateful_widget(table, list, &mut state);
        let Some(version) = self.selected_version() else {
            return;
        };
        let block = Block::default()
            .borders(Borders::TOP)
            .border_style(theme.style(Role::Border));
        let inner = block.inner(detail);
        let text = Paragraph::new(self.detail_lines(version, viewer, keymap, theme, spinner))
            .wrap(Wrap { trim: false });
        frame.render_widget(block, detail);
        crate::tui::widgets::scrolled_text(frame, inner, text, self.scroll, &self.bottom, theme);
    }

    fn detail_lines(
        &self,
        version: &PolicySetVersion,
        viewer: Option<&Viewer>,
        keymap: &Keymap,
        theme: &Theme,
        spinner: char,
    ) -> Vec<Line<'static>> {
        let base = theme.style(Role::Base);
        let muted = theme.style(Role::Muted);
        let mut lines = vec![Line::from(vec![
            Span::styled(
                format!(" Version {} ", version.version),
                theme.style(Role::Title),
            ),
            Span::styled(format!("({}) ", version.state), theme.style(Role::Muted)),
            Span::styled(sanitize(&version.description).into_owned(), base),
        ])];
        let against = version
            .based_on
            .map(|v| format!(", planned against version {v}"))
            .unwrap_or_default();
        lines.push(Line::styled(
            format!(
                " proposed by {} {}{against} · sha256 {}",
                sanitize(&version.proposed_by),
                version.proposed_at.format("%Y-%m-%d %H:%M"),
                truncate(&version.source_sha256, 12)
            ),
            base,
        ));
        if let Some((at, decision)) = version.decision() {
            lines.push(Line::styled(
                format!(" {decision} {}", at.format("%Y-%m-%d %H:%M")),
                base,
            ));
        }
        match waits_for(version, viewer) {
            Some(Decidable::Yes) => {
                let key = |action| keymap.hint(Mode::Policies, action).unwrap_or_default();
                lines.push(Line::styled(
                    format!(
                        " Waits for your decision: {} approves (it becomes active at once), {} rejects with a comment.",
                        key(Action::Approve),
                        key(Action::Reject)
                    ),
                    theme.style(Role::Accent),
                ))
            }
            Some(Decidable::No(why)) => lines.push(Line::styled(
                format!(" Waiting: {why}."),
                theme.style(Role::Warn),
            )),
            None => {}
        }
        lines.push(Line::default());
        let shown = self
            .shown
            .as_ref()
            .filter(|shown| shown.version.version == version.version);
        match (shown, &self.shown_error) {
            (Some(shown), _) => match recorded_plan(shown) {
                Some(plan) => {
                    let style = |line: &str| {
                        if line.trim_start().starts_with('!') {
                            theme.style(Role::Warn)
                        } else if line.starts_with("  +") {
                            theme.style(Role::Ok)
                        } else if line.starts_with("  -") {
                            theme.style(Role::Danger)
                        } else {
                            base
                        }
                    };
                    let text = plan
                        .diff
                        .lines()
                        .into_iter()
                        .chain(std::iter::once(String::new()).chain(plan.impact.lines()));
                    lines.extend(text.map(|line| {
                        let line = format!(" {}", sanitize(&line));
                        let style = style(&line[1..]);
                        Line::styled(line, style)
                    }));
                    lines.extend(self.affected_lines(&plan, theme));
                    lines.extend(self.text_lines(shown, theme));
                }
                None => lines.push(Line::styled(
                    " No plan is recorded: this version was the first.",
                    muted,
                )),
            },
            (None, Some((failed, error))) if *failed == version.version => {
                lines.push(Line::styled(
                    format!(" Could not load its plan: {}", sanitize(error)),
                    theme.style(Role::Danger),
                ))
            }
            (None, _) => lines.push(Line::styled(format!(" {spinner} Loading its plan…"), muted)),
        }
        lines
    }
}

impl PolicyVersions {
    /// Every agent each kind of change touches, as the plan recorded them.
    fn affected_lines(&self, plan: &Plan, theme: &Theme) -> Vec<Line<'static>> {
        let mut lines = Vec::new();
        for (change, affected) in &plan.impact.changes {
            if affected.listed.is_empty() {
                continue;
            }
            lines.push(Line::default());
            let more = affected.count.saturating_sub(affected.listed.len() as u64);
            let beyond = if more > 0 {
                format!(" (the first {}; {more} more)", affected.listed.len())
            } else {
                String::new()
            };
            lines.push(Line::styled(
                format!(
                    " The {} agents that {}{beyond}:",
                    affected.count,
                    change.label()
                ),
                theme.style(Role::Header),
            ));
            lines.push(Line::styled(
                format!(" {}", sanitize(&affected.listed.join(", "))),
                theme.style(Role::Base),
            ));
        }
        lines
    }

    /// The version's text against the one it was planned against: every
    /// condition and chain it adds, removes or changes.
    fn text_lines(&self, shown: &PolicySetDetail, theme: &Theme) -> Vec<Line<'static>> {
        let (Some(base), Some(against)) = (&self.base_source, shown.version.based_on) else {
            return Vec::new();
        };
        let mut lines = vec![
            Line::default(),
            Line::styled(
                format!(" The text against version {against} (as gavel policy diff):"),
                theme.style(Role::Header),
            ),
        ];
        lines.extend(text_diff(base, &shown.source).into_iter().map(|line| {
            let role = match line.chars().next() {
                Some('+') => Role::Ok,
                Some('-') => Role::Danger,
                _ => Role::Muted,
            };
            Line::styled(format!(" {}", sanitize(&line)), theme.style(role))
        }));
        lines
    }

    /// Scrolls the version's detail by `delta` rows.
    pub fn scroll_by(&mut self, delta: i32) {
        let bottom = i32::from(self.bottom.get());
        self.scroll = (i32::from(self.scroll).min(bottom) + delta).clamp(0, bottom) as u16;
    }
}

/// The plan a version recorded when it was proposed (none for the first).
fn recorded_plan(detail: &PolicySetDetail) -> Option<Plan> {
    serde_json::from_value(detail.plan.clone()).ok()
}

/// For a proposed version: whether the viewer may decide it, or why not.
/// `None` for a version already decided.
pub fn waits_for(version: &PolicySetVersion, viewer: Option<&Viewer>) -> Option<Decidable> {
    if version.state != PolicySetState::Proposed {
        return None;
    }
    let proposer = sanitize(&version.proposed_by).into_owned();
    Some(match viewer {
        Some(viewer) if !viewer.policy_admin => Decidable::No(format!(
            "a policy admin other than {proposer} decides it; you are not a policy admin"
        )),
        Some(viewer) if viewer.email == version.proposed_by => Decidable::No(
            "you proposed it, so another policy admin decides it (four eyes)".to_owned(),
        ),
        Some(_) => Decidable::Yes,
        None => Decidable::No(format!("a policy admin other than {proposer} decides it")),
    })
}
