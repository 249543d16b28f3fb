//! Intakes and confirmations: who may write them is decided here, from
//! the signed-in user and the active policy set, never from the request.

use chrono::{DateTime, TimeDelta, Utc};

use super::checks::check_person;
use super::stamps::{entry, next_id};
use crate::backend::types::User;
use crate::backend::{BackendError, Result};
use crate::db::{Connection, OptionalExtension, params};
use crate::domain::Role;
use crate::domain::obligations::{
    Confirmation, Intake, IntakeSave, IntakeStatus, NewConfirmation, Record, State, intake_id,
    posture,
};
use crate::domain::policy::frameworks::Requirement;
use crate::domain::review::{ValidationMode, validate};

use super::super::reads::{self, CONFIRMATION_COLUMNS};
use super::super::rows::{as_kept, to_json, to_ms};
use super::super::trail::TrailWriter;

/// The columns a save writes (a pending change is written apart).
const WRITTEN_COLUMNS: &str = "agent_id, agent_version, template_id, status, answers, filled_by, updated_at, submitted_at, version";

/// The longest a confirmation holds: things outside Gavel are looked at
/// again at least this often.
pub const MAX_CONFIRMATION_SPAN: TimeDelta = TimeDelta::days(3 * 366);
/// The longest comment or link of a confirmation, in bytes.
pub const MAX_CONFIRMATION_TEXT: usize = 2048;

/// Saves (or submits) the intake of an agent version. Its owner, anyone
/// who requested a deployment of it, or a compliance officer may; a
/// submitted intake changes only by submitting again, and answers that
/// would stop a policy, an obligation or a risk floor from applying wait,
/// classifying nothing, for the set's `classification_change` sign-off.
pub fn save_intake(
    conn: &Connection,
    actor: &User,
    save: &IntakeSave,
    now: DateTime<Utc>,
) -> Result<Intake> {
    check_person(actor, "an intake is answered by a person")?;
    let (_, set) = reads::active_set(conn)?;
    let Some(section) = set.file.intake.as_ref() else {
        return Err(BackendError::Invalid(
            "the active policy set asks no intake questions".into(),
        ));
    };
    let agent = reads::agent(conn, &save.agent_id)?;
    may_fill(conn, actor, &agent)?;
    if save.agent_version.trim().is_empty() || save.agent_version.len() > 128 {
        return Err(BackendError::Invalid(
            "an agent version is 1 to 128 bytes".into(),
        ));
    }
    let template = section.template();
    let mode = if save.submit {
        ValidationMode::Submit
    } else {
        ValidationMode::Draft
    };
    let issues = validate(&template, &save.answers, mode);
    if let Some(issue) = issues.first() {
        return Err(BackendError::Invalid(format!(
            "intake question {}: {}{}",
            issue.question_id,
            issue.message,
            if issues.len() > 1 {
                format!(" (and {} more)", issues.len() - 1)
            } else {
                String::new()
            }
        )));
    }
    let earlier = reads::intake(conn, &save.agent_id, &save.agent_version)?;
    if let Some(earlier) = earlier
        .as_ref()
        .filter(|earlier| earlier.status == IntakeStatus::Submitted)
    {
        if !save.submit {
            return Err(BackendError::Conflict(format!(
                "the intake of {}@{} is submitted: it changes only by submitting again",
                save.agent_id, save.agent_version
            )));
        }
        if earlier.pending.is_some() {
            return Err(BackendError::Conflict(format!(
                "a change of the intake of {}@{} waits for a decision: `gavel intake approve|reject {} --version {}` first",
                save.agent_id, save.agent_version, save.agent_id, save.agent_version
            )));
        }
        let stops = what_stops_applying(
            &set,
            &agent,
            &save.agent_version,
            earlier,
            &save.answers,
            now,
        );
        if !stops.is_empty() {
            return propose_change(conn, actor, earlier, &save.answers, stops, now);
        }
    }
    let intake = Intake {
        agent_id: save.agent_id.clone(),
        agent_version: save.agent_version.clone(),
        template_id: template.template_id.clone(),
        status: if save.submit {
            IntakeStatus::Submitted
        } else {
            IntakeStatus::Draft
        },
        answers: save.answers.clone(),
        filled_by: actor.email.clone(),
        updated_at: now,
        submitted_at: save.submit.then_some(now),
        version: earlier.as_ref().map_or(1, |earlier| earlier.version + 1),
        pending: None,
    };
    conn.prepare_cached(&format!(
        "INSERT INTO intakes ({WRITTEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (agent_id, agent_version) DO UPDATE SET template_id = excluded.template_id,
           status = excluded.status, answers = excluded.answers, filled_by = excluded.filled_by,
           updated_at = excluded.updated_at, submitted_at = excluded.submitted_at, version = excluded.version"
    ))?
    .execute(params![
        intake.agent_id,
        intake.agent_version,
        intake.template_id,
        intake.status.as_str(),
        to_json(&intake.answers)?,
        intake.filled_by,
        to_ms(now),
        intake.submitted_at.map(to_ms),
        intake.version,
    ])?;
    // What it submits (or takes back into a draft) may decide which
    // bias-audit policies the agent is held to.
    super::standings::refresh_standing(conn, &intake.agent_id)?;
    super::coverage::refresh_coverage(conn, &intake.agent_id, now)?;
    // Drafts are work in progress, as a review's are: only what is
    // submitted goes to the trail (and classifies the agent).
    if !save.submit {
        return Ok(intake);
    }
    let submitted_before = earlier
        .filter(|earlier| earlier.status == IntakeStatus::Submitted)
        .map(|earlier| earlier.version);
    TrailWriter::resume(conn)?.append(
        conn,
        &entry(
            now,
            &actor.email,
            "intake",
            &intake_id(&intake.agent_id, &intake.agent_version),
            "intake_submitted",
            (submitted_before, Some(intake.version)),
            serde_json::json!({
                "template_id": intake.template_id,
                "status": intake.status,
                "answers": intake.answers,
            }),
        ),
    )?;
    Ok(intake)
}

/// Keeps answers that lower what the agent is held to aside, for the
/// `classification_change` chain to decide; the earlier answers still
/// classify it.
fn propose_change(
    conn: &Connection,
    actor: &User,
    earlier: &Intake,
    answers: &crate::domain::review::Answers,
    stops: Vec<String>,
    now: DateTime<Utc>,
) -> Result<Intake> {
    let pending = crate::domain::obligations::PendingIntakeChange {
        answers: answers.clone(),
        proposed_by: actor.email.clone(),
        proposed_at: now,
        stops,
    };
    conn.prepare_cached(
        "UPDATE intakes SET pending_answers = ?3, pending_by = ?4, pending_at = ?5, pending_stops = ?6
         WHERE agent_id = ?1 AND agent_version = ?2",
    )?
    .execute(params![
        earlier.agent_id,
        earlier.agent_version,
        to_json(&pending.answers)?,
        pending.proposed_by,
        to_ms(now),
        to_json(&pending.stops)?,
    ])?;
    TrailWriter::resume(conn)?.append(
        conn,
        &entry(
            now,
            &actor.email,
            "intake",
            &intake_id(&earlier.agent_id, &earlier.agent_version),
            "intake_change_proposed",
            (Some(earlier.version), Some(earlier.version)),
            serde_json::json!({ "answers": pending.answers, "stops": pending.stops }),
        ),
    )?;
    Ok(Intake {
        pending: Some(pending),
        ..earlier.clone()
    })
}

/// The roles that decide a change lowering what an agent is held to: the
/// chain of the set's `classification_change` policy, else data stewards.
fn change_deciders(set: &crate::domain::policy::set::PolicySet) -> Vec<Role> {
    set.policies()
        .iter()
        .find(|policy| policy.policy_id == "classification_change")
        .and_then(|policy| policy.chain())
        .filter(|chain| !chain.is_empty())
        .unwrap_or_else(|| vec![Role::DataSteward])
}

/// Approves (the pending answers classify the agent from now) or rejects
/// (they are dropped) a pending intake change: by a role that decides
/// classification changes, never the person who proposed it.
pub fn decide_intake_change(
    conn: &Connection,
    actor: &User,
    decision: &crate::domain::obligations::IntakeDecision,
    now: DateTime<Utc>,
) -> Result<Intake> {
    check_person(actor, "a person decides")?;
    let (_, set) = reads::active_set(conn)?;
    let deciders = change_deciders(&set);
    if !deciders.iter().any(|role| actor.roles.contains(role)) {
        return Err(BackendError::Forbidden(format!(
            "a change that lowers what an agent is held to is decided by {}",
            deciders
                .iter()
                .map(|role| role.with_article())
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    let earlier =
        reads::intake(conn, &decision.agent_id, &decision.agent_version)?.ok_or_else(|| {
            BackendError::not_found(
                "intake",
                intake_id(&decision.agent_id, &decision.agent_version),
            )
        })?;
    let Some(pending) = earlier.pending.clone() else {
        return Err(BackendError::Conflict(format!(
            "no change of the intake of {}@{} waits for a decision",
            decision.agent_id, decision.agent_version
        )));
    };
    if actor.is(&pending.proposed_by) {
        return Err(BackendError::Forbidden(
            "the person who proposed a change does not decide it".into(),
        ));
    }
    if let Some(comment) = &decision.comment
        && comment.len() > MAX_CONFIRMATION_TEXT
    {
        return Err(BackendError::Invalid(format!(
            "a comment is at most {MAX_CONFIRMATION_TEXT} bytes"
        )));
    }
    let decided = if decision.approve {
        Intake {
            answers: pending.answers.clone(),
            filled_by: pending.proposed_by.clone(),
            updated_at: now,
            submitted_at: Some(now),
            version: earlier.version + 1,
            pending: None,
            ..earlier.clone()
        }
    } else {
        Intake {
            pending: None,
            ..earlier.clone()
        }
    };
    conn.prepare_cached(
        "UPDATE intakes SET answers = ?3, filled_by = ?4, updated_at = ?5, submitted_at = ?6, version = ?7,
           pending_answers = NULL, pending_by = NULL, pending_at = NULL, pending_stops = NULL
         WHERE agent_id = ?1 AND agent_version = ?2",
    )?
    .execute(params![
        decided.agent_id,
        decided.agent_version,
        to_json(&decided.answers)?,
        decided.filled_by,
        to_ms(decided.updated_at),
        decided.submitted_at.map(to_ms),
        decided.version,
    ])?;
    super::standings::refresh_standing(conn, &decided.agent_id)?;
    super::coverage::refresh_coverage(conn, &decided.agent_id, now)?;
    TrailWriter::resume(conn)?.append(
        conn,
        &entry(
            now,
            &actor.email,
            "intake",
            &intake_id(&decided.agent_id, &decided.agent_version),
            if decision.approve {
                "intake_change_approved"
            } else {
                "intake_change_rejected"
            },
            (Some(earlier.version), Some(decided.version)),
            serde_json::json!({ "comment": decision.comment }),
        ),
    )?;
    Ok(decided)
}

/// The agent's owner, one who requested a deployment of it, or a
/// compliance officer.
pub fn may_fill(conn: &Connection, actor: &User, agent: &crate::domain::Agent) -> Result<()> {
    if actor.is(&agent.owner) || actor.roles.contains(&Role::ComplianceOfficer) {
        return Ok(());
    }
    let requested: Option<i64> = conn
        .prepare_cached(
            "SELECT 1 FROM deployments WHERE agent_id = ?1 AND requested_by = ?2 LIMIT 1",
        )?
        .query_row(params![agent.agent_id, actor.email.to_lowercase()], |row| {
            row.get(0)
        })
        .optional()?;
    if requested.is_some() {
        return Ok(());
    }
    Err(BackendError::Forbidden(format!(
        "the intake of {} is answered by its owner ({}), someone who requested a deployment of it, or a compliance officer",
        agent.agent_id, agent.owner
    )))
}

/// The obligations and policies that apply under `earlier`'s answers and
/// would not under `answers`, and a risk floor they would lower.
fn what_stops_applying(
    set: &crate::domain::policy::set::PolicySet,
    agent: &crate::domain::Agent,
    version: &str,
    earlier: &Intake,
    answers: &crate::domain::review::Answers,
    now: DateTime<Utc>,
) -> Vec<String> {
    let agent = crate::domain::Agent {
        version: version.to_owned(),
        ..agent.clone()
    };
    let applying = |answers: &crate::domain::review::Answers| -> Vec<String> {
        let intake = Intake {
            answers: answers.clone(),
            ..earlier.clone()
        };
        let record = Record {
            agent: &agent,
            intake: Some(&intake),
            workflows: &[],
            reviews: &[],
            audits: &[],
            confirmations: &[],
            incidents: &[],
            pending_roles: &[],
        };
        posture(set, &record, now)
            .obligations
            .into_iter()
            .filter(|obligation| !matches!(obligation.state, State::NotApplicable { .. }))
            .map(|obligation| obligation.obligation)
            .collect()
    };
    let firing = |answers: &crate::domain::review::Answers| -> Vec<String> {
        set.policies()
            .iter()
            .zip(set.outcomes_with_intake(
                &agent,
                &crate::domain::policy::facts::RequestFacts::default(),
                answers,
            ))
            .filter(|(_, outcome)| {
                !matches!(
                    outcome,
                    crate::domain::policy::condition::Outcome::DoesNotHold
                )
            })
            .map(|(policy, _)| format!("policy {}", policy.policy_id))
            .collect()
    };
    let (after, still_firing) = (applying(answers), firing(answers));
    let mut dropped: Vec<String> = applying(&earlier.answers)
        .into_iter()
        .filter(|id| !after.contains(id))
        .chain(
            firing(&earlier.answers)
                .into_iter()
                .filter(|id| !still_firing.contains(id)),
        )
        .collect();
    let (floor_before, _) = set.minimum_risk_with(&agent, &earlier.answers);
    let (floor_after, _) = set.minimum_risk_with(&agent, answers);
    if floor_after < floor_before {
        dropped.push(format!("the {floor_before} risk floor"));
    }
    dropped
}

/// Records that what an obligation names is in place, by someone holding
/// a role its confirmation evidence names.
pub fn confirm_obligation(
    conn: &Connection,
    actor: &User,
    request: &NewConfirmation,
    now: DateTime<Utc>,
) -> Result<Confirmation> {
    check_person(actor, "a confirmation is a person's word")?;
    let (_, set) = reads::active_set(conn)?;
    let Some((_, obligation, _)) = set
        .obligations()
        .find(|(_, obligation, _)| obligation.id == request.obligation_id)
    else {
        return Err(BackendError::not_found(
            "obligation",
            request.obligation_id.clone(),
        ));
    };
    let roles: Vec<Role> = obligation
        .evidence
        .iter()
        .filter_map(|requirement| match requirement {
            Requirement::Confirmation { role, .. } => Some(*role),
            _ => None,
        })
        .collect();
    if roles.is_empty() {
        return Err(BackendError::Invalid(format!(
            "{} is not met by a confirmation: it asks for {}",
            obligation.id,
            obligation
                .evidence
                .iter()
                .map(Requirement::wanted)
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    let Some(role) = roles
        .iter()
        .copied()
        .find(|role| actor.roles.contains(role))
    else {
        return Err(BackendError::Forbidden(format!(
            "{} is confirmed by {}",
            obligation.id,
            roles
                .iter()
                .map(|role| role.with_article())
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    };
    let agent = reads::agent(conn, &request.agent_id)?;
    check_confirmation(request, now)?;
    let confirmation = Confirmation {
        confirmation_id: next_id(conn, "obligation_confirmations", "cnf")?,
        obligation_id: obligation.id.clone(),
        agent_id: agent.agent_id.clone(),
        link: request.link.clone(),
        file_sha256: request.file_sha256.as_ref().map(|sha| sha.to_lowercase()),
        comment: request.comment.trim().to_owned(),
        valid_until: as_kept(request.valid_until),
        role,
        confirmed_by: actor.email.clone(),
        confirmed_at: as_kept(now),
    };
    conn.prepare_cached(&format!(
        "INSERT INTO obligation_confirmations ({CONFIRMATION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))?
    .execute(params![
        confirmation.confirmation_id,
        confirmation.obligation_id,
        confirmation.agent_id,
        confirmation.link,
        confirmation.file_sha256,
        confirmation.comment,
        to_ms(confirmation.valid_until),
        confirmation.role.as_str(),
        confirmation.confirmed_by,
        to_ms(now),
    ])?;
    TrailWriter::resume(conn)?.append(
        conn,
        &entry(
            now,
            &actor.email,
            "confirmation",
            &confirmation.confirmation_id,
            "obligation_confirmed",
            (None, None),
            serde_json::to_value(&confirmation)
                .map_err(|err| BackendError::Storage(err.to_string()))?,
        ),
    )?;
    super::coverage::refresh_coverage(conn, &confirmation.agent_id, now)?;
    Ok(confirmation)
}

/// A link (https, or http on loopback) or a document's SHA-256, one of
/// them; a comment; a date ahead, not past `MAX_CONFIRMATION_SPAN`.
fn check_confirmation(request: &NewConfirmation, now: DateTime<Utc>) -> Result<()> {
    let invalid = |message: String| Err(BackendError::Invalid(message));
    match (&request.link, &request.file_sha256) {
        (Some(_), Some(_)) | (None, None) => {
            return invalid(
                "a confirmation names a link or a document's SHA-256, one of them".into(),
            );
        }
        (Some(link), None) => {
            let parsed = url::Url::parse(link).ok();
            let scheme_ok = parsed.as_ref().is_some_and(|url| {
                url.scheme() == "https"
                    || (url.scheme() == "http"
                        && url
                            .host_str()
                            .is_some_and(|host| host == "localhost" || host == "127.0.0.1"))
            });
            if !scheme_ok || link.len() > MAX_CONFIRMATION_TEXT {
                return invalid(format!(
                    "the link must be an https URL of at most {MAX_CONFIRMATION_TEXT} bytes"
                ));
            }
        }
        (None, Some(sha)) => {
            if sha.len() != 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
                return invalid("file_sha256 must be 64 hex digits".into());
            }
        }
    }
    let comment = request.comment.trim();
    if comment.is_empty()
        || comment.len() > MAX_CONFIRMATION_TEXT
        || comment.chars().any(|c| c.is_control() && c != '\n')
    {
        return invalid(format!(
            "a confirmation says what is in place: a comment of 1 to {MAX_CONFIRMATION_TEXT} bytes, without control characters"
        ));
    }
    if request.valid_until <= now {
        return invalid("valid_until must be ahead of now".into());
    }
    if request.valid_until - now > MAX_CONFIRMATION_SPAN {
        return invalid(
            "a confirmation holds at most three years: things outside Gavel are looked at again"
                .into(),
        );
    }
    Ok(())
}
