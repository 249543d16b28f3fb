//! Telling people when it is their turn: events recorded in the store's
//! outbox with the change that causes them (`backend::local::notifications`),
//! and a worker that delivers them by email and webhook, durably.

pub mod email;
pub mod message;
pub mod settings;
pub mod webhook;
pub mod worker;

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
}

impl EventKind {
    pub const ALL: [EventKind; 11] = [
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
        }
    }
}

impl EventKind {
    /// The event an alert on a waiting step sends.
    pub fn of_alert(kind: crate::domain::sla::AlertKind) -> EventKind {
        match kind {
            crate::domain::sla::AlertKind::Reminder => EventKind::StepReminder,
            crate::domain::sla::AlertKind::Overdue => EventKind::StepOverdue,
            crate::domain::sla::AlertKind::Escalated => EventKind::StepEscalated,
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
