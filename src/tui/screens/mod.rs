//! The views of the console.
//!
//! Part of the console (layer 7): screens import widgets, the theme and
//! commands, never the app that holds them.

pub mod audits;
pub mod blocked;
pub mod evidence;
pub mod policies;
pub mod policy_versions;
pub mod queue;
pub mod queue_view;
pub mod queue_views;
pub mod review_form;
pub mod reviews;
pub mod workflow;

use ratatui::text::{Line, Span};

use crate::domain::{Step, StepStatus};
use crate::text::{humanize_age, sanitize};
use crate::tui::theme::{Role, Theme};
use chrono::{DateTime, Utc};

/// How a list drawn in a rectangle takes a click.
pub struct ClickableList {
    pub area: ratatui::layout::Rect,
    /// Lines above the first item (a title, column titles).
    pub above: u16,
    /// Lines each item takes.
    pub item_lines: u16,
}

impl ClickableList {
    /// The item under (`column`, `row`) when the list scrolls as ratatui's
    /// tables and lists do (the selected item kept on the last line it
    /// fits), or none: outside the list, or past its end.
    pub fn item_at(&self, (column, row): (u16, u16), selected: usize, len: usize) -> Option<usize> {
        let area = self.area;
        let first = area.y + self.above;
        let item_lines = self.item_lines.max(1);
        let visible = (area.height.saturating_sub(self.above) / item_lines) as usize;
        let inside =
            column >= area.x && column < area.right() && row >= first && row < area.bottom();
        if visible == 0 || !inside {
            return None;
        }
        let index = selected.saturating_sub(visible - 1) + ((row - first) / item_lines) as usize;
        (index < len).then_some(index)
    }
}

/// How a step's latest alert reads.
/// Which of the matches at `positions` (ascending) `n` / `N` goes to from
/// `here`: the first after it (`from_here`: or at it, for a new search),
/// or the last before it, round the ends.
pub fn next_match<T: Copy + Ord>(
    positions: &[T],
    here: T,
    forward: bool,
    from_here: bool,
) -> Option<usize> {
    if forward {
        positions
            .iter()
            .position(|at| *at > here || (from_here && *at == here))
            .or((!positions.is_empty()).then_some(0))
    } else {
        positions
            .iter()
            .rposition(|at| *at < here)
            .or(positions.len().checked_sub(1))
    }
}

pub fn alert_word(alert: crate::domain::policy::sla::AlertKind) -> &'static str {
    match alert {
        crate::domain::policy::sla::AlertKind::Reminder => "reminded",
        crate::domain::policy::sla::AlertKind::Overdue => "overdue",
        crate::domain::policy::sla::AlertKind::Escalated => "escalated",
    }
}

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
    let mut detail = match (step.status, &step.approver_email, step.decision_at) {
        (StepStatus::Pending, _, _) if Some(step.step_id) == current => {
            let mut detail = format!("waiting {}", humanize_age(since, now));
            if let Some(sla) = &step.sla {
                let due = sla.due(since);
                let word = if now >= due { "overdue since" } else { "due" };
                detail.push_str(&format!(" · {word} {}", due.format("%Y-%m-%d %H:%M")));
            }
            if let Some(alert) = step.alerted() {
                detail.push_str(&format!(" · {}", alert_word(alert)));
            }
            detail
        }
        (StepStatus::Pending, _, _) => "pending".to_owned(),
        (StepStatus::Skipped, _, _) => "skipped".to_owned(),
        (status, Some(by), Some(at)) => {
            let mut detail = format!("{} by {}", status.as_str(), sanitize(by));
            if let Some(delegator) = &step.on_behalf_of {
                detail.push_str(&format!(" on behalf of {}", sanitize(delegator)));
            }
            detail.push_str(&format!(" {}", at.format("%Y-%m-%d %H:%M")));
            if let Some(received) = step.received_later() {
                detail.push_str(&format!(
                    " offline · received {}",
                    received.format("%Y-%m-%d %H:%M")
                ));
            }
            detail
        }
        (status, _, _) => status.as_str().to_owned(),
    };
    if step.quorum > 1 {
        let approvers: Vec<String> = step
            .approvals
            .iter()
            .map(|approval| match &approval.on_behalf_of {
                Some(delegator) => format!(
                    "{} for {}",
                    sanitize(&approval.approver_email),
                    sanitize(delegator)
                ),
                None => sanitize(&approval.approver_email).into_owned(),
            })
            .collect();
        detail.push_str(&format!(
            " · {} of {} approvals",
            step.approvals.len(),
            step.quorum
        ));
        if !approvers.is_empty() {
            detail.push_str(&format!(" ({})", approvers.join(", ")));
        }
    }
    spans.push(Span::styled(detail, theme.style(role)));
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_step_decided_offline_shows_when_it_was_made_and_received() {
        let made = Utc.with_ymd_and_hms(2026, 11, 2, 9, 5, 0).unwrap();
        let step = Step {
            status: StepStatus::Approved,
            approver_email: Some("lead@example.com".into()),
            decision_at: Some(made),
            received_at: Some(made + chrono::TimeDelta::hours(3)),
            ..Step::waiting(1, crate::domain::Role::TechnicalLead)
        };
        let theme = Theme::monochrome();
        let text = |step: &Step| step_line(step, None, 2, made, made, &theme).to_string();
        assert!(
            text(&step).contains(
                "approved by lead@example.com 2026-11-02 09:05 offline · received 2026-11-02 12:05"
            ),
            "{}",
            text(&step)
        );
        let online = Step {
            received_at: None,
            ..step
        };
        assert!(!text(&online).contains("received"), "{}", text(&online));
    }
}
