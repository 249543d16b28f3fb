//! Drawing the queue: header, the visible rows, and the preview pane.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

use super::queue::QueueScreen;
use super::queue_views::SEPARATOR;
use super::step_line;
use crate::backend::{QueueItem, QueueSort};
use crate::domain::{RiskTier, Workflow, WorkflowStatus};
use crate::text::{humanize_age, sanitize, thousands};
use crate::tui::theme::{Role, Theme};

/// Marks an item whose change has not reached the server.
pub const PENDING_MARK: &str = "⟳ ";
pub const PENDING_LINE: &str = "⟳ pending sync: saved here, not yet on the server";
/// Marks an item of "every workflow" that the reader may not decide now.
pub const NOT_YOURS_MARK: &str = "⊘ ";
/// Marks an item whose change the server refused.
pub const REFUSED_MARK: &str = "! ";
/// A row someone else changed while it was on screen.
pub const CHANGED_MARK: &str = "• ";
pub const CHANGED_LINE: &str = "• changed by someone else (F5 clears)";
/// A compliance officer's task: an ethics review to assign.
pub const ASSIGN_MARK: &str = "+ ";
pub const REFUSED_LINE: &str = "! the server refused your change: C shows both sides";

/// What the queue view needs besides the screen's own state.
pub struct QueueContext<'a> {
    pub theme: &'a Theme,
    pub now: DateTime<Utc>,
    pub sla_days: u32,
    pub spinner: char,
    /// The selected workflow, when loaded.
    pub preview: Option<&'a Workflow>,
    /// Workflows with a change the server has not confirmed yet.
    pub unconfirmed: &'a BTreeSet<String>,
    /// Workflows with a change the server refused (a conflict).
    pub refused: &'a BTreeSet<String>,
    /// The offline cache is being filled for the first time.
    pub first_sync: bool,
    /// The reader is a compliance officer: unassigned reviews are theirs
    /// to assign.
    pub assigns_reviews: bool,
}

/// Where the saved views' sub-tabs start on their line.
pub const VIEWS_FROM: u16 = 1;

/// Below this height the list needs every line: no line of saved views.
const VIEWS_FROM_HEIGHT: u16 = 10;

/// The line of saved views above the queue, when there is room.
pub fn views_line(area: Rect) -> Option<Rect> {
    (area.height >= VIEWS_FROM_HEIGHT).then_some(Rect { height: 1, ..area })
}

/// Where the list and the preview go for a main area of this size.
pub fn split(screen: &QueueScreen, area: Rect) -> (Rect, Rect, Option<Rect>) {
    let views = views_line(area).map_or(0, |line| line.height);
    let [_views, header, body] = Layout::vertical([
        Constraint::Length(views),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(area);
    if !screen.show_preview {
        return (header, body, None);
    }
    // The list takes the full width (agent, team, policy, step, risk,
    // waiting) and the preview the rows below it, down to 80x24; only a
    // very wide terminal has room for the preview beside every column.
    if body.width >= 160 {
        let [list, _gap, preview] = Layout::horizontal([
            Constraint::Min(110),
            Constraint::Length(1),
            Constraint::Length(48),
        ])
        .areas(body);
        return (header, list, Some(preview));
    }
    if body.height >= 16 {
        let below = if body.height >= 22 { 9 } else { 7 };
        let [list, preview] =
            Layout::vertical([Constraint::Min(6), Constraint::Length(below)]).areas(body);
        return (header, list, Some(preview));
    }
    (header, body, None)
}

/// Rows of the table that fit in `list` (one line goes to the column titles).
pub fn page_height(list: Rect) -> usize {
    list.height.saturating_sub(1).max(1) as usize
}

pub fn render(screen: &QueueScreen, frame: &mut Frame, area: Rect, context: &QueueContext<'_>) {
    let (header, list, preview) = split(screen, area);
    if let Some(line) = views_line(area) {
        render_views(screen, frame, line, context.theme);
    }
    render_header(screen, frame, header, context);
    render_list(screen, frame, list, context);
    if let Some(preview) = preview {
        render_preview(screen, frame, preview, context);
    }
}

fn describe_filters(screen: &QueueScreen) -> String {
    let mut parts = Vec::new();
    let scope = match (
        screen.choice.mine && screen.choice.status == WorkflowStatus::InProgress,
        screen.choice.role,
    ) {
        (true, Some(role)) => format!("waiting on me as {}", role.label()),
        (true, None) => "waiting on my roles".to_owned(),
        (false, _) => format!(
            "every {} workflow",
            screen.choice.status.as_str().replace('_', "-")
        ),
    };
    parts.push(scope);
    parts.push(match screen.choice.sort {
        QueueSort::Age => "longest waiting first".into(),
        QueueSort::Risk => "highest risk first".into(),
    });
    if let Some(risk) = screen.choice.risk {
        parts.push(format!("risk {risk}"));
    }
    if let Some(team) = &screen.choice.team {
        parts.push(format!("team {}", sanitize(team)));
    }
    if let Some(search) = &screen.choice.search {
        parts.push(format!("matching \"{}\"", sanitize(search)));
    }
    parts.join(" · ")
}

/// The saved views as sub-tabs, each with its count; the current one
/// marked, and said when its filters were changed.
fn render_views(screen: &QueueScreen, frame: &mut Frame, area: Rect, theme: &Theme) {
    let mut spans = vec![Span::raw(" ".repeat(usize::from(VIEWS_FROM)))];
    for (index, label) in screen.views.labels().into_iter().enumerate() {
        if index > 0 {
            spans.push(Span::styled(SEPARATOR, theme.style(Role::Border)));
        }
        let role = if index == screen.views.current {
            Role::TabActive
        } else {
            Role::Muted
        };
        spans.push(Span::styled(label, theme.style(role)));
    }
    if screen.strays_from_view() {
        spans.push(Span::styled(
            "  · filters changed",
            theme.style(Role::Muted),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_header(screen: &QueueScreen, frame: &mut Frame, area: Rect, context: &QueueContext<'_>) {
    let theme = context.theme;
    let count = match (screen.count, screen.position()) {
        (_, Some((at, count))) => format!("{} of {}", thousands(at), thousands(count)),
        (Some(count), None) => format!("{} items", thousands(count)),
        (None, None) => format!("{} counting", context.spinner),
    };
    let mut spans = vec![
        Span::styled(" Queue ", theme.style(Role::Title)),
        Span::styled(format!("{count} "), theme.style(Role::Accent)),
        Span::styled(describe_filters(screen), theme.style(Role::Muted)),
    ];
    if screen.loading.is_some() && screen.loaded_once {
        spans.push(Span::styled(
            format!(" {}", context.spinner),
            theme.style(Role::Info),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Which optional columns fit: narrow terminals keep what matters most
/// (the agent and how long it has waited).
struct Columns {
    team: bool,
    policy: bool,
    step: bool,
    risk: bool,
}

fn columns(width: u16) -> Columns {
    Columns {
        team: width >= 70,
        policy: width >= 100,
        step: width >= 50,
        risk: width >= 36,
    }
}

fn age_cell(item: &QueueItem, context: &QueueContext<'_>) -> Cell<'static> {
    let days = (context.now - item.waiting_since).num_days();
    let sla = i64::from(context.sla_days);
    let text = humanize_age(item.waiting_since, context.now);
    let in_progress = item.status == WorkflowStatus::InProgress;
    // The step's own SLA when its policy gives one; else the console's.
    let (text, role) = match (item.due_at, item.alert) {
        _ if !in_progress => (text, Role::Base),
        (_, Some(crate::domain::policy::sla::AlertKind::Escalated)) => {
            (format!("{text} escalated"), Role::Danger)
        }
        (Some(due), alert) if context.now >= due => (
            format!("{text} {}", alert.map_or("overdue", super::alert_word)),
            Role::Warn,
        ),
        (Some(_), Some(alert)) => (format!("{text} {}", super::alert_word(alert)), Role::Info),
        (Some(_), None) => (text, Role::Base),
        (None, _) if days >= 2 * sla => (format!("{text} !!"), Role::Danger),
        (None, _) if days >= sla => (format!("{text} !"), Role::Warn),
        (None, _) => (text, Role::Base),
    };
    Cell::from(Span::styled(text, context.theme.style(role)))
}

fn risk_cell(tier: RiskTier, theme: &Theme) -> Cell<'static> {
    let role = match tier {
        RiskTier::High => Role::Danger,
        RiskTier::Medium => Role::Warn,
        RiskTier::Low => Role::Muted,
    };
    Cell::from(Span::styled(tier.as_str(), theme.style(role)))
}

fn render_list(screen: &QueueScreen, frame: &mut Frame, area: Rect, context: &QueueContext<'_>) {
    let theme = context.theme;
    if screen.rows.is_empty() {
        let (text, role) = match (&screen.error, screen.loading.is_some()) {
            (Some(error), _) => (
                format!(
                    "Could not load the queue: {}  (ctrl-r retries)",
                    sanitize(error)
                ),
                Role::Danger,
            ),
            (None, true) => (format!("{} Loading…", context.spinner), Role::Info),
            (None, false) if context.first_sync => (
                format!(
                    "{} Copying the server for offline use; the queue fills in when that is done.",
                    context.spinner
                ),
                Role::Info,
            ),
            (None, false) if screen.choice.mine => (
                "Nothing is waiting on you. (m shows every workflow, c clears filters)".to_owned(),
                Role::Muted,
            ),
            (None, false) => (
                "No workflow matches these filters. (c clears them)".to_owned(),
                Role::Muted,
            ),
        };
        frame.render_widget(
            Paragraph::new(Line::styled(text, theme.style(role))).wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let shown = columns(area.width);
    let mut titles = vec!["Agent"];
    let mut widths = vec![Constraint::Fill(4)];
    for (on, title, width) in [
        (shown.team, "Team", Constraint::Fill(2)),
        (shown.policy, "Policy", Constraint::Fill(2)),
        (shown.step, "Step", Constraint::Length(22)),
        (shown.risk, "Risk", Constraint::Length(6)),
    ] {
        if on {
            titles.push(title);
            widths.push(width);
        }
    }
    titles.push("Waiting");
    let height = page_height(area);
    // Room for "12d escalated" when a row on the page has an SLA's word.
    let words = screen
        .rows
        .iter()
        .skip(screen.offset)
        .take(height)
        .any(|item| item.due_at.is_some() || item.alert.is_some());
    widths.push(Constraint::Length(if words && area.width >= 60 {
        14
    } else {
        10
    }));
    let visible = screen.rows.iter().skip(screen.offset).take(height);
    let rows: Vec<Row> = visible
        .map(|item| {
            let name = sanitize(&item.agent_name).into_owned();
            let mark = if context.refused.contains(&item.workflow_id) {
                Some((REFUSED_MARK, Role::Warn))
            } else if context.unconfirmed.contains(&item.workflow_id) {
                Some((PENDING_MARK, Role::Info))
            } else if screen.changed.contains(&item.workflow_id) {
                Some((CHANGED_MARK, Role::Info))
            } else if item.not_actionable.is_some_and(|why| why.is_assignment())
                && context.assigns_reviews
            {
                Some((ASSIGN_MARK, Role::Warn))
            } else if item.not_actionable.is_some() {
                Some((NOT_YOURS_MARK, Role::Muted))
            } else {
                None
            };
            let mut cells = vec![match mark {
                Some((mark, role)) => Cell::from(Line::from(vec![
                    Span::styled(mark, theme.style(role)),
                    Span::raw(name),
                ])),
                None => Cell::from(name),
            }];
            if shown.team {
                cells.push(Cell::from(sanitize(&item.team).into_owned()));
            }
            if shown.policy {
                cells.push(Cell::from(sanitize(&item.triggered_by_policy).into_owned()));
            }
            if shown.step {
                let step = item.current_step.map_or_else(
                    || item.status.as_str().to_owned(),
                    |step| {
                        let quorum = if step.quorum > 1 {
                            format!(" {}/{}✓", step.approvals, step.quorum)
                        } else {
                            String::new()
                        };
                        format!(
                            "{}/{} {}{quorum}",
                            step.step_id,
                            item.step_count,
                            step.role.label()
                        )
                    },
                );
                cells.push(Cell::from(step));
            }
            if shown.risk {
                cells.push(risk_cell(item.risk_tier, theme));
            }
            cells.push(age_cell(item, context));
            let assignment = context.assigns_reviews
                && item.not_actionable.is_some_and(|why| why.is_assignment());
            let role = if item.not_actionable.is_some() && !assignment {
                Role::Muted
            } else {
                Role::Base
            };
            Row::new(cells).style(theme.style(role))
        })
        .collect();
    let table = Table::new(rows, widths)
        .header(Row::new(titles).style(theme.style(Role::Header)))
        .row_highlight_style(theme.style(Role::Selection))
        .highlight_symbol("▌")
        .column_spacing(1);
    let mut state =
        TableState::default().with_selected(Some(screen.selected.saturating_sub(screen.offset)));
    frame.render_stateful_widget(table, area, &mut state);
}

fn render_preview(screen: &QueueScreen, frame: &mut Frame, area: Rect, context: &QueueContext<'_>) {
    let theme = context.theme;
    let block = Block::default()
        .borders(Borders::LEFT | Borders::TOP)
        .border_style(theme.style(Role::Border))
        .title(Span::styled(" Steps ", theme.style(Role::Title)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(item) = screen.selected_item() else {
        return;
    };
    let mut lines = vec![Line::styled(
        sanitize(&item.agent_name).into_owned(),
        theme.style(Role::Header),
    )];
    if context.refused.contains(&item.workflow_id) {
        lines.push(Line::styled(REFUSED_LINE, theme.style(Role::Warn)));
    } else if context.unconfirmed.contains(&item.workflow_id) {
        lines.push(Line::styled(PENDING_LINE, theme.style(Role::Info)));
    }
    if screen.changed.contains(&item.workflow_id) {
        lines.push(Line::styled(CHANGED_LINE, theme.style(Role::Info)));
    }
    match &item.not_actionable {
        Some(why) if why.is_assignment() && context.assigns_reviews => lines.push(Line::styled(
            format!("{ASSIGN_MARK}yours to assign: {}", why.describe()),
            theme.style(Role::Warn),
        )),
        Some(why) => lines.push(Line::styled(
            format!("{NOT_YOURS_MARK}not yours to decide: {}", why.describe()),
            theme.style(Role::Muted),
        )),
        None => {}
    }
    lines.extend([
        Line::styled(
            format!(
                "{} · {} · {}",
                sanitize(&item.workflow_id),
                sanitize(&item.triggered_by_policy),
                sanitize(&item.team)
            ),
            theme.style(Role::Muted),
        ),
        Line::styled(
            format!("requested by {}", sanitize(&item.requested_by)),
            theme.style(Role::Muted),
        ),
    ]);
    match context
        .preview
        .filter(|workflow| workflow.workflow_id == item.workflow_id)
    {
        Some(workflow) => {
            let current = workflow.current_step().map(|step| step.step_id);
            let since = workflow.waiting_since();
            for step in &workflow.steps {
                lines.push(step_line(
                    step,
                    current,
                    workflow.steps.len(),
                    context.now,
                    since,
                    theme,
                ));
                if let Some(comment) = &step.comment {
                    lines.push(Line::styled(
                        format!("     “{}”", sanitize(comment)),
                        theme.style(Role::Muted),
                    ));
                }
            }
        }
        None => lines.push(Line::styled(
            format!("{} loading steps…", context.spinner),
            theme.style(Role::Info),
        )),
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
