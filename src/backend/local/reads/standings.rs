//! Every agent's standing with the bias audits its policies require.

use super::agents::all_agents;
use super::policies::policy_set;
use std::collections::HashMap;

use crate::db::Connection;
use crate::domain::Agent;
use crate::domain::bias::standing::{
    AuditStanding, LatestAudits, TimelessStanding, requiring, sort as sort_standings,
    standing_under, timeless,
};
use crate::domain::bias::verdict::AuditFacts;
use crate::domain::policy::set::PolicySet;
use chrono::{DateTime, Utc};

use super::super::rows::{from_json, from_ms, to_ms};
use crate::backend::Result;
use crate::db::params;

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
    let mut standings = Vec::new();
    each_agent(conn, |set, agent, requiring, audits| {
        standings.push(standing_under(
            set, &agent, requiring, &audits, now, due_within,
        ));
    })?;
    Ok(standings)
}

/// Every agent with its standing, the clock taken out (what the store
/// keeps in `agent_standings`).
pub fn timeless_standings(conn: &Connection) -> Result<Vec<(Agent, TimelessStanding)>> {
    let mut standings = Vec::new();
    each_agent(conn, |set, agent, requiring, audits| {
        let standing = timeless(set, requiring, &audits);
        standings.push((agent, standing));
    })?;
    Ok(standings)
}

/// Calls `judge` with every agent, the active policies requiring its audit
/// and its latest audits.
fn each_agent(
    conn: &Connection,
    mut judge: impl FnMut(&PolicySet, Agent, &[usize], LatestAudits),
) -> Result<()> {
    let set = policy_set(conn)?;
    let fields = set.fields_read();
    // Agents alike in every field the set reads need the same audits.
    let mut requiring_by_key: HashMap<String, Vec<usize>> = HashMap::new();
    let latest = latest_audit_facts(conn)?;
    for agent in all_agents(conn)? {
        let requiring = match crate::domain::policy::plan::key(&agent, &fields, &[], None) {
            Some(key) => requiring_by_key
                .entry(key)
                .or_insert_with(|| requiring(&set, &agent))
                .clone(),
            None => requiring(&set, &agent),
        };
        let versions = latest.get(&agent.agent_id).map_or(&[][..], Vec::as_slice);
        let audits = latest_of(versions, &agent)?;
        judge(&set, agent, &requiring, audits);
    }
    Ok(())
}

/// An agent's latest audits, from its versions' newest (newest first).
fn latest_of(versions: &[(String, String)], agent: &Agent) -> Result<LatestAudits> {
    let parse = |found: Option<&(String, String)>| -> Result<Option<AuditFacts>> {
        found
            .map(|(_, text)| from_json("bias audit", text))
            .transpose()
    };
    Ok(LatestAudits {
        of_version: parse(
            versions
                .iter()
                .find(|(version, _)| *version == agent.version),
        )?,
        of_agent: parse(versions.first())?,
    })
}

/// One agent's latest audits, as judging reads them.
pub fn latest_audits_of(conn: &Connection, agent: &Agent) -> Result<LatestAudits> {
    let versions: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT agent_version, facts FROM latest_audits WHERE agent_id = ?1 ORDER BY tested_at DESC, audit_id DESC",
        )?
        .query_map([&agent.agent_id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<crate::db::Result<_>>()?;
    latest_of(&versions, agent)
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

/// A standing's stored form: `failing_until` of "never expires" is the
/// largest millisecond.
pub(crate) fn stored_until(until: Option<DateTime<Utc>>) -> Option<i64> {
    until.map(|at| {
        if at == DateTime::<Utc>::MAX_UTC {
            i64::MAX
        } else {
            to_ms(at)
        }
    })
}

/// The kept standings that differ from judging every agent afresh: agent
/// ids with what is kept and what it should be (`gavel audit verify`).
pub fn standings_that_differ(conn: &Connection) -> Result<Vec<String>> {
    let mut kept = std::collections::HashMap::new();
    let mut statement = conn
        .prepare_cached("SELECT agent_id, base, expires_at, failing_until FROM agent_standings")?;
    let mut rows = statement.query(params![])?;
    while let Some(row) = rows.next()? {
        let base: String = row.get(1)?;
        let expires_at: Option<i64> = row.get(2)?;
        let until: Option<i64> = row.get(3)?;
        kept.insert(row.get::<String>(0)?, (base, expires_at, until));
    }
    let mut differ = Vec::new();
    for (agent, standing) in timeless_standings(conn)? {
        let fresh = (
            standing.base.as_str().to_owned(),
            standing.expires_at.map(to_ms),
            stored_until(standing.failing_until),
        );
        match kept.remove(&agent.agent_id) {
            Some(stored) if stored == fresh => {}
            Some(stored) => differ.push(format!(
                "agent {}: kept {} until {}, should be {} until {}",
                agent.agent_id,
                stored.0,
                stored.1.map_or("-".into(), |ms| from_ms(ms)
                    .map_or(ms.to_string(), |at| at.to_rfc3339())),
                fresh.0,
                fresh.1.map_or("-".into(), |ms| from_ms(ms)
                    .map_or(ms.to_string(), |at| at.to_rfc3339())),
            )),
            None => differ.push(format!("agent {}: no standing kept", agent.agent_id)),
        }
    }
    differ.extend(
        kept.into_keys()
            .map(|agent| format!("agent {agent}: a standing kept for no agent on record")),
    );
    differ.sort();
    Ok(differ)
}
