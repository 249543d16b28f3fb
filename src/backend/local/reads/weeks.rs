//! Requests and outcomes per week, for one team or all, from the kept
//! weekly counts: what the board report's weeks and the Blocked tab's
//! trends draw.

use std::collections::BTreeMap;

use super::super::rows::{corrupt, to_ms};
use crate::backend::Result;
use crate::db::{Connection, params};
use crate::domain::report::{Headline, Period, Week};

/// Only rows of `team` when one is given: `?3` is the team, or '' for
/// every team (a typed comparison both engines plan).
pub(super) const OF_TEAM: &str = "(CAST(?3 AS TEXT) = '' OR team = ?3)";

pub(super) fn team_param(team: Option<&str>) -> String {
    team.unwrap_or_default().to_owned()
}

/// Sums of a kept weekly table over `[from, to)`, per `key` and week.
pub(super) fn weekly_sums(
    conn: &Connection,
    table: &str,
    key: &str,
    (from, to): (i64, i64),
    team: Option<&str>,
) -> Result<Vec<(i64, String, u64)>> {
    let sql = format!(
        "SELECT week, {key}, CAST(SUM(n) AS BIGINT) FROM {table}
         WHERE week >= ?1 AND week < ?2 AND {OF_TEAM} GROUP BY week, {key}"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement
        .query_map(params![from, to, team_param(team)], |row| {
            Ok((
                row.get::<i64>(0)?,
                row.get::<String>(1)?,
                row.get::<i64>(2)?.max(0) as u64,
            ))
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(super) fn ms_bounds(period: &Period) -> (i64, i64) {
    let (start, end) = period.bounds();
    (to_ms(start), to_ms(end))
}

/// Requests and outcomes per week of `period` (what the Blocked tab's
/// trends draw), added to `headline` too.
pub fn weeks_of(
    conn: &Connection,
    period: &Period,
    team: Option<&str>,
    headline: &mut Headline,
) -> Result<Vec<Week>> {
    let bounds = ms_bounds(period);
    let mut weeks: BTreeMap<i64, Week> = period
        .mondays()
        .map(|monday| {
            let week = Week {
                monday,
                ..Week::default()
            };
            (
                to_ms(monday.and_time(chrono::NaiveTime::MIN).and_utc()),
                week,
            )
        })
        .collect();
    for (week, outcome, n) in weekly_sums(conn, "request_weeks", "outcome", bounds, team)? {
        let slot = weeks
            .get_mut(&week)
            .ok_or_else(|| corrupt("kept request week", week))?;
        slot.requests += n;
        headline.requests += n;
        match outcome.as_str() {
            "allowed" => {
                slot.allowed += n;
                headline.allowed += n;
            }
            "blocked" => {
                slot.blocked += n;
                headline.blocked += n;
            }
            _ => headline.approval_required += n,
        }
    }
    for (week, status, n) in weekly_sums(conn, "workflow_outcomes", "status", bounds, team)? {
        let slot = weeks
            .get_mut(&week)
            .ok_or_else(|| corrupt("kept outcome week", week))?;
        match status.as_str() {
            "approved" => {
                slot.approved += n;
                headline.approved += n;
            }
            "rejected" => {
                slot.rejected += n;
                headline.rejected += n;
            }
            "withdrawn" => {
                slot.withdrawn += n;
                headline.withdrawn += n;
            }
            _ => {}
        }
    }
    Ok(weeks.into_values().collect())
}
