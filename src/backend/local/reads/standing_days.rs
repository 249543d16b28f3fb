//! Standings counted per kind, day of first expiry and day a failing
//! verdict ends (`standing_days`, kept by `writes::standings`): how many
//! agents need each kind of attention at any time, read from a row per day
//! however many agents there are. Only standings on the clock's boundary
//! days (today, the last day of the due window) are judged one by one.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::super::rows::from_ms;
use super::standings::clock_bounds;
use crate::backend::{BackendError, Result};
use crate::db::{Connection, Param, params};
use crate::domain::bias::standing::{Attention, TimelessStanding, attention_at};

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

/// How many agents need each of `kinds` of attention at `now`, expiries
/// within `due_within` counting as due: whole days from the kept counts,
/// and the standings on the clock's boundary days judged one by one by the
/// rule itself (`attention_at`).
pub fn attention_counts<const N: usize>(
    conn: &Connection,
    kinds: [Attention; N],
    now: DateTime<Utc>,
    due_within: TimeDelta,
) -> Result<[u64; N]> {
    let bounds = clock_bounds(now, due_within);
    let (today, due_day) = (bounds.0.div_euclid(DAY_MS), bounds.1.div_euclid(DAY_MS));
    let on_boundary = boundary_attention(conn, (today, due_day), now, due_within)?;
    let mut counts = [0; N];
    for (count, kind) in counts.iter_mut().zip(kinds) {
        let judged = on_boundary.iter().filter(|seen| **seen == kind).count() as i64;
        *count = (whole_days(conn, kind, (today, due_day))? + judged).max(0) as u64;
    }
    Ok(counts)
}

/// The standings of `kind` on days wholly before or after each bound (a
/// bound on milliseconds is then the same bound on days).
fn whole_days(conn: &Connection, kind: Attention, (today, due_day): (i64, i64)) -> Result<i64> {
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
    let mut conditions = Vec::new();
    if let Some(base) = base {
        conditions.push("base = ?");
        values.push(Param::Text(base.to_owned()));
    }
    conditions.push("expiry_day <> ? AND expiry_day <> ? AND failing_day <> ?");
    values.extend([today, due_day, today].map(Param::Integer));
    conditions.push(days);
    values.extend(day_values.into_iter().map(Param::Integer));
    Ok(conn
        .prepare_cached(&format!(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM standing_days WHERE {}",
            conditions.join(" AND ")
        ))?
        .query_row(values, |row| row.get(0))?)
}

/// What each standing on a boundary day (first expiry today or on the due
/// window's last day, or a failing verdict ending today) is at `now`.
fn boundary_attention(
    conn: &Connection,
    (today, due_day): (i64, i64),
    now: DateTime<Utc>,
    due_within: TimeDelta,
) -> Result<Vec<Attention>> {
    let day = |day: i64| {
        (
            day.saturating_mul(DAY_MS),
            day.saturating_add(1).saturating_mul(DAY_MS),
        )
    };
    let ((t0, t1), (d0, d1)) = (day(today), day(due_day));
    // Three index ranges; UNION leaves a standing on two of them once.
    let mut statement = conn.prepare_cached(
        "SELECT agent_id, base, expires_at, failing_until FROM agent_standings
           WHERE expires_at >= ?1 AND expires_at < ?2
         UNION SELECT agent_id, base, expires_at, failing_until FROM agent_standings
           WHERE expires_at >= ?3 AND expires_at < ?4
         UNION SELECT agent_id, base, expires_at, failing_until FROM agent_standings
           WHERE failing_until >= ?1 AND failing_until < ?2",
    )?;
    let mut rows = statement.query(params![t0, t1, d0, d1])?;
    let mut seen = Vec::new();
    while let Some(row) = rows.next()? {
        seen.push(attention_at(&kept_standing(&row)?, now, due_within));
    }
    Ok(seen)
}

/// A kept standing row (`agent_id, base, expires_at, failing_until`).
fn kept_standing(row: &crate::db::Row<'_>) -> Result<TimelessStanding> {
    let base: String = row.get(1)?;
    Ok(TimelessStanding {
        base: base
            .parse()
            .map_err(|_| BackendError::Storage(format!("unknown kept standing {base:?}")))?,
        expires_at: kept_time(row.get(2)?)?,
        failing_until: match row.get::<Option<i64>>(3)? {
            None => None,
            Some(i64::MAX) => Some(DateTime::<Utc>::MAX_UTC),
            Some(ms) => Some(from_ms(ms)?),
        },
    })
}

/// What each of one team's agents needs at `now`, judged one by one (a
/// team's agents are a few thousand; the kept day counts are not per
/// team).
pub fn team_attention(
    conn: &Connection,
    team: &str,
    now: DateTime<Utc>,
    due_within: TimeDelta,
) -> Result<Vec<Attention>> {
    let mut statement = conn.prepare_cached(
        "SELECT agent_id, base, expires_at, failing_until FROM agent_standings WHERE team = ?1",
    )?;
    let mut rows = statement.query(params![team])?;
    let mut seen = Vec::new();
    while let Some(row) = rows.next()? {
        seen.push(attention_at(&kept_standing(&row)?, now, due_within));
    }
    Ok(seen)
}

/// A kept expiry (`i64::MAX`: none).
fn kept_time(ms: i64) -> Result<Option<DateTime<Utc>>> {
    match ms {
        i64::MAX => Ok(None),
        ms => Ok(Some(from_ms(ms)?)),
    }
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
