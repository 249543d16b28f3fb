//! What stands for an agent version after its approval, beside its
//! obligations: the incidents open with it and the exceptions waiting or
//! in force, in words for the posture views.

use chrono::{DateTime, Utc};

use crate::domain::exception::{Exception, ExceptionState};
use crate::domain::incident::{Incident, IncidentStatus};

/// One line per open incident and per exception pending or in force of
/// `agent_version`, suspensions and overdue reports first. Unsanitized.
pub fn words(
    agent_version: &str,
    incidents: &[Incident],
    exceptions: &[Exception],
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut open: Vec<&Incident> = incidents
        .iter()
        .filter(|incident| {
            incident.agent_version == agent_version && incident.status != IncidentStatus::Closed
        })
        .collect();
    open.sort_by_key(|incident| (!incident.suspends(), !incident.is_overdue(now)));
    let incidents = open.into_iter().map(|incident| {
        format!(
            "incident {} ({}): {}; {}",
            incident.incident_id,
            incident.severity,
            incident.state_words(now),
            incident.deadline_words(now)
        )
    });
    let exceptions = exceptions
        .iter()
        .filter(|exception| exception.agent_version == agent_version)
        .filter(|exception| {
            matches!(
                exception.state(now),
                ExceptionState::Pending | ExceptionState::Active
            )
        })
        .map(|exception| {
            format!(
                "exception {} sets {} aside: {}, {}",
                exception.exception_id,
                exception.policy_id,
                exception.state(now),
                exception.progress(now)
            )
        });
    incidents.chain(exceptions).collect()
}
