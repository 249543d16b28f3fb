//! Ethics reviews: assignment, drafts, submission.

use super::checks::check_person;
use super::stamps::entry;
use super::stamps::next_id;
use crate::db::{Connection, params};

use super::super::reads::{self};
use super::super::rows::{to_json, to_ms};
use chrono::{DateTime, Utc};

use crate::backend::{BackendError, Result};

use crate::backend::types::User;
use crate::domain::review::{self, ValidationMode};
use crate::domain::{Answers, EthicsReview, ReviewStatus, Role, WorkflowStatus};

/// Assigns the ethics review of a workflow to a reviewer.
pub fn assign_review(
    conn: &Connection,
    actor: &User,
    workflow_id: &str,
    reviewer: &str,
    now: DateTime<Utc>,
) -> Result<EthicsReview> {
    let workflow = reads::workflow(conn, workflow_id)?;
    if !workflow
        .steps
        .iter()
        .any(|step| step.role == Role::EthicsReviewer)
    {
        return Err(BackendError::Invalid(format!(
            "workflow {workflow_id} has no ethics review step"
        )));
    }
    let existing = reads::review_for_workflow(conn, workflow_id)?;
    if let Some(existing) = &existing {
        if existing.reviewer.eq_ignore_ascii_case(reviewer) {
            return Ok(existing.clone());
        }
        if existing.status == ReviewStatus::Submitted {
            return Err(BackendError::Conflict(format!(
                "the review of {workflow_id} was submitted by {} and can no longer be reassigned",
                existing.reviewer
            )));
        }
        if !actor.holds(Role::ComplianceOfficer) {
            return Err(BackendError::Forbidden(format!(
                "the review of {workflow_id} is already assigned to {}; only a compliance officer may reassign it",
                existing.reviewer
            )));
        }
    }
    if workflow.status != WorkflowStatus::InProgress {
        return Err(BackendError::Conflict(format!(
            "workflow {workflow_id} is already {}",
            workflow.status
        )));
    }
    if !actor.is(reviewer) && !actor.holds(Role::ComplianceOfficer) {
        return Err(BackendError::Forbidden(
            "only a compliance officer may assign a review to someone else".into(),
        ));
    }
    let holder =
        reads::user(conn, reviewer)?.ok_or_else(|| BackendError::not_found("user", reviewer))?;
    check_person(&holder, "a review is a person's")?;
    if !holder.holds(Role::EthicsReviewer) {
        return Err(BackendError::Forbidden(format!(
            "{reviewer} does not hold the ethics_reviewer role"
        )));
    }
    may_review(&workflow, &holder.email)?;
    match existing {
        Some(previous) => reassign(conn, actor, previous, &holder.email, now),
        None => {
            let review = EthicsReview {
                review_id: next_id(conn, "reviews", "rev")?,
                workflow_id: workflow_id.to_owned(),
                agent_id: workflow.agent_id.clone(),
                reviewer: holder.email.clone(),
                template_id: reads::default_template_id(conn)?,
                status: ReviewStatus::Assigned,
                answers: Answers::new(),
                form_state: None,
                assigned_at: now,
                updated_at: now,
                submitted_at: None,
                version: 1,
                reassign_since: None,
            };
            insert_review(conn, &review)?;
            super::super::trail::append(
                conn,
                &entry(
                    now,
                    &actor.email,
                    "review",
                    &review.review_id,
                    "review_assigned",
                    (None, Some(1)),
                    serde_json::json!({ "workflow_id": workflow_id, "reviewer": review.reviewer }),
                ),
            )?;
            super::super::notifications::review_assigned(
                conn,
                &review.review_id,
                workflow_id,
                &review.reviewer,
                &actor.email,
                now,
            )?;
            Ok(review)
        }
    }
}

/// Whether `reviewer` may hold the workflow's review: the review decides
/// the ethics step, so its author is held to every separation-of-duties
/// rule a decider is (one person, one step, never one's own request,
/// counting steps decided for someone and quorum approvals).
fn may_review(workflow: &crate::domain::Workflow, reviewer: &str) -> Result<()> {
    workflow.check_reviewer(reviewer).map_err(|refusal| {
        BackendError::Forbidden(format!(
            "{reviewer} may not review {}: {refusal}",
            workflow.workflow_id
        ))
    })
}

/// Hands an unsubmitted review to another reviewer. The draft's answers
/// were the previous reviewer's and stay with them: the new reviewer
/// starts from an empty form.
fn reassign(
    conn: &Connection,
    actor: &User,
    previous: EthicsReview,
    reviewer: &str,
    now: DateTime<Utc>,
) -> Result<EthicsReview> {
    let review = EthicsReview {
        reviewer: reviewer.to_owned(),
        status: ReviewStatus::Assigned,
        answers: Answers::new(),
        form_state: None,
        assigned_at: now,
        updated_at: now,
        submitted_at: None,
        version: previous.version + 1,
        reassign_since: None,
        ..previous.clone()
    };
    conn.prepare_cached(
        "UPDATE reviews SET reviewer = ?2, status = ?3, answers = ?4, form_state = NULL, assigned_at = ?5,
           updated_at = ?5, submitted_at = NULL, version = ?6, reassign_since = NULL
         WHERE review_id = ?1",
    )?
    .execute(params![
        review.review_id,
        review.reviewer,
        review.status.as_str(),
        to_json(&review.answers)?,
        to_ms(now),
        review.version,
    ])?;
    super::workflows::mark_reviewer(conn, &review.workflow_id)?;
    super::super::trail::append(
        conn,
        &entry(
            now,
            &actor.email,
            "review",
            &review.review_id,
            "review_reassigned",
            (Some(previous.version), Some(review.version)),
            serde_json::json!({
                "workflow_id": review.workflow_id,
                "from": previous.reviewer,
                "to": review.reviewer,
            }),
        ),
    )?;
    super::super::notifications::review_assigned(
        conn,
        &review.review_id,
        &review.workflow_id,
        &review.reviewer,
        &actor.email,
        now,
    )?;
    Ok(review)
}

pub fn insert_review(conn: &Connection, review: &EthicsReview) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO reviews (review_id, workflow_id, agent_id, reviewer, template_id, status, answers, form_state, assigned_at, updated_at, submitted_at, version, reassign_since)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        review.review_id,
        review.workflow_id,
        review.agent_id,
        review.reviewer,
        review.template_id,
        review.status.as_str(),
        to_json(&review.answers)?,
        review.form_state.as_ref().map(to_json).transpose()?,
        to_ms(review.assigned_at),
        to_ms(review.updated_at),
        review.submitted_at.map(to_ms),
        review.version,
        review.reassign_since.map(to_ms),
    ])?;
    super::workflows::mark_reviewer(conn, &review.workflow_id)
}

/// Saves a draft, or submits (validating everything; immutable afterwards).
pub fn save_review(
    conn: &Connection,
    actor: &User,
    review_id: &str,
    answers: &Answers,
    form_state: Option<&serde_json::Value>,
    submit: bool,
    now: DateTime<Utc>,
) -> Result<EthicsReview> {
    check_person(actor, "writing a review")?;
    let review = reads::review(conn, review_id)?;
    if !review.reviewer.eq_ignore_ascii_case(&actor.email) {
        return Err(BackendError::Forbidden(format!(
            "review {review_id} is assigned to {}, not to you",
            review.reviewer
        )));
    }
    if review.status == ReviewStatus::Submitted {
        return Err(BackendError::Conflict(format!(
            "review {review_id} was submitted and can no longer change"
        )));
    }
    if submit {
        // Steps decided since the assignment (before this rule held) are
        // checked again: the submitted review decides the ethics step.
        may_review(&reads::workflow(conn, &review.workflow_id)?, &actor.email)?;
    }
    let template = reads::review_template(conn, &review.template_id)?;
    let mode = if submit {
        ValidationMode::Submit
    } else {
        ValidationMode::Draft
    };
    let issues = review::validate(&template, answers, mode);
    if !issues.is_empty() {
        return Err(BackendError::InvalidReview(issues));
    }
    let form_state_text = form_state.map(to_json).transpose()?;
    if form_state_text
        .as_ref()
        .is_some_and(|text| text.len() > 16 * 1024)
    {
        return Err(BackendError::Invalid(
            "form state is larger than 16 KB".into(),
        ));
    }
    let status = if submit {
        ReviewStatus::Submitted
    } else {
        ReviewStatus::Draft
    };
    let next = EthicsReview {
        status,
        answers: answers.clone(),
        form_state: if submit { None } else { form_state.cloned() },
        updated_at: now,
        submitted_at: submit.then_some(now),
        version: review.version + 1,
        ..review.clone()
    };
    conn.prepare_cached(
        "UPDATE reviews SET status = ?2, answers = ?3, form_state = ?4, updated_at = ?5, submitted_at = ?6, version = ?7
         WHERE review_id = ?1",
    )?
    .execute(params![
        review_id,
        status.as_str(),
        to_json(&next.answers)?,
        if submit { None } else { form_state_text },
        to_ms(now),
        next.submitted_at.map(to_ms),
        next.version,
    ])?;
    // Autosaves would flood the trail; it records the first draft and the
    // submission, which are the changes a compliance file cares about.
    let action = match (submit, review.status) {
        (true, _) => Some("review_submitted"),
        (false, ReviewStatus::Assigned) => Some("review_started"),
        (false, _) => None,
    };
    if let Some(action) = action {
        let details = if submit {
            // The answers live in the review row; the trail pins them by hash,
            // so any later edit of a submitted review is detectable.
            serde_json::json!({ "answers_sha256": crate::domain::replay::answers_sha256(&next.answers) })
        } else {
            serde_json::json!({})
        };
        super::super::trail::append(
            conn,
            &entry(
                now,
                &actor.email,
                "review",
                review_id,
                action,
                (Some(review.version), Some(next.version)),
                details,
            ),
        )?;
    }
    if submit {
        // A submitted review may meet an obligation.
        super::coverage::refresh_coverage(conn, &next.agent_id, now)?;
    }
    Ok(next)
}
