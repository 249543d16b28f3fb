//! Workflows: opening rows, decisions, withdrawal and what a closed workflow
//! does to its deployment.

use super::super::reads::covering;
use super::blocked::update_deployment_status;
use super::checks::check_person;
use super::figures::{count_workflow, uncount_stored_workflow};
use super::stamps::Stamp;
use super::stamps::entry;
use super::standings::refresh_standing;
use crate::db::{Connection, OptionalExtension, params};

use super::super::reads::{self};
use super::super::rows::{self, labels_to_text, to_json, to_ms};
use super::super::trail::TrailWriter;
use chrono::{DateTime, Utc};

use crate::backend::{BackendError, Result};

use crate::backend::queue::{REVIEWER_MARK, urgency};
use crate::backend::types::{Decision, User};
use crate::domain::decision::{
    Decider, DecisionError, DecisionRequest, MAX_COMMENT_BYTES, Principal, ReviewFacts,
    decision_time,
};
use crate::domain::policy::evaluation::DeploymentStatus;
use crate::domain::{Agent, ReviewStatus, Role, Workflow, WorkflowStatus};

/// Writes an agent's record and judges its standing again.
pub fn upsert_agent(conn: &Connection, agent: &Agent, at: DateTime<Utc>) -> Result<()> {
    upsert_agent_row(conn, agent, at)?;
    refresh_standing_since(conn, Some(&agent.agent_id))?;
    // Its standing and obligations read its fields: judged again with them.
    refresh_standing(conn, &agent.agent_id)?;
    super::coverage::refresh_coverage(conn, &agent.agent_id, at)
}

/// Keeps since when an agent's record stands (its last write, when its
/// version was allowed or approved; else none): one agent's, or every
/// agent's (`None`, for the seed).
pub fn refresh_standing_since(conn: &Connection, agent_id: Option<&str>) -> Result<()> {
    let live = crate::backend::local::reads::LIVE_RECORD;
    let update = format!(
        "UPDATE agents SET standing_since = CASE WHEN {live} THEN updated_at ELSE NULL END"
    );
    // One agent by its key: `?1 IS NULL OR agent_id = ?1` would scan
    // every agent on each approval.
    match agent_id {
        Some(agent_id) => conn
            .prepare_cached(&format!("{update} WHERE agent_id = ?1"))?
            .execute([agent_id])?,
        None => conn.prepare_cached(&update)?.execute(params![])?,
    };
    Ok(())
}

/// Writes an agent's record only: for the seed, which judges every
/// standing once at the end.
pub fn upsert_agent_row(conn: &Connection, agent: &Agent, at: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO agents (agent_id, name, team, owner, category, data_classification, has_external_tools, tools_approved, risk_tier, version, updated_at, labels)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT(agent_id) DO UPDATE SET name = excluded.name, team = excluded.team, owner = excluded.owner,
           category = excluded.category, data_classification = excluded.data_classification,
           has_external_tools = excluded.has_external_tools, tools_approved = excluded.tools_approved,
           risk_tier = excluded.risk_tier, version = excluded.version, updated_at = excluded.updated_at,
           labels = excluded.labels",
    )?
    .execute(params![
        agent.agent_id,
        agent.name,
        agent.team,
        agent.owner,
        agent.category.as_str(),
        agent.data_classification.as_str(),
        agent.has_external_tools,
        agent.tools_approved,
        agent.risk_tier.as_str(),
        agent.version,
        to_ms(at),
        labels_to_text(&agent.labels)?,
    ])?;
    Ok(())
}

/// When a workflow's row sorts in the queue: since its current step began
/// waiting, or since it closed.
fn sort_time(workflow: &Workflow, closed_at: DateTime<Utc>) -> DateTime<Utc> {
    if workflow.status == WorkflowStatus::InProgress {
        workflow.waiting_since()
    } else {
        closed_at
    }
}

/// The current step's SLA columns: its due time, latest alert, when its
/// next alert comes due, its quorum and the approvals it has.
struct StepColumns {
    due_at: Option<i64>,
    alert: Option<&'static str>,
    next_alert_at: Option<i64>,
    quorum: u32,
    approvals: u32,
}

fn step_columns(workflow: &Workflow) -> StepColumns {
    let current = workflow.current_step();
    let since = workflow.waiting_since();
    StepColumns {
        due_at: current
            .and_then(|step| step.sla.as_ref())
            .map(|sla| to_ms(sla.due(since))),
        alert: current
            .and_then(crate::domain::Step::alerted)
            .map(crate::domain::policy::sla::AlertKind::as_str),
        next_alert_at: workflow.next_alert_at().map(to_ms),
        quorum: current.map_or(1, |step| step.quorum),
        approvals: current.map_or(0, |step| step.approvals.len() as u32),
    }
}

pub fn insert_workflow(
    conn: &Connection,
    workflow: &Workflow,
    agent: &Agent,
    closed_at: DateTime<Utc>,
) -> Result<()> {
    let current = workflow.current_step();
    let columns = step_columns(workflow);
    conn.prepare_cached(
        "INSERT INTO workflows (workflow_id, deployment_id, agent_id, agent_name, team, triggered_by_policy, requested_by,
           urgency, status, current_step, \"current_role\", step_count, waiting_since, created_at, version, steps, deciders,
           policy_set_version, due_at, alert, next_alert_at, current_quorum, current_approvals)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
    )?
    .execute(params![
        workflow.workflow_id,
        workflow.deployment_id,
        workflow.agent_id,
        agent.name,
        agent.team,
        workflow.triggered_by_policy,
        workflow.requested_by,
        urgency(agent.risk_tier),
        workflow.status.as_str(),
        current.map(|step| step.step_id),
        current.map(|step| step.role.as_str()),
        workflow.steps.len() as i64,
        to_ms(sort_time(workflow, closed_at)),
        to_ms(workflow.created_at),
        workflow.version,
        to_json(&workflow.steps)?,
        deciders_column(workflow, reviewer_of(conn, workflow)?.as_deref()),
        workflow.policy_set_version,
        columns.due_at,
        columns.alert,
        columns.next_alert_at,
        columns.quorum,
        columns.approvals,
    ])?;
    count_workflow(conn, workflow, &agent.team, sort_time(workflow, closed_at))
}

/// Who decided a step (or approved one of a quorum, or was decided for),
/// and the author of its ethics review marked `r:` (from assignment they
/// count as the ethics step's decider), as the queue filters on it:
/// `|a@x|b@y|r:c@z|`, lowercased.
pub fn deciders_column(workflow: &Workflow, reviewer: Option<&str>) -> String {
    let mut deciders = workflow.people();
    if let Some(reviewer) = reviewer {
        deciders.push(format!("{REVIEWER_MARK}{}", reviewer.to_lowercase()));
    }
    if deciders.is_empty() {
        String::new()
    } else {
        format!("|{}|", deciders.join("|"))
    }
}

/// The author of a workflow's ethics review, if one is assigned (only a
/// workflow with an ethics step has one).
fn reviewer_of(conn: &Connection, workflow: &Workflow) -> Result<Option<String>> {
    if workflow.ethics_step().is_none() {
        return Ok(None);
    }
    Ok(conn
        .prepare_cached("SELECT reviewer FROM reviews WHERE workflow_id = ?1")?
        .query_row([&workflow.workflow_id], |row| row.get(0))
        .optional()?)
}

/// Writes a workflow's deciders column again once its review is assigned,
/// reassigned or copied in (nothing when the workflow is not here yet:
/// inserting it reads the review).
pub fn mark_reviewer(conn: &Connection, workflow_id: &str) -> Result<()> {
    let workflow = match reads::workflow(conn, workflow_id) {
        Ok(workflow) => workflow,
        Err(BackendError::NotFound { .. }) => return Ok(()),
        Err(err) => return Err(err),
    };
    let reviewer = reviewer_of(conn, &workflow)?;
    conn.prepare_cached("UPDATE workflows SET deciders = ?2 WHERE workflow_id = ?1")?
        .execute(params![
            workflow_id,
            deciders_column(&workflow, reviewer.as_deref())
        ])?;
    Ok(())
}

/// Writes a workflow's changing columns (status, step, version, steps) over
/// its row; the agent's columns are kept from when it was opened.
pub fn update_workflow(conn: &Connection, workflow: &Workflow, now: DateTime<Utc>) -> Result<()> {
    // The figures the row counted for go, and what it counts for now comes.
    let Some(team) = uncount_stored_workflow(conn, &workflow.workflow_id)? else {
        return Ok(());
    };
    let current = workflow.current_step();
    let columns = step_columns(workflow);
    conn.prepare_cached(
        "UPDATE workflows SET status = ?2, current_step = ?3, \"current_role\" = ?4, waiting_since = ?5, version = ?6, steps = ?7,
           deciders = ?8, due_at = ?9, alert = ?10, next_alert_at = ?11, current_quorum = ?12, current_approvals = ?13
         WHERE workflow_id = ?1",
    )?
    .execute(params![
        workflow.workflow_id,
        workflow.status.as_str(),
        current.map(|step| step.step_id),
        current.map(|step| step.role.as_str()),
        to_ms(sort_time(workflow, now)),
        workflow.version,
        to_json(&workflow.steps)?,
        deciders_column(workflow, reviewer_of(conn, workflow)?.as_deref()),
        columns.due_at,
        columns.alert,
        columns.next_alert_at,
        columns.quorum,
        columns.approvals,
    ])?;
    count_workflow(conn, workflow, &team, sort_time(workflow, now))
}

/// What identifies a decision for its idempotency key: who decided what on
/// which version. Not when: a client sending the same decision again may
/// stamp it afresh.
fn request_hash(actor: &str, decision: &Decision) -> Result<String> {
    let decision = Decision {
        decision_at: None,
        ..decision.clone()
    };
    let canonical = to_json(&(actor.to_lowercase(), &decision))?;
    Ok(crate::domain::digest::sha256_hex(&canonical))
}

/// Decides a workflow's current step for `user`.
pub fn decide(
    conn: &Connection,
    user: &User,
    decision: &Decision,
    now: DateTime<Utc>,
) -> Result<Workflow> {
    if decision.idempotency_key.trim().is_empty() || decision.idempotency_key.len() > 200 {
        return Err(BackendError::Invalid(
            "an idempotency key of 1 to 200 characters is required".into(),
        ));
    }
    let hash = request_hash(&user.email, decision)?;
    let earlier: Option<(String, String)> = conn
        .prepare_cached("SELECT request_hash, response FROM idempotency WHERE key = ?1")?
        .query_row([&decision.idempotency_key], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    if let Some((earlier_hash, response)) = earlier {
        if earlier_hash != hash {
            return Err(BackendError::IdempotencyMismatch(
                decision.idempotency_key.clone(),
            ));
        }
        return rows::from_json("idempotent response", &response);
    }

    check_person(user, "deciding a step")?;
    let workflow = reads::workflow(conn, &decision.workflow_id)?;
    let review = reads::review_for_workflow(conn, &workflow.workflow_id)?;
    // Whom the decision is for: a person, who must hold the step's role,
    // and whose delegation to the decider must cover the time it was made.
    let delegator = match decision.on_behalf_of.as_deref() {
        Some(email) => Some(match reads::user(conn, email)? {
            Some(user) => user,
            // An offline cache knows its own person only: it checks the
            // delegation it keeps, and the server checks the delegator's
            // roles when the decision arrives.
            None if super::super::notifications::is_mirror(conn)? => User {
                email: email.to_owned(),
                name: email.to_owned(),
                roles: workflow
                    .current_step()
                    .map(|step| vec![step.role])
                    .unwrap_or_default(),
                teams: Vec::new(),
                identity: None,
                service: false,
                last_sign_in: None,
            },
            None => return Err(BackendError::not_found("user", email.to_owned())),
        }),
        None => None,
    };
    if let Some(delegator) = &delegator {
        check_person(delegator, "nobody decides for a service account")?;
    }
    let decider = Decider {
        email: &user.email,
        roles: &user.roles,
        on_behalf_of: delegator.as_ref().map(|delegator| Principal {
            email: &delegator.email,
            roles: &delegator.roles,
        }),
    };
    let mut request = DecisionRequest {
        step_id: decision.step_id,
        verdict: decision.verdict,
        comment: decision.comment.as_deref(),
        expected_version: decision.expected_version,
        review: review.as_ref().map(|review| ReviewFacts {
            reviewer: &review.reviewer,
            submitted: review.status == ReviewStatus::Submitted,
        }),
        decided_at: now,
        received_at: now,
    };
    // The rules first: a stale decision is stale, whatever time it claims.
    workflow.check_decision(&decider, &request)?;
    request.decided_at = decision_time(decision.decision_at, workflow.waiting_since(), now)
        .map_err(|err| BackendError::Invalid(err.to_string()))?;
    if let Some(delegator) = &delegator {
        let role = workflow
            .steps
            .iter()
            .find(|step| step.step_id == decision.step_id)
            .map(|step| step.role)
            .ok_or(DecisionError::UnknownStep {
                step_id: decision.step_id,
            })?;
        // The delegation must have covered the decision when it was made,
        // and must still run when it reaches the record: a claimed time
        // never brings back a delegation that has ended.
        let (delegate, delegator) = (user.email.clone(), delegator.email.clone());
        if covering(conn, &delegator, &delegate, role, request.decided_at)?.is_none() {
            return Err(DecisionError::NotDelegated {
                delegate,
                delegator,
                role,
            }
            .into());
        }
        if covering(conn, &delegator, &delegate, role, now)?.is_none() {
            return Err(DecisionError::DelegationEnded {
                delegate,
                delegator,
                role,
            }
            .into());
        }
    }
    let next = workflow.decide(&decider, &request)?;
    update_workflow(conn, &next, now)?;

    let mut trail = TrailWriter::resume(conn)?;
    let step = next
        .steps
        .iter()
        .find(|step| step.step_id == decision.step_id)
        .ok_or_else(|| BackendError::Storage("decided step vanished".into()))?;
    let step_done = step.status != crate::domain::StepStatus::Pending;
    trail.append(
        conn,
        &entry(
            now,
            &user.email,
            "workflow",
            &next.workflow_id,
            match decision.verdict {
                crate::domain::Verdict::Approve => "step_approved",
                crate::domain::Verdict::Reject => "step_rejected",
            },
            (Some(workflow.version), Some(next.version)),
            decision_details(step, &next, decision),
        ),
    )?;
    let notify = |kind, decided| {
        super::super::notifications::workflow_event(conn, kind, &next, &user.email, decided, now)
    };
    if step_done {
        notify(crate::backend::EventKind::StepDecided, Some(step))?;
    }
    match next.status {
        WorkflowStatus::Approved => notify(crate::backend::EventKind::WorkflowApproved, None)?,
        WorkflowStatus::Rejected => notify(crate::backend::EventKind::WorkflowRejected, None)?,
        _ => {}
    }
    if next.status != WorkflowStatus::InProgress {
        settle_deployment(conn, &mut trail, &next, &user.email, now)?;
    }
    conn.prepare_cached(
        "INSERT INTO idempotency (key, actor, request_hash, response, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![decision.idempotency_key, user.email, hash, to_json(&next)?, to_ms(now)])?;
    // An approval may meet an obligation.
    super::coverage::refresh_coverage(conn, &next.agent_id, now)?;
    Ok(next)
}

/// What the trail keeps of a decision: the step, how it stands after it
/// (a quorum step may still wait), whom it was made for, and when the
/// person made it if that was not when it arrived.
fn decision_details(
    step: &crate::domain::Step,
    next: &Workflow,
    decision: &Decision,
) -> serde_json::Value {
    let mine = step
        .approvals
        .last()
        .filter(|_| step.status == crate::domain::StepStatus::Pending);
    let (comment, decided, received) = match mine {
        Some(approval) => (
            &approval.comment,
            Some(approval.decision_at),
            approval.received_at,
        ),
        None => (&step.comment, step.decision_at, step.received_at),
    };
    let mut details = serde_json::json!({
        "step_id": step.step_id,
        "role": step.role,
        "comment": comment,
        "workflow_status": next.status,
        "idempotency_key": decision.idempotency_key,
        "decision_at": received.and(decided),
    });
    if step.quorum > 1 {
        details["step_status"] = serde_json::json!(step.status);
        details["approvals"] = serde_json::json!(step.approvals.len());
        details["quorum"] = serde_json::json!(step.quorum);
    }
    if let Some(delegator) = &decision.on_behalf_of {
        details["on_behalf_of"] = serde_json::json!(delegator.to_lowercase());
    }
    details
}

pub(crate) fn set_deployment_status(
    conn: &Connection,
    trail: &mut TrailWriter,
    deployment_id: &str,
    (from, to): (DeploymentStatus, DeploymentStatus),
    stamp: Stamp<'_>,
    why: &str,
) -> Result<()> {
    let (actor, now) = (stamp.actor, stamp.at);
    update_deployment_status(conn, deployment_id, to)?;
    trail.append(
        conn,
        &entry(
            now,
            actor,
            "deployment",
            deployment_id,
            "status_changed",
            (None, None),
            serde_json::json!({ "from": from, "to": to, "why": why }),
        ),
    )?;
    Ok(())
}

pub(crate) fn withdraw_workflow(
    conn: &Connection,
    trail: &mut TrailWriter,
    workflow: &Workflow,
    actor: &str,
    now: DateTime<Utc>,
    why: &str,
) -> Result<()> {
    let Some(withdrawn) = workflow.withdraw() else {
        return Ok(());
    };
    update_workflow(conn, &withdrawn, now)?;
    trail.append(
        conn,
        &entry(
            now,
            actor,
            "workflow",
            &withdrawn.workflow_id,
            "workflow_withdrawn",
            (Some(workflow.version), Some(withdrawn.version)),
            serde_json::json!({ "why": why }),
        ),
    )?;
    super::super::notifications::workflow_event(
        conn,
        crate::backend::EventKind::WorkflowWithdrawn,
        &withdrawn,
        actor,
        None,
        now,
    )?;
    Ok(())
}

/// A workflow closed: the deployment is rejected if any workflow was, and
/// approved once all were.
fn settle_deployment(
    conn: &Connection,
    trail: &mut TrailWriter,
    closed: &Workflow,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let deployment = reads::deployment(conn, &closed.deployment_id)?;
    if deployment.status != DeploymentStatus::PendingApproval {
        return Ok(());
    }
    let siblings = reads::workflows_of_deployment(conn, &closed.deployment_id)?;
    if closed.status == WorkflowStatus::Rejected {
        let why = format!("workflow {} was rejected", closed.workflow_id);
        for sibling in siblings
            .iter()
            .filter(|w| w.status == WorkflowStatus::InProgress)
        {
            withdraw_workflow(conn, trail, sibling, actor, now, &why)?;
        }
        set_deployment_status(
            conn,
            trail,
            &deployment.deployment_id,
            (deployment.status, DeploymentStatus::Rejected),
            Stamp { actor, at: now },
            &why,
        )?;
    } else if siblings
        .iter()
        .all(|w| w.status == WorkflowStatus::Approved)
    {
        set_deployment_status(
            conn,
            trail,
            &deployment.deployment_id,
            (deployment.status, DeploymentStatus::Approved),
            Stamp { actor, at: now },
            "every approval workflow approved",
        )?;
        // An approved request replaces the open requests filed before it
        // and becomes the agent's record, unless a later one already has.
        if let Some(agent) = &deployment.agent {
            supersede_earlier(
                conn,
                trail,
                agent,
                &deployment.deployment_id,
                Superseding::Approval {
                    requested_at: deployment.requested_at,
                },
                Stamp { actor, at: now },
            )?;
            if !reads::newer_live_request(conn, &deployment)? {
                upsert_agent(conn, agent, now)?;
            }
        }
    }
    Ok(())
}

/// Withdraws the deployment request a workflow belongs to, with every one
/// of its open workflows: by its requester, or by a compliance officer
/// with a reason.
pub fn withdraw_request(
    conn: &Connection,
    actor: &User,
    workflow_id: &str,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Workflow> {
    let workflow = reads::workflow(conn, workflow_id)?;
    let deployment = reads::deployment(conn, &workflow.deployment_id)?;
    let reason = reason.map(str::trim).filter(|text| !text.is_empty());
    if reason.is_some_and(|text| text.len() > MAX_COMMENT_BYTES) {
        return Err(BackendError::Invalid(format!(
            "the reason is longer than {MAX_COMMENT_BYTES} bytes"
        )));
    }
    let has_reason = reason.is_some_and(crate::text::has_visible_text);
    if !actor.is(&deployment.requested_by) {
        if !actor.holds(Role::ComplianceOfficer) {
            return Err(BackendError::Forbidden(format!(
                "only the requester ({}) or a compliance officer may withdraw {}",
                deployment.requested_by, deployment.deployment_id
            )));
        }
        if !has_reason {
            return Err(BackendError::Invalid(
                "a compliance officer withdrawing someone's request must give a reason (--reason)"
                    .into(),
            ));
        }
    }
    if !matches!(
        deployment.status,
        DeploymentStatus::PendingApproval | DeploymentStatus::Blocked
    ) {
        return Err(BackendError::Conflict(format!(
            "{} is already {}: only a pending or blocked request can be withdrawn",
            deployment.deployment_id, deployment.status
        )));
    }
    let why = match reason.filter(|_| has_reason) {
        Some(text) => format!("withdrawn by {}: {text}", actor.email),
        None => format!("withdrawn by {}", actor.email),
    };
    let mut trail = TrailWriter::resume(conn)?;
    for open in reads::workflows_of_deployment(conn, &deployment.deployment_id)? {
        withdraw_workflow(conn, &mut trail, &open, &actor.email, now, &why)?;
    }
    set_deployment_status(
        conn,
        &mut trail,
        &deployment.deployment_id,
        (deployment.status, DeploymentStatus::Withdrawn),
        Stamp {
            actor: &actor.email,
            at: now,
        },
        &why,
    )?;
    reads::workflow(conn, workflow_id)
}

/// Which of an agent's open requests a request supersedes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Superseding<'a> {
    /// Filed by `requester`: their own open requests and anyone's blocked
    /// ones; someone else's pending request is theirs to withdraw.
    Filing { requester: &'a str },
    /// Approved (people signed it off): every open request filed before it.
    Approval { requested_at: DateTime<Utc> },
}

impl Superseding<'_> {
    fn takes(&self, requested_by: &str, status: &str, requested_at: i64) -> bool {
        match self {
            Superseding::Filing { requester } => {
                status == "blocked" || requested_by.eq_ignore_ascii_case(requester)
            }
            Superseding::Approval {
                requested_at: approved,
            } => requested_at <= to_ms(*approved),
        }
    }
}

/// Withdraws the agent's open requests (pending or blocked) other than
/// `by` that `superseding` takes.
pub(crate) fn supersede_earlier(
    conn: &Connection,
    trail: &mut TrailWriter,
    agent: &Agent,
    by: &str,
    superseding: Superseding<'_>,
    stamp: Stamp<'_>,
) -> Result<()> {
    let open: Vec<(String, String, String, i64)> = conn
        .prepare_cached(
            "SELECT deployment_id, status, requested_by, requested_at FROM deployments
             WHERE agent_id = ?1 AND status IN ('pending_approval', 'blocked') AND deployment_id <> ?2",
        )?
        .query_map(params![agent.agent_id, by], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;
    let open = open
        .into_iter()
        .filter(|(_, status, requested_by, requested_at)| {
            superseding.takes(requested_by, status, *requested_at)
        });
    for (earlier, status, _, _) in open {
        let why = format!("superseded by {by} (version {})", agent.version);
        for workflow in reads::workflows_of_deployment(conn, &earlier)? {
            withdraw_workflow(conn, trail, &workflow, stamp.actor, stamp.at, &why)?;
        }
        let status: DeploymentStatus = rows::parse("deployment status", &status)?;
        set_deployment_status(
            conn,
            trail,
            &earlier,
            (status, DeploymentStatus::Withdrawn),
            stamp,
            &why,
        )?;
    }
    Ok(())
}
