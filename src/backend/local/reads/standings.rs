//! Every agent's standing with the bias audits its policies require.

use super::agents::all_agents;
use super::policies::policy_set;
use std::collections::HashMap;

use crate::db::Connection;
use crate::domain::bias::standing::{
    AuditStanding, LatestAudits, requiring, sort as sort_standings, standing_under,
};
use crate::domain::bias::verdict::AuditFacts;
use chrono::{DateTime, Utc};

use super::super::rows::from_json;
use crate::backend::Result;

/// Every agent's standing with its required audits, most urgent first.
pub fn audit_standings(
    conn: &Connection,
    now: DateTime<Utc>,
    due_within: chrono::TimeDelta,
) -> Result<Vec<AuditStanding>> {
    let mut standings = standings(conn, now, due_within)?;
    sort_standings(&mut standings);
    Ok(standings)
}

/// Every agent's standing, in no order (what counts of them need).
pub fn standings(
    conn: &Connection,
    now: DateTime<Utc>,
    due_within: chrono::TimeDelta,
) -> Result<Vec<AuditStanding>> {
    let set = policy_set(conn)?;
    let fields = set.fields_read();
    // Agents alike in every field the set reads need the same audits.
    let mut requiring_by_key: HashMap<String, Vec<usize>> = HashMap::new();
    let latest = latest_audit_facts(conn)?;
    let parse = |found: Option<&(String, String)>| -> Result<Option<AuditFacts>> {
        found
            .map(|(_, text)| from_json("bias audit", text))
            .transpose()
    };
    let mut standings = Vec::new();
    for agent in all_agents(conn)? {
        let requiring = match crate::domain::policy::plan::key(&agent, &fields, &[], None) {
            Some(key) => requiring_by_key
                .entry(key)
                .or_insert_with(|| requiring(&set, &agent))
                .clone(),
            None => requiring(&set, &agent),
        };
        let versions = latest.get(&agent.agent_id).map_or(&[][..], Vec::as_slice);
        let audits = LatestAudits {
            of_version: parse(
                versions
                    .iter()
                    .find(|(version, _)| *version == agent.version),
            )?,
            of_agent: parse(versions.first())?,
        };
        standings.push(standing_under(
            &set, &agent, &requiring, &audits, now, due_within,
        ));
    }
    Ok(standings)
}

/// The facts of every agent's newest audit of each version, unparsed and
/// newest first per agent, in one scan of the small `latest_audits` table.
fn latest_audit_facts(conn: &Connection) -> Result<HashMap<String, Vec<(String, String)>>> {
    let mut statement = conn.prepare_cached(
        "SELECT agent_id, agent_version, facts FROM latest_audits ORDER BY agent_id, tested_at DESC, audit_id DESC",
    )?;
    let mut rows = statement.query(crate::db::params![])?;
    let mut by_agent: HashMap<String, Vec<(String, String)>> = HashMap::new();
    while let Some(row) = rows.next()? {
        by_agent
            .entry(row.get(0)?)
            .or_default()
            .push((row.get(1)?, row.get(2)?));
    }
    Ok(by_agent)
}
