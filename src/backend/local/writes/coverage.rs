//! Leadership's obligation coverage, kept: for each agent and each
//! framework with a duty that applies to its current version, from when
//! one is unmet (`domain::obligations::coverage`), and how many agents
//! fall unmet each day. Each write that changes what a posture reads
//! refreshes its agent in the same transaction; approving a set fills the
//! table again; the clock is applied when it is read, so a duty coming
//! into effect or evidence lapsing needs no write.

use chrono::{DateTime, Utc};

use super::super::reads::{
    AGENT_COLUMNS, NEVER_UNMET, active_set, agent_row, coverage_day, coverage_filled, parse_agent,
    raw_agent, with_record,
};
use super::super::rows::to_ms;
use crate::backend::Result;
use crate::db::{Connection, params};
use crate::domain::Agent;
use crate::domain::obligations::coverage::unmet_from;
use crate::domain::policy::set::PolicySet;

/// Judges one agent again (its record, intake, audits, confirmations,
/// approvals or reviews changed); an agent not on record has no rows.
pub fn refresh_coverage(conn: &Connection, agent_id: &str, now: DateTime<Utc>) -> Result<()> {
    let kept: Vec<(String, i64)> = conn
        .prepare_cached(
            "SELECT framework_id, unmet_from FROM obligation_coverage WHERE agent_id = ?1",
        )?
        .query_map(params![agent_id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<crate::db::Result<_>>()?;
    let (_, set) = active_set(conn)?;
    let fresh = match agent_row(conn, agent_id)? {
        Some(agent) if set.obligations().next().is_some() => judged(conn, &set, &agent, now)?,
        _ => Vec::new(),
    };
    if fresh == kept {
        // Most refreshes change nothing: no write at all.
        return Ok(());
    }
    for (framework, from) in &kept {
        count_day(conn, framework, *from, -1)?;
    }
    conn.prepare_cached("DELETE FROM obligation_coverage WHERE agent_id = ?1")?
        .execute(params![agent_id])?;
    store(conn, agent_id, &fresh)
}

/// Each framework applying to the agent and from when it is unmet
/// (`NEVER_UNMET`: not with these records), by framework id.
fn judged(
    conn: &Connection,
    set: &PolicySet,
    agent: &Agent,
    now: DateTime<Utc>,
) -> Result<Vec<(String, i64)>> {
    let from = with_record(conn, agent, |record| unmet_from(set, record, now))?;
    Ok(from
        .into_iter()
        .map(|(framework, from)| (framework, from.map_or(NEVER_UNMET, to_ms)))
        .collect())
}

fn store(conn: &Connection, agent_id: &str, rows: &[(String, i64)]) -> Result<()> {
    for (framework, from) in rows {
        conn.prepare_cached(
            "INSERT INTO obligation_coverage (agent_id, framework_id, unmet_from) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![agent_id, framework, from])?;
        count_day(conn, framework, *from, 1)?;
    }
    Ok(())
}

/// Adds `delta` agents to the framework's count for the day `from` falls
/// on; a day counting none goes.
fn count_day(conn: &Connection, framework: &str, from: i64, delta: i64) -> Result<()> {
    let day = coverage_day(from);
    conn.prepare_cached(
        "INSERT INTO obligation_coverage_days (framework_id, unmet_day, n) VALUES (?1, ?2, ?3)
         ON CONFLICT (framework_id, unmet_day) DO UPDATE SET n = obligation_coverage_days.n + excluded.n",
    )?
    .execute(params![framework, day, delta])?;
    if delta < 0 {
        conn.prepare_cached(
            "DELETE FROM obligation_coverage_days WHERE framework_id = ?1 AND unmet_day = ?2 AND n <= 0",
        )?
        .execute(params![framework, day])?;
    }
    Ok(())
}

/// Agents judged per transaction while filling: the write lock is given
/// up between slices, so a server keeps deciding while a set's coverage
/// fills.
pub const COVERAGE_SLICE: u32 = 2_000;

/// Starts filling again from the first agent (a set was approved): the
/// figures read as being counted until `fill_coverage_slice` is done.
pub fn restart_coverage(conn: &Connection) -> Result<()> {
    let (version, _) = active_set(conn)?;
    conn.execute("DELETE FROM obligation_coverage", params![])?;
    conn.execute("DELETE FROM obligation_coverage_days", params![])?;
    conn.execute("DELETE FROM obligation_coverage_filled", params![])?;
    conn.execute(
        "INSERT INTO obligation_coverage_filled (policy_set_version, filled_through) VALUES (?1, '')",
        params![version],
    )?;
    Ok(())
}

/// Judges the next `limit` agents of an unfinished fill (starting one
/// when the table was never filled for the active set); whether more are
/// left.
pub fn fill_coverage_slice(conn: &Connection, now: DateTime<Utc>, limit: u32) -> Result<bool> {
    let (version, set) = active_set(conn)?;
    let after = match coverage_filled(conn)? {
        Some((filled_for, None)) if filled_for == version => return Ok(false),
        Some((filled_for, Some(after))) if filled_for == version => after,
        _ => {
            restart_coverage(conn)?;
            String::new()
        }
    };
    let agents: Vec<String> = if set.obligations().next().is_some() {
        conn.prepare_cached(
            "SELECT agent_id FROM agents WHERE agent_id > ?1 ORDER BY agent_id LIMIT ?2",
        )?
        .query_map(params![after, i64::from(limit)], |row| row.get(0))?
        .collect::<crate::db::Result<_>>()?
    } else {
        Vec::new()
    };
    for agent in &agents {
        // As any write would: an agent a write judged since is left as is.
        refresh_coverage(conn, agent, now)?;
    }
    let more = agents.len() == limit as usize;
    conn.execute(
        "UPDATE obligation_coverage_filled SET filled_through = ?1",
        params![if more { agents.last().cloned() } else { None }],
    )?;
    Ok(more)
}

/// Fills what the store keeps so it need not recount (standings, figures)
/// where a store from before them lacks it, and one slice of an
/// unfinished obligation coverage (a small store's whole): every open
/// asks. A server finishes a larger one on its own (`gavel serve`).
pub fn fill_kept_if_missing(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    super::fill_standings_if_missing(conn)?;
    super::fill_figures_if_missing(conn)?;
    fill_coverage_slice(conn, now, COVERAGE_SLICE)?;
    Ok(())
}

/// The agents whose kept coverage differs from judging them afresh at
/// `now` (`gavel audit verify`). A framework unmet by `now` on both sides
/// agrees whenever each side judged it so; later instants must match.
/// While a fill is unfinished nothing is shown from the table, so nothing
/// is compared: the agents not reached yet are not a difference.
pub fn coverage_that_differs(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<String>> {
    let (version, set) = active_set(conn)?;
    if set.obligations().next().is_some() && coverage_filled(conn)? != Some((version, None)) {
        return Ok(Vec::new());
    }
    let mut kept: std::collections::BTreeMap<String, Vec<(String, i64)>> =
        std::collections::BTreeMap::new();
    let rows: Vec<(String, String, i64)> = conn
        .prepare_cached(
            "SELECT agent_id, framework_id, unmet_from FROM obligation_coverage ORDER BY agent_id, framework_id",
        )?
        .query_map(params![], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<crate::db::Result<_>>()?;
    for (agent, framework, from) in rows {
        kept.entry(agent).or_default().push((framework, from));
    }
    let mut differ = Vec::new();
    let now_ms = to_ms(now);
    let settled = |rows: Vec<(String, i64)>| -> Vec<(String, i64)> {
        rows.into_iter()
            .map(|(framework, from)| (framework, if from <= now_ms { now_ms } else { from }))
            .collect()
    };
    if set.obligations().next().is_some() {
        let agents: Vec<Agent> = conn
            .prepare_cached(&format!("SELECT {AGENT_COLUMNS} FROM agents"))?
            .query_map(params![], raw_agent)?
            .map(|raw| parse_agent(raw?))
            .collect::<Result<_>>()?;
        for agent in &agents {
            let fresh = settled(judged(conn, &set, agent, now)?);
            let held = settled(kept.remove(&agent.agent_id).unwrap_or_default());
            if fresh != held {
                differ.push(format!(
                    "agent {}: obligation coverage kept {held:?}, should be {fresh:?}",
                    agent.agent_id
                ));
            }
        }
    }
    differ.extend(kept.into_keys().map(|agent| {
        format!("agent {agent}: obligation coverage kept for no agent, or no framework adopted")
    }));
    Ok(differ)
}
