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
use crate::tui::command::{BlockedView, Command, RequestId};
use crate::tui::theme::{Role, Theme};
use crate::tui::widgets::bars;

#[derive(Debug, Default)]
pub struct BlockedScreen {
    pub dashboard: Option<Dashboard>,
    pub items: Vec<DeploymentRequest>,
    pub next: Option<String>,
    pub selected: usize,
    pub loaded: bool,
    pub error: Option<String>,
    request: RequestId,
}

impl BlockedScreen {
    pub fn load(&mut self, requests: &mut Requests) -> Command {
        self.request = requests.issue();
        Command::LoadBlocked {
            request: self.request,
            cursor: None,
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
            Action::Refresh => return vec![self.load(requests)],
            _ => {}
        }
        // Near the end of what is loaded, fetch the next page.
        if self.selected + 10 >= self.items.len()
            && let Some(cursor) = self.next.take()
        {
            self.request = requests.issue();
            return vec![Command::LoadBlocked {
                request: self.request,
                cursor: Some(cursor),
            }];
        }
        Vec::new()
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
        let [headline, charts, list] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Length(9),
            Constraint::Min(4),
        ])
        .areas(area);
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
            render_counts(
                frame,
                overdue,
                " Overdue steps by team ",
                &dashboard.overdue_by_team,
                theme,
            );
            (by_policy, by_team, trend)
        };
        render_counts(
            frame,
            by_policy,
            " Blocked by policy ",
            &dashboard.blocked_by_policy,
            theme,
        );
        render_counts(
            frame,
            by_team,
            " Blocked by team ",
            &dashboard.blocked_by_team,
            theme,
        );
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
                format!(" Blocked per week since {first} (peak {peak}) "),
                theme.style(Role::Title),
            ));
        frame.render_widget(
            Sparkline::default()
                .data(&weeks)
                .style(theme.style(Role::Chart2))
                .block(block),
            trend,
        );
        self.render_list(frame, list, theme, now);
    }

    fn render_list(&self, frame: &mut Frame, area: Rect, theme: &Theme, now: DateTime<Utc>) {
        if self.items.is_empty() {
            frame.render_widget(
                Paragraph::new(Line::styled(" Nothing is blocked.", theme.style(Role::Ok))),
                area,
            );
            return;
        }
        let [table_area, detail] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(area);
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

fn render_headline(frame: &mut Frame, area: Rect, dashboard: &Dashboard, theme: &Theme) {
    let figure = |label: &str, value: String, role: Role| {
        vec![
            Span::styled(format!(" {label} "), theme.style(Role::Muted)),
            Span::styled(value, theme.style(role)),
            Span::raw("  "),
        ]
    };
    let trend = match dashboard
        .blocked_this_week
        .cmp(&dashboard.blocked_last_week)
    {
        std::cmp::Ordering::Greater => "↑",
        std::cmp::Ordering::Less => "↓",
        std::cmp::Ordering::Equal => "=",
    };
    let mut first = figure(
        "Blocked now",
        thousands(dashboard.blocked_now),
        Role::Danger,
    );
    first.extend(figure(
        "this week",
        format!(
            "{} {trend} (last week {})",
            dashboard.blocked_this_week, dashboard.blocked_last_week
        ),
        Role::Warn,
    ));
    first.extend(figure(
        "median time blocked",
        dashboard
            .median_hours_blocked
            .map_or("-".into(), |h| format!("{:.1} days", h / 24.0)),
        Role::Base,
    ));
    let mut second = figure(
        "Pending approvals",
        thousands(dashboard.pending_approvals),
        Role::Info,
    );
    second.extend(figure(
        "approval rate",
        dashboard
            .approval_rate
            .map_or("-".into(), |r| format!("{:.1}%", r * 100.0)),
        Role::Ok,
    ));
    if let Some(every) = dashboard
        .decision_times
        .first()
        .filter(|times| times.decided > 0)
    {
        let hours = |h: Option<f64>| h.map_or("-".to_owned(), crate::text::hours_words);
        second.extend(figure(
            "decided in",
            format!(
                "{} · p90 {}",
                hours(every.p50_hours),
                hours(every.p90_hours)
            ),
            Role::Base,
        ));
    }
    second.push(Span::styled("· read-only view", theme.style(Role::Muted)));
    let audits = &dashboard.audits;
    let mut third = figure(
        "Bias audits to run",
        audits.total().to_string(),
        if audits.total() > 0 {
            Role::Warn
        } else {
            Role::Ok
        },
    );
    third.push(Span::styled(
        format!(
            "{} failing · {} expired · {} missing · {} due in 30 days",
            audits.failing,
            audits.expired,
            audits.missing + audits.uncovered,
            audits.due_soon
        ),
        theme.style(Role::Muted),
    ));
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(first),
            Line::from(second),
            Line::from(third),
        ]),
        area,
    );
}

fn render_counts(frame: &mut Frame, area: Rect, title: &str, counts: &[NamedCount], theme: &Theme) {
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.style(Role::Border))
        .title(Span::styled(title.to_owned(), theme.style(Role::Title)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let max = counts.iter().map(|c| c.count).max().unwrap_or(0) as f64;
    let label = 16.min(inner.width as usize / 2);
    let track = (inner.width as usize).saturating_sub(label + 8);
    let lines: Vec<Line> = if counts.is_empty() {
        vec![Line::styled(" none", theme.style(Role::Muted))]
    } else {
        counts
            .iter()
            .take(inner.height as usize)
            .map(|count| {
                Line::from(vec![
                    Span::styled(
                        format!(" {} ", pad(&sanitize(&count.name), label)),
                        theme.style(Role::Base),
                    ),
                    Span::styled(
                        bars::track(count.count as f64, max, track, None, None),
                        theme.style(Role::Chart1),
                    ),
                    Span::styled(format!(" {}", count.count), theme.style(Role::Base)),
                ])
            })
            .collect()
    };
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
