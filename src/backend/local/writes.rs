//! State changes. Each runs inside one transaction given by the caller and
//! appends its trail events in that same transaction.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::reads::{self, DeploymentBody};
use super::rows::{self, to_json, to_ms};
use super::trail::TrailWriter;
use crate::backend::queue::urgency;
use crate::backend::types::{Decision, User};
use crate::backend::{BackendError, Result};
use crate::domain::bias::{self, AuditSubmission, DEFAULT_THRESHOLD};
use crate::domain::deployment::{DeploymentStatus, Manifest};
use crate::domain::review::{self, ValidationMode};
use crate::domain::workflow::{Decider, DecisionRequest};
use crate::domain::{
    Agent, Answers, BiasAudit, DeploymentRequest, EthicsReview, ReviewStatus, Role, TrailEntry,
    Workflow, WorkflowStatus,
};

pub fn check_email(email: &str) -> Result<()> {
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(())
    } else {
        Err(BackendError::Invalid(format!(
            "{email:?} is not an email address"
        )))
    }
}

/// A new random API token.
pub fn new_token() -> String {
    format!("gvl_{}", uuid::Uuid::new_v4().simple())
}

pub fn answers_hash(answers: &Answers) -> Result<String> {
    Ok(token_hash(&to_json(answers)?))
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The next id of a table, as `prefix-0000001`. Ids follow insertion order.
pub fn next_id(conn: &Connection, table: &str, prefix: &str) -> Result<String> {
    let next: i64 = conn
        .prepare_cached(&format!("SELECT COALESCE(MAX(rowid), 0) + 1 FROM {table}"))?
        .query_row([], |row| row.get(0))?;
    Ok(format_id(prefix, next))
}

pub fn format_id(prefix: &str, n: i64) -> String {
    format!("{prefix}-{n:07}")
}

pub fn entry(
    at: DateTime<Utc>,
    actor: &str,
    entity_type: &str,
    entity_id: &str,
    action: &str,
    versions: (Option<i64>, Option<i64>),
    details: serde_json::Value,
) -> TrailEntry {
    TrailEntry {
        at,
        actor: actor.to_owned(),
        entity_type: entity_type.to_owned(),
        entity_id: entity_id.to_owned(),
        action: action.to_owned(),
        before_version: versions.0,
        after_version: versions.1,
        details: details.to_string(),
    }
}

pub fn upsert_agent(conn: &Connection, agent: &Agent, at: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO agents (agent_id, name, team, owner, category, data_classification, has_external_tools, tools_approved, risk_tier, version, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(agent_id) DO UPDATE SET name = excluded.name, team = excluded.team, owner = excluded.owner,
           category = excluded.category, data_classification = excluded.data_classification,
           has_external_tools = excluded.has_external_tools, tools_approved = excluded.tools_approved,
           risk_tier = excluded.risk_tier, version = excluded.version, updated_at = excluded.updated_at",
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

pub fn insert_workflow(
    conn: &Connection,
    workflow: &Workflow,
    agent: &Agent,
    closed_at: DateTime<Utc>,
) -> Result<()> {
    let current = workflow.current_step();
    conn.prepare_cached(
        "INSERT INTO workflows (workflow_id, deployment_id, agent_id, agent_name, team, triggered_by_policy, requested_by,
           urgency, status, current_step, current_role, step_count, waiting_since, created_at, version, steps)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
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
    ])?;
    Ok(())
}

/// Writes a workflow's changing columns (status, step, version, steps) over
/// its row; the agent's columns are kept from when it was opened.
pub fn update_workflow(conn: &Connection, workflow: &Workflow, now: DateTime<Utc>) -> Result<()> {
    let current = workflow.current_step();
    conn.prepare_cached(
        "UPDATE workflows SET status = ?2, current_step = ?3, current_role = ?4, waiting_since = ?5, version = ?6, steps = ?7
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
    ])?;
    Ok(())
}

fn request_hash(actor: &str, decision: &Decision) -> Result<String> {
    let canonical = to_json(&(actor.to_lowercase(), decision))?;
    Ok(token_hash(&canonical))
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

    let workflow = reads::workflow(conn, &decision.workflow_id)?;
    let review_submitted = reads::review_for_workflow(conn, &workflow.workflow_id)?
        .is_some_and(|review| review.status == ReviewStatus::Submitted);
    let decider = Decider {
        email: &user.email,
        roles: &user.roles,
    };
    let request = DecisionRequest {
        step_id: decision.step_id,
        verdict: decision.verdict,
        comment: decision.comment.as_deref(),
        expected_version: decision.expected_version,
        ethics_review_submitted: review_submitted,
        at: now,
    };
    let next = workflow.decide(&decider, &request)?;
    update_workflow(conn, &next, now)?;

    let mut trail = TrailWriter::resume(conn)?;
    let step = next
        .steps
        .iter()
        .find(|step| step.step_id == decision.step_id)
        .ok_or_else(|| BackendError::Storage("decided step vanished".into()))?;
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
            serde_json::json!({
                "step_id": step.step_id,
                "role": step.role,
                "comment": step.comment,
                "workflow_status": next.status,
                "idempotency_key": decision.idempotency_key,
            }),
        ),
    )?;
    if next.status != WorkflowStatus::InProgress {
        settle_deployment(conn, &mut trail, &next, &user.email, now)?;
    }
    conn.prepare_cached(
        "INSERT INTO idempotency (key, actor, request_hash, response, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![decision.idempotency_key, user.email, hash, to_json(&next)?, to_ms(now)])?;
    Ok(next)
}

/// Who made a change, and when.
#[derive(Clone, Copy)]
struct Stamp<'a> {
    actor: &'a str,
    at: DateTime<Utc>,
}

fn set_deployment_status(
    conn: &Connection,
    trail: &mut TrailWriter,
    deployment_id: &str,
    (from, to): (DeploymentStatus, DeploymentStatus),
    stamp: Stamp<'_>,
    why: &str,
) -> Result<()> {
    let (actor, now) = (stamp.actor, stamp.at);
    conn.prepare_cached("UPDATE deployments SET status = ?2 WHERE deployment_id = ?1")?
        .execute(params![deployment_id, to.as_str()])?;
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

fn withdraw_workflow(
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
    }
    Ok(())
}

/// Records a deployment request: supersedes the agent's earlier open
/// requests, and opens one workflow per policy that needs sign-off.
pub fn request_deployment(
    conn: &Connection,
    actor: &str,
    manifest: &Manifest,
    now: DateTime<Utc>,
) -> Result<DeploymentRequest> {
    let agent = &manifest.agent;
    let evaluation = reads::evaluate(conn, manifest)?;
    let running_version: Option<String> = conn
        .prepare_cached(
            "SELECT agent_version FROM deployments WHERE agent_id = ?1 AND status IN ('allowed', 'approved')
             ORDER BY requested_at DESC LIMIT 1",
        )?
        .query_row([&agent.agent_id], |row| row.get(0))
        .optional()?;
    let mut trail = TrailWriter::resume(conn)?;

    let open: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT deployment_id, status FROM deployments WHERE agent_id = ?1 AND status IN ('pending_approval', 'blocked')",
        )?
        .query_map([&agent.agent_id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let deployment_id = next_id(conn, "deployments", "dep")?;
    for (earlier, status) in open {
        let why = format!("superseded by {deployment_id} (version {})", agent.version);
        for workflow in reads::workflows_of_deployment(conn, &earlier)? {
            withdraw_workflow(conn, &mut trail, &workflow, actor, now, &why)?;
        }
        let status: DeploymentStatus = rows::parse("deployment status", &status)?;
        set_deployment_status(
            conn,
            &mut trail,
            &earlier,
            (status, DeploymentStatus::Withdrawn),
            Stamp { actor, at: now },
            &why,
        )?;
    }
    upsert_agent(conn, agent, now)?;

    let mut workflow_ids = Vec::new();
    let mut workflows = Vec::new();
    for planned in &evaluation.workflows {
        let workflow_id = next_workflow_id(conn, workflows.len())?;
        let workflow = Workflow::open(
            workflow_id.clone(),
            deployment_id.clone(),
            agent.agent_id.clone(),
            planned.policy_id.clone(),
            manifest.requested_by.clone(),
            &planned.chain,
            now,
        );
        workflow_ids.push(workflow_id);
        workflows.push(workflow);
    }
    let request = DeploymentRequest {
        deployment_id: deployment_id.clone(),
        agent_id: agent.agent_id.clone(),
        agent_name: agent.name.clone(),
        team: agent.team.clone(),
        agent_version: agent.version.clone(),
        requested_by: manifest.requested_by.clone(),
        requested_at: now,
        status: evaluation.status,
        triggered_policies: evaluation.triggered_policies.clone(),
        blocking_reasons: evaluation.blocking_reasons.clone(),
        remediation: evaluation.remediation.clone(),
        running_version,
        workflow_ids,
    };
    insert_deployment(conn, &request)?;
    trail.append(
        conn,
        &entry(
            now,
            actor,
            "deployment",
            &deployment_id,
            "deployment_requested",
            (None, None),
            serde_json::json!({
                "agent_id": agent.agent_id,
                "agent_version": agent.version,
                "requested_by": manifest.requested_by,
                "outcome": evaluation.status,
                "triggered_policies": evaluation.triggered_policies.iter().map(|p| &p.policy_id).collect::<Vec<_>>(),
            }),
        ),
    )?;
    for workflow in &workflows {
        insert_workflow(conn, workflow, agent, now)?;
        trail.append(conn, &opened_entry(workflow, actor))?;
    }
    Ok(request)
}

/// Ids for several workflows inserted in one transaction.
fn next_workflow_id(conn: &Connection, already_planned: usize) -> Result<String> {
    let next: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(rowid), 0) + 1 FROM workflows")?
        .query_row([], |row| row.get(0))?;
    Ok(format_id("wf", next + already_planned as i64))
}

pub fn opened_entry(workflow: &Workflow, actor: &str) -> TrailEntry {
    entry(
        workflow.created_at,
        actor,
        "workflow",
        &workflow.workflow_id,
        "workflow_opened",
        (None, Some(workflow.version)),
        serde_json::json!({
            "deployment_id": workflow.deployment_id,
            "policy_id": workflow.triggered_by_policy,
            "chain": workflow.steps.iter().map(|step| step.role).collect::<Vec<Role>>(),
        }),
    )
}

pub fn insert_deployment(conn: &Connection, request: &DeploymentRequest) -> Result<()> {
    let body = DeploymentBody {
        triggered_policies: request.triggered_policies.clone(),
        blocking_reasons: request.blocking_reasons.clone(),
        remediation: request.remediation.clone(),
        workflow_ids: request.workflow_ids.clone(),
    };
    conn.prepare_cached(
        "INSERT INTO deployments (deployment_id, agent_id, agent_name, team, agent_version, requested_by, requested_at, outcome, status, running_version, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        request.deployment_id,
        request.agent_id,
        request.agent_name,
        request.team,
        request.agent_version,
        request.requested_by,
        to_ms(request.requested_at),
        request.status.as_str(),
        request.status.as_str(),
        request.running_version,
        to_json(&body)?,
    ])?;
    let mut link = conn.prepare_cached(
        "INSERT OR IGNORE INTO deployment_policies (deployment_id, policy_id, blocking) VALUES (?1, ?2, ?3)",
    )?;
    for policy in &request.triggered_policies {
        link.execute(params![
            request.deployment_id,
            policy.policy_id,
            policy.blocking
        ])?;
    }
    Ok(())
}

/// Records a bias audit computed from its groups' counts.
pub fn record_audit(
    conn: &Connection,
    actor: &str,
    submission: &AuditSubmission,
    now: DateTime<Utc>,
) -> Result<BiasAudit> {
    if submission.agent_version.trim().is_empty() || submission.agent_version.len() > 256 {
        return Err(BackendError::Invalid(
            "agent_version must be 1 to 256 bytes".into(),
        ));
    }
    reads::agent(conn, &submission.agent_id)?;
    let stats = bias::compute(
        &submission.groups,
        submission.threshold.unwrap_or(DEFAULT_THRESHOLD),
    )
    .map_err(|err| BackendError::Invalid(err.to_string()))?;
    let audit = BiasAudit {
        audit_id: next_id(conn, "audits", "aud")?,
        agent_id: submission.agent_id.clone(),
        agent_version: submission.agent_version.clone(),
        tested_at: submission.tested_at.unwrap_or(now),
        stats,
    };
    insert_audit(conn, &audit)?;
    super::trail::append(conn, &audit_entry(&audit, actor, now))?;
    Ok(audit)
}

pub fn audit_entry(audit: &BiasAudit, actor: &str, at: DateTime<Utc>) -> TrailEntry {
    entry(
        at,
        actor,
        "audit",
        &audit.audit_id,
        "audit_recorded",
        (None, None),
        serde_json::json!({
            "agent_id": audit.agent_id,
            "agent_version": audit.agent_version,
            "disparate_impact_ratio": audit.stats.disparate_impact_ratio,
            "passes_threshold": audit.stats.passes_threshold,
        }),
    )
}

pub fn insert_audit(conn: &Connection, audit: &BiasAudit) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audits (audit_id, agent_id, agent_version, tested_at, passes, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        audit.audit_id,
        audit.agent_id,
        audit.agent_version,
        to_ms(audit.tested_at),
        audit.stats.passes_threshold,
        to_json(audit)?,
    ])?;
    Ok(())
}

/// Assigns the ethics review of a workflow to a reviewer.
pub fn assign_review(
    conn: &Connection,
    actor: &User,
    workflow_id: &str,
    reviewer: &str,
    now: DateTime<Utc>,
) -> Result<EthicsReview> {
    let workflow = reads::workflow(conn, workflow_id)?;
    if !workflow
        .steps
        .iter()
        .any(|step| step.role == Role::EthicsReviewer)
    {
        return Err(BackendError::Invalid(format!(
            "workflow {workflow_id} has no ethics review step"
        )));
    }
    if let Some(existing) = reads::review_for_workflow(conn, workflow_id)? {
        if existing.reviewer.eq_ignore_ascii_case(reviewer) {
            return Ok(existing);
        }
        return Err(BackendError::Conflict(format!(
            "the review of {workflow_id} is already assigned to {}",
            existing.reviewer
        )));
    }
    if workflow.status != WorkflowStatus::InProgress {
        return Err(BackendError::Conflict(format!(
            "workflow {workflow_id} is already {}",
            workflow.status
        )));
    }
    let is_self = actor.email.eq_ignore_ascii_case(reviewer);
    if !is_self && !actor.roles.contains(&Role::ComplianceOfficer) {
        return Err(BackendError::Forbidden(
            "only a compliance officer may assign a review to someone else".into(),
        ));
    }
    let holder =
        reads::user(conn, reviewer)?.ok_or_else(|| BackendError::not_found("user", reviewer))?;
    if !holder.roles.contains(&Role::EthicsReviewer) {
        return Err(BackendError::Forbidden(format!(
            "{reviewer} does not hold the ethics_reviewer role"
        )));
    }
    if holder.email.eq_ignore_ascii_case(&workflow.requested_by) {
        return Err(BackendError::Forbidden(format!(
            "separation of duties: {reviewer} requested this deployment and may not review it"
        )));
    }
    let review = EthicsReview {
        review_id: next_id(conn, "reviews", "rev")?,
        workflow_id: workflow_id.to_owned(),
        agent_id: workflow.agent_id.clone(),
        reviewer: holder.email.clone(),
        template_id: reads::default_template_id(conn)?,
        status: ReviewStatus::Assigned,
        answers: Answers::new(),
        form_state: None,
        assigned_at: now,
        updated_at: now,
        submitted_at: None,
        version: 1,
    };
    insert_review(conn, &review)?;
    super::trail::append(
        conn,
        &entry(
            now,
            &actor.email,
            "review",
            &review.review_id,
            "review_assigned",
            (None, Some(1)),
            serde_json::json!({ "workflow_id": workflow_id, "reviewer": review.reviewer }),
        ),
    )?;
    Ok(review)
}

pub fn insert_review(conn: &Connection, review: &EthicsReview) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO reviews (review_id, workflow_id, agent_id, reviewer, template_id, status, answers, form_state, assigned_at, updated_at, submitted_at, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        review.review_id,
        review.workflow_id,
        review.agent_id,
        review.reviewer,
        review.template_id,
        review.status.as_str(),
        to_json(&review.answers)?,
        review.form_state.as_ref().map(to_json).transpose()?,
        to_ms(review.assigned_at),
        to_ms(review.updated_at),
        review.submitted_at.map(to_ms),
        review.version,
    ])?;
    Ok(())
}

/// Saves a draft, or submits (validating everything; immutable afterwards).
pub fn save_review(
    conn: &Connection,
    actor: &User,
    review_id: &str,
    answers: &Answers,
    form_state: Option<&serde_json::Value>,
    submit: bool,
    now: DateTime<Utc>,
) -> Result<EthicsReview> {
    let review = reads::review(conn, review_id)?;
    if !review.reviewer.eq_ignore_ascii_case(&actor.email) {
        return Err(BackendError::Forbidden(format!(
            "review {review_id} is assigned to {}, not to you",
            review.reviewer
        )));
    }
    if review.status == ReviewStatus::Submitted {
        return Err(BackendError::Conflict(format!(
            "review {review_id} was submitted and can no longer change"
        )));
    }
    let template = reads::review_template(conn, &review.template_id)?;
    let mode = if submit {
        ValidationMode::Submit
    } else {
        ValidationMode::Draft
    };
    let issues = review::validate(&template, answers, mode);
    if !issues.is_empty() {
        return Err(BackendError::InvalidReview(issues));
    }
    let form_state_text = form_state.map(to_json).transpose()?;
    if form_state_text
        .as_ref()
        .is_some_and(|text| text.len() > 16 * 1024)
    {
        return Err(BackendError::Invalid(
            "form state is larger than 16 KB".into(),
        ));
    }
    let status = if submit {
        ReviewStatus::Submitted
    } else {
        ReviewStatus::Draft
    };
    let next = EthicsReview {
        status,
        answers: answers.clone(),
        form_state: if submit { None } else { form_state.cloned() },
        updated_at: now,
        submitted_at: submit.then_some(now),
        version: review.version + 1,
        ..review.clone()
    };
    conn.prepare_cached(
        "UPDATE reviews SET status = ?2, answers = ?3, form_state = ?4, updated_at = ?5, submitted_at = ?6, version = ?7
         WHERE review_id = ?1",
    )?
    .execute(params![
        review_id,
        status.as_str(),
        to_json(&next.answers)?,
        if submit { None } else { form_state_text },
        to_ms(now),
        next.submitted_at.map(to_ms),
        next.version,
    ])?;
    // Autosaves would flood the trail; it records the first draft and the
    // submission, which are the changes a compliance file cares about.
    let action = match (submit, review.status) {
        (true, _) => Some("review_submitted"),
        (false, ReviewStatus::Assigned) => Some("review_started"),
        (false, _) => None,
    };
    if let Some(action) = action {
        let details = if submit {
            // The answers live in the review row; the trail pins them by hash,
            // so any later edit of a submitted review is detectable.
            serde_json::json!({ "answers_sha256": answers_hash(&next.answers)? })
        } else {
            serde_json::json!({})
        };
        super::trail::append(
            conn,
            &entry(
                now,
                &actor.email,
                "review",
                review_id,
                action,
                (Some(review.version), Some(next.version)),
                details,
            ),
        )?;
    }
    Ok(next)
}
