//! What the incidents overlay asks of the backend, and its answers.

use crate::backend::GovernanceBackend;
use crate::domain::incident::{Incident, IncidentChange, IncidentQuery, NewIncident};

#[derive(Debug, Clone, PartialEq)]
pub enum IncidentCommand {
    Load(IncidentQuery),
    Report(NewIncident),
    Change(IncidentChange),
}

#[derive(Debug, Clone, PartialEq)]
pub enum IncidentMessage {
    Loaded(Result<Vec<Incident>, String>),
    /// What a change did, in words (then the list is loaded again).
    Changed(Result<String, String>),
}

impl IncidentCommand {
    /// Loads replace one another; changes all run.
    pub fn coalesce_key(&self) -> Option<&'static str> {
        match self {
            IncidentCommand::Load(_) => Some("incidents"),
            _ => None,
        }
    }
}

fn said(incident: &Incident, now: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "{} ({} {}): {}; {}",
        incident.incident_id,
        incident.agent_id,
        incident.agent_version,
        incident.state_words(now),
        incident.deadline_words(now)
    )
}

pub async fn run(backend: &dyn GovernanceBackend, command: IncidentCommand) -> IncidentMessage {
    let words = |err: crate::backend::BackendError| err.to_string();
    let now = chrono::Utc::now();
    match command {
        IncidentCommand::Load(query) => {
            IncidentMessage::Loaded(backend.incidents(&query).await.map_err(words))
        }
        IncidentCommand::Report(report) => IncidentMessage::Changed(
            backend
                .report_incident(&report)
                .await
                .map(|made| said(&made, now))
                .map_err(words),
        ),
        IncidentCommand::Change(change) => IncidentMessage::Changed(
            backend
                .change_incident(&change)
                .await
                .map(|changed| said(&changed, now))
                .map_err(words),
        ),
    }
}
