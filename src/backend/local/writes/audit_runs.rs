//! Audit runs: started by someone who may record audits, filled with case
//! outcomes by that person only, each case once, and finished into the
//! audit of the agent version when every case has an outcome.

use super::audits::Counts;
use super::audits::check_may_record_audits;
use super::audits::record_counts;
use super::stamps::entry;
use super::stamps::next_id;
use crate::db::{Connection, params};

use super::super::reads::audit_runs::{RunHeader, run};
use super::super::reads::{self};
use super::super::rows::{to_json, to_ms};
use chrono::{DateTime, Utc};

use crate::backend::{BackendError, Result};

use crate::backend::types::{
    AuditRun, AuditRunStart, CASE_ATTRIBUTE_LIMITS, CaseOutcome, MAX_OUTCOME_BATCH,
    RESPONSE_KEPT_CHARS, RecordedOutcomes, UNKNOWN_CATEGORY, User, case_attributes_fit,
};
use crate::domain::BiasAudit;
use crate::domain::bias::GroupCounts;
use crate::domain::bias::RateMode;
use crate::domain::bias::tables::{median, tabulate};

const MAX_TEXT_BYTES: usize = 64 * 1024;

fn invalid(message: impl Into<String>) -> BackendError {
    BackendError::Invalid(message.into())
}

fn check_start(start: &AuditRunStart) -> Result<()> {
    let settings = &start.settings;
    if start.agent_version.trim().is_empty() || start.agent_version.len() > 256 {
        return Err(invalid("agent_version must be 1 to 256 bytes"));
    }
    if start.case_count == 0 || start.case_count > 1_000_000 {
        return Err(invalid("case_count must be 1 to 1,000,000"));
    }
    let hex64 = |text: &str| text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex64(&start.cases_sha256) {
        return Err(invalid("cases_sha256 must be 64 hex digits"));
    }
    let endpoint =
        url::Url::parse(&settings.endpoint).map_err(|err| invalid(format!("endpoint: {err}")))?;
    if !matches!(endpoint.scheme(), "http" | "https") {
        return Err(invalid("endpoint must be http:// or https://"));
    }
    if !endpoint.username().is_empty()
        || endpoint.password().is_some()
        || endpoint.query().is_some()
        || endpoint.fragment().is_some()
    {
        return Err(invalid(
            "endpoint must not carry credentials, a query or a fragment: name the key's environment variable instead",
        ));
    }
    if let Some(name) = &settings.api_key_env {
        let ok = !name.is_empty()
            && name.len() <= 128
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(invalid(
                "api_key_env must name an environment variable (letters, digits, _)",
            ));
        }
    }
    let snake = |name: &str| {
        !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if !snake(&settings.attribute) {
        return Err(invalid("attribute must be snake_case, 1 to 64 characters"));
    }
    if !settings.attributes.is_empty() {
        let mut distinct = settings.attributes.clone();
        distinct.sort();
        distinct.dedup();
        if settings.attributes.len() < 2
            || settings.attributes.len() > 8
            || distinct.len() != settings.attributes.len()
            || settings.attributes[0] != settings.attribute
            || !settings.attributes.iter().all(|name| snake(name))
        {
            return Err(invalid(
                "attributes: 2 to 8 distinct snake_case names, the first being attribute",
            ));
        }
    }
    for (what, text) in [
        ("classifier", settings.classifier.as_str()),
        ("case_file", settings.case_file.as_str()),
    ] {
        if text.is_empty() || text.len() > MAX_TEXT_BYTES {
            return Err(invalid(format!(
                "{what} must be 1 to {MAX_TEXT_BYTES} bytes"
            )));
        }
    }
    if !(1..=1024).contains(&settings.concurrency)
        || !(1..=20).contains(&settings.max_attempts)
        || !(100..=600_000).contains(&settings.timeout_ms)
    {
        return Err(invalid(
            "concurrency must be 1 to 1024, max_attempts 1 to 20, timeout_ms 100 to 600000",
        ));
    }
    if let Some(rate) = settings.requests_per_second
        && !(rate.is_finite() && rate > 0.0 && rate <= 100_000.0)
    {
        return Err(invalid(
            "requests_per_second must be above 0 and at most 100000",
        ));
    }
    let agent = serde_json::to_string(&settings.agent).unwrap_or_default();
    if agent.len() > MAX_TEXT_BYTES {
        return Err(invalid(format!(
            "the agent's settings are longer than {MAX_TEXT_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Starts a run; the caller must hold a role that may record audits.
pub fn start_audit_run(
    conn: &Connection,
    actor: &User,
    start: &AuditRunStart,
    now: DateTime<Utc>,
) -> Result<AuditRun> {
    check_may_record_audits(conn, actor, "running a bias audit")?;
    check_start(start)?;
    reads::agent(conn, &start.agent_id)?;
    let run_id = next_id(conn, "audit_runs", "run")?;
    let classifier_sha256 = crate::domain::digest::sha256_hex(start.settings.classifier.as_bytes());
    conn.prepare_cached(
        "INSERT INTO audit_runs (run_id, agent_id, agent_version, attribute, settings, cases_sha256, classifier_sha256, case_count, started_by, started_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        run_id,
        start.agent_id,
        start.agent_version,
        start.settings.attribute,
        to_json(&start.settings)?,
        start.cases_sha256.to_lowercase(),
        classifier_sha256,
        start.case_count as i64,
        actor.email,
        to_ms(now),
    ])?;
    super::super::trail::append(
        conn,
        &entry(
            now,
            &actor.email,
            "audit_run",
            &run_id,
            "audit_run_started",
            (None, None),
            serde_json::json!({
                "agent_id": start.agent_id,
                "agent_version": start.agent_version,
                "endpoint": start.settings.endpoint,
                "cases_sha256": start.cases_sha256.to_lowercase(),
                "classifier_sha256": classifier_sha256,
                "case_count": start.case_count,
            }),
        ),
    )?;
    run(conn, &run_id)
}

/// The run, if the actor may add to it: they started it and it is open.
fn open_run_of(conn: &Connection, actor: &User, run_id: &str) -> Result<RunHeader> {
    let found = reads::audit_runs::header(conn, run_id)?;
    if !actor.is(&found.started_by) {
        return Err(BackendError::Forbidden(format!(
            "run {run_id} was started by {}; only they add to it",
            found.started_by
        )));
    }
    if found.finished {
        return Err(BackendError::Conflict(format!(
            "run {run_id} is finished (audit {})",
            found.audit_id.as_deref().unwrap_or("none")
        )));
    }
    Ok(found)
}

fn check_outcome(run: &RunHeader, outcome: &CaseOutcome) -> Result<String> {
    let case = &outcome.case_id;
    crate::domain::name::check_id("case id", case).map_err(invalid)?;
    // In an audit of several attributes a case may lack one: it counts as
    // of unknown category in that attribute's table.
    let unknown = UNKNOWN_CATEGORY.to_owned();
    let group = outcome
        .attributes
        .get(&run.attribute)
        .or(run.several.then_some(&unknown))
        .filter(|group| !group.trim().is_empty() && group.len() <= 200)
        .ok_or_else(|| {
            invalid(format!(
                "case {case:?} has no category for the run's attribute {:?}",
                run.attribute
            ))
        })?;
    if !case_attributes_fit(&outcome.attributes) {
        return Err(invalid(format!("case {case:?}: {CASE_ATTRIBUTE_LIMITS}")));
    }
    if outcome.input.len() > MAX_TEXT_BYTES {
        return Err(invalid(format!(
            "case {case:?}: the input is longer than {MAX_TEXT_BYTES} bytes"
        )));
    }
    if outcome.response.chars().count() > RESPONSE_KEPT_CHARS {
        return Err(invalid(format!(
            "case {case:?}: the response kept is at most {RESPONSE_KEPT_CHARS} characters"
        )));
    }
    if outcome.reason.len() > 1024
        || outcome
            .pair_id
            .as_ref()
            .is_some_and(|pair| pair.len() > 128)
    {
        return Err(invalid(format!(
            "case {case:?}: the reason is at most 1 KiB and pair_id 128 bytes"
        )));
    }
    let hex64 = |text: &str| text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex64(&outcome.response_sha256) {
        return Err(invalid(format!(
            "case {case:?}: response_sha256 must be 64 hex digits"
        )));
    }
    if outcome.score.is_some_and(|score| !score.is_finite()) {
        return Err(invalid(format!("case {case:?}: the score must be finite")));
    }
    Ok(group.clone())
}

/// Records a batch of outcomes; a case recorded before keeps its first
/// outcome (so a resumed run can never count a case twice).
pub fn record_case_outcomes(
    conn: &Connection,
    actor: &User,
    run_id: &str,
    outcomes: &[CaseOutcome],
    now: DateTime<Utc>,
) -> Result<RecordedOutcomes> {
    if outcomes.len() > MAX_OUTCOME_BATCH {
        return Err(invalid(format!(
            "{} outcomes in one batch; the most is {MAX_OUTCOME_BATCH}",
            outcomes.len()
        )));
    }
    let found = open_run_of(conn, actor, run_id)?;
    let groups = outcomes
        .iter()
        .map(|outcome| check_outcome(&found, outcome))
        .collect::<Result<Vec<_>>>()?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO audit_run_cases (run_id, case_id, group_value, attributes, pair_id, input, response, response_sha256, response_bytes, outcome, score, reason, latency_ms, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (run_id, case_id) DO NOTHING",
    )?;
    let mut recorded = 0;
    for (outcome, group) in outcomes.iter().zip(groups) {
        recorded += insert.execute(params![
            run_id,
            outcome.case_id,
            group,
            to_json(&outcome.attributes)?,
            outcome.pair_id,
            outcome.input,
            outcome.response,
            outcome.response_sha256.to_lowercase(),
            outcome.response_bytes as i64,
            outcome.outcome.as_str(),
            outcome.score,
            outcome.reason,
            outcome.latency_ms.min(i64::MAX as u64) as i64,
            to_ms(now),
        ])? as u64;
    }
    let done = found.done + recorded;
    conn.prepare_cached("UPDATE audit_runs SET done = ?2 WHERE run_id = ?1")?
        .execute(params![run_id, done as i64])?;
    if done > found.case_count {
        // More cases than the run was started with: not the case file it
        // named. Nothing of this batch is kept.
        return Err(invalid(format!(
            "run {run_id} was started with {} cases; this batch would make {done}",
            found.case_count
        )));
    }
    Ok(RecordedOutcomes { recorded, done })
}

/// Finishes a run whose every case has an outcome: its known outcomes per
/// group become the audit of the agent version (unknown answers are
/// reported per group, never counted as negative), held to the threshold
/// of the policies that require it.
pub fn finish_audit_run(
    conn: &Connection,
    actor: &User,
    run_id: &str,
    now: DateTime<Utc>,
) -> Result<BiasAudit> {
    let found = open_run_of(conn, actor, run_id)?;
    check_may_record_audits(conn, actor, "recording a bias audit")?;
    if found.done < found.case_count {
        return Err(BackendError::Conflict(format!(
            "run {run_id} has outcomes for {} of its {} cases: resume it to finish",
            found.done, found.case_count
        )));
    }
    let found = run(conn, run_id)?;
    let per_group = reads::audit_runs::group_counts(conn, run_id)?;
    let groups: Vec<GroupCounts> = per_group
        .iter()
        .map(|(group, positive, negative, _)| GroupCounts {
            group: group.clone(),
            positive: *positive,
            total: positive + negative,
        })
        .collect();
    let evidence = reads::audit_runs::evidence_digest(conn, run_id)?;
    // Unknown answers are in no rate; say so per group.
    let unknown = per_group
        .iter()
        .filter(|(_, _, _, unknown)| *unknown > 0)
        .map(|(group, positive, negative, unknown)| {
            format!(
                "group {group:?}: {unknown} of {} answers could not be classified (unknown) and are not in its rate",
                positive + negative + unknown
            )
        })
        .collect();
    // Several attributes: a table each and one for their intersection,
    // from every case of known outcome.
    let several = &found.settings.attributes;
    let mut extra = Vec::new();
    let tables = if found.settings.mode == RateMode::Scoring {
        // Above the median of every score the run gathered (DCWP scoring
        // rate); answers without a score are in no rate.
        let scored = reads::audit_runs::scored_cases(conn, run_id)?;
        let mut scores: Vec<f64> = scored.iter().map(|(_, score)| *score).collect();
        let median = median(&mut scores).ok_or_else(|| {
            BackendError::Conflict(format!(
                "run {run_id} is a scoring audit but no answer gave a score: the classifier must read a number"
            ))
        })?;
        let unscored = found.case_count.saturating_sub(scored.len() as u64);
        extra.push(format!(
            "scoring rate: above the median score {median} of {} scored answers{}",
            scored.len(),
            if unscored > 0 {
                format!("; {unscored} answers gave no score and are in no rate")
            } else {
                String::new()
            }
        ));
        let attributes = if several.is_empty() {
            std::slice::from_ref(&found.settings.attribute)
        } else {
            several.as_slice()
        };
        tabulate(
            attributes,
            scored
                .iter()
                .map(|(values, score)| (values, *score > median)),
        )
    } else if several.len() > 1 {
        let known = reads::audit_runs::known_outcomes(conn, run_id)?;
        tabulate(
            several,
            known.iter().map(|(values, positive)| (values, *positive)),
        )
    } else {
        Vec::new()
    };
    let audit = record_counts(
        conn,
        actor,
        &Counts {
            agent_id: &found.agent_id,
            agent_version: &found.agent_version,
            tested_at: now,
            groups: if tables.is_empty() { &groups } else { &[] },
            tables: &tables,
            mode: found.settings.mode,
            source: None,
            attribute: tables
                .is_empty()
                .then_some(found.settings.attribute.as_str()),
            run_id: Some(run_id),
            warnings: if found.settings.mode == RateMode::Scoring {
                extra
            } else {
                unknown
            },
        },
        now,
    )?;
    let updated = conn.execute(
        "UPDATE audit_runs SET finished_at = ?2, audit_id = ?3, evidence_sha256 = ?4 WHERE run_id = ?1 AND finished_at IS NULL",
        params![run_id, to_ms(now), audit.audit_id, evidence],
    )?;
    if updated != 1 {
        return Err(BackendError::Conflict(format!("run {run_id} is finished")));
    }
    super::super::trail::append(
        conn,
        &entry(
            now,
            &actor.email,
            "audit_run",
            run_id,
            "audit_run_finished",
            (None, None),
            serde_json::json!({
                "audit_id": audit.audit_id,
                "evidence_sha256": evidence,
                "cases": found.case_count,
            }),
        ),
    )?;
    Ok(audit)
}
