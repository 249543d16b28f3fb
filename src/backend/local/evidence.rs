//! What an evidence pack holds, read from the store in one transaction:
//! the agent's requests (in the version or period asked), the policy-set
//! versions that judged them, their workflows, submitted reviews with their
//! templates, the agent's audits with their runs and case evidence, and
//! every trail event behind them with its inclusion proof in a checkpoint
//! signed now.

use crate::db::{Connection, params};
use chrono::{DateTime, Utc};

use super::logkey::{self, LogKey};
use super::reads;
use super::rows::to_ms;
use crate::backend::EvidenceQuery;
use crate::backend::{CaseQuery, Result};
use crate::evidence::{Evidence, RunEvidence};

/// Cases read per page for a run's CSV.
const CASE_PAGE: u32 = 5_000;

pub fn collect(
    conn: &Connection,
    key: &LogKey,
    query: &EvidenceQuery,
    now: DateTime<Utc>,
) -> Result<Evidence> {
    reads::agent(conn, &query.agent_id)?;
    let ids: Vec<String> = conn
        .prepare_cached(
            "SELECT deployment_id FROM deployments
             WHERE agent_id = ?1 AND (?2 IS NULL OR agent_version = ?2)
               AND (?3 IS NULL OR requested_at >= ?3) AND (?4 IS NULL OR requested_at < ?4)
             ORDER BY requested_at, deployment_id",
        )?
        .query_map(
            params![
                query.agent_id,
                query.agent_version,
                query.from.map(to_ms),
                query.to.map(to_ms),
            ],
            |row| row.get(0),
        )?
        .collect::<crate::db::Result<_>>()?;
    let mut deployments = Vec::with_capacity(ids.len());
    let mut workflows = Vec::new();
    for id in &ids {
        deployments.push(reads::deployment(conn, id)?);
        workflows.extend(reads::workflows_of_deployment(conn, id)?);
    }
    let mut versions: Vec<i64> = deployments
        .iter()
        .filter_map(|deployment| deployment.policy_set_version)
        .collect();
    versions.sort_unstable();
    versions.dedup();
    let mut policy_sets = versions
        .into_iter()
        .map(|version| reads::policy_set_detail(conn, version))
        .collect::<Result<Vec<_>>>()?;
    let obligations = obligation_records(conn, query, &deployments, &mut policy_sets)?;
    let mut reviews = Vec::new();
    for workflow in &workflows {
        if let Some(review) = reads::review_for_workflow(conn, &workflow.workflow_id)?
            .filter(|review| review.status == crate::domain::ReviewStatus::Submitted)
        {
            let template = reads::review_template(conn, &review.template_id)?;
            reviews.push((review, template));
        }
    }
    let audits: Vec<_> = reads::audits(conn, &query.agent_id)?
        .into_iter()
        .filter(|audit| {
            query
                .agent_version
                .as_ref()
                .is_none_or(|version| *version == audit.agent_version)
                && query.from.is_none_or(|from| audit.tested_at >= from)
                && query.to.is_none_or(|to| audit.tested_at < to)
        })
        .collect();
    let mut runs = Vec::new();
    for run_id in audits.iter().filter_map(|audit| audit.run_id.as_deref()) {
        let run = reads::audit_runs::run(conn, run_id)?;
        let mut cases = Vec::new();
        let mut after = None;
        loop {
            let page = reads::audit_runs::cases(
                conn,
                run_id,
                &CaseQuery {
                    after: after.take(),
                    limit: CASE_PAGE,
                    ..CaseQuery::default()
                },
            )?;
            cases.extend(page.cases);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        runs.push(RunEvidence { run, cases });
    }

    let exceptions: Vec<_> = reads::exceptions(
        conn,
        &crate::domain::exception::ExceptionQuery {
            agent_id: Some(query.agent_id.clone()),
            ..Default::default()
        },
        &[],
        now,
    )?
    .into_iter()
    .rev()
    .filter(|exception| {
        query
            .agent_version
            .as_ref()
            .is_none_or(|version| *version == exception.agent_version)
            && query.from.is_none_or(|from| exception.requested_at >= from)
            && query.to.is_none_or(|to| exception.requested_at < to)
    })
    .collect();

    // Every incident of the version, whenever reported: its obligations'
    // incident process reads them all.
    let incidents: Vec<_> = reads::incidents_of_agent(conn, &query.agent_id)?
        .into_iter()
        .rev()
        .filter(|incident| {
            query
                .agent_version
                .as_ref()
                .is_none_or(|version| *version == incident.agent_version)
        })
        .collect();

    // The trail of every entity in the pack, and a checkpoint covering it.
    let mut entities: Vec<(&str, String)> = Vec::new();
    entities.extend(
        incidents
            .iter()
            .map(|incident| ("incident", incident.incident_id.clone())),
    );
    entities.extend(
        exceptions
            .iter()
            .map(|exception| ("exception", exception.exception_id.clone())),
    );
    entities.extend(ids.iter().map(|id| ("deployment", id.clone())));
    entities.extend(
        workflows
            .iter()
            .map(|w| ("workflow", w.workflow_id.clone())),
    );
    entities.extend(reviews.iter().map(|(r, _)| ("review", r.review_id.clone())));
    entities.extend(
        policy_sets
            .iter()
            .map(|set| ("policy_set", set.version.version.to_string())),
    );
    entities.extend(audits.iter().map(|a| ("audit", a.audit_id.clone())));
    entities.extend(runs.iter().map(|r| ("audit_run", r.run.run_id.clone())));
    // The delegations under which someone decided for someone else.
    for workflow in &workflows {
        for step in &workflow.steps {
            let decided = step
                .approvals
                .iter()
                .map(|a| {
                    (
                        &a.on_behalf_of,
                        Some(&a.approver_email),
                        Some(a.decision_at),
                    )
                })
                .chain([(
                    &step.on_behalf_of,
                    step.approver_email.as_ref(),
                    step.decision_at,
                )]);
            for (delegator, delegate, at) in decided {
                let (Some(delegator), Some(delegate), Some(at)) = (delegator, delegate, at) else {
                    continue;
                };
                if let Some(delegation) =
                    super::reads::covering(conn, delegator, delegate, step.role, at)?
                {
                    entities.push(("delegation", delegation.delegation_id));
                }
            }
        }
    }
    let checkpoint = logkey::sign_checkpoint(conn, key, now)?;
    let size = super::log::size(conn)?;
    let mut events = Vec::new();
    for (entity_type, entity_id) in &entities {
        for event in super::trail::for_entity(conn, entity_type, entity_id)? {
            let index = (event.seq - 1) as u64;
            if index >= size {
                continue;
            }
            events.push(super::trail::packed(conn, event, size)?);
        }
    }
    events.sort_by_key(|event| event.seq);
    events.dedup_by_key(|event| event.seq);
    Ok(Evidence {
        query: query.clone(),
        origin: key.origin.clone(),
        verifier_key: key.verifier_key.clone(),
        deployments,
        policy_sets,
        workflows,
        reviews,
        audits,
        runs,
        events,
        checkpoint,
        obligations,
        exceptions,
        incidents,
    })
}

/// What `obligations/` is judged from: the active set (its text joins the
/// pack's policy sets), the agent as requested at the pack's version (the
/// one asked, else its newest request's, else the current), its intake
/// and its confirmations.
fn obligation_records(
    conn: &Connection,
    query: &EvidenceQuery,
    deployments: &[crate::domain::DeploymentRequest],
    policy_sets: &mut Vec<crate::backend::PolicySetDetail>,
) -> Result<Option<crate::evidence::obligations::ObligationRecords>> {
    let active = reads::active_policy_set(conn)?;
    let set = reads::policy_set_detail(conn, active)?;
    if reads::policy_set(conn)?.file.frameworks.is_empty() {
        return Ok(None);
    }
    let version = query.agent_version.clone().or_else(|| {
        deployments
            .last()
            .map(|deployment| deployment.agent_version.clone())
    });
    let agent = reads::agent_at(conn, &query.agent_id, version.as_deref())?;
    let intake = reads::intake(conn, &agent.agent_id, &agent.version)?;
    let confirmations = reads::confirmations(conn, &agent.agent_id)?;
    if !policy_sets
        .iter()
        .any(|known| known.version.version == set.version.version)
    {
        policy_sets.push(set.clone());
        policy_sets.sort_by_key(|known| known.version.version);
    }
    Ok(Some(crate::evidence::obligations::ObligationRecords {
        set,
        agent,
        intake,
        confirmations,
    }))
}
