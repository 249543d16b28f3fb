//! Deployment requests.

use crate::db::Param;
use crate::db::{Connection, OptionalExtension};

use super::super::rows::{from_json, from_ms, parse, to_ms};
use crate::backend::types::{DeploymentPage, DeploymentQuery, DeploymentSort};
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<crate::domain::manifest::Artifact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
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

/// The newest allowed or approved request of an agent's version: what
/// stands for it (its artifacts, its filed manifest's digest).
pub fn live_request(
    conn: &Connection,
    agent_id: &str,
    version: &str,
) -> Result<Option<DeploymentRequest>> {
    conn.prepare_cached(&format!(
        "SELECT {DEPLOYMENT_COLUMNS} FROM deployments
         WHERE agent_id = ?1 AND agent_version = ?2 AND status IN ('allowed', 'approved')
         ORDER BY requested_at DESC, deployment_id DESC LIMIT 1"
    ))?
    .query_row(crate::db::params![agent_id, version], raw_deployment)
    .optional()?
    .map(parse_deployment)
    .transpose()
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
        artifacts: body.artifacts,
        manifest_digest: body.manifest_digest,
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
    let blocked_only =
        query.status == Some(crate::domain::policy::evaluation::DeploymentStatus::Blocked);
    let narrows = query.team.is_some()
        || query.policy.is_some()
        || query.search.is_some()
        || matches!(query.sort, DeploymentSort::Team | DeploymentSort::Policy);
    // Leadership's drill-down works on the blocked set, which stays small;
    // over every deployment these would cost a scan per page.
    if narrows && !blocked_only {
        return Err(BackendError::Invalid(
            "filtering by team, policy or text, and sorting by team or policy, are offered for blocked deployments (status=blocked)".into(),
        ));
    }
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<Param> = Vec::new();
    if let Some(status) = query.status {
        conditions.push("status = ?".into());
        values.push(Param::Text(status.as_str().into()));
    }
    if let Some(agent_id) = &query.agent_id {
        conditions.push("agent_id = ?".into());
        values.push(Param::Text(agent_id.clone()));
    }
    if let Some(team) = &query.team {
        conditions.push("team = ?".into());
        values.push(Param::Text(team.clone()));
    }
    if let Some(policy) = &query.policy {
        conditions.push(
            "deployment_id IN (SELECT deployment_id FROM deployment_policies WHERE policy_id = ? AND blocking = 1)"
                .into(),
        );
        values.push(Param::Text(policy.clone()));
    }
    if let Some(search) = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if search.chars().count() > 200 {
            return Err(BackendError::Invalid(
                "a search is at most 200 characters".into(),
            ));
        }
        let like = conn.dialect().like();
        conditions.push(format!(
            "(agent_name {like} ? ESCAPE '\\' OR team {like} ? ESCAPE '\\' OR agent_id = ?)"
        ));
        let pattern = super::agents::contains_pattern(search);
        values.push(Param::Text(pattern.clone()));
        values.push(Param::Text(pattern));
        values.push(Param::Text(search.to_owned()));
    }
    let key = sort_key(query.sort);
    let descending = query.sort == DeploymentSort::Newest;
    if let Some(cursor) = &query.cursor {
        let cursor = DeploymentCursor::decode(cursor, key.is_some())?;
        let comparison = if descending { "<" } else { ">" };
        match (&key, cursor.key) {
            (Some(expression), Some(value)) => {
                conditions.push(format!(
                    "({expression}, requested_at, deployment_id) {comparison} (?, ?, ?)"
                ));
                values.push(Param::Text(value));
            }
            _ => conditions.push(format!("(requested_at, deployment_id) {comparison} (?, ?)")),
        }
        values.push(Param::Integer(cursor.requested_at_ms));
        values.push(Param::Text(cursor.deployment_id));
    }
    values.push(Param::Integer(i64::from(limit) + 1));
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let order = if descending { "DESC" } else { "ASC" };
    let key_column = key
        .as_ref()
        .map_or(String::new(), |key| format!(", {key} AS sort_key"));
    let key_order = key
        .as_ref()
        .map_or(String::new(), |_| "sort_key ASC, ".to_owned());
    let sql = format!(
        "SELECT {DEPLOYMENT_COLUMNS}{key_column} FROM deployments {where_clause} \
         ORDER BY {key_order}requested_at {order}, deployment_id {order} LIMIT ?"
    );
    let keyed = key.is_some();
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(values, |row| {
            let key = if keyed {
                Some(row.get::<String>(10)?)
            } else {
                None
            };
            Ok((key, raw_deployment(row)?))
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;
    let more = rows.len() > limit as usize;
    let mut items = Vec::with_capacity(rows.len());
    let mut last_key = None;
    for (sort_key, raw) in rows.into_iter().take(limit as usize) {
        last_key = sort_key;
        items.push(parse_deployment(raw)?);
    }
    let next = more
        .then(|| {
            items.last().map(|last| {
                DeploymentCursor {
                    key: last_key.clone(),
                    requested_at_ms: to_ms(last.requested_at),
                    deployment_id: last.deployment_id.clone(),
                }
                .encode()
            })
        })
        .flatten();
    Ok(DeploymentPage { items, next })
}

/// What a sort orders by before the request time, as SQL.
fn sort_key(sort: DeploymentSort) -> Option<String> {
    match sort {
        DeploymentSort::Newest | DeploymentSort::Oldest => None,
        DeploymentSort::Team => Some("team".into()),
        DeploymentSort::Policy => Some(
            "COALESCE((SELECT MIN(p.policy_id) FROM deployment_policies p \
             WHERE p.deployment_id = deployments.deployment_id AND p.blocking = 1), '')"
                .into(),
        ),
    }
}

/// Where a page of deployments ends: the sort key (team or policy, when
/// the order has one), the request time and the id of its last row.
struct DeploymentCursor {
    key: Option<String>,
    requested_at_ms: i64,
    deployment_id: String,
}

impl DeploymentCursor {
    /// `requested_at_ms.deployment_id`, after `base64(key)~` when keyed.
    fn encode(&self) -> String {
        use base64::Engine as _;
        let at = format!("{}.{}", self.requested_at_ms, self.deployment_id);
        match &self.key {
            Some(key) => format!(
                "{}~{at}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
            ),
            None => at,
        }
    }

    fn decode(text: &str, keyed: bool) -> Result<DeploymentCursor> {
        use base64::Engine as _;
        let bad = || BackendError::Invalid(format!("malformed deployment cursor {text:?}"));
        if text.len() > 1024 {
            return Err(bad());
        }
        let (key, at) = match (text.split_once('~'), keyed) {
            (Some((key, at)), true) => {
                let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(key)
                    .map_err(|_| bad())?;
                (Some(String::from_utf8(bytes).map_err(|_| bad())?), at)
            }
            (None, false) => (None, text),
            _ => return Err(bad()),
        };
        let (requested_at_ms, deployment_id) = decode_deployment_cursor(at)?;
        Ok(DeploymentCursor {
            key,
            requested_at_ms,
            deployment_id,
        })
    }
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
