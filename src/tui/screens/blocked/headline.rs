//! The Blocked tab's headline: blocked now and this week, approvals and
//! time to decision, bias audits to run, obligation coverage and
//! exceptions in force.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::backend::Dashboard;
use crate::text::{sanitize, thousands};
use crate::tui::theme::{Role, Theme};

pub(super) fn render_headline(frame: &mut Frame, area: Rect, dashboard: &Dashboard, theme: &Theme) {
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
    let mut lines = vec![Line::from(first), Line::from(second), Line::from(third)];
    let mut fourth = if dashboard.obligations_counting {
        Line::styled(
            " Obligations: being counted again after the policy set changed",
            theme.style(Role::Muted),
        )
    } else if !dashboard.obligations.is_empty() {
        coverage_line(&dashboard.obligations, theme)
    } else {
        Line::default()
    };
    if dashboard.suspended_versions + dashboard.incidents_open > 0 {
        // A suspension stops an agent in use: it leads the line.
        let mut incidents = figure(
            "Suspended",
            thousands(dashboard.suspended_versions),
            if dashboard.suspended_versions > 0 {
                Role::Danger
            } else {
                Role::Base
            },
        );
        incidents.extend(figure(
            "Incidents open",
            thousands(dashboard.incidents_open),
            Role::Warn,
        ));
        incidents.push(Span::styled(
            format!("{} overdue (!)  ", thousands(dashboard.incidents_overdue)),
            theme.style(if dashboard.incidents_overdue > 0 {
                Role::Danger
            } else {
                Role::Muted
            }),
        ));
        incidents.append(&mut fourth.spans);
        fourth.spans = incidents;
    }
    let recertify = dashboard.recertifications_due + dashboard.recertifications_due_soon;
    if recertify > 0 {
        fourth.spans.extend(figure(
            "Recertify",
            thousands(dashboard.recertifications_due),
            if dashboard.recertifications_due > 0 {
                Role::Warn
            } else {
                Role::Base
            },
        ));
        fourth.spans.push(Span::styled(
            format!(
                "{} more in 30 days (R)  ",
                thousands(dashboard.recertifications_due_soon)
            ),
            theme.style(Role::Muted),
        ));
    }
    if dashboard.exceptions_active > 0 {
        // Policies set aside are leadership's to see beside what blocks.
        let ending = dashboard.exceptions_expiring;
        fourth.spans.extend(figure(
            "Exceptions in force",
            thousands(dashboard.exceptions_active),
            Role::Warn,
        ));
        fourth.spans.push(Span::styled(
            format!("{ending} ending in 14 days (e)"),
            theme.style(Role::Muted),
        ));
    }
    if !fourth.spans.is_empty() {
        lines.push(fourth);
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// "Obligations unmet  nyc-ll144 812/900 · eu-ai-act 0/900": per
/// framework adopted that applies to any agent, the agents with a duty in
/// effect and not met, of those it applies to.
fn coverage_line(coverage: &[crate::backend::FrameworkCoverage], theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(
        " Obligations unmet ",
        theme.style(Role::Muted),
    )];
    let applying = coverage.iter().filter(|framework| framework.agents > 0);
    for (index, framework) in applying.enumerate() {
        if index > 0 {
            spans.push(Span::styled(" · ", theme.style(Role::Muted)));
        }
        spans.push(Span::styled(
            sanitize(&framework.framework).into_owned(),
            theme.style(Role::Base),
        ));
        let role = if framework.unmet > 0 {
            Role::Danger
        } else {
            Role::Ok
        };
        spans.push(Span::styled(
            format!(" {}", thousands(framework.unmet)),
            theme.style(role),
        ));
        spans.push(Span::styled(
            format!("/{}", thousands(framework.agents)),
            theme.style(Role::Muted),
        ));
    }
    Line::from(spans)
}
