//! Audit runs and their case evidence.

use crate::db::{Connection, OptionalExtension, Row};

use super::super::rows::{from_json, from_ms, parse};
use crate::backend::types::{
    AuditRun, CaseOutcome, CasePage, CaseQuery, RunCounts, UNKNOWN_CATEGORY,
};
use crate::backend::{BackendError, Result};
use crate::domain::Role;

const RUN_COLUMNS: &str = "run_id, agent_id, agent_version, settings, cases_sha256, classifier_sha256, case_count, started_by, started_at, finished_at, audit_id, evidence_sha256";

struct RawRun {
    run_id: String,
    agent_id: String,
    agent_version: String,
    settings: String,
    cases_sha256: String,
    classifier_sha256: String,
    case_count: i64,
    started_by: String,
    started_at: i64,
    finished_at: Option<i64>,
    audit_id: Option<String>,
    evidence_sha256: Option<String>,
}

fn raw_run(row: &Row<'_>) -> crate::db::Result<RawRun> {
    Ok(RawRun {
        run_id: row.get(0)?,
        agent_id: row.get(1)?,
        agent_version: row.get(2)?,
        settings: row.get(3)?,
        cases_sha256: row.get(4)?,
        classifier_sha256: row.get(5)?,
        case_count: row.get(6)?,
        started_by: row.get(7)?,
        started_at: row.get(8)?,
        finished_at: row.get(9)?,
        audit_id: row.get(10)?,
        evidence_sha256: row.get(11)?,
    })
}

fn parse_run(conn: &Connection, raw: RawRun) -> Result<AuditRun> {
    let counts = counts(conn, &raw.run_id)?;
    Ok(AuditRun {
        settings: from_json("audit run settings", &raw.settings)?,
        started_at: from_ms(raw.started_at)?,
        finished_at: raw.finished_at.map(from_ms).transpose()?,
        case_count: raw.case_count.max(0) as u64,
        run_id: raw.run_id,
        agent_id: raw.agent_id,
        agent_version: raw.agent_version,
        cases_sha256: raw.cases_sha256,
        classifier_sha256: raw.classifier_sha256,
        started_by: raw.started_by,
        audit_id: raw.audit_id,
        evidence_sha256: raw.evidence_sha256,
        counts,
    })
}

pub fn run(conn: &Connection, run_id: &str) -> Result<AuditRun> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {RUN_COLUMNS} FROM audit_runs WHERE run_id = ?1"
        ))?
        .query_row([run_id], raw_run)
        .optional()?
        .ok_or_else(|| BackendError::not_found("audit run", run_id))?;
    parse_run(conn, raw)
}

/// Runs, newest first (at most 500); one agent's when named.
pub fn runs(conn: &Connection, agent_id: Option<&str>) -> Result<Vec<AuditRun>> {
    let raws = match agent_id {
        Some(agent) => conn
            .prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM audit_runs WHERE agent_id = ?1 ORDER BY started_at DESC, run_id DESC LIMIT 500"
            ))?
            .query_map([agent], raw_run)?
            .collect::<crate::db::Result<Vec<_>>>()?,
        None => conn
            .prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM audit_runs ORDER BY started_at DESC, run_id DESC LIMIT 500"
            ))?
            .query_map(crate::db::params![], raw_run)?
            .collect::<crate::db::Result<Vec<_>>>()?,
    };
    raws.into_iter().map(|raw| parse_run(conn, raw)).collect()
}

/// What adding outcomes to a run checks, without counting its cases.
pub struct RunHeader {
    pub attribute: String,
    /// An audit of several attributes.
    pub several: bool,
    pub case_count: u64,
    pub started_by: String,
    pub finished: bool,
    pub audit_id: Option<String>,
    pub done: u64,
}

pub fn header(conn: &Connection, run_id: &str) -> Result<RunHeader> {
    conn.prepare_cached(&format!(
        "SELECT attribute, case_count, started_by, finished_at IS NOT NULL, audit_id, done,
                COALESCE({}, 0) > 1
         FROM audit_runs WHERE run_id = ?1",
        conn.dialect().json_array_length("settings", "attributes")
    ))?
    .query_row([run_id], |row| {
        Ok(RunHeader {
            attribute: row.get(0)?,
            case_count: row.get::<i64>(1)?.max(0) as u64,
            started_by: row.get(2)?,
            finished: row.get(3)?,
            audit_id: row.get(4)?,
            done: row.get::<i64>(5)?.max(0) as u64,
            several: row.get(6)?,
        })
    })
    .optional()?
    .ok_or_else(|| BackendError::not_found("audit run", run_id))
}

fn counts(conn: &Connection, run_id: &str) -> Result<RunCounts> {
    let (done, positive, negative, unknown): (i64, i64, i64, i64) = conn
        .prepare_cached(
            "SELECT COUNT(*),
                    COALESCE(SUM(CASE WHEN outcome = 'positive' THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN outcome = 'negative' THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN outcome = 'unknown' THEN 1 ELSE 0 END), 0)
             FROM audit_run_cases WHERE run_id = ?1",
        )?
        .query_row([run_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?;
    // A pair counts when both sides (all its cases) have a known outcome.
    let (pairs, flipped): (i64, i64) = conn
        .prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN kinds > 1 THEN 1 ELSE 0 END), 0) FROM (
                 SELECT COUNT(DISTINCT outcome) AS kinds FROM audit_run_cases
                 WHERE run_id = ?1 AND pair_id IS NOT NULL
                 GROUP BY pair_id
                 HAVING COUNT(*) > 1 AND SUM(CASE WHEN outcome = 'unknown' THEN 1 ELSE 0 END) = 0
             ) AS pairs",
        )?
        .query_row([run_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let count = |n: i64| n.max(0) as u64;
    Ok(RunCounts {
        done: count(done),
        positive: count(positive),
        negative: count(negative),
        unknown: count(unknown),
        pairs: count(pairs),
        flipped_pairs: count(flipped),
    })
}

/// Per group: (category, positive, negative, unknown), by category.
pub fn group_counts(conn: &Connection, run_id: &str) -> Result<Vec<(String, u64, u64, u64)>> {
    let rows = conn
        .prepare_cached(
            "SELECT group_value, SUM(CASE WHEN outcome = 'positive' THEN 1 ELSE 0 END), SUM(CASE WHEN outcome = 'negative' THEN 1 ELSE 0 END), SUM(CASE WHEN outcome = 'unknown' THEN 1 ELSE 0 END)
             FROM audit_run_cases WHERE run_id = ?1 GROUP BY group_value ORDER BY group_value",
        )?
        .query_map([run_id], |row| {
            Ok((
                row.get::<String>(0)?,
                row.get::<i64>(1)?.max(0) as u64,
                row.get::<i64>(2)?.max(0) as u64,
                row.get::<i64>(3)?.max(0) as u64,
            ))
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Every case's attributes and whether its outcome was positive; cases
/// of unknown outcome are in no table (they are counted apart).
pub fn known_outcomes(conn: &Connection, run_id: &str) -> Result<Vec<(Attributes, bool)>> {
    attributes_with(
        conn,
        "SELECT attributes, outcome = 'positive' FROM audit_run_cases WHERE run_id = ?1 AND outcome != 'unknown'",
        run_id,
    )
}

/// Every case's attributes and score, for the cases whose answer gave one.
pub fn scored_cases(conn: &Connection, run_id: &str) -> Result<Vec<(Attributes, f64)>> {
    attributes_with(
        conn,
        "SELECT attributes, score FROM audit_run_cases WHERE run_id = ?1 AND score IS NOT NULL",
        run_id,
    )
}

/// A case's protected attributes: name -> category.
pub type Attributes = std::collections::BTreeMap<String, String>;

/// Each case's attributes beside one value of it, as `sql` selects them.
fn attributes_with<T: crate::db::FromSql>(
    conn: &Connection,
    sql: &str,
    run_id: &str,
) -> Result<Vec<(Attributes, T)>> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement
        .query_map([run_id], |row| {
            Ok((row.get::<String>(0)?, row.get::<T>(1)?))
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(attributes, value)| Ok((from_json("case attributes", &attributes)?, value)))
        .collect()
}

/// SHA-256 over every case's id, outcome and answer hash, one line each in
/// case-id order: what the audit was computed from, fixed at finish.
pub fn evidence_digest(conn: &Connection, run_id: &str) -> Result<String> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut statement = conn.prepare_cached(
        "SELECT case_id, outcome, response_sha256 FROM audit_run_cases WHERE run_id = ?1 ORDER BY case_id",
    )?;
    let mut rows = statement.query([run_id])?;
    while let Some(row) = rows.next()? {
        let (case, outcome, sha): (String, String, String) =
            (row.get(0)?, row.get(1)?, row.get(2)?);
        hasher.update(format!("{case}\t{outcome}\t{sha}\n").as_bytes());
    }
    Ok(hex::encode(hasher.finalize()))
}

const CASE_COLUMNS: &str = "case_id, attributes, pair_id, input, response, response_sha256, response_bytes, outcome, score, reason, latency_ms, recorded_at";

/// A case's row, typed; the JSON and the outcome are read after.
fn case_row(row: &Row<'_>) -> crate::db::Result<(CaseOutcome, String, String, Option<i64>)> {
    let count = |n: i64| n.max(0) as u64;
    let case = CaseOutcome {
        case_id: row.get(0)?,
        attributes: Default::default(),
        pair_id: row.get(2)?,
        input: row.get(3)?,
        response: row.get(4)?,
        response_sha256: row.get(5)?,
        response_bytes: count(row.get(6)?),
        // Replaced by the stored outcome below.
        outcome: crate::backend::types::CaseOutcomeKind::Unknown,
        score: row.get(8)?,
        reason: row.get(9)?,
        latency_ms: count(row.get(10)?),
        recorded_at: None,
    };
    Ok((case, row.get(1)?, row.get(7)?, row.get(11)?))
}

fn parse_case(
    (mut case, attributes, outcome, recorded): (CaseOutcome, String, String, Option<i64>),
) -> Result<CaseOutcome> {
    case.attributes = from_json("case attributes", &attributes)?;
    case.outcome = parse("case outcome", &outcome)?;
    case.recorded_at = recorded.map(from_ms).transpose()?;
    Ok(case)
}

/// Who reads a run's cases (each case's input and answer can carry
/// personal data): its starter, ML engineers, compliance officers and the
/// agent's team. Anyone else sees the run's figures, not its cases.
pub fn check_may_read_cases(
    conn: &Connection,
    reader: &crate::backend::types::User,
    run_id: &str,
) -> Result<()> {
    let run = run(conn, run_id)?;
    let team = super::agent_row(conn, &run.agent_id)?.map(|agent| agent.team);
    let may = reader.is(&run.started_by)
        || reader.holds(Role::MlEngineer)
        || reader.holds(Role::ComplianceOfficer)
        || team.is_some_and(|team| reader.in_team(&team));
    if may {
        return Ok(());
    }
    Err(BackendError::Forbidden(format!(
        "the cases of run {run_id} can carry personal data: its starter, ML engineers, compliance officers and the agent's team read them; its figures are in `gavel audit run show {run_id}`"
    )))
}

/// Rows read at a time while filtering cases by their categories.
const CATEGORY_SCAN: u32 = 1_000;

/// Whether a case holds every category asked for (a missing attribute is
/// of the category `unknown`).
fn holds(case: &CaseOutcome, categories: &[(String, String)]) -> bool {
    categories.iter().all(|(attribute, category)| {
        case.attributes
            .get(attribute)
            .map_or(UNKNOWN_CATEGORY, String::as_str)
            == category
    })
}

/// A page of a run's cases in case-id order, filtered by group, outcome
/// and categories. The categories live in each case's attributes, so the
/// cases after the cursor are read in batches and filtered here: a page
/// costs at most one pass over the run.
pub fn cases(conn: &Connection, run_id: &str, query: &CaseQuery) -> Result<CasePage> {
    run(conn, run_id)?;
    if query.categories.is_empty() {
        return cases_by_column(conn, run_id, query);
    }
    let limit = query.limit.clamp(1, 5_000) as usize;
    let mut batch = CaseQuery {
        categories: Vec::new(),
        limit: CATEGORY_SCAN,
        ..query.clone()
    };
    let mut cases = Vec::new();
    loop {
        let page = cases_by_column(conn, run_id, &batch)?;
        cases.extend(
            page.cases
                .into_iter()
                .filter(|case| holds(case, &query.categories)),
        );
        if cases.len() > limit {
            cases.truncate(limit);
            let next = cases.last().map(|case| case.case_id.clone());
            return Ok(CasePage { cases, next });
        }
        match page.next {
            Some(next) => batch.after = Some(next),
            None => return Ok(CasePage { cases, next: None }),
        }
    }
}

/// A page of a run's cases in case-id order, filtered by group and outcome
/// (the run is known to exist).
fn cases_by_column(conn: &Connection, run_id: &str, query: &CaseQuery) -> Result<CasePage> {
    let limit = query.limit.clamp(1, 5_000) as i64;
    let statement = format!(
        "SELECT {CASE_COLUMNS} FROM audit_run_cases
         WHERE run_id = ?1
           AND (?2 IS NULL OR group_value = ?2)
           AND (?3 IS NULL OR outcome = ?3)
           AND (?4 IS NULL OR case_id > ?4)
         ORDER BY case_id LIMIT ?5"
    );
    let rows = conn
        .prepare_cached(&statement)?
        .query_map(
            crate::db::params![
                run_id,
                query.group,
                query.outcome.map(|outcome| outcome.as_str()),
                query.after,
                limit + 1
            ],
            case_row,
        )?
        .collect::<crate::db::Result<Vec<_>>>()?;
    let mut cases = rows
        .into_iter()
        .map(parse_case)
        .collect::<Result<Vec<_>>>()?;
    let next = if cases.len() as i64 > limit {
        cases.truncate(limit as usize);
        cases.last().map(|case| case.case_id.clone())
    } else {
        None
    };
    Ok(CasePage { cases, next })
}
