//! What the exceptions and recertifications overlays ask of the backend,
//! and its answers.

use crate::backend::GovernanceBackend;
use crate::domain::exception::{Exception, ExceptionDecision, ExceptionQuery, NewException};

#[derive(Debug, Clone, PartialEq)]
pub enum ExceptionCommand {
    Load(ExceptionQuery),
    Request(NewException),
    Decide(ExceptionDecision),
    Revoke {
        exception_id: String,
        reason: String,
    },
    /// Approvals due for recertification within so many days.
    Recertifications(u32),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExceptionMessage {
    Loaded(Result<Vec<Exception>, String>),
    /// What a change did, in words (then the list is loaded again).
    Changed(Result<String, String>),
    Recertifications(Result<crate::backend::RecertificationPage, String>),
}

impl ExceptionCommand {
    /// Loads replace one another; changes all run.
    pub fn coalesce_key(&self) -> Option<&'static str> {
        match self {
            ExceptionCommand::Load(_) => Some("exceptions"),
            ExceptionCommand::Recertifications(_) => Some("recertifications"),
            _ => None,
        }
    }
}

fn said(exception: &Exception, now: chrono::DateTime<chrono::Utc>) -> String {
    let state = exception.state(now);
    match exception.next_role() {
        Some(role) => format!(
            "{} is {state}: its next step is for {}",
            exception.exception_id,
            role.with_article()
        ),
        None => format!("{} is {state}", exception.exception_id),
    }
}

pub async fn run(backend: &dyn GovernanceBackend, command: ExceptionCommand) -> ExceptionMessage {
    let words = |err: crate::backend::BackendError| err.to_string();
    let now = chrono::Utc::now();
    match command {
        ExceptionCommand::Load(query) => {
            ExceptionMessage::Loaded(backend.exceptions(&query).await.map_err(words))
        }
        ExceptionCommand::Recertifications(within_days) => ExceptionMessage::Recertifications(
            backend
                .recertifications_due(within_days)
                .await
                .map_err(words),
        ),
        ExceptionCommand::Request(request) => ExceptionMessage::Changed(
            backend
                .request_exception(&request)
                .await
                .map(|made| said(&made, now))
                .map_err(words),
        ),
        ExceptionCommand::Decide(decision) => ExceptionMessage::Changed(
            backend
                .decide_exception(&decision)
                .await
                .map(|decided| said(&decided, now))
                .map_err(words),
        ),
        ExceptionCommand::Revoke {
            exception_id,
            reason,
        } => ExceptionMessage::Changed(
            backend
                .revoke_exception(&exception_id, &reason)
                .await
                .map(|revoked| said(&revoked, now))
                .map_err(words),
        ),
    }
}
