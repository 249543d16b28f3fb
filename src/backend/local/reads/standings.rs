//! Every agent's standing with the bias audits its policies require.

use super::agents::{all_agents, contains_pattern};
use super::policies::policy_set;
use std::collections::HashMap;

use crate::backend::{StandingCursor, StandingPage, StandingQuery};
use crate::db::Param;

use crate::db::Connection;
use crate::domain::Agent;
use crate::domain::bias::standing::{
    Attention, LatestAudits, TimelessStanding, name_key, requiring, standing_under, timeless,
};
use crate::domain::bias::verdict::AuditFacts;
use crate::domain::policy::set::PolicySet;
use crate::domain::review::Answers;
use chrono::{DateTime, Utc};

use super::super::rows::{from_json, from_ms, to_ms};
use crate::backend::Result;
use crate::db::params;

/// The largest expiry a store holds: no expiry is kept as `i64::MAX`, and
/// a window reaching past the calendar stops just short of it.
const LAST_EXPIRY_MS: i64 = i64::MAX - 1;

/// The standings of `kind` at `now` with expiries up to `due` counting as
/// due, after `after` when given: conditions on `agent_standings` and their
/// values, one index range in display order. It mirrors `attention_at`; a
/// failing audit's `failing_until` is never before its first expiry.
pub fn kind_condition(
    kind: Attention,
    (now, due): (i64, i64),
    after: Option<&StandingCursor>,
) -> (String, Vec<Param>) {
    // (base, expiries above, expiries up to, a filter on failing_until)
    let (base, above, up_to, failing) = match kind {
        Attention::Failing => (Some("failing"), None, None, Some("failing_until > ?")),
        Attention::Expired => (
            None,
            None,
            Some(now),
            Some("(failing_until IS NULL OR failing_until <= ?)"),
        ),
        Attention::Missing => (Some("missing"), Some(now), None, None),
        Attention::Uncovered => (Some("uncovered"), Some(now), None, None),
        Attention::DueSoon => (Some("passing"), Some(now), Some(due), None),
        Attention::Passing => (Some("passing"), Some(now.max(due)), None, None),
        Attention::NotRequired => (Some("not_required"), Some(now), None, None),
    };
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    if let Some(base) = base {
        conditions.push("base = ?");
        values.push(Param::Text(base.to_owned()));
    }
    // One lower bound, so the index seeks to it: the cursor, unless the
    // kind's own bound lies past it (the clock moved on between pages).
    match (after, above) {
        (Some(cursor), Some(above)) if cursor.expires_ms <= above => {
            conditions.push("expires_at > ?");
            values.push(Param::Integer(above));
        }
        (Some(cursor), _) => {
            conditions.push("(expires_at, name_key, agent_id) > (?, ?, ?)");
            values.push(Param::Integer(cursor.expires_ms));
            values.push(Param::Text(cursor.name_key.clone()));
            values.push(Param::Text(cursor.agent_id.clone()));
        }
        (None, Some(above)) => {
            conditions.push("expires_at > ?");
            values.push(Param::Integer(above));
        }
        (None, None) => {}
    }
    if let Some(up_to) = up_to {
        conditions.push("expires_at <= ?");
        values.push(Param::Integer(up_to));
    }
    if let Some(failing) = failing {
        conditions.push(failing);
        values.push(Param::Integer(now));
    }
    (conditions.join(" AND "), values)
}

/// `now` and the end of the due window, as `kind_condition` reads them.
pub fn clock_bounds(now: DateTime<Utc>, due_within: chrono::TimeDelta) -> (i64, i64) {
    let due = now
        .checked_add_signed(due_within)
        .map_or(LAST_EXPIRY_MS, to_ms);
    (to_ms(now), due.min(LAST_EXPIRY_MS))
}

/// The SQL and values reading up to `wanted` positions of `kind` after
/// `after`, in display order (exposed for the query-plan test).
fn kind_page_sql(
    conn: &Connection,
    kind: Attention,
    bounds: (i64, i64),
    after: Option<&StandingCursor>,
    search: Option<&str>,
    wanted: usize,
) -> (String, Vec<Param>) {
    let (condition, mut values) = kind_condition(kind, bounds, after);
    let mut sql =
        format!("SELECT expires_at, name_key, agent_id FROM agent_standings WHERE {condition}");
    if let Some(search) = search {
        // The name key is lowercase already; the team and id are matched
        // without regard to case.
        let like = conn.dialect().like();
        sql.push_str(&format!(
            " AND (name_key LIKE ? ESCAPE '\\' OR team {like} ? ESCAPE '\\' \
             OR agent_id {like} ? ESCAPE '\\')"
        ));
        let pattern = contains_pattern(&search.to_lowercase());
        values.extend([0, 1, 2].map(|_| Param::Text(pattern.clone())));
    }
    sql.push_str(&format!(
        " ORDER BY expires_at, name_key, agent_id LIMIT {wanted}"
    ));
    (sql, values)
}

/// How the store reads each kind's page of `query` (`EXPLAIN QUERY PLAN`).
pub fn standings_plans(
    conn: &Connection,
    now: DateTime<Utc>,
    query: &StandingQuery,
) -> Result<Vec<String>> {
    let bounds = clock_bounds(now, query.due_within);
    query
        .kinds()
        .into_iter()
        .map(|kind| {
            let (sql, values) = kind_page_sql(
                conn,
                kind,
                bounds,
                query.after.as_ref(),
                query.search(),
                query.limit() as usize,
            );
            super::queue::explain(conn, &sql, values)
        })
        .collect()
}

/// One page of standings, most urgent first: each kind in turn is one
/// index range read from the cursor on, and only the agents on the page
/// are judged (for their reasons and audits).
pub fn standings_page(
    conn: &Connection,
    now: DateTime<Utc>,
    query: &StandingQuery,
) -> Result<StandingPage> {
    let bounds = clock_bounds(now, query.due_within);
    let limit = query.limit() as usize;
    let mut found: Vec<StandingCursor> = Vec::new();
    for kind in query.kinds() {
        let after = match &query.after {
            Some(cursor) if cursor.attention > kind => continue,
            Some(cursor) if cursor.attention == kind => Some(cursor),
            _ => None,
        };
        let wanted = limit + 1 - found.len();
        let (sql, values) = kind_page_sql(conn, kind, bounds, after, query.search(), wanted);
        let rows = conn
            .prepare_cached(&sql)?
            .query_map(values, |row| {
                Ok(StandingCursor {
                    attention: kind,
                    expires_ms: row.get(0)?,
                    name_key: row.get(1)?,
                    agent_id: row.get(2)?,
                })
            })?
            .collect::<crate::db::Result<Vec<_>>>()?;
        found.extend(rows);
        if found.len() > limit {
            break;
        }
    }
    let more = found.len() > limit;
    found.truncate(limit);
    let set = policy_set(conn)?;
    let mut requiring = Requiring::new(&set);
    let mut standings = Vec::with_capacity(found.len());
    for position in &found {
        // Read in the same transaction as the index, so never gone; but a
        // missing agent is no reason to fail the page.
        let Some(agent) = super::agents::agent_row(conn, &position.agent_id)? else {
            continue;
        };
        let audits = latest_audits_of(conn, &agent)?;
        let intake = super::submitted_answers(conn, &set, &agent)?;
        let policies = requiring.of(&agent, intake.as_ref());
        standings.push(standing_under(
            &set,
            &agent,
            &policies,
            &audits,
            now,
            query.due_within,
        ));
    }
    let next = more
        .then(|| found.last().map(StandingCursor::encode))
        .flatten();
    Ok(StandingPage { standings, next })
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

/// The active policies requiring an audit of each agent asked about,
/// judged once for agents alike in every field the set reads.
struct Requiring<'a> {
    set: &'a PolicySet,
    fields: std::collections::BTreeSet<String>,
    by_key: HashMap<String, Vec<usize>>,
}

impl<'a> Requiring<'a> {
    fn new(set: &'a PolicySet) -> Requiring<'a> {
        Requiring {
            set,
            fields: set.fields_read(),
            by_key: HashMap::new(),
        }
    }

    fn of(&mut self, agent: &Agent, intake: Option<&Answers>) -> Vec<usize> {
        match crate::domain::policy::plan::key(agent, &self.fields, &[], None) {
            Some(key) => self
                .by_key
                .entry(key + &self.set.intake_part(intake))
                .or_insert_with(|| requiring(self.set, agent, intake))
                .clone(),
            None => requiring(self.set, agent, intake),
        }
    }
}

/// Calls `judge` with every agent, the active policies requiring its audit
/// and its latest audits.
fn each_agent(
    conn: &Connection,
    mut judge: impl FnMut(&PolicySet, Agent, &[usize], LatestAudits),
) -> Result<()> {
    let set = policy_set(conn)?;
    let mut requiring = Requiring::new(&set);
    let latest = latest_audit_facts(conn)?;
    let mut intakes = match set.file.intake.is_some() {
        true => super::submitted_intakes(conn)?,
        false => HashMap::new(),
    };
    for agent in all_agents(conn)? {
        let intake = intakes.remove(&agent.agent_id).map(|intake| intake.answers);
        let policies = requiring.of(&agent, intake.as_ref());
        let versions = latest.get(&agent.agent_id).map_or(&[][..], Vec::as_slice);
        let audits = latest_of(versions, &agent)?;
        judge(&set, agent, &policies, audits);
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

/// A standing's stored first expiry: none is the largest millisecond, so
/// it sorts last.
pub(crate) fn stored_expiry(at: Option<DateTime<Utc>>) -> i64 {
    at.map_or(i64::MAX, to_ms)
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
    type Kept = (String, i64, Option<i64>, String, String);
    let mut kept: HashMap<String, Kept> = HashMap::new();
    let mut statement = conn.prepare_cached(
        "SELECT agent_id, base, expires_at, failing_until, name_key, team FROM agent_standings",
    )?;
    let mut rows = statement.query(params![])?;
    while let Some(row) = rows.next()? {
        kept.insert(
            row.get(0)?,
            (
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ),
        );
    }
    let when = |ms: i64| match ms {
        i64::MAX => "never".to_owned(),
        ms => from_ms(ms).map_or(ms.to_string(), |at| at.to_rfc3339()),
    };
    let mut differ = Vec::new();
    for (agent, standing) in timeless_standings(conn)? {
        let fresh: Kept = (
            standing.base.as_str().to_owned(),
            stored_expiry(standing.expires_at),
            stored_until(standing.failing_until),
            name_key(&agent.name),
            agent.team.clone(),
        );
        match kept.remove(&agent.agent_id) {
            Some(stored) if stored == fresh => {}
            Some(stored) => differ.push(format!(
                "agent {}: kept {} expiring {} (name {:?}, team {:?}), should be {} expiring {} (name {:?}, team {:?})",
                agent.agent_id,
                stored.0,
                when(stored.1),
                stored.3,
                stored.4,
                fresh.0,
                when(fresh.1),
                fresh.3,
                fresh.4,
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
