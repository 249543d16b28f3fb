//! Agents: their rows, one agent, and search by name, id or team.

use crate::db::{Connection, OptionalExtension, params};

use super::super::rows::{self, parse};
use crate::backend::types::AgentSummary;
use crate::backend::{BackendError, Result};

use crate::domain::Agent;

/// `LIKE` pattern for "contains `text`", with wildcards in `text` escaped.
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub const AGENT_COLUMNS: &str = "agent_id, name, team, owner, category, data_classification, \
    has_external_tools, tools_approved, risk_tier, version, labels";

/// That an `agents` row's version was allowed or approved (what
/// `standing_since` keeps).
pub const LIVE_RECORD: &str = "EXISTS (SELECT 1 FROM deployments d
    WHERE d.agent_id = agents.agent_id AND d.agent_version = agents.version
      AND d.status IN ('allowed', 'approved'))";

pub type RawAgent = (
    String,
    String,
    String,
    String,
    String,
    String,
    bool,
    bool,
    String,
    String,
    String,
);

pub fn raw_agent(row: &crate::db::Row<'_>) -> crate::db::Result<RawAgent> {
    row.try_into()
}

pub fn parse_agent(raw: RawAgent) -> Result<Agent> {
    let (
        agent_id,
        name,
        team,
        owner,
        category,
        classification,
        has_external_tools,
        tools_approved,
        risk_tier,
        version,
        labels,
    ) = raw;
    Ok(Agent {
        agent_id,
        name,
        team,
        owner,
        category: parse("category", &category)?,
        data_classification: parse("data classification", &classification)?,
        has_external_tools,
        tools_approved,
        risk_tier: parse("risk tier", &risk_tier)?,
        version,
        labels: rows::labels_from_text(&labels)?,
    })
}

pub fn agent(conn: &Connection, agent_id: &str) -> Result<Agent> {
    agent_row(conn, agent_id)?.ok_or_else(|| BackendError::not_found("agent", agent_id))
}

/// The agent's record and since when it stands (when it was allowed, or
/// its last approval), if its version was allowed or approved (a new
/// agent's first request makes a record before anyone signs it off).
pub fn record_since(
    conn: &Connection,
    agent_id: &str,
) -> Result<Option<(Agent, chrono::DateTime<chrono::Utc>)>> {
    // One read of the record and its time (a check's hot path).
    let found = conn
        .prepare_cached(&format!(
            "SELECT {AGENT_COLUMNS}, standing_since FROM agents
             WHERE agent_id = ?1 AND standing_since IS NOT NULL"
        ))?
        .query_row([agent_id], |row| Ok((raw_agent(row)?, row.get::<i64>(11)?)))
        .optional()?;
    let Some((raw, since)) = found else {
        return Ok(None);
    };
    Ok(Some((parse_agent(raw)?, rows::from_ms(since)?)))
}

/// The agent as last recorded, if Gavel knows it.
pub fn agent_row(conn: &Connection, agent_id: &str) -> Result<Option<Agent>> {
    conn.prepare_cached(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents WHERE agent_id = ?1"
    ))?
    .query_row([agent_id], raw_agent)
    .optional()?
    .map(parse_agent)
    .transpose()
}

pub fn search_agents(conn: &Connection, text: &str, limit: u32) -> Result<Vec<AgentSummary>> {
    let pattern = contains_pattern(text.trim());
    let like = conn.dialect().like();
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents
         WHERE name {like} ?1 ESCAPE '\\' OR agent_id {like} ?1 ESCAPE '\\' OR team {like} ?1 ESCAPE '\\'
         ORDER BY name COLLATE nocase, agent_id LIMIT ?2"
    ))?;
    let raws = statement
        .query_map(params![pattern, limit.clamp(1, 1000)], raw_agent)?
        .collect::<crate::db::Result<Vec<_>>>()?;
    raws.into_iter()
        .map(|raw| {
            let agent = parse_agent(raw)?;
            Ok(AgentSummary {
                agent_id: agent.agent_id,
                name: agent.name,
                team: agent.team,
                category: agent.category,
                risk_tier: agent.risk_tier,
                version: agent.version,
            })
        })
        .collect()
}

/// Every agent as last recorded, by id.
pub(super) fn all_agents(conn: &Connection) -> Result<Vec<Agent>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents ORDER BY agent_id"
    ))?;
    let agents = statement
        .query_map(crate::db::params![], raw_agent)?
        .map(|raw| parse_agent(raw?))
        .collect::<Result<Vec<_>>>()?;
    Ok(agents)
}

/// When a deployment check last found the version in use, as written.
pub fn last_checked(
    conn: &Connection,
    agent_id: &str,
    agent_version: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    conn.prepare_cached(
        "SELECT last_checked_at FROM version_checks WHERE agent_id = ?1 AND agent_version = ?2",
    )?
    .query_row(crate::db::params![agent_id, agent_version], |row| {
        row.get::<i64>(0)
    })
    .optional()?
    .map(rows::from_ms)
    .transpose()
}
