//! Standings counted per kind, day of first expiry and day a failing
//! verdict ends (`standing_days`, kept by `writes::standings`): how many
//! agents need each kind of attention at any time, read from a row per day
//! however many agents there are. Only standings on the clock's boundary
//! days (today, the last day of the due window) are judged one by one.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::standings::{clock_bounds, kind_condition};
use crate::backend::Result;
use crate::db::{Connection, Param, params};
use crate::domain::bias::standing::Attention;

const DAY_MS: i64 = 86_400_000;

/// The failing day of a standing that fails nothing (every real one is a
/// day since 1970).
const NO_FAILING_DAY: i64 = -1;

/// The day a stored standing is counted under: its first expiry's and its
/// failing verdict's end (as stored: `i64::MAX` for never).
pub fn standing_day(expires_ms: i64, failing_until_ms: Option<i64>) -> (i64, i64) {
    (
        expires_ms.div_euclid(DAY_MS),
        failing_until_ms.map_or(NO_FAILING_DAY, |ms| ms.div_euclid(DAY_MS)),
    )
}

/// How many agents need `kind` of attention at `now`, expiries within
/// `due_within` counting as due: whole days from the kept counts, the
/// boundary days' standings judged one by one.
pub fn count_attention(
    conn: &Connection,
    kind: Attention,
    now: DateTime<Utc>,
    due_within: TimeDelta,
) -> Result<u64> {
    let bounds = clock_bounds(now, due_within);
    let (today, due_day) = (bounds.0.div_euclid(DAY_MS), bounds.1.div_euclid(DAY_MS));
    // A day not on the boundary is wholly before or after each bound, so
    // a bound on milliseconds is the same bound on days.
    let (base, days) = match kind {
        Attention::Failing => (Some("failing"), "failing_day > ?"),
        Attention::Expired => (None, "expiry_day < ? AND failing_day < ?"),
        Attention::Missing => (Some("missing"), "expiry_day > ?"),
        Attention::Uncovered => (Some("uncovered"), "expiry_day > ?"),
        Attention::DueSoon => (Some("passing"), "expiry_day > ? AND expiry_day < ?"),
        Attention::Passing => (Some("passing"), "expiry_day > ?"),
        Attention::NotRequired => (Some("not_required"), "expiry_day > ?"),
    };
    let day_values = match kind {
        Attention::Expired => vec![today, today],
        Attention::DueSoon => vec![today, due_day],
        Attention::Passing => vec![today.max(due_day)],
        _ => vec![today],
    };
    let mut values: Vec<Param> = Vec::new();
    let mut conditions = vec![
        "expiry_day <> ? AND expiry_day <> ? AND failing_day <> ?".to_owned(),
        days.to_owned(),
    ];
    values.extend([today, due_day, today].map(Param::Integer));
    values.extend(day_values.into_iter().map(Param::Integer));
    if let Some(base) = base {
        conditions.insert(0, "base = ?".to_owned());
        values.insert(0, Param::Text(base.to_owned()));
    }
    let whole_days: i64 = conn
        .prepare_cached(&format!(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM standing_days WHERE {}",
            conditions.join(" AND ")
        ))?
        .query_row(values, |row| row.get(0))?;
    // The boundary days' standings, through the expiry and failing indexes.
    let (t0, t1) = (today * DAY_MS, (today + 1).saturating_mul(DAY_MS));
    let (d0, d1) = (due_day * DAY_MS, (due_day + 1).saturating_mul(DAY_MS));
    let (condition, kind_values) = kind_condition(kind, bounds, None);
    let mut values: Vec<Param> = [t0, t1, d0, d1, t0, t1]
        .into_iter()
        .map(Param::Integer)
        .collect();
    values.extend(kind_values);
    let boundary: i64 = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM agent_standings
             WHERE ((expires_at >= ? AND expires_at < ?) OR (expires_at >= ? AND expires_at < ?)
                    OR (failing_until >= ? AND failing_until < ?))
               AND {condition}"
        ))?
        .query_row(values, |row| row.get(0))?;
    Ok((whole_days + boundary).max(0) as u64)
}

/// The kept per-day counts that differ from counting the standings afresh,
/// in words (`gavel audit verify`).
pub fn standing_days_that_differ(conn: &Connection) -> Result<Vec<String>> {
    type Day = (String, i64, i64);
    let mut kept: BTreeMap<Day, i64> = BTreeMap::new();
    let mut statement =
        conn.prepare_cached("SELECT base, expiry_day, failing_day, n FROM standing_days")?;
    let mut rows = statement.query(params![])?;
    while let Some(row) = rows.next()? {
        kept.insert((row.get(0)?, row.get(1)?, row.get(2)?), row.get(3)?);
    }
    let mut counted: BTreeMap<Day, i64> = BTreeMap::new();
    let mut statement =
        conn.prepare_cached("SELECT base, expires_at, failing_until FROM agent_standings")?;
    let mut rows = statement.query(params![])?;
    while let Some(row) = rows.next()? {
        let (expiry_day, failing_day) = standing_day(row.get(1)?, row.get(2)?);
        *counted
            .entry((row.get(0)?, expiry_day, failing_day))
            .or_default() += 1;
    }
    let days: std::collections::BTreeSet<&Day> = kept.keys().chain(counted.keys()).collect();
    Ok(days
        .into_iter()
        .filter_map(|day| {
            let (k, c) = (
                kept.get(day).copied().unwrap_or(0),
                counted.get(day).copied().unwrap_or(0),
            );
            (k != c).then(|| {
                format!(
                    "standings per day ({}, expiring day {}, failing until day {}): kept {k}, counted {c}",
                    day.0, day.1, day.2
                )
            })
        })
        .collect())
}
