//! Approvals due for recertification: agents whose record has stood
//! longer than the active set's period for their risk tier.

use chrono::{DateTime, TimeDelta, Utc};

use crate::backend::Result;
use crate::backend::types::{RecertificationDue, RecertificationPage};
use crate::db::{Connection, params};
use crate::domain::RiskTier;
use crate::domain::policy::set::PolicySet;

use super::super::rows::{from_ms, to_ms};
use super::agents::{AGENT_COLUMNS, parse_agent, raw_agent};

/// The most a list holds, most overdue first.
pub const RECERTIFICATION_LIST_LIMIT: u32 = 500;

/// Each tier the set renews with the latest `since` that is due by `by`.
fn cutoffs(set: &PolicySet, by: DateTime<Utc>) -> Vec<(RiskTier, TimeDelta, i64)> {
    RiskTier::ALL
        .into_iter()
        .filter_map(|tier| {
            let period = set.file.recertification.period(tier)?;
            Some((tier, period, to_ms(by - period)))
        })
        .collect()
}

/// Approvals due by `now + within`, most overdue first (at most
/// `RECERTIFICATION_LIST_LIMIT`), with how many there are.
pub fn recertifications_due(
    conn: &Connection,
    set: &PolicySet,
    now: DateTime<Utc>,
    within: TimeDelta,
) -> Result<RecertificationPage> {
    let mut due = Vec::new();
    let mut total = 0;
    for (tier, period, cutoff) in cutoffs(set, now + within) {
        total += count(conn, tier, cutoff)?;
        let rows = conn
            .prepare_cached(&format!(
                "SELECT {AGENT_COLUMNS}, standing_since FROM agents
                 WHERE risk_tier = ?1 AND standing_since <= ?2
                 ORDER BY standing_since, agent_id LIMIT ?3"
            ))?
            .query_map(
                params![tier.as_str(), cutoff, RECERTIFICATION_LIST_LIMIT],
                |row| Ok((raw_agent(row)?, row.get::<i64>(11)?)),
            )?
            .collect::<crate::db::Result<Vec<_>>>()?;
        for (raw, since) in rows {
            let since = from_ms(since)?;
            due.push(RecertificationDue {
                agent: parse_agent(raw)?,
                since,
                due: since + period,
            });
        }
    }
    due.sort_by(|a, b| (a.due, &a.agent.agent_id).cmp(&(b.due, &b.agent.agent_id)));
    due.truncate(RECERTIFICATION_LIST_LIMIT as usize);
    Ok(RecertificationPage { due, total })
}

fn count(conn: &Connection, tier: RiskTier, cutoff: i64) -> Result<u64> {
    let found: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM agents WHERE risk_tier = ?1 AND standing_since <= ?2",
        )?
        .query_row(params![tier.as_str(), cutoff], |row| row.get(0))?;
    Ok(u64::try_from(found).unwrap_or(0))
}

/// Approvals due now, and of those not yet due, how many are within 30
/// days.
pub fn recertification_counts(
    conn: &Connection,
    set: &PolicySet,
    now: DateTime<Utc>,
) -> Result<(u64, u64)> {
    let mut due = 0;
    let mut soon = 0;
    for ((tier, _, now_cutoff), (_, _, soon_cutoff)) in cutoffs(set, now)
        .into_iter()
        .zip(cutoffs(set, now + TimeDelta::days(30)))
    {
        let by_now = count(conn, tier, now_cutoff)?;
        due += by_now;
        soon += count(conn, tier, soon_cutoff)?.saturating_sub(by_now);
    }
    Ok((due, soon))
}
