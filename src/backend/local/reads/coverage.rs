//! Leadership's obligation coverage read from what is kept
//! (`writes::coverage`): the days before today summed from the per-day
//! counts, today's instants read one by one, so the clock is applied
//! exactly and no agent is judged.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::super::rows::to_ms;
use crate::backend::Result;
use crate::backend::types::FrameworkCoverage;
use crate::db::{Connection, OptionalExtension, params};
use crate::domain::policy::set::PolicySet;

/// `unmet_from` of a framework no record of the agent leaves unmet.
pub const NEVER_UNMET: i64 = i64::MAX;
const DAY_MS: i64 = 86_400_000;

/// The day (since 1970, UTC) an instant in milliseconds falls on.
pub fn coverage_day(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// The policy set version the coverage is filled for and, while filling,
/// the last agent judged so far (none: done); none when never filled.
pub fn coverage_filled(conn: &Connection) -> Result<Option<(i64, Option<String>)>> {
    Ok(conn
        .query_row(
            "SELECT policy_set_version, filled_through FROM obligation_coverage_filled",
            params![],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?)
}

/// Each framework of `set`, in its order: the agents it applies to and
/// those with a duty unmet at `now`; none while the coverage is being
/// filled for the active set (after it was approved).
pub fn obligation_coverage(
    conn: &Connection,
    (version, set): (i64, &PolicySet),
    now: DateTime<Utc>,
) -> Result<Option<Vec<FrameworkCoverage>>> {
    let filled = coverage_filled(conn)?;
    if set.obligations().next().is_none() {
        return Ok(Some(Vec::new()));
    }
    if filled != Some((version, None)) {
        return Ok(None);
    }
    let now_ms = to_ms(now);
    let today = coverage_day(now_ms);
    let mut figures = Vec::new();
    for framework in &set.file.frameworks {
        let (agents, before_today): (i64, i64) = conn
            .prepare_cached(
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT),
                        CAST(COALESCE(SUM(CASE WHEN unmet_day < ?2 THEN n ELSE 0 END), 0) AS BIGINT)
                 FROM obligation_coverage_days WHERE framework_id = ?1",
            )?
            .query_row(params![framework.id, today], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?;
        let today_so_far: i64 = conn
            .prepare_cached(
                "SELECT COUNT(*) FROM obligation_coverage
                 WHERE framework_id = ?1 AND unmet_from >= ?2 AND unmet_from <= ?3",
            )?
            .query_row(params![framework.id, today * DAY_MS, now_ms], |row| {
                row.get(0)
            })?;
        figures.push(FrameworkCoverage {
            framework: framework.id.clone(),
            name: framework.name.clone(),
            agents: agents.max(0) as u64,
            unmet: (before_today + today_so_far).max(0) as u64,
        });
    }
    Ok(Some(figures))
}

/// The per-day counts that differ from the kept rows, counted afresh
/// (`gavel audit verify`): framework and day with what is kept and what
/// the rows say.
pub fn coverage_days_that_differ(conn: &Connection) -> Result<Vec<String>> {
    let mut kept: BTreeMap<(String, i64), i64> = conn
        .prepare_cached("SELECT framework_id, unmet_day, n FROM obligation_coverage_days")?
        .query_map(params![], |row| {
            Ok(((row.get(0)?, row.get(1)?), row.get(2)?))
        })?
        .collect::<crate::db::Result<_>>()?;
    let mut counted: BTreeMap<(String, i64), i64> = BTreeMap::new();
    let rows: Vec<(String, i64)> = conn
        .prepare_cached("SELECT framework_id, unmet_from FROM obligation_coverage")?
        .query_map(params![], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<crate::db::Result<_>>()?;
    for (framework, from) in rows {
        *counted.entry((framework, coverage_day(from))).or_default() += 1;
    }
    let mut differ = Vec::new();
    for ((framework, day), n) in counted {
        let kept_n = kept.remove(&(framework.clone(), day)).unwrap_or(0);
        if kept_n != n {
            differ.push(format!(
                "coverage of {framework} on day {day}: kept {kept_n}, the rows say {n}"
            ));
        }
    }
    differ.extend(kept.into_iter().map(|((framework, day), n)| {
        format!("coverage of {framework} on day {day}: kept {n}, the rows say 0")
    }));
    Ok(differ)
}
