//! Replay verification over the store: every workflow, deployment, review
//! and policy set version is compared with the state its trail events
//! imply. Streams: the
//! trail is read per entity type in (entity, seq) order through its index,
//! beside the entity table in id order, so memory holds one entity's events
//! at a time whatever the size of the store.

use crate::backend::{Mismatch, ReplayReport};
use crate::db::{Connection, Row};

use super::reads::{
    CONFIRMATION_COLUMNS, DEPLOYMENT_COLUMNS, INTAKE_COLUMNS, parse_confirmation, parse_deployment,
    parse_intake, raw_confirmation, raw_deployment, raw_intake_at,
};
use super::rows::{WORKFLOW_COLUMNS, from_json, parse, raw_workflow_row};
use crate::backend::Result;
use crate::domain::Answers;
use crate::domain::BiasAudit;
use crate::domain::bias::replay::AuditReplay;
use crate::domain::exception::Exception;
use crate::domain::exception::replay::ExceptionReplay;
use crate::domain::incident::Incident;
use crate::domain::incident::replay::IncidentReplay;
use crate::domain::obligations::replay::{ConfirmationReplay, IntakeReplay};
use crate::domain::policy::set::Source;
use crate::domain::replay::{
    DeploymentReplay, Event, PolicySetReplay, ReviewReplay, StoredPolicySet, StoredReview,
    WorkflowReplay, replay,
};

/// One entity's events, read in (entity_id, seq) order.
struct OwnedEvent {
    entity_id: String,
    seq: i64,
    actor: String,
    action: String,
    after_version: Option<i64>,
    details: String,
}

impl OwnedEvent {
    fn from_row(row: &Row<'_>) -> crate::db::Result<OwnedEvent> {
        Ok(OwnedEvent {
            entity_id: row.get(0)?,
            seq: row.get(1)?,
            actor: row.get(2)?,
            action: row.get(3)?,
            after_version: row.get(4)?,
            details: row.get(5)?,
        })
    }

    fn event(&self) -> Event<'_> {
        Event {
            seq: self.seq,
            actor: &self.actor,
            action: &self.action,
            after_version: self.after_version,
            details: &self.details,
        }
    }
}

/// Walks the stored rows of one entity type beside its events: `check`
/// gets each row with its events and says how they differ, if they do.
fn merge<T>(
    conn: &Connection,
    entity_type: &str,
    rows_sql: &str,
    read_row: impl Fn(&Row<'_>) -> Result<(String, T)>,
    mut check: impl FnMut(&T, &[OwnedEvent]) -> Option<String>,
) -> Result<(u64, Option<Mismatch>)> {
    let mismatch = |entity_id: &str, reason: String| Mismatch {
        entity_type: entity_type.to_owned(),
        entity_id: entity_id.to_owned(),
        reason,
    };
    let mut events_statement = conn.prepare_cached(
        "SELECT entity_id, seq, actor, action, after_version, details FROM trail
         WHERE entity_type = ?1 ORDER BY entity_id, seq",
    )?;
    let mut events = events_statement.query([entity_type])?;
    let mut pending = events
        .next()?
        .as_ref()
        .map(OwnedEvent::from_row)
        .transpose()?;
    let mut rows_statement = conn.prepare_cached(rows_sql)?;
    let mut rows = rows_statement.query(crate::db::params![])?;
    let mut checked = 0;
    let mut batch = Vec::new();
    while let Some(row) = rows.next()? {
        let (id, stored) = read_row(&row)?;
        batch.clear();
        while let Some(event) = pending.take() {
            if event.entity_id.as_str() < id.as_str() {
                return Ok((
                    checked,
                    Some(mismatch(
                        &event.entity_id,
                        format!(
                            "event {} is about a {entity_type} that is not stored",
                            event.seq
                        ),
                    )),
                ));
            }
            if event.entity_id != id {
                pending = Some(event);
                break;
            }
            batch.push(event);
            pending = events
                .next()?
                .as_ref()
                .map(OwnedEvent::from_row)
                .transpose()?;
        }
        checked += 1;
        if let Some(reason) = check(&stored, &batch) {
            return Ok((checked, Some(mismatch(&id, reason))));
        }
    }
    if let Some(event) = pending {
        return Ok((
            checked,
            Some(mismatch(
                &event.entity_id,
                format!(
                    "event {} is about a {entity_type} that is not stored",
                    event.seq
                ),
            )),
        ));
    }
    Ok((checked, None))
}

/// Replays every workflow, deployment, review and policy set version;
/// stops at the first that differs.
pub fn verify(conn: &Connection) -> Result<ReplayReport> {
    let mut report = ReplayReport::default();
    conn.consistent(|tx| {

        let mut without_steps = 0;
        let (workflows, mismatch) = merge(
            tx,
            "workflow",
            &format!("SELECT {WORKFLOW_COLUMNS} FROM workflows ORDER BY workflow_id"),
            |row| {
                let workflow = super::rows::parse_workflow(raw_workflow_row(row)?)?;
                Ok((workflow.workflow_id.clone(), workflow))
            },
            |workflow, events| match replay::<WorkflowReplay>(events.iter().map(OwnedEvent::event)) {
                Ok(replayed) => {
                    if !replayed.checks_steps() {
                        without_steps += 1;
                    }
                    replayed.differs(workflow)
                }
                Err(problem) => Some(problem),
            },
        )?;
        report.workflows = workflows;
        report.workflows_without_steps = without_steps;
        if mismatch.is_some() {
            report.mismatch = mismatch;
            return Ok(report);
        }

        let (deployments, mismatch) = merge(
            tx,
            "deployment",
            &format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments ORDER BY deployment_id"),
            |row| {
                let request = parse_deployment(raw_deployment(row)?)?;
                Ok((request.deployment_id.clone(), request))
            },
            |request, events| match replay::<DeploymentReplay>(events.iter().map(OwnedEvent::event)) {
                Ok(replayed) => replayed.differs(request),
                Err(problem) => Some(problem),
            },
        )?;
        report.deployments = deployments;
        if mismatch.is_some() {
            report.mismatch = mismatch;
            return Ok(report);
        }

        let (audits, mismatch) = merge(
            tx,
            "audit",
            "SELECT audit_id, body FROM audits ORDER BY audit_id",
            |row| {
                let audit: BiasAudit = from_json("audit", &row.get::<String>(1)?)?;
                Ok((row.get(0)?, audit))
            },
            |audit, events| match replay::<AuditReplay>(events.iter().map(OwnedEvent::event)) {
                Ok(replayed) => replayed.differs(audit),
                Err(problem) => Some(problem),
            },
        )?;
        report.audits = audits;
        if mismatch.is_some() {
            report.mismatch = mismatch;
            return Ok(report);
        }

        let (reviews, mismatch) = merge(
            tx,
            "review",
            "SELECT review_id, status, reviewer, answers FROM reviews ORDER BY review_id",
            |row| {
                let status: String = row.get(1)?;
                let answers: Answers = from_json("review answers", &row.get::<String>(3)?)?;
                Ok((
                    row.get(0)?,
                    (
                        parse("review status", &status)?,
                        row.get::<String>(2)?,
                        crate::domain::replay::answers_sha256(&answers),
                    ),
                ))
            },
            |(status, reviewer, hash), events| match replay::<ReviewReplay>(
                events.iter().map(OwnedEvent::event),
            ) {
                Ok(replayed) => replayed.differs(&StoredReview {
                    status: *status,
                    reviewer,
                    answers_sha256: hash,
                }),
                Err(problem) => Some(problem),
            },
        )?;
        report.reviews = reviews;
        if mismatch.is_some() {
            report.mismatch = mismatch;
            return Ok(report);
        }

        // The trail orders entity ids as text ("10" before "2"): so do the rows.
        let (policy_sets, mismatch) = merge(
            tx,
            "policy_set",
            "SELECT CAST(version AS TEXT), version, state, proposed_by, decided_by, source_hash, source
             FROM policy_sets ORDER BY CAST(version AS TEXT)",
            |row| {
                let source: String = row.get(6)?;
                Ok((
                    row.get(0)?,
                    (
                        row.get::<i64>(1)?,
                        row.get::<String>(2)?,
                        row.get::<String>(3)?,
                        row.get::<Option<String>>(4)?,
                        row.get::<String>(5)?,
                        Source::digest(&source),
                    ),
                ))
            },
            |(version, state, proposed_by, decided_by, hash, text_hash), events| match replay::<
                PolicySetReplay,
            >(
                events.iter().map(OwnedEvent::event),
            ) {
                Ok(replayed) => replayed.differs(&StoredPolicySet {
                    version: *version,
                    state,
                    proposed_by,
                    decided_by: decided_by.as_deref(),
                    source_sha256: hash,
                    text_sha256: text_hash,
                }),
                Err(problem) => Some(problem),
            },
        )?;
        report.policy_sets = policy_sets;
        if mismatch.is_some() {
            report.mismatch = mismatch;
            return Ok(report);
        }

        // Entity ids are `agent@version`, as the trail names them.
        let (intakes, mismatch) = merge(
            tx,
            "intake",
            &format!(
                "SELECT agent_id || '@' || agent_version, {INTAKE_COLUMNS} FROM intakes
                 WHERE status = 'submitted' ORDER BY agent_id || '@' || agent_version"
            ),
            |row| {
                let raw = raw_intake_at(row, 1)?;
                Ok((row.get(0)?, parse_intake(raw)?))
            },
            |intake, events| match replay::<IntakeReplay>(events.iter().map(OwnedEvent::event)) {
                Ok(replayed) => replayed.differs(intake),
                Err(problem) => Some(problem),
            },
        )?;
        report.intakes = intakes;
        if mismatch.is_some() {
            report.mismatch = mismatch;
            return Ok(report);
        }

        let (confirmations, mismatch) = merge(
            tx,
            "confirmation",
            &format!("SELECT {CONFIRMATION_COLUMNS} FROM obligation_confirmations ORDER BY confirmation_id"),
            |row| {
                let confirmation = parse_confirmation(raw_confirmation(row)?)?;
                Ok((confirmation.confirmation_id.clone(), confirmation))
            },
            |confirmation, events| match replay::<ConfirmationReplay>(events.iter().map(OwnedEvent::event)) {
                Ok(replayed) => replayed.differs(confirmation),
                Err(problem) => Some(problem),
            },
        )?;
        report.confirmations = confirmations;
        if mismatch.is_some() {
            report.mismatch = mismatch;
            return Ok(report);
        }

        // The trail orders ids as text: so do the rows.
        let (exceptions, mismatch) = merge(
            tx,
            "exception",
            "SELECT exception_id, record FROM policy_exceptions ORDER BY exception_id",
            |row| {
                let record: String = row.get(1)?;
                Ok((row.get(0)?, from_json::<Exception>("exception", &record)?))
            },
            |exception, events| match replay::<ExceptionReplay>(events.iter().map(OwnedEvent::event)) {
                Ok(replayed) => replayed.differs(exception),
                Err(problem) => Some(problem),
            },
        )?;
        report.exceptions = exceptions;
        if mismatch.is_some() {
            report.mismatch = mismatch;
            return Ok(report);
        }

        let (incidents, mismatch) = merge(
            tx,
            "incident",
            "SELECT incident_id, record FROM incidents ORDER BY incident_id",
            |row| {
                let record: String = row.get(1)?;
                Ok((row.get(0)?, from_json::<Incident>("incident", &record)?))
            },
            |incident, events| match replay::<IncidentReplay>(events.iter().map(OwnedEvent::event)) {
                Ok(replayed) => replayed.differs(incident),
                Err(problem) => Some(problem),
            },
        )?;
        report.incidents = incidents;
        report.mismatch = mismatch;
        Ok(report)
    })
}
