//! What people ask of incidents: a report, an action on one, a list.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which incidents a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentFilter {
    /// Not closed.
    Open,
    /// Holding its agent version suspended.
    Suspended,
    /// Owing a report past its deadline.
    Overdue,
    Closed,
}

impl IncidentFilter {
    pub const ALL: [IncidentFilter; 4] = [
        IncidentFilter::Open,
        IncidentFilter::Suspended,
        IncidentFilter::Overdue,
        IncidentFilter::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentFilter::Open => "open",
            IncidentFilter::Suspended => "suspended",
            IncidentFilter::Overdue => "overdue",
            IncidentFilter::Closed => "closed",
        }
    }
}

crate::domain::name::display_as_str!(IncidentFilter);

/// An incident as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewIncident {
    pub agent_id: String,
    /// The version concerned; none: the agent's current record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    pub severity: String,
    pub summary: String,
    /// When the organisation became aware; none: now. (Left out rather
    /// than null in the schema: a time's format then binds.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub became_aware_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub occurred_at: Option<DateTime<Utc>>,
}

/// What a person asks to do to an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum IncidentAction {
    /// Confirms or changes the severity (a compliance officer).
    Triage { severity: String, comment: String },
    /// Suspends the agent version (a compliance officer).
    Suspend { reason: String },
    /// Records the report made outside (a compliance officer); made now
    /// unless a date is given.
    ConfirmReport {
        reference: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        reported_on: Option<DateTime<Utc>>,
    },
    /// Asks the set's lift chain to lift the suspension.
    RequestLift { reason: String },
    /// Signs off (or refuses) the lifting's next step.
    DecideLift {
        approve: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// Closes it with its cause and the corrective action (a compliance
    /// officer).
    Close {
        cause: String,
        corrective_action: String,
    },
}

impl IncidentAction {
    /// What it does, for messages ("triaging an incident").
    pub fn doing(&self) -> &'static str {
        match self {
            IncidentAction::Triage { .. } => "triaging an incident",
            IncidentAction::Suspend { .. } => "suspending an agent version",
            IncidentAction::ConfirmReport { .. } => "confirming an incident's report",
            IncidentAction::RequestLift { .. } => "asking to lift a suspension",
            IncidentAction::DecideLift { .. } => "deciding a suspension's lifting",
            IncidentAction::Close { .. } => "closing an incident",
        }
    }
}

/// An action on one incident, made on the version the person saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IncidentChange {
    /// The path names it over HTTP.
    #[serde(default)]
    pub incident_id: String,
    pub action: IncidentAction,
    /// The incident's version the action was decided on: an action on one
    /// that changed meanwhile is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

/// Which incidents to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IncidentQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<IncidentFilter>,
    /// Only those whose lifting waits for one of the caller's roles.
    #[serde(default)]
    pub awaiting_me: bool,
}
