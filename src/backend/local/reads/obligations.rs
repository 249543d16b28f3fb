//! Intakes, confirmations, and an agent version's obligations posture
//! gathered from the record.

use chrono::{DateTime, Utc};

use crate::backend::{BackendError, Result};
use crate::db::{Connection, OptionalExtension, params};
use crate::domain::Agent;
use crate::domain::obligations::{Confirmation, Intake, Posture, Record, posture};

use super::super::rows::{from_json, from_ms, parse};

pub const INTAKE_COLUMNS: &str = "agent_id, agent_version, template_id, status, answers, filled_by, updated_at, submitted_at, version, pending_answers, pending_by, pending_at, pending_stops";

pub const CONFIRMATION_COLUMNS: &str = "confirmation_id, obligation_id, agent_id, link, file_sha256, comment, valid_until, role, confirmed_by, confirmed_at";

/// An intake row as read, before its JSON and times are parsed.
pub struct RawIntake {
    agent_id: String,
    agent_version: String,
    template_id: String,
    status: String,
    answers: String,
    filled_by: String,
    updated_at: i64,
    submitted_at: Option<i64>,
    version: i64,
    pending_answers: Option<String>,
    pending_by: Option<String>,
    pending_at: Option<i64>,
    pending_stops: Option<String>,
}

/// The `INTAKE_COLUMNS` of a row, starting at column `first`.
pub fn raw_intake_at(row: &crate::db::Row<'_>, first: usize) -> crate::db::Result<RawIntake> {
    Ok(RawIntake {
        agent_id: row.get(first)?,
        agent_version: row.get(first + 1)?,
        template_id: row.get(first + 2)?,
        status: row.get(first + 3)?,
        answers: row.get(first + 4)?,
        filled_by: row.get(first + 5)?,
        updated_at: row.get(first + 6)?,
        submitted_at: row.get(first + 7)?,
        version: row.get(first + 8)?,
        pending_answers: row.get(first + 9)?,
        pending_by: row.get(first + 10)?,
        pending_at: row.get(first + 11)?,
        pending_stops: row.get(first + 12)?,
    })
}

pub fn raw_intake(row: &crate::db::Row<'_>) -> crate::db::Result<RawIntake> {
    raw_intake_at(row, 0)
}

pub fn parse_intake(raw: RawIntake) -> Result<Intake> {
    let pending = match (raw.pending_answers, raw.pending_by, raw.pending_at) {
        (Some(answers), Some(by), Some(at)) => {
            Some(crate::domain::obligations::PendingIntakeChange {
                answers: from_json("pending intake answers", &answers)?,
                proposed_by: by,
                proposed_at: from_ms(at)?,
                stops: from_json(
                    "pending intake stops",
                    raw.pending_stops.as_deref().unwrap_or("[]"),
                )?,
            })
        }
        _ => None,
    };
    Ok(Intake {
        agent_id: raw.agent_id,
        agent_version: raw.agent_version,
        template_id: raw.template_id,
        status: parse("intake status", &raw.status)?,
        answers: from_json("intake answers", &raw.answers)?,
        filled_by: raw.filled_by,
        updated_at: from_ms(raw.updated_at)?,
        submitted_at: raw.submitted_at.map(from_ms).transpose()?,
        version: raw.version,
        pending,
    })
}

/// The intake of one agent version, if anyone saved one.
pub fn intake(conn: &Connection, agent_id: &str, agent_version: &str) -> Result<Option<Intake>> {
    conn.prepare_cached(&format!(
        "SELECT {INTAKE_COLUMNS} FROM intakes WHERE agent_id = ?1 AND agent_version = ?2"
    ))?
    .query_row(params![agent_id, agent_version], raw_intake)
    .optional()?
    .map(parse_intake)
    .transpose()
}

/// The submitted answers of an agent's current version, when the set asks
/// questions at all (what its policies and floors may read).
pub fn submitted_answers(
    conn: &Connection,
    set: &crate::domain::policy::set::PolicySet,
    agent: &Agent,
) -> Result<Option<crate::domain::review::Answers>> {
    if set.file.intake.is_none() {
        return Ok(None);
    }
    Ok(intake(conn, &agent.agent_id, &agent.version)?
        .filter(|intake| intake.status == crate::domain::obligations::IntakeStatus::Submitted)
        .map(|intake| intake.answers))
}

/// Every agent's submitted intake of its current version, by agent id (what
/// `plan` judges a new request of each with).
pub fn submitted_intakes(conn: &Connection) -> Result<std::collections::HashMap<String, Intake>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {INTAKE_COLUMNS} FROM intakes WHERE status = 'submitted' AND EXISTS
           (SELECT 1 FROM agents g WHERE g.agent_id = intakes.agent_id AND g.version = intakes.agent_version)"
    ))?;
    let mut rows = statement.query(params![])?;
    let mut found = std::collections::HashMap::new();
    while let Some(row) = rows.next()? {
        let intake = parse_intake(raw_intake(&row)?)?;
        found.insert(intake.agent_id.clone(), intake);
    }
    Ok(found)
}

type RawConfirmation = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    String,
    String,
    i64,
);

pub fn raw_confirmation(row: &crate::db::Row<'_>) -> crate::db::Result<RawConfirmation> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
    ))
}

pub fn parse_confirmation(raw: RawConfirmation) -> Result<Confirmation> {
    let (confirmation_id, obligation_id, agent_id, link, file_sha256, comment, until, role, by, at) =
        raw;
    Ok(Confirmation {
        confirmation_id,
        obligation_id,
        agent_id,
        link,
        file_sha256,
        comment,
        valid_until: from_ms(until)?,
        role: parse("role", &role)?,
        confirmed_by: by,
        confirmed_at: from_ms(at)?,
    })
}

/// The confirmations recorded for an agent, oldest first (at most the
/// newest 1,000: confirmations are few, renewed yearly or so).
pub fn confirmations(conn: &Connection, agent_id: &str) -> Result<Vec<Confirmation>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {CONFIRMATION_COLUMNS} FROM obligation_confirmations WHERE agent_id = ?1
         ORDER BY confirmed_at DESC, confirmation_id DESC LIMIT 1000"
    ))?;
    let mut found = statement
        .query_map([agent_id], raw_confirmation)?
        .map(|raw| parse_confirmation(raw?))
        .collect::<Result<Vec<_>>>()?;
    found.reverse();
    Ok(found)
}

/// The agent as requested at `version` (its newest request of it), else
/// as last recorded when that is the version asked for.
pub fn agent_at(conn: &Connection, agent_id: &str, version: Option<&str>) -> Result<Agent> {
    let current = super::agent(conn, agent_id)?;
    let Some(version) = version.filter(|version| *version != current.version) else {
        return Ok(current);
    };
    let body: Option<String> = conn
        .prepare_cached(
            "SELECT body FROM deployments WHERE agent_id = ?1 AND agent_version = ?2
             ORDER BY requested_at DESC, deployment_id DESC LIMIT 1",
        )?
        .query_row(params![agent_id, version], |row| row.get(0))
        .optional()?;
    let request: crate::domain::DeploymentRequest = match body {
        Some(body) => from_json("deployment", &body)?,
        None => {
            return Err(BackendError::not_found(
                "agent version",
                format!("{agent_id}@{version}"),
            ));
        }
    };
    request
        .agent
        .ok_or_else(|| BackendError::not_found("agent version", format!("{agent_id}@{version}")))
}

/// Every obligation of the active set, judged for an agent version at
/// `now` from its intake, its 20 newest deployments' workflows and
/// reviews, its audits and its confirmations: bounded reads, whoever asks.
pub fn obligations_posture(
    conn: &Connection,
    set: &crate::domain::policy::set::PolicySet,
    agent_id: &str,
    version: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Posture> {
    let agent = agent_at(conn, agent_id, version)?;
    posture_of(conn, set, agent, now)
}

/// `obligations_posture` of an agent already read.
fn posture_of(
    conn: &Connection,
    set: &crate::domain::policy::set::PolicySet,
    agent: Agent,
    now: DateTime<Utc>,
) -> Result<Posture> {
    if set.obligations().next().is_none() {
        // Nothing adopted: nothing to read.
        return Ok(Posture {
            agent_id: agent.agent_id,
            agent_version: agent.version,
            at: now,
            obligations: Vec::new(),
        });
    }
    with_record(conn, &agent, |record| posture(set, record, now))
}

/// What a posture reads of an agent version, handed to `judge`: its
/// intake, its 20 newest deployments' workflows and their reviews, its
/// audits and its confirmations.
pub fn with_record<T>(
    conn: &Connection,
    agent: &Agent,
    judge: impl FnOnce(&Record<'_>) -> T,
) -> Result<T> {
    let intake = intake(conn, &agent.agent_id, &agent.version)?;
    let deployments: Vec<String> = conn
        .prepare_cached(
            "SELECT deployment_id FROM deployments WHERE agent_id = ?1 AND agent_version = ?2
             ORDER BY requested_at DESC LIMIT 20",
        )?
        .query_map(params![agent.agent_id, agent.version], |row| row.get(0))?
        .collect::<crate::db::Result<_>>()?;
    let mut workflows = Vec::new();
    for deployment in &deployments {
        workflows.extend(super::workflows_of_deployment(conn, deployment)?);
    }
    let mut reviews = Vec::new();
    for workflow in &workflows {
        reviews.extend(super::review_for_workflow(conn, &workflow.workflow_id)?);
    }
    let audits = super::audits(conn, &agent.agent_id)?;
    let confirmations = confirmations(conn, &agent.agent_id)?;
    let incidents = super::incidents_of_agent(conn, &agent.agent_id)?;
    Ok(judge(&Record {
        agent,
        intake: intake.as_ref(),
        workflows: &workflows,
        reviews: &reviews,
        audits: &audits,
        confirmations: &confirmations,
        incidents: &incidents,
        pending_roles: &[],
    }))
}

/// Judges up to `query.limit` agents after `query.after`, in id order
/// (their current versions), keeping those with unmet duties when asked.
pub fn postures(
    conn: &Connection,
    set: &crate::domain::policy::set::PolicySet,
    query: &crate::domain::obligations::PostureQuery,
    now: DateTime<Utc>,
) -> Result<crate::domain::obligations::PosturePage> {
    use crate::domain::obligations::{MAX_POSTURES_PER_PAGE, PosturePage, PostureSummary};
    let limit = query.limit.clamp(1, MAX_POSTURES_PER_PAGE);
    let agents: Vec<Agent> = conn
        .prepare_cached(&format!(
            "SELECT {} FROM agents WHERE agent_id > ?1 ORDER BY agent_id LIMIT ?2",
            super::AGENT_COLUMNS
        ))?
        .query_map(
            params![
                query.after.clone().unwrap_or_default(),
                i64::from(limit) + 1
            ],
            super::raw_agent,
        )?
        .map(|raw| super::parse_agent(raw?))
        .collect::<Result<_>>()?;
    let more = agents.len() > limit as usize;
    let mut page = PosturePage::default();
    for agent in agents.into_iter().take(limit as usize) {
        let (agent_id, agent_name, team) = (
            agent.agent_id.clone(),
            agent.name.clone(),
            agent.team.clone(),
        );
        let posture = posture_of(conn, set, agent, now)?;
        let unmet: Vec<String> = posture
            .unmet()
            .map(|obligation| obligation.obligation.clone())
            .collect();
        page.next = Some(agent_id.clone());
        if query.unmet && unmet.is_empty() {
            continue;
        }
        page.items.push(PostureSummary {
            agent_id,
            agent_name,
            team,
            agent_version: posture.agent_version.clone(),
            counts: posture.counts(),
            unmet,
        });
    }
    if !more {
        page.next = None;
    }
    Ok(page)
}
