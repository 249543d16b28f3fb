//! The workflow step view: agent, policy and why it fired, the steps as a
//! timeline, the ethics review, the latest bias audit and the audit trail.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::step_line;
use crate::text::sanitize;
use crate::tui::action::Action;
use crate::tui::command::{Command, RequestId, WorkflowDetail};
use crate::tui::screens::queue::Requests;
use crate::tui::theme::{Role, Theme};

#[derive(Debug, Clone)]
pub struct WorkflowScreen {
    pub workflow_id: String,
    pub agent_name: String,
    request: RequestId,
    pub detail: Option<Box<WorkflowDetail>>,
    pub error: Option<String>,
    pub scroll: u16,
    /// The text `/` looks for in the view (its trail, steps, review).
    pub find: Option<String>,
    /// The width last drawn at, where wrapped lines are counted.
    width: std::cell::Cell<u16>,
}

/// Where `find` landed: the match's place among all matches, and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub number: usize,
    pub of: usize,
    pub line: String,
}

impl WorkflowScreen {
    pub fn open(
        workflow_id: String,
        agent_name: String,
        requests: &mut Requests,
    ) -> (WorkflowScreen, Command) {
        let request = requests.issue();
        let command = Command::LoadDetail {
            request,
            workflow_id: workflow_id.clone(),
        };
        (
            WorkflowScreen {
                workflow_id,
                agent_name,
                request,
                detail: None,
                error: None,
                scroll: 0,
                find: None,
                width: std::cell::Cell::new(80),
            },
            command,
        )
    }

    pub fn reload(&mut self, requests: &mut Requests) -> Command {
        self.request = requests.issue();
        Command::LoadDetail {
            request: self.request,
            workflow_id: self.workflow_id.clone(),
        }
    }

    pub fn on_detail(&mut self, request: RequestId, result: Result<Box<WorkflowDetail>, String>) {
        if request != self.request {
            return;
        }
        match result {
            Ok(detail) => {
                self.detail = Some(detail);
                self.error = None;
            }
            Err(error) => self.error = Some(error),
        }
    }

    pub fn on_action(
        &mut self,
        action: Action,
        page: u16,
        requests: &mut Requests,
    ) -> Vec<Command> {
        match action {
            Action::Down => self.scroll = self.scroll.saturating_add(1),
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            Action::PageDown => self.scroll = self.scroll.saturating_add(page.max(1)),
            Action::PageUp => self.scroll = self.scroll.saturating_sub(page.max(1)),
            Action::Refresh => return vec![self.reload(requests)],
            _ => {}
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
        unconfirmed: bool,
    ) {
        let lines = match (&self.detail, &self.error) {
            (_, Some(error)) => vec![
                Line::styled(
                    format!(
                        "Could not load {}: {}",
                        sanitize(&self.workflow_id),
                        sanitize(error)
                    ),
                    theme.style(Role::Danger),
                ),
                Line::styled("ctrl-r retries, esc goes back", theme.style(Role::Muted)),
            ],
            (None, None) => vec![Line::styled(
                format!("{spinner} Loading {}…", sanitize(&self.workflow_id)),
                theme.style(Role::Info),
            )],
            (Some(detail), None) => detail_lines(detail, theme, now, unconfirmed),
        };
        self.width.set(area.width);
        let paragraph = Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((self.scroll, 0));
        frame.render_widget(paragraph, area);
    }

    /// Scrolls to the next line holding `find` (any case) below the top of
    /// the view (`from_top`: the top line too, for a new search), or
    /// (`forward` false) the one above it, wrapping round; none when no
    /// line holds it.
    pub fn find_next(
        &mut self,
        forward: bool,
        from_top: bool,
        theme: &Theme,
        now: DateTime<Utc>,
    ) -> Option<Found> {
        let needle = self.find.as_deref()?.to_lowercase();
        let detail = self.detail.as_ref()?;
        let lines = detail_lines(detail, theme, now, false);
        let width = self.width.get().max(1);
        let mut row = 0u16;
        let mut matches: Vec<(u16, String)> = Vec::new();
        for line in &lines {
            let text: String = line
                .spans
                .iter()
                .map(|span| span.content.as_ref())
                .collect();
            if text.to_lowercase().contains(&needle) {
                matches.push((row, text.trim().to_owned()));
            }
            let height = Paragraph::new(line.clone())
                .wrap(Wrap { trim: false })
                .line_count(width);
            row = row.saturating_add(height.max(1) as u16);
        }
        let rows: Vec<u16> = matches.iter().map(|(at, _)| *at).collect();
        let index = super::next_match(&rows, self.scroll, forward, from_top)?;
        let (at, line) = matches[index].clone();
        self.scroll = at;
        Some(Found {
            number: index + 1,
            of: matches.len(),
            line,
        })
    }
}

fn section(title: &str, theme: &Theme) -> Line<'static> {
    Line::styled(title.to_owned(), theme.style(Role::Title))
}

fn field(label: &str, value: String, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("  {label:<14}"), theme.style(Role::Muted)),
        Span::styled(value, theme.style(Role::Base)),
    ])
}

/// The deployment this workflow belongs to: where each of its workflows
/// stands, and what it changes against the version running now.
fn deployment_lines(
    view: &crate::backend::DeploymentView,
    this: &crate::domain::Workflow,
    theme: &Theme,
    lines: &mut Vec<Line<'static>>,
) {
    use crate::domain::{StepStatus, WorkflowStatus};
    let deployment = &view.deployment;
    lines.push(section("The whole deployment", theme));
    lines.push(field(
        "request",
        format!(
            "{} · version {} · {}",
            sanitize(&deployment.deployment_id),
            sanitize(&deployment.agent_version),
            deployment.status.as_str().replace('_', " ")
        ),
        theme,
    ));
    for (index, workflow) in view.workflows.iter().enumerate() {
        let (mark, role) = match workflow.status {
            WorkflowStatus::Approved => ("✓", Role::Ok),
            WorkflowStatus::Rejected => ("✗", Role::Danger),
            WorkflowStatus::Withdrawn => ("–", Role::Muted),
            WorkflowStatus::InProgress => ("▶", Role::Accent),
        };
        let stands = match workflow.current_step() {
            Some(step) => format!(
                "step {}/{} {}{}",
                step.step_id,
                workflow.steps.len(),
                step.role.label(),
                if step.quorum > 1 {
                    format!(" ({} of {})", step.approvals.len(), step.quorum)
                } else {
                    String::new()
                }
            ),
            None => {
                let decided = workflow
                    .steps
                    .iter()
                    .filter(|step| step.status == StepStatus::Approved)
                    .count();
                format!(
                    "{} ({decided} of {} steps approved)",
                    workflow.status.as_str().replace('_', " "),
                    workflow.steps.len()
                )
            }
        };
        let this_one = if workflow.workflow_id == this.workflow_id {
            " ← this one"
        } else {
            ""
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("  {:<14}", if index == 0 { "workflows" } else { "" }),
                theme.style(Role::Muted),
            ),
            Span::styled(format!("{mark} "), theme.style(role)),
            Span::styled(
                format!(
                    "{} {} · {stands}{this_one}",
                    sanitize(&workflow.workflow_id),
                    sanitize(&workflow.triggered_by_policy)
                ),
                theme.style(Role::Base),
            ),
        ]));
    }
    match &view.running {
        None => lines.push(field(
            "running now",
            "nothing: this is the agent's first version".into(),
            theme,
        )),
        Some(running) => {
            lines.push(field(
                "running now",
                format!(
                    "version {} ({}, requested {})",
                    sanitize(&running.agent_version),
                    sanitize(&running.deployment_id),
                    running.requested_at.format("%Y-%m-%d")
                ),
                theme,
            ));
            if view.changes.is_empty() {
                lines.push(field("changes", "none in the manifest".into(), theme));
            }
            let width = view
                .changes
                .iter()
                .map(|change| change.field.chars().count())
                .max()
                .unwrap_or(0)
                .min(28);
            for (index, change) in view.changes.iter().enumerate() {
                let value = |value: &Option<String>| {
                    value
                        .as_deref()
                        .map_or_else(|| "(none)".to_owned(), |text| sanitize(text).into_owned())
                };
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("  {:<14}", if index == 0 { "changes" } else { "" }),
                        theme.style(Role::Muted),
                    ),
                    Span::styled(
                        format!("{:<width$} ", sanitize(&change.field)),
                        theme.style(Role::Header),
                    ),
                    Span::styled(value(&change.before), theme.style(Role::Muted)),
                    Span::styled(" → ", theme.style(Role::Muted)),
                    Span::styled(value(&change.after), theme.style(Role::Accent)),
                ]));
            }
        }
    }
}

fn detail_lines(
    detail: &WorkflowDetail,
    theme: &Theme,
    now: DateTime<Utc>,
    unconfirmed: bool,
) -> Vec<Line<'static>> {
    let workflow = &detail.workflow;
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("{} ", sanitize(&workflow.workflow_id)),
            theme.style(Role::Title),
        ),
        Span::styled(
            format!(
                "{} · version {} · deployment {}",
                workflow.status.as_str().replace('_', " "),
                workflow.version,
                sanitize(&workflow.deployment_id)
            ),
            theme.style(Role::Muted),
        ),
    ])];
    if unconfirmed {
        lines.push(Line::styled(
            crate::tui::screens::queue_view::PENDING_LINE,
            theme.style(Role::Info),
        ));
    }
    lines.push(Line::default());
    lines.push(section("Agent", theme));
    match &detail.agent {
        Some(agent) => {
            lines.push(field(
                "name",
                format!(
                    "{} ({}) v{}",
                    sanitize(&agent.name),
                    sanitize(&agent.agent_id),
                    sanitize(&agent.version)
                ),
                theme,
            ));
            lines.push(field(
                "team / owner",
                format!("{} / {}", sanitize(&agent.team), sanitize(&agent.owner)),
                theme,
            ));
            lines.push(field(
                "category",
                agent.category.as_str().replace('_', " "),
                theme,
            ));
            lines.push(field("data", agent.data_classification.to_string(), theme));
            lines.push(field("risk tier", agent.risk_tier.to_string(), theme));
            let tools = match (agent.has_external_tools, agent.tools_approved) {
                (false, _) => "none".to_owned(),
                (true, true) => "external tools, approved".to_owned(),
                (true, false) => "external tools, NOT approved".to_owned(),
            };
            lines.push(field("tools", tools, theme));
        }
        None => lines.push(field(
            "agent",
            sanitize(&workflow.agent_id).into_owned(),
            theme,
        )),
    }
    lines.push(field(
        "requested by",
        format!(
            "{} on {}",
            sanitize(&workflow.requested_by),
            workflow.created_at.format("%Y-%m-%d %H:%M UTC")
        ),
        theme,
    ));
    lines.push(Line::default());
    lines.push(section("Why this workflow exists", theme));
    match &detail.policy {
        Some(policy) => {
            lines.push(field(
                "policy",
                format!(
                    "{} ({})",
                    sanitize(&policy.name),
                    sanitize(&policy.policy_id)
                ),
                theme,
            ));
            lines.push(field(
                "fired because",
                sanitize(&policy.explain()).into_owned(),
                theme,
            ));
            lines.push(field(
                "purpose",
                sanitize(&policy.description).into_owned(),
                theme,
            ));
        }
        None => lines.push(field(
            "policy",
            sanitize(&workflow.triggered_by_policy).into_owned(),
            theme,
        )),
    }
    if let Some(version) = workflow.policy_set_version {
        lines.push(field(
            "policy set",
            format!("version {version} (the chain it opened with)"),
            theme,
        ));
    }
    if let Some(view) = &detail.deployment {
        lines.push(Line::default());
        deployment_lines(view, workflow, theme, &mut lines);
    }
    lines.push(Line::default());
    lines.push(section("Steps", theme));
    let current = workflow.current_step().map(|step| step.step_id);
    let since = workflow.waiting_since();
    for step in &workflow.steps {
        lines.push(step_line(
            step,
            current,
            workflow.steps.len(),
            now,
            since,
            theme,
        ));
        if let Some(comment) = &step.comment {
            lines.push(Line::styled(
                format!("     “{}”", sanitize(comment)),
                theme.style(Role::Muted),
            ));
        }
        if !step.alerts.is_empty() {
            let alerts: Vec<String> = step
                .alerts
                .iter()
                .map(|alert| {
                    let to = alert
                        .to
                        .as_deref()
                        .map(|to| format!(" to {}", sanitize(to)))
                        .unwrap_or_default();
                    format!(
                        "{}{to} {}",
                        super::alert_word(alert.kind),
                        alert.at.format("%Y-%m-%d %H:%M")
                    )
                })
                .collect();
            lines.push(Line::styled(
                format!("     {}", alerts.join(" · ")),
                theme.style(Role::Warn),
            ));
        }
    }
    if let Some(review) = &detail.review {
        let recommendation = review
            .answers
            .get("recommendation")
            .and_then(|value| value.as_str())
            .map(|value| {
                format!(
                    ", recommends {}",
                    crate::domain::review::option_label(value).to_lowercase()
                )
            })
            .unwrap_or_default();
        lines.push(field(
            "ethics review",
            format!(
                "{} by {}: {}{} (v opens it)",
                sanitize(&review.review_id),
                sanitize(&review.reviewer),
                review.status,
                sanitize(&recommendation)
            ),
            theme,
        ));
        if review.reassign_since.is_some() {
            lines.push(Line::from(Span::styled(
                format!(
                    "  {} was removed by the directory: A reassigns the review",
                    sanitize(&review.reviewer)
                ),
                theme.style(Role::Warn),
            )));
        }
    } else if detail
        .workflow
        .steps
        .iter()
        .any(|step| step.role == crate::domain::Role::EthicsReviewer)
    {
        lines.push(field(
            "ethics review",
            "not assigned yet: its author decides the ethics step (A assigns it)".to_owned(),
            theme,
        ));
    }
    lines.push(Line::default());
    lines.push(section("Latest bias audit", theme));
    match &detail.latest_audit {
        Some(audit) => {
            let stats = &audit.stats;
            let (verdict, role) = if stats.passes_threshold {
                ("PASS", Role::Ok)
            } else {
                ("FAIL", Role::Danger)
            };
            lines.push(Line::from(vec![
                Span::styled(format!("  {verdict} "), theme.style(role)),
                Span::styled(
                    format!(
                        "disparate-impact ratio {:.3} (threshold {:.2}) · version {} · {} · {}",
                        stats.disparate_impact_ratio,
                        stats.threshold,
                        sanitize(&audit.agent_version),
                        audit.tested_at.format("%Y-%m-%d"),
                        sanitize(&audit.audit_id)
                    ),
                    theme.style(Role::Base),
                ),
            ]));
            for warning in &stats.warnings {
                lines.push(Line::styled(
                    format!("  ! {}", sanitize(warning)),
                    theme.style(Role::Warn),
                ));
            }
        }
        None => lines.push(Line::styled(
            "  no bias audit recorded for this agent",
            theme.style(Role::Muted),
        )),
    }
    lines.push(Line::default());
    lines.push(section("Audit trail", theme));
    if let Some(why) = &detail.trail_unavailable {
        lines.push(Line::styled(
            format!("  {}", sanitize(why)),
            theme.style(Role::Muted),
        ));
    }
    for event in &detail.trail {
        let versions = match (event.entry.before_version, event.entry.after_version) {
            (Some(before), Some(after)) => format!(" v{before}→v{after}"),
            (None, Some(after)) => format!(" v{after}"),
            _ => String::new(),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("  #{:<8}", event.seq), theme.style(Role::Muted)),
            Span::styled(
                format!("{} ", event.entry.at.format("%Y-%m-%d %H:%M")),
                theme.style(Role::Muted),
            ),
            Span::styled(
                format!("{:<20}", sanitize(&event.entry.action)),
                theme.style(Role::Base),
            ),
            Span::styled(
                format!("{}{versions}", sanitize(&event.entry.actor)),
                theme.style(Role::Muted),
            ),
        ]));
    }
    lines
}
