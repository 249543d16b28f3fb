//! Read queries. Every list reads only the rows it returns, through an index.
//! One file per entity; shared row helpers and small lookups live here.

use crate::domain::vocabulary::Vocabulary;
use chrono::{DateTime, Datelike, Duration, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::rows::{
    self, QUEUE_COLUMNS, WORKFLOW_COLUMNS, corrupt, from_json, from_ms, parse, raw_queue_row,
    raw_workflow_row, to_ms,
};
use crate::backend::queue::{
    Direction, NotActionable, QueueFilter, QueuePage, QueueQuery, QueueScope, QueueSort,
    merge_pages, urgency,
};
use crate::backend::types::{
    AgentSummary, Dashboard, DeploymentPage, DeploymentQuery, NamedCount, ReviewSummary, User,
    WeekCount,
};
use crate::backend::{BackendError, Result};
use std::collections::BTreeSet;

use crate::backend::types::ToolRecord;
use crate::domain::deployment::{Facts, TriggeredPolicy, evaluate as evaluate_policies};
use crate::domain::{
    Agent, BiasAudit, DeploymentRequest, EthicsReview, Evaluation, Manifest, Policy, ReviewStatus,
    ReviewTemplate, Role, Workflow,
};

mod dashboard;
mod deployments;
mod queue;
mod reviews;
pub mod snapshot;

pub use dashboard::*;
pub use deployments::*;
pub use queue::*;
pub use reviews::*;

const USER_COLUMNS: &str = "email, name, roles, teams";

fn parse_user(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, String)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn user_from(raw: (String, String, String, String)) -> Result<User> {
    let (email, name, roles, teams) = raw;
    Ok(User {
        email,
        name,
        roles: rows::roles_from_text(&roles)?,
        teams: rows::teams_from_text(&teams)?,
    })
}

/// A user who may act (removed users are no one).
pub fn user(conn: &Connection, email: &str) -> Result<Option<User>> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE email = ?1 AND removed_at IS NULL"
    ))?
    .query_row([email], parse_user)
    .optional()?
    .map(user_from)
    .transpose()
}

/// Whether the email belonged to a user who was removed.
pub fn user_removed(conn: &Connection, email: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM users WHERE email = ?1 AND removed_at IS NOT NULL")?
        .query_row([email], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Every user who may act, by email; with `role`, only those holding it.
pub fn users(conn: &Connection, role: Option<Role>) -> Result<Vec<User>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE removed_at IS NULL ORDER BY email"
    ))?;
    let raws = statement
        .query_map([], parse_user)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let users = raws
        .into_iter()
        .map(user_from)
        .collect::<Result<Vec<_>>>()?;
    Ok(users
        .into_iter()
        .filter(|user| role.is_none_or(|role| user.holds(role)))
        .collect())
}

/// External tools with a decision on record, by name.
pub fn tools(conn: &Connection) -> Result<Vec<ToolRecord>> {
    let mut statement = conn.prepare_cached(
        "SELECT name, status, decided_by, decided_at, comment FROM tools ORDER BY name COLLATE NOCASE",
    )?;
    let raws: Vec<(String, String, String, i64, String)> = statement
        .query_map([], |row| row.try_into())?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raws.into_iter()
        .map(|(name, status, decided_by, decided_at, comment)| {
            Ok(ToolRecord {
                name,
                status: parse("tool status", &status)?,
                decided_by,
                decided_at: from_ms(decided_at)?,
                comment,
            })
        })
        .collect()
}

/// Names (lowercased) of the tools approved now.
pub fn approved_tools(conn: &Connection) -> Result<BTreeSet<String>> {
    let mut statement =
        conn.prepare_cached("SELECT lower(name) FROM tools WHERE status = 'approved'")?;
    let names = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<BTreeSet<_>>>()?;
    Ok(names)
}

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

pub fn workflow(conn: &Connection, workflow_id: &str) -> Result<Workflow> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE workflow_id = ?1"
        ))?
        .query_row([workflow_id], raw_workflow_row)
        .optional()?
        .ok_or_else(|| BackendError::not_found("workflow", workflow_id))?;
    rows::parse_workflow(raw)
}

pub fn workflows_of_deployment(conn: &Connection, deployment_id: &str) -> Result<Vec<Workflow>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE deployment_id = ?1 ORDER BY workflow_id"
    ))?;
    let raws = statement
        .query_map([deployment_id], raw_workflow_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raws.into_iter().map(rows::parse_workflow).collect()
}

pub const AGENT_COLUMNS: &str = "agent_id, name, team, owner, category, data_classification, \
    has_external_tools, tools_approved, risk_tier, version";

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
);

pub fn raw_agent(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawAgent> {
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
    })
}

pub fn agent(conn: &Connection, agent_id: &str) -> Result<Agent> {
    agent_row(conn, agent_id)?.ok_or_else(|| BackendError::not_found("agent", agent_id))
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
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents
         WHERE name LIKE ?1 ESCAPE '\\' OR agent_id LIKE ?1 ESCAPE '\\' OR team LIKE ?1 ESCAPE '\\'
         ORDER BY name COLLATE NOCASE, agent_id LIMIT ?2"
    ))?;
    let raws = statement
        .query_map(params![pattern, limit.clamp(1, 1000)], raw_agent)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
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

pub fn parse_audit(body: &str) -> Result<BiasAudit> {
    from_json("bias audit", body)
}

pub fn audits(conn: &Connection, agent_id: &str) -> Result<Vec<BiasAudit>> {
    let mut statement = conn.prepare_cached(
        "SELECT body FROM audits WHERE agent_id = ?1 ORDER BY tested_at DESC, audit_id DESC LIMIT 1000",
    )?;
    let bodies = statement
        .query_map([agent_id], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    bodies.iter().map(|body| parse_audit(body)).collect()
}

pub fn latest_audit_for_version(
    conn: &Connection,
    agent_id: &str,
    version: &str,
) -> Result<Option<BiasAudit>> {
    conn.prepare_cached(
        "SELECT body FROM audits WHERE agent_id = ?1 AND agent_version = ?2 ORDER BY tested_at DESC LIMIT 1",
    )?
    .query_row([agent_id, version], |row| row.get::<_, String>(0))
    .optional()?
    .map(|body| parse_audit(&body))
    .transpose()
}

pub fn policies(conn: &Connection) -> Result<Vec<Policy>> {
    let mut statement =
        conn.prepare_cached("SELECT body FROM policies ORDER BY position, policy_id")?;
    let bodies = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    bodies
        .iter()
        .map(|body| from_json("policy", body))
        .collect()
}

/// Streams every agent through every policy; agents are few next to
/// workflows (one per application, not per request).
pub fn policy_reach(conn: &Connection) -> Result<Vec<NamedCount>> {
    let policies = policies(conn)?;
    let mut counts = vec![0u64; policies.len()];
    let mut statement = conn.prepare(&format!("SELECT {AGENT_COLUMNS} FROM agents"))?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let agent = parse_agent(raw_agent(row)?)?;
        for (policy, count) in policies.iter().zip(&mut counts) {
            if policy.triggers_on(&agent) {
                *count += 1;
            }
        }
    }
    Ok(policies
        .into_iter()
        .zip(counts)
        .map(|(policy, count)| NamedCount {
            name: policy.policy_id,
            count,
        })
        .collect())
}

/// The agent as last approved (or allowed) and as in its pending
/// requests: what a new request is compared with.
pub fn reference_agents(conn: &Connection, agent_id: &str) -> Result<Vec<Agent>> {
    let mut statement = conn.prepare_cached(
        "SELECT status, body FROM deployments WHERE agent_id = ?1
           AND status IN ('allowed', 'approved', 'pending_approval')
         ORDER BY requested_at DESC, deployment_id DESC",
    )?;
    let rows = statement
        .query_map([agent_id], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut references = Vec::new();
    let mut live_seen = false;
    for (status, body) in rows {
        let live = status != "pending_approval";
        if live && live_seen {
            continue;
        }
        live_seen |= live;
        let body: DeploymentBody = from_json("deployment", &body)?;
        // Requests from before agents were kept with them compare with the
        // agent as last recorded.
        let agent = match body.agent {
            Some(agent) => agent,
            None => match agent_row(conn, agent_id)? {
                Some(agent) => agent,
                None => continue,
            },
        };
        references.push(agent);
    }
    Ok(references)
}

/// The active policy set's vocabulary.
pub fn vocabulary(_conn: &Connection) -> Result<Vocabulary> {
    Ok(Vocabulary::default())
}

/// What the policies say about a manifest whose names are in the vocabulary.
pub fn evaluate(conn: &Connection, manifest: &Manifest) -> Result<Evaluation> {
    let vocabulary = vocabulary(conn)?;
    vocabulary
        .check_category(manifest.agent.category)
        .and_then(|()| vocabulary.check_classification(manifest.agent.data_classification))
        .map_err(|err| BackendError::Invalid(format!("manifest: {err}")))?;
    let policies = policies(conn)?;
    let audit = latest_audit_for_version(conn, &manifest.agent.agent_id, &manifest.agent.version)?;
    let approved_tools = approved_tools(conn)?;
    let reference_agents = reference_agents(conn, &manifest.agent.agent_id)?;
    Ok(evaluate_policies(
        manifest,
        &policies,
        &Facts {
            latest_audit: audit.as_ref(),
            approved_tools: &approved_tools,
            reference_agents: &reference_agents,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn weeks_start_on_monday_midnight() {
        let thursday = Utc.with_ymd_and_hms(2026, 11, 26, 15, 30, 0).unwrap();
        assert_eq!(
            week_start(thursday),
            Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap()
        );
        let monday = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
        assert_eq!(week_start(monday), monday);
    }

    #[test]
    fn deployment_cursors_reject_garbage() {
        assert!(decode_deployment_cursor("nonsense").is_err());
        assert!(decode_deployment_cursor("x.dep-1").is_err());
        assert_eq!(
            decode_deployment_cursor("12.dep-1").unwrap(),
            (12, "dep-1".into())
        );
    }
}
