//! The Blocked tab: leadership's read-only dashboard of what is blocked,
//! why, since when and what would unblock it.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Sparkline, Table, TableState, Wrap};

use super::queue::Requests;
use crate::backend::{Dashboard, NamedCount};
use crate::domain::DeploymentRequest;
use crate::text::thousands;
use crate::text::{humanize_age, pad, sanitize};
use crate::tui::action::Action;
use crate::tui::command::{BlockedFilter, BlockedView, Command, RequestId};
use crate::tui::theme::{Role, Theme};
use crate::tui::widgets::bars;

mod headline;
mod trends;
use headline::render_headline;
use trends::render_trends;

#[derive(Debug, Default)]
pub struct BlockedScreen {
    pub dashboard: Option<Dashboard>,
    /// When the figures were read (the dashboard's own time).
    pub read_at: Option<DateTime<Utc>>,
    pub items: Vec<DeploymentRequest>,
    pub next: Option<String>,
    pub selected: usize,
    pub loaded: bool,
    pub error: Option<String>,
    /// Which blocked deployments the list holds, and in what order.
    pub filter: BlockedFilter,
    /// Where the keys go: the list or one of the charts.
    pub focus: Focus,
    /// The selected bar of the by-policy and by-team charts.
    pub chart_selected: [usize; 2],
    request: RequestId,
}

/// The part of the Blocked tab that `j`, `k` and `enter` act on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Focus {
    #[default]
    List,
    Policies,
    Teams,
}

impl BlockedScreen {
    pub fn load(&mut self, requests: &mut Requests) -> Command {
        self.request = requests.issue();
        Command::LoadBlocked {
            request: self.request,
            cursor: None,
            filter: self.filter.clone(),
        }
    }

    /// Lists the blocked deployments `filter` lets through, from the top.
    pub fn drill(&mut self, filter: BlockedFilter, requests: &mut Requests) -> Vec<Command> {
        self.filter = filter;
        self.focus = Focus::List;
        self.selected = 0;
        vec![self.load(requests)]
    }

    /// What the list holds, in words ("by policy hr_bias_audit · …").
    pub fn describe_filter(&self) -> String {
        let filter = &self.filter;
        let mut parts = Vec::new();
        if let Some(policy) = &filter.policy {
            parts.push(format!("blocked by {}", sanitize(policy)));
        }
        if let Some(team) = &filter.team {
            parts.push(format!("team {}", sanitize(team)));
        }
        if let Some(agent) = &filter.agent_id {
            parts.push(format!("agent {}", sanitize(agent)));
        }
        if let Some(search) = &filter.search {
            parts.push(format!("matching \"{}\"", sanitize(search)));
        }
        if parts.is_empty() {
            parts.push("all".into());
        }
        parts.push(filter.sort.words().into());
        parts.join(" · ")
    }

    /// The names of the chart in focus, in its order.
    fn chart_names(&self) -> Vec<String> {
        let Some(dashboard) = &self.dashboard else {
            return Vec::new();
        };
        let counts = match self.focus {
            Focus::List => return Vec::new(),
            Focus::Policies => &dashboard.blocked_by_policy,
            Focus::Teams => &dashboard.blocked_by_team,
        };
        counts.iter().map(|count| count.name.clone()).collect()
    }

    fn chart_index(&self) -> Option<usize> {
        match self.focus {
            Focus::List => None,
            Focus::Policies => Some(0),
            Focus::Teams => Some(1),
        }
    }

    pub fn on_loaded(
        &mut self,
        request: RequestId,
        append: bool,
        result: Result<Box<BlockedView>, String>,
    ) {
        if request != self.request {
            return;
        }
        self.loaded = true;
        match result {
            Ok(view) => {
                if let Some(dashboard) = view.dashboard {
                    self.read_at = Some(dashboard.generated_at);
                    self.dashboard = Some(dashboard);
                }
                if append {
                    self.items.extend(view.page.items);
                } else {
                    self.items = view.page.items;
                    self.selected = self.selected.min(self.items.len().saturating_sub(1));
                }
                self.next = view.page.next;
                self.error = None;
            }
            Err(error) => self.error = Some(error),
        }
    }

    pub fn selected_item(&self) -> Option<&DeploymentRequest> {
        self.items.get(self.selected)
    }

    pub fn on_action(&mut self, action: Action, requests: &mut Requests) -> Vec<Command> {
        if let Some(chart) = self.chart_index() {
            let names = self.chart_names();
            let last = names.len().saturating_sub(1);
            let at = &mut self.chart_selected[chart];
            match action {
                Action::Down => *at = (*at + 1).min(last),
                Action::Up => *at = at.saturating_sub(1),
                Action::First => *at = 0,
                Action::Last => *at = last,
                Action::Open => {
                    let Some(name) = names.get(*at).cloned() else {
                        return Vec::new();
                    };
                    let mut filter = self.filter.clone();
                    if self.focus == Focus::Policies {
                        filter.policy = Some(name);
                    } else {
                        filter.team = Some(name);
                    }
                    return self.drill(filter, requests);
                }
                _ => return self.on_any_focus(action, requests),
            }
            return Vec::new();
        }
        match action {
            Action::Down => {
                self.selected = (self.selected + 1).min(self.items.len().saturating_sub(1))
            }
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::PageDown => {
                self.selected = (self.selected + 10).min(self.items.len().saturating_sub(1))
            }
            Action::PageUp => self.selected = self.selected.saturating_sub(10),
            Action::First => self.selected = 0,
            Action::Last => self.selected = self.items.len().saturating_sub(1),
            _ => return self.on_any_focus(action, requests),
        }
        // Near the end of what is loaded, fetch the next page.
        if self.selected + 10 >= self.items.len()
            && let Some(cursor) = self.next.take()
        {
            self.request = requests.issue();
            return vec![Command::LoadBlocked {
                request: self.request,
                cursor: Some(cursor),
                filter: self.filter.clone(),
            }];
        }
        Vec::new()
    }

    /// Keys that do the same wherever the focus is.
    fn on_any_focus(&mut self, action: Action, requests: &mut Requests) -> Vec<Command> {
        match action {
            Action::Refresh => vec![self.load(requests)],
            Action::NextField | Action::PreviousField => {
                let order = [Focus::List, Focus::Policies, Focus::Teams];
                let at = order.iter().position(|f| *f == self.focus).unwrap_or(0);
                let step = if action == Action::NextField { 1 } else { 2 };
                self.focus = order[(at + step) % order.len()];
                Vec::new()
            }
            Action::ToggleSort => {
                let sorts = crate::backend::DeploymentSort::ALL;
                let at = sorts
                    .iter()
                    .position(|s| *s == self.filter.sort)
                    .unwrap_or(0);
                let mut filter = self.filter.clone();
                filter.sort = sorts[(at + 1) % sorts.len()];
                self.drill(filter, requests)
            }
            Action::ClearFilters => self.drill(
                BlockedFilter {
                    sort: self.filter.sort,
                    ..BlockedFilter::default()
                },
                requests,
            ),
            _ => Vec::new(),
        }
    }

    pub fn render(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        now: DateTime<Utc>,
        spinner: char,
    ) {
        let Some(dashboard) = &self.dashboard else {
            let text = match &self.error {
                Some(error) => format!(" Could not load the dashboard: {}", sanitize(error)),
                None => format!(" {spinner} Loading…"),
            };
            frame.render_widget(
                Paragraph::new(Line::styled(text, theme.style(Role::Info))),
                area,
            );
            return;
        };
        let [headline, charts, list] = sections(area, dashboard);
        render_headline(frame, headline, dashboard, theme);
        // Steps past their policy's SLA get a column when there are any.
        let (by_policy, by_team, trend) = if dashboard.overdue_by_team.is_empty() {
            let [by_policy, by_team, trend] = Layout::horizontal([
                Constraint::Percentage(34),
                Constraint::Percentage(33),
                Constraint::Percentage(33),
            ])
            .areas(charts);
            (by_policy, by_team, trend)
        } else {
            let [by_policy, by_team, overdue, trend] = Layout::horizontal([
                Constraint::Percentage(25),
                Constraint::Percentage(25),
                Constraint::Percentage(25),
                Constraint::Percentage(25),
            ])
            .areas(charts);
            render_chart(
                frame,
                overdue,
                Chart {
                    title: " Overdue steps by team ",
                    counts: &dashboard.overdue_by_team,
                    selected: None,
                    headline: None,
                },
                theme,
            );
            (by_policy, by_team, trend)
        };
        let focused = |focus: Focus, chart: usize| {
            (self.focus == focus).then_some(self.chart_selected[chart])
        };
        render_chart(
            frame,
            by_policy,
            Chart {
                title: " By policy ",
                counts: &dashboard.blocked_by_policy,
                selected: focused(Focus::Policies, 0),
                // One deployment may be blocked by several policies.
                headline: None,
            },
            theme,
        );
        render_chart(
            frame,
            by_team,
            Chart {
                title: " By team ",
                counts: &dashboard.blocked_by_team,
                selected: focused(Focus::Teams, 1),
                headline: Some(dashboard.blocked_now),
            },
            theme,
        );
        if dashboard.weekly.is_empty() || trend.height < 5 {
            render_blocked_trend(frame, trend, dashboard, theme);
        } else {
            render_trends(frame, trend, dashboard, theme);
        }
        self.render_list(frame, list, theme, now);
    }

    fn render_list(&self, frame: &mut Frame, area: Rect, theme: &Theme, now: DateTime<Utc>) {
        let [title, area] = list_sections(area);
        let as_of = self
            .read_at
            .map(|at| format!(" · as of {}", at.format("%H:%M:%S UTC")))
            .unwrap_or_default();
        let focus_hint = if self.focus == Focus::List {
            ""
        } else {
            " · j/k pick a bar, enter lists it"
        };
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(" Blocked deployments ", theme.style(Role::Title)),
                Span::styled(
                    format!("{}{as_of}{focus_hint}", self.describe_filter()),
                    theme.style(Role::Muted),
                ),
            ])),
            title,
        );
        if self.items.is_empty() {
            let text = if self.filter == BlockedFilter::default() {
                " Nothing is blocked."
            } else {
                " Nothing blocked matches: c clears the drill-down."
            };
            frame.render_widget(
                Paragraph::new(Line::styled(text, theme.style(Role::Ok))),
                area,
            );
            return;
        }
        let [table_area, detail] = table_and_detail(area);
        let rows = self.items.iter().map(|item| {
            Row::new(vec![
                Cell::from(sanitize(&item.agent_name).into_owned()),
                Cell::from(sanitize(&item.team).into_owned()),
                Cell::from(sanitize(&item.agent_version).into_owned()),
                Cell::from(humanize_age(item.requested_at, now)),
            ])
            .style(theme.style(Role::Base))
        });
        let table = Table::new(
            rows,
            [
                Constraint::Fill(3),
                Constraint::Fill(2),
                Constraint::Length(8),
                Constraint::Length(8),
            ],
        )
        .header(Row::new(["Agent", "Team", "Version", "Blocked"]).style(theme.style(Role::Header)))
        .row_highlight_style(theme.style(Role::Selection))
        .highlight_symbol("▌");
        let mut state = TableState::default().with_selected(Some(self.selected));
        frame.render_stateful_widget(table, table_area, &mut state);
        if let Some(item) = self.selected_item() {
            frame.render_widget(
                Paragraph::new(why_blocked(item, theme))
                    .wrap(Wrap { trim: false })
                    .block(
                        Block::default()
                            .borders(Borders::LEFT)
                            .border_style(theme.style(Role::Border)),
                    ),
                detail,
            );
        }
    }
}

/// The headline, the charts and the list; on a short terminal the charts
/// give rows to the list.
/// The headline (a line more with obligation coverage, incidents,
/// recertifications or exceptions in force), the charts, the list.
fn sections(area: Rect, dashboard: &Dashboard) -> [Rect; 3] {
    let chart_rows = if area.height < 30 { 6 } else { 9 };
    let coverage = !dashboard.obligations.is_empty() || dashboard.obligations_counting;
    let after_approval = dashboard.exceptions_active
        + dashboard.recertifications_due
        + dashboard.recertifications_due_soon
        + dashboard.incidents_open
        + dashboard.suspended_versions;
    let headline_rows = if coverage || after_approval > 0 { 4 } else { 3 };
    Layout::vertical([
        Constraint::Length(headline_rows),
        Constraint::Length(chart_rows),
        Constraint::Min(4),
    ])
    .areas(area)
}

/// The list's title line and the rest.
fn list_sections(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area)
}

/// The table of deployments and the selected one's detail.
fn table_and_detail(area: Rect) -> [Rect; 2] {
    Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area)
}

impl BlockedScreen {
    /// A click in the main area: on a row of the list, selects it (the
    /// table scrolls as ratatui's does: the selected row stays in view).
    pub fn click(
        &mut self,
        main: Rect,
        column: u16,
        row: u16,
        requests: &mut Requests,
    ) -> Vec<Command> {
        let Some(dashboard) = &self.dashboard else {
            return Vec::new();
        };
        let [_, _, list] = sections(main, dashboard);
        let [_, rest] = list_sections(list);
        let [table, _] = table_and_detail(rest);
        // The table's first line holds the column titles.
        let clickable = super::ClickableList {
            area: table,
            above: 1,
            item_lines: 1,
        };
        let Some(index) = clickable.item_at((column, row), self.selected, self.items.len()) else {
            return Vec::new();
        };
        self.focus = Focus::List;
        let moved = index.abs_diff(self.selected) as isize;
        let action = if index > self.selected {
            Action::Down
        } else {
            Action::Up
        };
        (0..moved)
            .flat_map(|_| self.on_action(action, requests))
            .collect()
    }
}

/// A bar chart of named counts.
struct Chart<'a> {
    title: &'static str,
    counts: &'a [NamedCount],
    /// The bar the keys are on, when the chart has the focus.
    selected: Option<usize>,
    /// What the counts add up to, when they partition it (said in the
    /// title); a chart whose items overlap says so instead.
    headline: Option<u64>,
}

/// Deployments blocked per week alone: where the four trends do not fit
/// (or a server from before them sends none).
fn render_blocked_trend(frame: &mut Frame, area: Rect, dashboard: &Dashboard, theme: &Theme) {
    let weeks: Vec<u64> = dashboard
        .weekly_blocked
        .iter()
        .map(|week| week.blocked)
        .collect();
    let first = dashboard
        .weekly_blocked
        .first()
        .map_or(String::new(), |w| w.week_start.format("%d %b").to_string());
    let peak = weeks.iter().max().copied().unwrap_or(0);
    let block = Block::default()
        .borders(Borders::TOP | Borders::LEFT)
        .border_style(theme.style(Role::Border))
        .title(Span::styled(
            if area.width >= 36 {
                format!(" Blocked per week from {first}, peak {peak} ")
            } else {
                format!(" Blocked per week, peak {peak} ")
            },
            theme.style(Role::Title),
        ));
    frame.render_widget(
        Sparkline::default()
            .data(&weeks)
            .style(theme.style(Role::Chart2))
            .block(block),
        area,
    );
}

/// Draws as many bars as fit, keeping the selected one in view, and says
/// what the rows shown leave out, so the chart always adds up.
fn render_chart(frame: &mut Frame, area: Rect, chart: Chart<'_>, theme: &Theme) {
    let total: u64 = chart.counts.iter().map(|c| c.count).sum();
    let title = match chart.headline {
        Some(headline) if headline == total => format!("{}{} ", chart.title, thousands(total)),
        Some(headline) => format!(
            "{}{} of {} ",
            chart.title,
            thousands(total),
            thousands(headline)
        ),
        None => chart.title.to_owned(),
    };
    let border = if chart.selected.is_some() {
        Role::Accent
    } else {
        Role::Border
    };
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.style(border))
        .title(Span::styled(title, theme.style(Role::Title)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let counts = chart.counts;
    let max = counts.iter().map(|c| c.count).max().unwrap_or(0) as f64;
    let label = 16.min(inner.width as usize / 2);
    let track = (inner.width as usize).saturating_sub(label + 8);
    if counts.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(" none", theme.style(Role::Muted))),
            inner,
        );
        return;
    }
    let rows = inner.height as usize;
    // Room for the "+ n more" line when not every bar fits.
    let shown = if counts.len() > rows {
        rows.saturating_sub(1)
    } else {
        rows
    };
    let selected = chart.selected.unwrap_or(0).min(counts.len() - 1);
    let first = selected.saturating_sub(shown.saturating_sub(1));
    let mut lines: Vec<Line> = counts
        .iter()
        .enumerate()
        .skip(first)
        .take(shown)
        .map(|(index, count)| {
            let style = if chart.selected == Some(index) {
                theme.style(Role::Selection)
            } else {
                theme.style(Role::Base)
            };
            Line::from(vec![
                Span::styled(format!(" {} ", pad(&sanitize(&count.name), label)), style),
                Span::styled(
                    bars::track(count.count as f64, max, track, None, None),
                    theme.style(Role::Chart1),
                ),
                Span::styled(format!(" {}", count.count), theme.style(Role::Base)),
            ])
        })
        .collect();
    let left_out = counts.len().saturating_sub(shown);
    if left_out > 0 {
        let hidden: u64 = counts
            .iter()
            .enumerate()
            .filter(|(index, _)| *index < first || *index >= first + shown)
            .map(|(_, count)| count.count)
            .sum();
        lines.push(Line::styled(
            format!(" + {left_out} more ({})", thousands(hidden)),
            theme.style(Role::Muted),
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Why a deployment is blocked, and what would unblock it.
fn why_blocked(item: &DeploymentRequest, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::styled(
            format!(
                " {} v{}",
                sanitize(&item.agent_name),
                sanitize(&item.agent_version)
            ),
            theme.style(Role::Title),
        ),
        Line::styled(
            format!(
                " agent {} · team {}",
                sanitize(&item.agent_id),
                sanitize(&item.team)
            ),
            theme.style(Role::Muted),
        ),
        Line::styled(
            format!(
                " {} · requested by {} on {}",
                sanitize(&item.deployment_id),
                sanitize(&item.requested_by),
                item.requested_at.format("%Y-%m-%d %H:%M")
            ),
            theme.style(Role::Muted),
        ),
        Line::styled(
            match &item.running_version {
                Some(version) => format!(" still running: version {}", sanitize(version)),
                None => " nothing approved is running yet".to_owned(),
            },
            theme.style(Role::Info),
        ),
        Line::default(),
    ];
    for policy in &item.triggered_policies {
        let role = if policy.blocking {
            Role::Danger
        } else {
            Role::Muted
        };
        let mark = if policy.blocking { "✗" } else { "·" };
        lines.push(Line::styled(
            format!(
                " {mark} {} ({})",
                sanitize(&policy.name),
                sanitize(&policy.policy_id)
            ),
            theme.style(role),
        ));
        lines.push(Line::styled(
            format!("   why: {}", sanitize(&policy.reason)),
            theme.style(Role::Base),
        ));
        lines.push(Line::styled(
            format!("   fix: {}", sanitize(&policy.remediation)),
            theme.style(Role::Base),
        ));
    }
    if !item.workflow_ids.is_empty() {
        lines.push(Line::styled(
            format!(" workflows: {} (enter opens)", item.workflow_ids.join(", ")),
            theme.style(Role::Muted),
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    /// A chart with more bars than rows says what it leaves out, so what it
    /// shows and what it names add up to its headline.
    #[test]
    fn a_chart_that_does_not_fit_says_what_it_leaves_out() {
        let counts: Vec<NamedCount> = (0..10)
            .map(|n| NamedCount {
                name: format!("team {n}"),
                count: 10 - n,
            })
            .collect();
        let total: u64 = counts.iter().map(|c| c.count).sum();
        let theme = Theme::load("default", None).expect("theme");
        let mut terminal = Terminal::new(TestBackend::new(40, 6)).expect("terminal");
        terminal
            .draw(|frame| {
                let chart = Chart {
                    title: " By team ",
                    counts: &counts,
                    selected: None,
                    headline: Some(total),
                };
                render_chart(frame, frame.area(), chart, &theme);
            })
            .expect("draw");
        let text: String = terminal
            .backend()
            .buffer()
            .content()
            .chunks(40)
            .map(|row| row.iter().map(|cell| cell.symbol()).collect::<String>() + "\n")
            .collect();
        // Five rows: four bars (10, 9, 8, 7) and the rest in one line.
        assert!(text.contains(&format!("By team {total}")), "{text}");
        assert!(text.contains("+ 6 more (21)"), "{text}");
    }
}
