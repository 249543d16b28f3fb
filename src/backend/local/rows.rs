//! Mapping between SQLite rows and domain types.

use crate::db::Row;
use chrono::{DateTime, Utc};

use crate::backend::queue::{CurrentStep, QueueItem};
use crate::backend::{BackendError, Result};
use crate::domain::{RiskTier, Role, Workflow, WorkflowStatus};

impl From<rusqlite::Error> for BackendError {
    fn from(err: rusqlite::Error) -> Self {
        match err.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                BackendError::Unavailable(format!("the store is busy: {err}"))
            }
            _ => BackendError::Storage(err.to_string()),
        }
    }
}

impl From<crate::db::Error> for BackendError {
    fn from(err: crate::db::Error) -> Self {
        if err.is_unavailable() {
            BackendError::Unavailable(format!("the store is busy or away: {err}"))
        } else {
            BackendError::Storage(err.to_string())
        }
    }
}

/// A stored value that does not parse: the file was damaged or edited.
pub fn corrupt(what: &str, detail: impl std::fmt::Display) -> BackendError {
    BackendError::Storage(format!("corrupt {what} in the store: {detail}"))
}

pub fn to_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// A time as the store keeps it (to the millisecond), so what a record
/// and its trail event say is what is read back.
pub fn as_kept(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(to_ms(at)).unwrap_or(at)
}

pub fn from_ms(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt("timestamp", ms))
}

pub fn parse<T: std::str::FromStr>(what: &str, text: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|err| corrupt(what, err))
}

pub fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|err| corrupt(what, err))
}

/// A parameter owned by the query that binds it.
pub type Bound = Box<dyn crate::db::ToSql>;

/// Binds `value` as the query's next parameter; answers its placeholder.
pub fn bind(values: &mut Vec<Bound>, value: impl crate::db::ToSql + 'static) -> String {
    values.push(Box::new(value));
    format!("?{}", values.len())
}

/// Binds each role's name; answers their placeholders, comma-separated.
pub fn bind_roles(values: &mut Vec<Bound>, roles: &[Role]) -> String {
    roles
        .iter()
        .map(|role| bind(values, role.as_str().to_owned()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Records kept whole as JSON in `table`'s `record` column, matching
/// `filter`, newest id first (ids as `prefix-0000001`), at most `limit`.
pub fn json_records<T: serde::de::DeserializeOwned>(
    conn: &crate::db::Connection,
    (table, id_column, what): (&str, &str, &str),
    filter: &str,
    values: &[Bound],
    limit: u32,
) -> Result<Vec<T>> {
    let refs: Vec<&dyn crate::db::ToSql> = values.iter().map(AsRef::as_ref).collect();
    let texts: Vec<String> = conn
        .prepare_cached(&format!(
            "SELECT record FROM {table} WHERE {filter}
             ORDER BY length({id_column}) DESC, {id_column} DESC LIMIT {limit}"
        ))?
        .query_map(&refs[..], |row| row.get(0))?
        .collect::<crate::db::Result<_>>()?;
    texts.iter().map(|text| from_json(what, text)).collect()
}

pub fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|err| BackendError::Storage(format!("cannot encode: {err}")))
}

pub fn roles_to_text(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|role| role.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn teams_to_text(teams: &[String]) -> Result<String> {
    to_json(&teams)
}

/// An agent's labels as stored: '' for none, else a JSON object.
pub fn labels_to_text(labels: &std::collections::BTreeMap<String, String>) -> Result<String> {
    if labels.is_empty() {
        Ok(String::new())
    } else {
        to_json(labels)
    }
}

pub fn labels_from_text(text: &str) -> Result<std::collections::BTreeMap<String, String>> {
    if text.is_empty() {
        Ok(Default::default())
    } else {
        from_json("agent labels", text)
    }
}

pub fn teams_from_text(text: &str) -> Result<Vec<String>> {
    from_json("teams", text)
}

pub fn roles_from_text(text: &str) -> Result<Vec<Role>> {
    text.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| parse("role", part))
        .collect()
}

/// Columns `QueueItem` is read from, in `queue_item` order.
pub const QUEUE_COLUMNS: &str = "workflow_id, agent_id, agent_name, team, triggered_by_policy, \
    deployment_id, requested_by, status, urgency, current_step, \"current_role\", step_count, \
    created_at, waiting_since, version, deciders, due_at, alert, current_quorum, current_approvals";

/// Raw text of a queue row; parsed outside rusqlite's closure so that
/// corrupt values become our errors.
pub struct RawQueueRow {
    workflow_id: String,
    agent_id: String,
    agent_name: String,
    team: String,
    triggered_by_policy: String,
    deployment_id: String,
    requested_by: String,
    status: String,
    urgency: i64,
    current_step: Option<i64>,
    current_role: Option<String>,
    step_count: i64,
    created_at: i64,
    waiting_since: i64,
    version: i64,
    /// Who decided a step (`|a@x|b@y|`), for the reader's marker.
    pub deciders: String,
    due_at: Option<i64>,
    alert: Option<String>,
    quorum: i64,
    approvals: i64,
}

pub fn raw_queue_row(row: &Row<'_>) -> crate::db::Result<RawQueueRow> {
    Ok(RawQueueRow {
        workflow_id: row.get(0)?,
        agent_id: row.get(1)?,
        agent_name: row.get(2)?,
        team: row.get(3)?,
        triggered_by_policy: row.get(4)?,
        deployment_id: row.get(5)?,
        requested_by: row.get(6)?,
        status: row.get(7)?,
        urgency: row.get(8)?,
        current_step: row.get(9)?,
        current_role: row.get(10)?,
        step_count: row.get(11)?,
        created_at: row.get(12)?,
        waiting_since: row.get(13)?,
        version: row.get(14)?,
        deciders: row.get(15)?,
        due_at: row.get(16)?,
        alert: row.get(17)?,
        quorum: row.get(18)?,
        approvals: row.get(19)?,
    })
}

impl RawQueueRow {
    pub fn parse(self) -> Result<QueueItem> {
        let risk_tier = RiskTier::from_rank(RiskTier::High.rank() - self.urgency)
            .ok_or_else(|| corrupt("urgency", self.urgency))?;
        let current_step = match (self.current_step, self.current_role) {
            (Some(step_id), Some(role)) => Some(CurrentStep {
                step_id: u32::try_from(step_id).map_err(|err| corrupt("step id", err))?,
                role: parse("role", &role)?,
                quorum: u32::try_from(self.quorum).map_err(|err| corrupt("quorum", err))?,
                approvals: u32::try_from(self.approvals)
                    .map_err(|err| corrupt("approvals", err))?,
            }),
            _ => None,
        };
        Ok(QueueItem {
            workflow_id: self.workflow_id,
            agent_id: self.agent_id,
            agent_name: self.agent_name,
            team: self.team,
            triggered_by_policy: self.triggered_by_policy,
            deployment_id: self.deployment_id,
            requested_by: self.requested_by,
            status: parse::<WorkflowStatus>("workflow status", &self.status)?,
            risk_tier,
            current_step,
            step_count: u32::try_from(self.step_count).map_err(|err| corrupt("step count", err))?,
            created_at: from_ms(self.created_at)?,
            waiting_since: from_ms(self.waiting_since)?,
            version: self.version,
            not_actionable: None,
            due_at: self.due_at.map(from_ms).transpose()?,
            alert: self.alert.map(|alert| parse("alert", &alert)).transpose()?,
        })
    }
}

/// Columns a `Workflow` is read from.
pub const WORKFLOW_COLUMNS: &str = "workflow_id, agent_id, deployment_id, triggered_by_policy, requested_by, steps, status, created_at, version, policy_set_version";

pub type RawWorkflowRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
);

pub fn raw_workflow_row(row: &Row<'_>) -> crate::db::Result<RawWorkflowRow> {
    row.try_into()
}

pub fn parse_workflow(raw: RawWorkflowRow) -> Result<Workflow> {
    let (
        workflow_id,
        agent_id,
        deployment_id,
        triggered_by_policy,
        requested_by,
        steps,
        status,
        created_at,
        version,
        policy_set_version,
    ) = raw;
    Ok(Workflow {
        steps: from_json("workflow steps", &steps)?,
        status: parse("workflow status", &status)?,
        created_at: from_ms(created_at)?,
        workflow_id,
        agent_id,
        deployment_id,
        triggered_by_policy,
        requested_by,
        version,
        policy_set_version,
    })
}
