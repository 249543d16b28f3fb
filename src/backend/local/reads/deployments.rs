//! Deployment requests.

use crate::db::Param;
use crate::db::{Connection, OptionalExtension};

use super::super::rows::{from_json, from_ms, parse, to_ms};
use crate::backend::types::{DeploymentPage, DeploymentQuery};
use crate::backend::{BackendError, Result};

use crate::domain::policy::evaluation::TriggeredPolicy;
use crate::domain::{Agent, DeploymentRequest};

/// The JSON body of a deployment row: the parts with no column of their own.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct DeploymentBody {
    pub triggered_policies: Vec<TriggeredPolicy>,
    pub blocking_reasons: Vec<String>,
    pub remediation: Vec<String>,
    pub workflow_ids: Vec<String>,
    /// The agent as requested (as the policies saw it), and its tools: a
    /// request is compared with it later, and a re-filing applies it on
    /// approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Agent>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_tools: Vec<String>,
    /// Set when the request lowers risk-relevant fields: it supersedes the
    /// agent's earlier requests only once approved.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub supersedes_on_approval: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_set_version: Option<i64>,
}

/// Whether a request for the same agent filed after `request` is allowed
/// or approved: approving an older request then does not roll the
/// agent's record back.
pub fn newer_live_request(conn: &Connection, request: &DeploymentRequest) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM deployments WHERE agent_id = ?1 AND status IN ('allowed', 'approved')
               AND requested_at > ?2 LIMIT 1",
        )?
        .query_row(
            crate::db::params![request.agent_id, to_ms(request.requested_at)],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

pub const DEPLOYMENT_COLUMNS: &str = "deployment_id, agent_id, agent_name, team, agent_version, requested_by, \
    requested_at, status, running_version, body";

pub type RawDeployment = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    String,
);

pub fn raw_deployment(row: &crate::db::Row<'_>) -> crate::db::Result<RawDeployment> {
    row.try_into()
}

pub fn parse_deployment(raw: RawDeployment) -> Result<DeploymentRequest> {
    let (
        deployment_id,
        agent_id,
        agent_name,
        team,
        agent_version,
        requested_by,
        requested_at,
        status,
        running_version,
        body,
    ) = raw;
    let body: DeploymentBody = from_json("deployment", &body)?;
    Ok(DeploymentRequest {
        deployment_id,
        agent_id,
        agent_name,
        team,
        agent_version,
        requested_by,
        requested_at: from_ms(requested_at)?,
        status: parse("deployment status", &status)?,
        triggered_policies: body.triggered_policies,
        blocking_reasons: body.blocking_reasons,
        remediation: body.remediation,
        running_version,
        workflow_ids: body.workflow_ids,
        agent: body.agent,
        external_tools: body.external_tools,
        supersedes_on_approval: body.supersedes_on_approval,
        policy_set_version: body.policy_set_version,
    })
}

pub fn deployment(conn: &Connection, deployment_id: &str) -> Result<DeploymentRequest> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {DEPLOYMENT_COLUMNS} FROM deployments WHERE deployment_id = ?1"
        ))?
        .query_row([deployment_id], raw_deployment)
        .optional()?
        .ok_or_else(|| BackendError::not_found("deployment", deployment_id))?;
    parse_deployment(raw)
}

/// Deployment cursor: `requested_at_ms.deployment_id` of the last row shown.
pub fn decode_deployment_cursor(text: &str) -> Result<(i64, String)> {
    let bad = || BackendError::Invalid(format!("malformed deployment cursor {text:?}"));
    let (ms, id) = text.split_once('.').ok_or_else(bad)?;
    Ok((ms.parse().map_err(|_| bad())?, id.to_owned()))
}

/// Newest first.
pub fn deployments(conn: &Connection, query: &DeploymentQuery) -> Result<DeploymentPage> {
    let limit = query.limit.clamp(1, 500);
    let mut conditions = Vec::new();
    let mut values: Vec<Param> = Vec::new();
    if let Some(status) = query.status {
        conditions.push("status = ?");
        values.push(Param::Text(status.as_str().into()));
    }
    if let Some(cursor) = &query.cursor {
        let (ms, id) = decode_deployment_cursor(cursor)?;
        conditions.push("(requested_at, deployment_id) < (?, ?)");
        values.push(Param::Integer(ms));
        values.push(Param::Text(id));
    }
    values.push(Param::Integer(i64::from(limit) + 1));
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT {DEPLOYMENT_COLUMNS} FROM deployments {where_clause} ORDER BY requested_at DESC, deployment_id DESC LIMIT ?"
    );
    let raws = conn
        .prepare_cached(&sql)?
        .query_map(values, raw_deployment)?
        .collect::<crate::db::Result<Vec<_>>>()?;
    let mut items = raws
        .into_iter()
        .map(parse_deployment)
        .collect::<Result<Vec<_>>>()?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = more
        .then(|| {
            items
                .last()
                .map(|last| format!("{}.{}", to_ms(last.requested_at), last.deployment_id))
        })
        .flatten();
    Ok(DeploymentPage { items, next })
}

/// A deployment with its workflows and what it changes against the version
/// running before it.
pub fn deployment_view(
    conn: &Connection,
    deployment_id: &str,
) -> Result<crate::backend::DeploymentView> {
    let deployment = deployment(conn, deployment_id)?;
    let workflows = super::workflows_of_deployment(conn, deployment_id)?;
    let running_id: Option<String> = conn
        .prepare_cached(
            "SELECT deployment_id FROM deployments
             WHERE agent_id = ?1 AND status IN ('allowed', 'approved') AND deployment_id <> ?2 AND requested_at <= ?3
             ORDER BY requested_at DESC, deployment_id DESC LIMIT 1",
        )?
        .query_row(
            crate::db::params![
                deployment.agent_id,
                deployment.deployment_id,
                super::super::rows::to_ms(deployment.requested_at)
            ],
            |row| row.get(0),
        )
        .optional()?;
    let running = running_id
        .map(|id| self::deployment(conn, &id))
        .transpose()?;
    let changes = match (&running, &deployment.agent) {
        (Some(running), Some(requested)) => match &running.agent {
            Some(before) => crate::domain::manifest::manifest_changes(
                (before, &running.external_tools),
                (requested, &deployment.external_tools),
            ),
            None => Vec::new(),
        },
        _ => Vec::new(),
    };
    Ok(crate::backend::DeploymentView {
        deployment,
        workflows,
        running,
        changes,
    })
}
