//! Deployment requests: who may make them, what they supersede, the
//! workflows they open.

use super::blocked::count_new_deployment;
use super::checks::check_permission;
use super::figures::count_new_request;
use super::stamps::Stamp;
use super::stamps::entry;
use super::stamps::format_id;
use super::stamps::next_id;
use super::workflows::upsert_agent;
use super::workflows::{Superseding, insert_workflow, supersede_earlier};
use crate::db::{Connection, OptionalExtension, params};

use super::super::reads::{self, DeploymentBody};
use super::super::rows::{to_json, to_ms};
use super::super::trail::TrailWriter;
use chrono::{DateTime, Utc};

use crate::backend::{BackendError, Result};
use crate::domain::TrailEntry;

use crate::backend::types::User;
use crate::domain::manifest::Manifest;
use crate::domain::policy::evaluation::DeploymentStatus;
use crate::domain::{Agent, DeploymentRequest, Role, Workflow};

/// Who may request deployments of an agent: its owner, or a member of its
/// team holding a role. For an agent Gavel knows, the stored record says
/// whose it is, not the manifest.
pub fn check_may_request(actor: &User, agent: &Agent) -> Result<()> {
    let member_with_role = actor.in_team(&agent.team) && !actor.roles.is_empty();
    if actor.is(&agent.owner) || member_with_role {
        return Ok(());
    }
    Err(BackendError::Forbidden(format!(
        "only the owner of {} ({}) or a member of team {:?} holding a role may request its deployments",
        agent.agent_id, agent.owner, agent.team
    )))
}

/// Records a deployment request by `actor`: checks who may ask and opens
/// one workflow per policy that needs sign-off. Nothing about a known
/// agent changes before its request is allowed or approved: only then
/// does the request become the agent's record. Filing supersedes the
/// filer's own open requests and anyone's blocked ones, never someone
/// else's pending request (approval supersedes those filed before it); a
/// request that changes governed fields supersedes nothing until approved.
pub fn request_deployment(
    conn: &Connection,
    actor: &User,
    manifest: &Manifest,
    now: DateTime<Utc>,
) -> Result<DeploymentRequest> {
    if let Some(named) = &manifest.requested_by
        && !actor.is(named)
    {
        return Err(BackendError::Invalid(format!(
            "requested_by: {named:?} is not you ({}); the requester is whoever is authenticated, so leave requested_by out (it is deprecated)",
            actor.email
        )));
    }
    let known = reads::agent_row(conn, &manifest.agent.agent_id)?;
    check_may_request(actor, known.as_ref().unwrap_or(&manifest.agent))?;
    let (version, set) = reads::active_set(conn)?;
    check_permission(
        actor,
        &set.permissions().request_deployments,
        "requesting a deployment",
    )?;
    let evaluation = reads::evaluate_under(conn, manifest, version, &set, now, None)?;
    let agent = &evaluation.agent;
    let running_version: Option<String> = conn
        .prepare_cached(
            "SELECT agent_version FROM deployments WHERE agent_id = ?1 AND status IN ('allowed', 'approved')
             ORDER BY requested_at DESC LIMIT 1",
        )?
        .query_row([&agent.agent_id], |row| row.get(0))
        .optional()?;
    let mut trail = TrailWriter::resume(conn)?;
    let deployment_id = next_id(conn, "deployments", "dep")?;
    let lowers = !evaluation.lowered.is_empty();
    if !lowers {
        supersede_earlier(
            conn,
            &mut trail,
            agent,
            &deployment_id,
            Superseding::Filing {
                requester: &actor.email,
            },
            Stamp {
                actor: &actor.email,
                at: now,
            },
        )?;
    }

    let mut workflow_ids = Vec::new();
    let mut workflows = Vec::new();
    for planned in &evaluation.workflows {
        let workflow_id = next_workflow_id(conn, workflows.len())?;
        let mut workflow = Workflow::open(
            workflow_id.clone(),
            deployment_id.clone(),
            agent.agent_id.clone(),
            planned.policy_id.clone(),
            actor.email.clone(),
            &planned.chain,
            now,
        )
        .with_rules(&set.step_rules(&planned.policy_id));
        workflow.policy_set_version = evaluation.policy_set_version;
        workflow_ids.push(workflow_id);
        workflows.push(workflow);
    }
    let request = DeploymentRequest {
        deployment_id: deployment_id.clone(),
        agent_id: agent.agent_id.clone(),
        agent_name: agent.name.clone(),
        team: agent.team.clone(),
        agent_version: agent.version.clone(),
        requested_by: actor.email.clone(),
        requested_at: now,
        status: evaluation.status,
        triggered_policies: evaluation.triggered_policies.clone(),
        blocking_reasons: evaluation.blocking_reasons.clone(),
        remediation: evaluation.remediation.clone(),
        running_version,
        workflow_ids,
        agent: Some(agent.clone()),
        external_tools: manifest.external_tools.clone(),
        supersedes_on_approval: lowers,
        policy_set_version: evaluation.policy_set_version,
        artifacts: manifest.artifacts.clone(),
        manifest_digest: Some(manifest.canonical_digest()),
    };
    // A new agent is recorded at once; a known one keeps its record until
    // a request for it is allowed or approved.
    if known.is_none() || evaluation.status == DeploymentStatus::Allowed {
        upsert_agent(conn, agent, now)?;
    }
    insert_deployment(conn, &request)?;
    // Allowed at once: the record stands from now (written above, before
    // the request it stands on was).
    if request.status == DeploymentStatus::Allowed {
        super::workflows::refresh_standing_since(conn, Some(&agent.agent_id))?;
    }
    trail.append(
        conn,
        &entry(
            now,
            &actor.email,
            "deployment",
            &deployment_id,
            "deployment_requested",
            (None, None),
            excepted(
                requested_details(&request, &evaluation.lowered, &evaluation.warnings),
                &evaluation.exceptions,
            ),
        ),
    )?;
    for workflow in &workflows {
        insert_workflow(conn, workflow, agent, now)?;
        trail.append(conn, &opened_entry(workflow, &actor.email))?;
        super::super::notifications::workflow_event(
            conn,
            crate::backend::EventKind::WorkflowOpened,
            workflow,
            &actor.email,
            None,
            now,
        )?;
    }
    Ok(request)
}

/// What the trail pins of a request: who filed which agent (its JSON's
/// hash), the outcome, the policies that fired and under which set
/// version; replay compares each with the stored request.
pub fn requested_details(
    request: &DeploymentRequest,
    lowered: &[String],
    warnings: &[String],
) -> serde_json::Value {
    serde_json::json!({
        "agent_id": request.agent_id,
        "agent_version": request.agent_version,
        "requested_by": request.requested_by,
        "outcome": request.status,
        "triggered_policies": request.triggered_policies.iter().map(|p| &p.policy_id).collect::<Vec<_>>(),
        "policy_set_version": request.policy_set_version,
        "manifest_sha256": request.manifest_sha256(),
        "lowered": lowered,
        "warnings": warnings,
    })
}

/// The trail's record of a request names the exceptions that set a policy
/// aside for it, so an allowed request shows on whose word.
fn excepted(
    mut details: serde_json::Value,
    exceptions: &[crate::domain::policy::exceptions::AppliedException],
) -> serde_json::Value {
    if !exceptions.is_empty() {
        details["excepted_by"] = serde_json::json!(
            exceptions
                .iter()
                .map(|exception| serde_json::json!({
                    "exception_id": exception.exception_id,
                    "policy_id": exception.policy_id,
                    "until": exception.until,
                }))
                .collect::<Vec<_>>()
        );
    }
    details
}

/// Ids for several workflows inserted in one transaction.
fn next_workflow_id(conn: &Connection, already_planned: usize) -> Result<String> {
    let next = super::next_number(conn, "workflows")?;
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
        agent: request.agent.clone(),
        external_tools: request.external_tools.clone(),
        supersedes_on_approval: request.supersedes_on_approval,
        policy_set_version: request.policy_set_version,
        artifacts: request.artifacts.clone(),
        manifest_digest: request.manifest_digest.clone(),
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
        "INSERT INTO deployment_policies (deployment_id, policy_id, blocking) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
    )?;
    for policy in &request.triggered_policies {
        link.execute(params![
            request.deployment_id,
            policy.policy_id,
            policy.blocking
        ])?;
    }
    count_new_request(conn, &request.team, request.requested_at, request.status)?;
    count_new_deployment(conn, &request.deployment_id, request.status)
}
