//! Attestations read from the store: for an agent version that stands
//! (allowed or approved, and still so at a check now), an in-toto
//! statement of what it rests on, signed with the attestation key; for one
//! that no longer stands (suspended, due for recertification, superseded),
//! a signed revocation saying why. Nothing is written, except a checkpoint
//! when none covers the event yet.

use chrono::{DateTime, Utc};

use super::logkey::LogKey;
use super::reads;
use crate::backend::{BackendError, Result};
use crate::db::Connection;
use crate::domain::attestation::{
    self, APPROVAL_PREDICATE, Approval, Attested, AuditRecord, Decider, DeploymentRef,
    ObligationsRecord, PAYLOAD_TYPE, PolicySetRef, REVOCATION_PREDICATE, ReviewRecord, Revocation,
    STATEMENT_TYPE, Statement, StepRecord, TrailProof, WorkflowRecord,
};
use crate::domain::policy::evaluation::{DeploymentStatus, Evaluation};
use crate::domain::{DeploymentRequest, Manifest, ReviewStatus, Workflow};

/// What an attestation read found.
pub enum Attestation {
    /// The attestation or the revocation.
    Answered { attested: Attested },
    /// The version stands, but no signed checkpoint covers its event yet:
    /// sign one (a write) and read again.
    NeedsCheckpoint,
}

/// Whether an agent version stands now, and the request that stands.
pub struct Judged {
    pub request: DeploymentRequest,
    /// The manifest of that request, as the policies saw it.
    pub manifest: Manifest,
    pub evaluation: Evaluation,
    /// When it became the agent's record; none: it is not the record.
    pub since: Option<DateTime<Utc>>,
}

impl Judged {
    pub fn stands(&self) -> bool {
        self.since.is_some()
            && matches!(
                self.evaluation.status,
                DeploymentStatus::Allowed | DeploymentStatus::Approved
            )
    }

    /// Why it does not stand, in words.
    pub fn reasons(&self) -> Vec<String> {
        if self.since.is_none() {
            return vec![format!(
                "{} {} is not the agent's record: another version was allowed or approved after it",
                self.request.agent_id, self.request.agent_version
            )];
        }
        // What blocks it, else what it waits for: each rule's own reason.
        let triggered = &self.evaluation.triggered_policies;
        let blocking: Vec<String> = triggered
            .iter()
            .filter(|policy| policy.blocking)
            .map(|policy| policy.reason.clone())
            .collect();
        if !blocking.is_empty() {
            return blocking;
        }
        let waiting: Vec<String> = triggered
            .iter()
            .map(|policy| policy.reason.clone())
            .collect();
        if waiting.is_empty() {
            vec!["it needs sign-off again".into()]
        } else {
            waiting
        }
    }

    /// What the admission webhook holds of it: the artifacts it ships while
    /// it stands, else the rules that hold it back.
    pub fn admission_standing(&self) -> crate::domain::admission::Standing {
        use crate::domain::admission::Standing;
        if self.stands() {
            Standing::Stands {
                artifacts: self.request.artifacts.clone(),
            }
        } else {
            Standing::DoesNot {
                reasons: self.rules(),
            }
        }
    }

    /// When time alone would change whether it stands: its recertification
    /// due, its dormancy, the end of an exception it rests on (the
    /// earliest). An attestation's `valid_until`.
    pub fn changes_at(&self) -> Option<DateTime<Utc>> {
        let evaluation = &self.evaluation;
        let standing = evaluation.standing;
        [
            standing.and_then(|standing| standing.due),
            standing.and_then(|standing| standing.dormant_from),
        ]
        .into_iter()
        .flatten()
        .chain(
            evaluation
                .exceptions
                .iter()
                .map(|exception| exception.until),
        )
        .min()
    }

    /// Why it does not stand, by rule name only: what a caller who need
    /// not be signed in (the admission webhook's) may learn. Never the
    /// reasons' text, which may name people and incidents.
    pub fn rules(&self) -> Vec<String> {
        if self.since.is_none() {
            return vec!["it is not the agent's record (a later version stands)".into()];
        }
        let evaluation = &self.evaluation;
        let mut named: Vec<String> = evaluation
            .triggered_policies
            .iter()
            .filter(|policy| policy.blocking)
            .chain(
                evaluation
                    .triggered_policies
                    .iter()
                    .filter(|policy| !policy.blocking),
            )
            .map(|policy| format!("{} ({})", policy.name, policy.policy_id))
            .collect();
        named.dedup();
        if named.is_empty() {
            named.push("it needs sign-off again".into());
        }
        named
    }
}

/// Judges an agent version as a deployment check of its standing request
/// would now.
pub fn judge(
    conn: &Connection,
    agent_id: &str,
    version: &str,
    now: DateTime<Utc>,
    recent_use: Option<DateTime<Utc>>,
) -> Result<Judged> {
    let request = reads::live_request(conn, agent_id, version)?.ok_or_else(|| {
        BackendError::not_found(
            "approved version",
            format!("{agent_id} {version} (no request of it was allowed or approved)"),
        )
    })?;
    let agent = request.agent.clone().ok_or_else(|| {
        BackendError::Storage(format!("request {} keeps no agent", request.deployment_id))
    })?;
    let manifest = Manifest::for_agent(agent, request.external_tools.clone())
        .with_artifacts(request.artifacts.clone());
    let since = reads::record_since(conn, agent_id)?
        .filter(|(record, _)| record.version == version)
        .map(|(_, since)| since);
    let evaluation = reads::check(conn, &manifest, now, recent_use)?;
    Ok(Judged {
        request,
        manifest,
        evaluation,
        since,
    })
}

/// The attestation of an agent version, or its revocation.
pub fn attest(
    conn: &Connection,
    key: &LogKey,
    agent_id: &str,
    version: &str,
    now: DateTime<Utc>,
    recent_use: Option<DateTime<Utc>>,
) -> Result<Attestation> {
    let judged = judge(conn, agent_id, version, now, recent_use)?;
    let request = &judged.request;
    // Requests filed before Gavel kept the digest: the manifest as the
    // policies saw it.
    let manifest_digest = request
        .manifest_digest
        .clone()
        .unwrap_or_else(|| judged.manifest.canonical_digest());
    let subject = attestation::subjects(agent_id, version, &manifest_digest, &request.artifacts);
    let Some(since) = judged.since.filter(|_| judged.stands()) else {
        let revocation = Revocation {
            agent_id: agent_id.to_owned(),
            version: version.to_owned(),
            revoked_at: now,
            reasons: judged.reasons(),
            remediation: judged.evaluation.remediation.clone(),
        };
        let envelope = seal(key, &subject, REVOCATION_PREDICATE, &revocation)?;
        return Ok(Attestation::Answered {
            attested: Attested::Revoked(envelope),
        });
    };
    let workflows = reads::workflows_of_deployment(conn, &request.deployment_id)?;
    let Some(trail) = trail_proof(conn, request, &workflows)? else {
        return Ok(Attestation::NeedsCheckpoint);
    };
    let evaluation = &judged.evaluation;
    let policy_version = request
        .policy_set_version
        .or(evaluation.policy_set_version)
        .unwrap_or_default();
    let policy_set = reads::policy_set_detail(conn, policy_version)?;
    let valid_until = judged.changes_at();
    let mut reviews = Vec::new();
    for workflow in &workflows {
        if let Some(review) = reads::review_for_workflow(conn, &workflow.workflow_id)?
            .filter(|review| review.status == ReviewStatus::Submitted)
        {
            reviews.push(ReviewRecord {
                review_id: review.review_id,
                template_id: review.template_id,
                reviewer: review.reviewer,
                submitted_at: review.submitted_at,
            });
        }
    }
    let audits = reads::audits(conn, agent_id)?
        .into_iter()
        .filter(|audit| audit.agent_version == version)
        .map(|audit| AuditRecord {
            independent: audit.is_independent(),
            audit_id: audit.audit_id,
            tested_at: audit.tested_at,
            passes: audit.stats.passes_threshold,
            disparate_impact_ratio: audit.stats.disparate_impact_ratio,
        })
        .collect();
    let approval = Approval {
        outcome: evaluation.status,
        issued_at: now,
        standing_since: since,
        valid_until,
        agent: evaluation.agent.clone(),
        manifest_digest,
        artifacts: request.artifacts.clone(),
        deployment: DeploymentRef {
            deployment_id: request.deployment_id.clone(),
            requested_by: request.requested_by.clone(),
            requested_at: request.requested_at,
        },
        policy_set: PolicySetRef {
            version: policy_version,
            sha256: policy_set.version.source_sha256,
        },
        workflows: workflows.iter().map(workflow_record).collect(),
        audits,
        reviews,
        exceptions: evaluation.exceptions.clone(),
        obligations: obligations(conn, agent_id, version, now)?,
        trail,
    };
    let envelope = seal(key, &subject, APPROVAL_PREDICATE, &approval)?;
    Ok(Attestation::Answered {
        attested: Attested::Issued(envelope),
    })
}

fn seal<P: serde::Serialize>(
    key: &LogKey,
    subject: &[attestation::Subject],
    predicate_type: &str,
    predicate: &P,
) -> Result<attestation::dsse::Envelope> {
    let statement = Statement {
        statement_type: STATEMENT_TYPE.to_owned(),
        subject: subject.to_vec(),
        predicate_type: predicate_type.to_owned(),
        predicate,
    };
    let payload = serde_json::to_vec(&statement)
        .map_err(|err| BackendError::Storage(format!("cannot write a statement: {err}")))?;
    Ok(attestation::dsse::seal(
        &key.attestation,
        PAYLOAD_TYPE,
        &payload,
    ))
}

fn workflow_record(workflow: &Workflow) -> WorkflowRecord {
    WorkflowRecord {
        workflow_id: workflow.workflow_id.clone(),
        policy_id: workflow.triggered_by_policy.clone(),
        steps: workflow
            .steps
            .iter()
            .map(|step| {
                let deciders = if step.approvals.is_empty() {
                    step.approver_email
                        .clone()
                        .zip(step.decision_at)
                        .map(|(email, at)| Decider {
                            email,
                            on_behalf_of: step.on_behalf_of.clone(),
                            at,
                        })
                        .into_iter()
                        .collect()
                } else {
                    step.approvals
                        .iter()
                        .map(|approval| Decider {
                            email: approval.approver_email.clone(),
                            on_behalf_of: approval.on_behalf_of.clone(),
                            at: approval.decision_at,
                        })
                        .collect()
                };
                StepRecord {
                    role: step.role,
                    deciders,
                }
            })
            .collect(),
    }
}

/// The obligations that apply to the version, where the set adopts
/// frameworks.
fn obligations(
    conn: &Connection,
    agent_id: &str,
    version: &str,
    now: DateTime<Utc>,
) -> Result<Option<ObligationsRecord>> {
    let (_, set) = reads::active_set(conn)?;
    if set.file.frameworks.is_empty() {
        return Ok(None);
    }
    let posture = reads::obligations_posture(conn, &set, agent_id, Some(version), now)?;
    let mut record = ObligationsRecord {
        met: Vec::new(),
        unmet: Vec::new(),
    };
    for obligation in posture.obligations {
        use crate::domain::obligations::State;
        match obligation.state {
            State::Met | State::Expiring { .. } => record.met.push(obligation.obligation),
            State::Unmet { .. } => record.unmet.push(obligation.obligation),
            State::NotApplicable { .. } | State::NotYetInEffect { .. } => {}
        }
    }
    Ok(Some(record))
}

/// The newest event of the request and its workflows (the decision that
/// made it stand), proven in the newest signed checkpoint. None: no
/// checkpoint covers it yet.
fn trail_proof(
    conn: &Connection,
    request: &DeploymentRequest,
    workflows: &[Workflow],
) -> Result<Option<TrailProof>> {
    let mut newest = None;
    let entities = std::iter::once(("deployment", &request.deployment_id)).chain(
        workflows
            .iter()
            .map(|workflow| ("workflow", &workflow.workflow_id)),
    );
    for (entity_type, entity_id) in entities {
        for event in super::trail::for_entity(conn, entity_type, entity_id)? {
            if newest
                .as_ref()
                .is_none_or(|known: &crate::domain::trail::TrailEvent| event.seq > known.seq)
            {
                newest = Some(event);
            }
        }
    }
    let event = newest.ok_or_else(|| {
        BackendError::Storage(format!(
            "request {} has no trail event",
            request.deployment_id
        ))
    })?;
    let Some((size, checkpoint)) = super::logkey::latest_checkpoint(conn)? else {
        return Ok(None);
    };
    let index = (event.seq - 1) as u64;
    if index >= size {
        return Ok(None);
    }
    Ok(Some(TrailProof {
        event: super::trail::packed(conn, event, size)?,
        checkpoint,
    }))
}
