//! The incidents overlay: incidents with agent versions, open ones first,
//! with their deadline and whether they hold a version suspended; the
//! selected one's triage, report, suspension and liftings below the list.
//! `n` reports one for the agent in view; `t`, `s`, `p`, `l`, `a`/`r` and
//! `x` handle the selected one; `w` changes which are shown.

use crate::domain::incident::{Incident, IncidentFilter, IncidentStatus};
use crate::text::sanitize;
use crate::tui::theme::{Role, Theme};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

/// Which incidents the list shows; `w` steps through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shown {
    /// Not closed.
    #[default]
    Open,
    /// Holding a version suspended.
    Suspended,
    /// Owing a report past its deadline.
    Overdue,
    /// Whose suspension's lifting waits for one of my roles.
    AwaitingMe,
    Closed,
    All,
}

impl Shown {
    pub fn next(self) -> Shown {
        match self {
            Shown::Open => Shown::Suspended,
            Shown::Suspended => Shown::Overdue,
            Shown::Overdue => Shown::AwaitingMe,
            Shown::AwaitingMe => Shown::Closed,
            Shown::Closed => Shown::All,
            Shown::All => Shown::Open,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Shown::Open => "open",
            Shown::Suspended => "suspending",
            Shown::Overdue => "overdue",
            Shown::AwaitingMe => "awaiting me",
            Shown::Closed => "closed",
            Shown::All => "all",
        }
    }

    /// What the backend is asked for.
    pub fn filter(self) -> Option<IncidentFilter> {
        match self {
            Shown::Open => Some(IncidentFilter::Open),
            Shown::Suspended => Some(IncidentFilter::Suspended),
            Shown::Overdue => Some(IncidentFilter::Overdue),
            Shown::Closed => Some(IncidentFilter::Closed),
            Shown::AwaitingMe | Shown::All => None,
        }
    }
}

/// The agent the list is narrowed to, with the version in view (what `n`
/// reports an incident with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentInView {
    pub agent_id: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncidentsOverlay {
    pub agent: Option<AgentInView>,
    pub shown: Shown,
    /// None while loading.
    pub items: Option<Vec<Incident>>,
    pub selected: usize,
    /// What the last change answered, when it failed.
    pub error: Option<String>,
    /// The incident a first `a` asked to sign the lifting of: a second
    /// signs it.
    pub confirm_approve: Option<String>,
    /// The incident to select once the list arrives (opened from the
    /// inbox).
    pub focus: Option<String>,
}

impl IncidentsOverlay {
    pub fn new(agent: Option<AgentInView>) -> IncidentsOverlay {
        IncidentsOverlay {
            agent,
            ..IncidentsOverlay::default()
        }
    }

    pub fn visible(&self) -> &[Incident] {
        self.items.as_deref().unwrap_or_default()
    }

    pub fn chosen(&self) -> Option<&Incident> {
        self.visible().get(self.selected)
    }

    /// Selects the incident `focus` names, if it is shown.
    pub fn take_focus(&mut self) {
        if let Some(id) = self.focus.take()
            && let Some(index) = self
                .visible()
                .iter()
                .position(|incident| incident.incident_id == id)
        {
            self.selected = index;
        }
    }

    pub fn move_by(&mut self, delta: isize) {
        let count = self.visible().len();
        self.selected = self
            .selected
            .saturating_add_signed(delta)
            .min(count.saturating_sub(1));
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, now: DateTime<Utc>, theme: &Theme) {
        let agent = self
            .agent
            .as_ref()
            .map(|agent| format!(" · {}", sanitize(&agent.agent_id)))
            .unwrap_or_default();
        let title = format!(" Incidents · {}{agent} ", self.shown.label());
        let inner = super::overlay_box(frame, area, (116, 32), title, theme);
        let visible = self.visible();
        let head = super::overlay_head(
            " n report · t triage · s suspend · p report made · l ask to lift · a/r sign/refuse lifting · x close · w shown",
            self.confirm_approve.as_deref().map(|id| {
                format!(
                    " Sign your step of lifting {}'s suspension? a again signs · esc or a move keeps it waiting",
                    sanitize(id)
                )
            }),
            self.error.as_deref(),
            self.items.is_none(),
            visible.is_empty().then(|| {
                format!(
                    " No {} incident. Anyone signed in reports one with n (or `gavel incident report`); its severity sets the report's deadline and may suspend the version.",
                    self.shown.label()
                )
            }),
            theme,
        );
        let rows = visible
            .iter()
            .enumerate()
            .map(|(index, incident)| {
                let style = if index == self.selected {
                    theme.style(Role::Selection)
                } else if incident.suspends() || incident.is_overdue(now) {
                    theme.style(Role::Danger)
                } else if incident.status == IncidentStatus::Closed {
                    theme.style(Role::Muted)
                } else {
                    theme.style(Role::Base)
                };
                let flag = if incident.suspends() {
                    "SUSPENDED"
                } else if incident.is_overdue(now) {
                    "OVERDUE"
                } else {
                    incident.status.as_str()
                };
                Line::styled(
                    format!(
                        " {} {:<9} {:<10} {} {} · {}",
                        sanitize(&incident.incident_id),
                        flag,
                        sanitize(&incident.severity),
                        sanitize(&incident.agent_id),
                        sanitize(&incident.agent_version),
                        deadline(incident, now),
                    ),
                    style,
                )
            })
            .collect();
        let detail = self.chosen().map(|incident| detail(incident, now, theme));
        super::list_over_detail(frame, inner, head, rows, self.selected, detail, theme);
    }
}

/// What a prompt over the incidents overlay asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentField {
    ReportSeverity,
    ReportSummary,
    TriageSeverity,
    TriageComment,
    SuspendReason,
    ReportReference,
    LiftReason,
    RefuseLift,
    CloseCause,
    CloseAction,
}

impl IncidentField {
    pub fn label(self) -> &'static str {
        match self {
            IncidentField::ReportSeverity => {
                " incident severity (minor, serious, death, widespread…): "
            }
            IncidentField::ReportSummary => " what happened: ",
            IncidentField::TriageSeverity => " triaged severity: ",
            IncidentField::TriageComment => " triage comment: ",
            IncidentField::SuspendReason => " suspend the version because: ",
            IncidentField::ReportReference => " reference of the report made today: ",
            IncidentField::LiftReason => " lift the suspension because: ",
            IncidentField::RefuseLift => " refuse the lifting because: ",
            IncidentField::CloseCause => " cause: ",
            IncidentField::CloseAction => " corrective action: ",
        }
    }
}

/// What the prompts over the incidents overlay are filling in, and the
/// overlay to come back to.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFlow {
    pub overlay: IncidentsOverlay,
    /// The incident acted on, and its version.
    pub target: Option<(String, i64)>,
    /// The first answer of a two-prompt action (a severity, a cause).
    pub first: Option<String>,
}

impl IncidentFlow {
    pub fn over(overlay: IncidentsOverlay, target: Option<(String, i64)>) -> IncidentFlow {
        IncidentFlow {
            overlay,
            target,
            first: None,
        }
    }
}

/// The deadline in a list's few words.
fn deadline(incident: &Incident, now: DateTime<Utc>) -> String {
    match (&incident.report, incident.report_due) {
        (None, None) => "no report owed".into(),
        (None, Some(due)) if now > due => format!("was due {}", due.format("%Y-%m-%d")),
        (None, Some(due)) => format!("report due {}", at(due)),
        (Some(_), _) if incident.reported_late() => "reported late".into(),
        (Some(report), _) => format!("reported {}", report.reported_on.format("%Y-%m-%d")),
    }
}

fn at(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M").to_string()
}

fn detail(incident: &Incident, now: DateTime<Utc>, theme: &Theme) -> Vec<Line<'static>> {
    let field = |name: &str, value: String, role: Role| {
        Line::from(vec![
            Span::styled(format!(" {name:<10}"), theme.style(Role::Muted)),
            Span::styled(value, theme.style(role)),
        ])
    };
    let deadline_role = if incident.is_overdue(now) || incident.reported_late() {
        Role::Danger
    } else {
        Role::Base
    };
    let mut lines = vec![
        field(
            "incident",
            format!(
                "{} with {} {}: {}",
                sanitize(&incident.severity),
                sanitize(&incident.agent_id),
                sanitize(&incident.agent_version),
                incident.state_words(now)
            ),
            Role::Base,
        ),
        field(
            "summary",
            sanitize(&incident.summary).into_owned(),
            Role::Base,
        ),
        field(
            "reported",
            format!(
                "by {} on {}; aware since {}",
                sanitize(&incident.reported_by),
                at(incident.reported_at),
                at(incident.became_aware_at)
            ),
            Role::Base,
        ),
        field(
            "deadline",
            sanitize(&incident.deadline_words(now)).into_owned(),
            deadline_role,
        ),
    ];
    if let Some(triage) = &incident.triage {
        lines.push(field(
            "triage",
            format!(
                "by {} on {}{}: {}",
                sanitize(&triage.by),
                at(triage.at),
                triage
                    .reported_as
                    .as_deref()
                    .map(|was| format!(" (reported as {})", sanitize(was)))
                    .unwrap_or_default(),
                sanitize(&triage.comment)
            ),
            Role::Base,
        ));
    }
    if let Some(suspension) = &incident.suspension {
        let role = if incident.suspends() {
            Role::Danger
        } else {
            Role::Muted
        };
        lines.push(field(
            "suspended",
            format!(
                "since {} by {}: {}{}",
                at(suspension.since),
                sanitize(suspension.by.as_deref().unwrap_or("the policy set's rule")),
                sanitize(&suspension.reason),
                suspension
                    .lifted_at
                    .map(|lifted| format!("; lifted {}", at(lifted)))
                    .unwrap_or_default()
            ),
            role,
        ));
        if let Some(lift) = suspension.lifts.last() {
            lines.push(field(
                "lifting",
                format!(
                    "asked by {} on {}: {}",
                    sanitize(&lift.requested_by),
                    at(lift.requested_at),
                    sanitize(&lift.reason)
                ),
                Role::Base,
            ));
            for (index, role) in lift.chain.iter().enumerate() {
                let words = sanitize(&lift.step_words(index)).into_owned();
                lines.push(field(
                    &format!("  step {}", index + 1),
                    format!("{}: {words}", role.label()),
                    Role::Base,
                ));
            }
        }
    }
    if let Some(closure) = &incident.closure {
        lines.push(field(
            "closed",
            format!(
                "by {} on {}: {}; corrective action: {}",
                sanitize(&closure.by),
                at(closure.at),
                sanitize(&closure.cause),
                sanitize(&closure.corrective_action)
            ),
            Role::Muted,
        ));
    }
    lines
}
