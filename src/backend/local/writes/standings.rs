//! Every agent's audit standing, kept with the clock taken out
//! (`domain::bias::standing::TimelessStanding`) in `agent_standings`, so
//! that counting standings reads one small table through its indexes
//! instead of judging every agent. Each write that changes what a standing
//! reads (the agent's record, its audits, the active policy set) refreshes
//! it in the same transaction; the clock is applied when it is read.

use super::super::reads::{
    agent_row, latest_audits_of, policy_set, standing_day, stored_expiry, stored_until,
    submitted_answers, timeless_standings,
};
use crate::backend::Result;
use crate::db::{Connection, OptionalExtension, params};
use crate::domain::Agent;
use crate::domain::bias::standing::{TimelessStanding, name_key, requiring, timeless};

fn store(conn: &Connection, agent: &Agent, standing: &TimelessStanding) -> Result<()> {
    let fresh = (
        standing.base.as_str().to_owned(),
        stored_expiry(standing.expires_at),
        stored_until(standing.failing_until),
    );
    let (team, name) = (agent.team.clone(), name_key(&agent.name));
    let kept: Option<(String, i64, Option<i64>, String, String)> = conn
        .prepare_cached(
            "SELECT base, expires_at, failing_until, team, name_key FROM agent_standings WHERE agent_id = ?1",
        )?
        .query_row(params![agent.agent_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
        })
        .optional()?;
    let kept_standing = kept
        .as_ref()
        .map(|(base, expires, until, _, _)| (base.clone(), *expires, *until));
    if kept
        .as_ref()
        .is_some_and(|(_, _, _, kept_team, kept_name)| {
            kept_standing.as_ref() == Some(&fresh) && *kept_team == team && *kept_name == name
        })
    {
        // Most refreshes change nothing: no write at all.
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO agent_standings (agent_id, team, name_key, base, expires_at, failing_until)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (agent_id) DO UPDATE SET team = excluded.team, name_key = excluded.name_key,
           base = excluded.base, expires_at = excluded.expires_at,
           failing_until = excluded.failing_until",
    )?
    .execute(params![
        agent.agent_id,
        team,
        name,
        fresh.0,
        fresh.1,
        fresh.2
    ])?;
    if kept_standing.as_ref() != Some(&fresh) {
        if let Some((base, expires, until)) = &kept_standing {
            count_day(conn, base, standing_day(*expires, *until), -1)?;
        }
        count_day(conn, &fresh.0, standing_day(fresh.1, fresh.2), 1)?;
    }
    Ok(())
}

/// Adds `delta` standings of `base` to their day's count; a day counting
/// none goes.
fn count_day(
    conn: &Connection,
    base: &str,
    (expiry_day, failing_day): (i64, i64),
    delta: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO standing_days (base, expiry_day, failing_day, n) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (base, expiry_day, failing_day) DO UPDATE SET n = standing_days.n + excluded.n",
    )?
    .execute(params![base, expiry_day, failing_day, delta])?;
    if delta < 0 {
        conn.prepare_cached(
            "DELETE FROM standing_days WHERE base = ?1 AND expiry_day = ?2 AND failing_day = ?3 AND n = 0",
        )?
        .execute(params![base, expiry_day, failing_day])?;
    }
    Ok(())
}

/// Recomputes one agent's standing (after its record, its audits or its
/// intake's submitted answers changed); an agent not on record has none.
pub fn refresh_standing(conn: &Connection, agent_id: &str) -> Result<()> {
    let Some(agent) = agent_row(conn, agent_id)? else {
        return Ok(());
    };
    let set = policy_set(conn)?;
    let audits = latest_audits_of(conn, &agent)?;
    let intake = submitted_answers(conn, &set, &agent)?;
    store(
        conn,
        &agent,
        &timeless(&set, &requiring(&set, &agent, intake.as_ref()), &audits),
    )
}

/// Recomputes every agent's standing (the active policy set changed, or a
/// store that has none yet).
pub fn rebuild_standings(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM agent_standings", params![])?;
    conn.execute("DELETE FROM standing_days", params![])?;
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
