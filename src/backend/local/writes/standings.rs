//! Every agent's audit standing, kept with the clock taken out
//! (`domain::bias::standing::TimelessStanding`) in `agent_standings`, so
//! that counting standings reads one small table through its indexes
//! instead of judging every agent. Each write that changes what a standing
//! reads (the agent's record, its audits, the active policy set) refreshes
//! it in the same transaction; the clock is applied when it is read.

use super::super::reads::{
    agent_row, latest_audits_of, policy_set, stored_expiry, stored_until, timeless_standings,
};
use crate::backend::Result;
use crate::db::{Connection, params};
use crate::domain::Agent;
use crate::domain::bias::standing::{TimelessStanding, name_key, requiring, timeless};

fn store(conn: &Connection, agent: &Agent, standing: &TimelessStanding) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO agent_standings (agent_id, team, name_key, base, expires_at, failing_until)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (agent_id) DO UPDATE SET team = excluded.team, name_key = excluded.name_key,
           base = excluded.base, expires_at = excluded.expires_at,
           failing_until = excluded.failing_until",
    )?
    .execute(params![
        agent.agent_id,
        agent.team,
        name_key(&agent.name),
        standing.base.as_str(),
        stored_expiry(standing.expires_at),
        stored_until(standing.failing_until),
    ])?;
    Ok(())
}

/// Recomputes one agent's standing (after its record or its audits
/// changed); an agent not on record has none.
pub fn refresh_standing(conn: &Connection, agent_id: &str) -> Result<()> {
    let Some(agent) = agent_row(conn, agent_id)? else {
        return Ok(());
    };
    let set = policy_set(conn)?;
    let audits = latest_audits_of(conn, &agent)?;
    store(
        conn,
        &agent,
        &timeless(&set, &requiring(&set, &agent), &audits),
    )
}

/// Recomputes every agent's standing (the active policy set changed, or a
/// store that has none yet).
pub fn rebuild_standings(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM agent_standings", params![])?;
    for (agent, standing) in timeless_standings(conn)? {
        store(conn, &agent, &standing)?;
    }
    Ok(())
}

/// Fills the table of a store that has agents but no standings yet (one
/// that migrated to this version). Every open asks, so it asks only
/// whether each table has a row, never how many.
pub fn fill_standings_if_missing(conn: &Connection) -> Result<()> {
    let missing: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM agents) AND NOT EXISTS (SELECT 1 FROM agent_standings)",
        params![],
        |row| row.get(0),
    )?;
    if missing {
        rebuild_standings(conn)?;
    }
    Ok(())
}
