//! What the obligations overlay reads beside an agent version's posture.

use crate::backend::GovernanceBackend;

/// The open incidents and the exceptions pending or in force of a
/// posture's version, in words.
pub async fn beside(
    backend: &dyn GovernanceBackend,
    posture: &crate::domain::obligations::Posture,
) -> Vec<String> {
    let agent_id = Some(posture.agent_id.clone());
    let incidents = backend
        .incidents(&crate::domain::incident::IncidentQuery {
            agent_id: agent_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_or_default();
    let exceptions = backend
        .exceptions(&crate::domain::exception::ExceptionQuery {
            agent_id,
            ..Default::default()
        })
        .await
        .unwrap_or_default();
    crate::domain::after_approval::words(
        &posture.agent_version,
        &incidents,
        &exceptions,
        posture.at,
    )
}
