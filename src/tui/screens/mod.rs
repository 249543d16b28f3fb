//! The views of the console.

pub mod audits;
pub mod blocked;
pub mod policies;
pub mod queue;
pub mod queue_view;
pub mod review_form;
pub mod reviews;
pub mod workflow;

use ratatui::text::{Line, Span};

use crate::domain::{Step, StepStatus};
use crate::text::{humanize_age, sanitize};
use crate::tui::theme::{Role, Theme};
use chrono::{DateTime, Utc};

/// One step of a workflow as a timeline line, readable without colour.
pub fn step_line(
    step: &Step,
    current: Option<u32>,
    total: usize,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
    theme: &Theme,
) -> Line<'static> {
    let (mark, role) = match step.status {
        StepStatus::Approved => ("✓", Role::Ok),
        StepStatus::Rejected => ("✗", Role::Danger),
        StepStatus::Skipped => ("–", Role::Muted),
        StepStatus::Pending if Some(step.step_id) == current => ("▶", Role::Accent),
        StepStatus::Pending => ("·", Role::Muted),
    };
    let mut spans = vec![
        Span::styled(format!(" {mark} "), theme.style(role)),
        Span::styled(
            format!("{}/{total} {:<19}", step.step_id, step.role.label()),
            theme.style(Role::Base),
        ),
    ];
    let detail = match (step.status, &step.approver_email, step.decision_at) {
        (StepStatus::Pending, _, _) if Some(step.step_id) == current => {
            format!("waiting {}", humanize_age(since, now))
        }
        (StepStatus::Pending, _, _) => "pending".to_owned(),
        (StepStatus::Skipped, _, _) => "skipped".to_owned(),
        (status, Some(by), Some(at)) => format!(
            "{} by {} {}",
            status.as_str(),
            sanitize(by),
            at.format("%Y-%m-%d %H:%M")
        ),
        (status, _, _) => status.as_str().to_owned(),
    };
    spans.push(Span::styled(detail, theme.style(role)));
    Line::from(spans)
}
