//! The events notifications speak of: what happened, as webhooks name it,
//! and the one line each says in an inbox or a chat. The store records
//! them (`backend::local::notifications`); `notify` delivers them.

use serde::{Deserialize, Serialize};

/// What happened, as webhooks name it (`type`) and endpoints subscribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventKind {
    #[serde(rename = "workflow.opened")]
    WorkflowOpened,
    #[serde(rename = "step.decided")]
    StepDecided,
    #[serde(rename = "workflow.approved")]
    WorkflowApproved,
    #[serde(rename = "workflow.rejected")]
    WorkflowRejected,
    #[serde(rename = "workflow.withdrawn")]
    WorkflowWithdrawn,
    #[serde(rename = "review.assigned")]
    ReviewAssigned,
    #[serde(rename = "tool.approved")]
    ToolApproved,
    #[serde(rename = "policy_set.proposed")]
    PolicySetProposed,
    #[serde(rename = "step.reminder")]
    StepReminder,
    #[serde(rename = "step.overdue")]
    StepOverdue,
    #[serde(rename = "step.escalated")]
    StepEscalated,
    #[serde(rename = "exception.requested")]
    ExceptionRequested,
    #[serde(rename = "exception.decided")]
    ExceptionDecided,
    #[serde(rename = "incident.reported")]
    IncidentReported,
    #[serde(rename = "incident.changed")]
    IncidentChanged,
    #[serde(rename = "incident.lift_requested")]
    LiftRequested,
    #[serde(rename = "incident.deadline")]
    IncidentDeadline,
    /// The directory removed a review's reviewer before they submitted it.
    #[serde(rename = "review.reviewer_removed")]
    ReviewerRemoved,
    /// A scheduled board report was made and is sent.
    #[serde(rename = "report.sent")]
    ReportSent,
}

impl EventKind {
    pub const ALL: [EventKind; 19] = [
        EventKind::WorkflowOpened,
        EventKind::StepDecided,
        EventKind::WorkflowApproved,
        EventKind::WorkflowRejected,
        EventKind::WorkflowWithdrawn,
        EventKind::ReviewAssigned,
        EventKind::ToolApproved,
        EventKind::PolicySetProposed,
        EventKind::StepReminder,
        EventKind::StepOverdue,
        EventKind::StepEscalated,
        EventKind::ExceptionRequested,
        EventKind::ExceptionDecided,
        EventKind::IncidentReported,
        EventKind::IncidentChanged,
        EventKind::LiftRequested,
        EventKind::IncidentDeadline,
        EventKind::ReviewerRemoved,
        EventKind::ReportSent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::WorkflowOpened => "workflow.opened",
            EventKind::StepDecided => "step.decided",
            EventKind::WorkflowApproved => "workflow.approved",
            EventKind::WorkflowRejected => "workflow.rejected",
            EventKind::WorkflowWithdrawn => "workflow.withdrawn",
            EventKind::ReviewAssigned => "review.assigned",
            EventKind::ToolApproved => "tool.approved",
            EventKind::PolicySetProposed => "policy_set.proposed",
            EventKind::StepReminder => "step.reminder",
            EventKind::StepOverdue => "step.overdue",
            EventKind::StepEscalated => "step.escalated",
            EventKind::ExceptionRequested => "exception.requested",
            EventKind::ExceptionDecided => "exception.decided",
            EventKind::IncidentReported => "incident.reported",
            EventKind::IncidentChanged => "incident.changed",
            EventKind::LiftRequested => "incident.lift_requested",
            EventKind::IncidentDeadline => "incident.deadline",
            EventKind::ReviewerRemoved => "review.reviewer_removed",
            EventKind::ReportSent => "report.sent",
        }
    }
}

impl EventKind {
    /// The event an alert on a waiting step sends.
    pub fn of_alert(kind: crate::domain::policy::sla::AlertKind) -> EventKind {
        match kind {
            crate::domain::policy::sla::AlertKind::Reminder => EventKind::StepReminder,
            crate::domain::policy::sla::AlertKind::Overdue => EventKind::StepOverdue,
            crate::domain::policy::sla::AlertKind::Escalated => EventKind::StepEscalated,
        }
    }
}

impl std::str::FromStr for EventKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown event {text:?}: one of {}",
                    EventKind::ALL.map(EventKind::as_str).join(", ")
                )
            })
    }
}

/// A notification event as the outbox keeps it and webhooks carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    pub event_id: i64,
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub timestamp: chrono::DateTime<chrono::Utc>,
    /// What the event is about (docs/notifications.md lists each type's fields).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// A text field of an event's data, empty when absent.
pub(crate) fn text_of(data: &serde_json::Value, field: &str) -> String {
    data.get(field)
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// A role in words ("ethics reviewer"); an unknown one as written.
pub(crate) fn role_words(role: &str) -> String {
    role.parse::<crate::domain::Role>()
        .map(|role| role.label().into_owned())
        .unwrap_or_else(|_| role.replace('_', " "))
}

/// The minute of an RFC 3339 time, readable ("2027-01-31 09:00").
fn day_of(at: &str) -> String {
    at.get(..16).unwrap_or(at).replace('T', " ")
}

/// One line for the inbox of the person asked to act.
pub fn your_turn(event: &Event) -> String {
    let data = &event.data;
    match event.kind {
        EventKind::StepReminder | EventKind::StepOverdue | EventKind::StepEscalated => {
            summary(event)
        }
        EventKind::WorkflowOpened | EventKind::StepDecided => {
            match data.get("current_step").filter(|step| !step.is_null()) {
                Some(step) => format!(
                    "Your turn: step {} ({}) of {} for {}",
                    step.get("step_id").and_then(|n| n.as_u64()).unwrap_or(1),
                    role_words(step.get("role").and_then(|r| r.as_str()).unwrap_or("")),
                    text_of(data, "workflow_id"),
                    text_of(data, "agent_name")
                ),
                None => summary(event),
            }
        }
        EventKind::ReviewAssigned => format!(
            "Your turn: ethics review {} of {} ({})",
            text_of(data, "review_id"),
            text_of(data, "workflow_id"),
            text_of(data, "agent_name")
        ),
        EventKind::ReviewerRemoved => format!(
            "Your turn: reassign the ethics review of {} ({}): {} was removed",
            text_of(data, "workflow_id"),
            text_of(data, "agent_name"),
            text_of(data, "reviewer")
        ),
        EventKind::PolicySetProposed => format!(
            "Your turn: approve policy set version {}",
            data.get("version").and_then(|v| v.as_i64()).unwrap_or(0)
        ),
        EventKind::ExceptionRequested => format!(
            "Your turn: exception {} to {} for {} {} ({})",
            text_of(data, "exception_id"),
            text_of(data, "policy_id"),
            text_of(data, "agent_id"),
            text_of(data, "agent_version"),
            role_words(&text_of(data, "next_role"))
        ),
        EventKind::LiftRequested => format!(
            "Your turn: lift the suspension of {} {} ({}), as {}",
            text_of(data, "agent_id"),
            text_of(data, "agent_version"),
            text_of(data, "incident_id"),
            role_words(&text_of(data, "next_role"))
        ),
        _ => summary(event),
    }
}

/// One line for chat (Slack, Teams): what happened and to what.
pub fn summary(event: &Event) -> String {
    let data = &event.data;
    let workflow = text_of(data, "workflow_id");
    let agent = text_of(data, "agent_name");
    match event.kind {
        EventKind::WorkflowOpened => format!(
            "Workflow {workflow} opened for {agent}, requested by {}",
            text_of(data, "requested_by")
        ),
        EventKind::StepDecided => {
            let step = data.get("decided_step");
            format!(
                "Step {} of {workflow} ({agent}) {} by {}",
                step.and_then(|s| s.get("step_id"))
                    .and_then(|n| n.as_u64())
                    .unwrap_or(0),
                step.and_then(|s| s.get("status"))
                    .and_then(|s| s.as_str())
                    .unwrap_or("decided"),
                text_of(data, "actor")
            )
        }
        EventKind::WorkflowApproved => format!("Workflow {workflow} ({agent}) approved"),
        EventKind::WorkflowRejected => format!("Workflow {workflow} ({agent}) rejected"),
        EventKind::WorkflowWithdrawn => format!("Workflow {workflow} ({agent}) withdrawn"),
        EventKind::ReviewAssigned => format!(
            "Ethics review {} of {workflow} assigned to {}",
            text_of(data, "review_id"),
            text_of(data, "reviewer")
        ),
        EventKind::ToolApproved => format!(
            "Tool {} approved by {}",
            text_of(data, "tool"),
            text_of(data, "actor")
        ),
        EventKind::PolicySetProposed => format!(
            "Policy set version {} proposed by {}",
            data.get("version").and_then(|v| v.as_i64()).unwrap_or(0),
            text_of(data, "proposed_by")
        ),
        EventKind::ExceptionRequested => format!(
            "Exception {} to {} for {} {} asked by {}, until {}",
            text_of(data, "exception_id"),
            text_of(data, "policy_id"),
            text_of(data, "agent_id"),
            text_of(data, "agent_version"),
            text_of(data, "requested_by"),
            day_of(&text_of(data, "until"))
        ),
        EventKind::ExceptionDecided => format!(
            "Exception {} to {} for {} {} is {} ({})",
            text_of(data, "exception_id"),
            text_of(data, "policy_id"),
            text_of(data, "agent_id"),
            text_of(data, "agent_version"),
            text_of(data, "state"),
            text_of(data, "actor")
        ),
        EventKind::IncidentReported => format!(
            "Incident {} ({}) with {} {} reported by {}{}",
            text_of(data, "incident_id"),
            text_of(data, "severity"),
            text_of(data, "agent_id"),
            text_of(data, "agent_version"),
            text_of(data, "reported_by"),
            if data.get("suspended").and_then(serde_json::Value::as_bool) == Some(true) {
                ": the version is suspended"
            } else {
                ""
            }
        ),
        EventKind::IncidentChanged => format!(
            "Incident {} with {} {}: {} by {}",
            text_of(data, "incident_id"),
            text_of(data, "agent_id"),
            text_of(data, "agent_version"),
            text_of(data, "what"),
            text_of(data, "actor")
        ),
        EventKind::ReviewerRemoved => format!(
            "Ethics review {} of {workflow} ({agent}) needs a new reviewer: the directory removed {}",
            text_of(data, "review_id"),
            text_of(data, "reviewer")
        ),
        EventKind::ReportSent => format!(
            "Governance report {} to {} sent (schedule {})",
            text_of(data, "from"),
            text_of(data, "to"),
            text_of(data, "schedule_id")
        ),
        EventKind::IncidentDeadline => format!(
            "Incident {} with {} {}: {} to {} {} {}",
            text_of(data, "incident_id"),
            text_of(data, "agent_id"),
            text_of(data, "agent_version"),
            "the report",
            text_of(data, "report_to"),
            if text_of(data, "alert") == "overdue" {
                "was due"
            } else {
                "is due"
            },
            day_of(&text_of(data, "report_due"))
        ),
        EventKind::LiftRequested => format!(
            "Lifting the suspension of {} {} ({}) waits for {}",
            text_of(data, "agent_id"),
            text_of(data, "agent_version"),
            text_of(data, "incident_id"),
            role_words(&text_of(data, "next_role"))
        ),
        EventKind::StepReminder | EventKind::StepOverdue | EventKind::StepEscalated => {
            let step = data.get("current_step");
            let number = step
                .and_then(|s| s.get("step_id"))
                .and_then(|n| n.as_u64())
                .unwrap_or(0);
            let role = role_words(
                step.and_then(|s| s.get("role"))
                    .and_then(|r| r.as_str())
                    .unwrap_or(""),
            );
            let due = text_of(data, "due_at");
            let due = due.get(..16).unwrap_or(&due).replace('T', " ");
            match event.kind {
                EventKind::StepReminder => format!(
                    "Reminder: step {number} ({role}) of {workflow} for {agent} is due {due}"
                ),
                EventKind::StepOverdue => format!(
                    "Overdue: step {number} ({role}) of {workflow} for {agent} was due {due}"
                ),
                _ => format!(
                    "Escalated to {}: step {number} ({role}) of {workflow} for {agent}, overdue since {due}",
                    text_of(data, "escalated_to")
                ),
            }
        }
    }
}
