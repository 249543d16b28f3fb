//! Bias audits: an agent's, the latest of each version.

use crate::db::{Connection, OptionalExtension};
use crate::domain::policy::plan::AgentAudits;

use super::super::rows::from_json;
use crate::backend::Result;

use crate::domain::{Agent, BiasAudit};

pub fn parse_audit(body: &str) -> Result<BiasAudit> {
    from_json("bias audit", body)
}

pub fn audits(conn: &Connection, agent_id: &str) -> Result<Vec<BiasAudit>> {
    let mut statement = conn.prepare_cached(
        "SELECT body FROM audits WHERE agent_id = ?1 ORDER BY tested_at DESC, audit_id DESC LIMIT 1000",
    )?;
    let bodies = statement
        .query_map([agent_id], |row| row.get::<String>(0))?
        .collect::<crate::db::Result<Vec<_>>>()?;
    bodies.iter().map(|body| parse_audit(body)).collect()
}

/// The audits of one agent version, newest first (what an obligation's
/// bias-audit evidence reads: only the version's own count).
pub fn audits_of_version(
    conn: &Connection,
    agent_id: &str,
    version: &str,
    independent_only: bool,
) -> Result<Vec<BiasAudit>> {
    // Most audits are not independent: when only those that are count,
    // the others are never parsed.
    let independence = conn.dialect().json_field("body", "independence");
    let mut statement = conn.prepare_cached(&format!(
        "SELECT body FROM audits WHERE agent_id = ?1 AND agent_version = ?2
           AND (?3 = 0 OR {independence} IS NOT NULL)
         ORDER BY tested_at DESC, audit_id DESC LIMIT 1000"
    ))?;
    let bodies = statement
        .query_map(
            crate::db::params![agent_id, version, i64::from(independent_only)],
            |row| row.get::<String>(0),
        )?
        .collect::<crate::db::Result<Vec<_>>>()?;
    bodies.iter().map(|body| parse_audit(body)).collect()
}

/// The newest audit of an agent, any version.
pub fn latest_audit_of_agent(conn: &Connection, agent_id: &str) -> Result<Option<BiasAudit>> {
    conn.prepare_cached(
        "SELECT body FROM audits WHERE agent_id = ?1 ORDER BY tested_at DESC, audit_id DESC LIMIT 1",
    )?
    .query_row([agent_id], |row| row.get::<String>(0))
    .optional()?
    .map(|body| parse_audit(&body))
    .transpose()
}

/// The newest audits of an agent's current version and of any version.
pub fn agent_audits(conn: &Connection, agent: &Agent) -> Result<AgentAudits> {
    Ok(AgentAudits {
        of_version: latest_audit_for_version(conn, &agent.agent_id, &agent.version)?,
        of_agent: latest_audit_of_agent(conn, &agent.agent_id)?,
    })
}

pub fn latest_audit_for_version(
    conn: &Connection,
    agent_id: &str,
    version: &str,
) -> Result<Option<BiasAudit>> {
    conn.prepare_cached(
        "SELECT body FROM audits WHERE agent_id = ?1 AND agent_version = ?2 ORDER BY tested_at DESC LIMIT 1",
    )?
    .query_row([agent_id, version], |row| row.get::<String>(0))
    .optional()?
    .map(|body| parse_audit(&body))
    .transpose()
}
