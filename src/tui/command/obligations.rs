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
    let mut words = crate::domain::after_approval::words(
        &posture.agent_version,
        &incidents,
        &exceptions,
        posture.at,
    );
    words.extend(attestation_words(backend, &posture.agent_id, &posture.agent_version).await);
    words
}

/// Whether the version has a signed approval, or why not; nothing when
/// the backend cannot sign (a store without a log key, a server away).
pub async fn attestation_words(
    backend: &dyn GovernanceBackend,
    agent_id: &str,
    version: &str,
) -> Option<String> {
    match backend.attestation(agent_id, version).await {
        Ok(attested) => Some(attested.words()),
        Err(crate::backend::BackendError::NotFound { .. }) => {
            Some("signed approval: none yet (this version was never allowed or approved)".into())
        }
        Err(_) => None,
    }
}
