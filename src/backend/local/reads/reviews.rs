//! Ethics reviews and their templates.

use crate::db::{Connection, OptionalExtension, params};

use super::super::rows::{from_json, from_ms, parse};
use crate::backend::types::{ReviewSummary, User};
use crate::backend::{BackendError, Result};

use crate::domain::{EthicsReview, ReviewStatus, ReviewTemplate};

use crate::domain::Answers;

pub const REVIEW_COLUMNS: &str = "review_id, workflow_id, agent_id, reviewer, template_id, status, answers, \
    form_state, assigned_at, updated_at, submitted_at, version, reassign_since";

pub type RawReview = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    i64,
    Option<i64>,
);

pub fn raw_review(row: &crate::db::Row<'_>) -> crate::db::Result<RawReview> {
    row.try_into()
}

pub fn parse_review(raw: RawReview) -> Result<EthicsReview> {
    let (
        review_id,
        workflow_id,
        agent_id,
        reviewer,
        template_id,
        status,
        answers,
        form_state,
        assigned_at,
        updated_at,
        submitted_at,
        version,
        reassign_since,
    ) = raw;
    Ok(EthicsReview {
        review_id,
        workflow_id,
        agent_id,
        reviewer,
        template_id,
        status: parse("review status", &status)?,
        answers: from_json("review answers", &answers)?,
        form_state: form_state
            .map(|text| from_json("review form state", &text))
            .transpose()?,
        assigned_at: from_ms(assigned_at)?,
        updated_at: from_ms(updated_at)?,
        submitted_at: submitted_at.map(from_ms).transpose()?,
        version,
        reassign_since: reassign_since.map(from_ms).transpose()?,
    })
}

pub fn review(conn: &Connection, review_id: &str) -> Result<EthicsReview> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {REVIEW_COLUMNS} FROM reviews WHERE review_id = ?1"
        ))?
        .query_row([review_id], raw_review)
        .optional()?
        .ok_or_else(|| BackendError::not_found("review", review_id))?;
    parse_review(raw)
}

pub fn review_for_workflow(conn: &Connection, workflow_id: &str) -> Result<Option<EthicsReview>> {
    conn.prepare_cached(&format!(
        "SELECT {REVIEW_COLUMNS} FROM reviews WHERE workflow_id = ?1"
    ))?
    .query_row([workflow_id], raw_review)
    .optional()?
    .map(parse_review)
    .transpose()
}

pub fn reviews_of(
    conn: &Connection,
    email: &str,
    status: Option<ReviewStatus>,
) -> Result<Vec<ReviewSummary>> {
    let mut statement = conn.prepare_cached(
        "SELECT r.review_id, r.workflow_id, r.agent_id, COALESCE(a.name, r.agent_id), r.status, r.assigned_at, r.updated_at
         FROM reviews r LEFT JOIN agents a ON a.agent_id = r.agent_id
         WHERE r.reviewer = ?1 AND (?2 IS NULL OR r.status = ?2)
         ORDER BY r.assigned_at DESC LIMIT 1000",
    )?;
    let raws = statement
        .query_map(params![email, status.map(|s| s.as_str())], |row| {
            Ok((
                row.get::<String>(0)?,
                row.get::<String>(1)?,
                row.get::<String>(2)?,
                row.get::<String>(3)?,
                row.get::<String>(4)?,
                row.get::<i64>(5)?,
                row.get::<i64>(6)?,
            ))
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;
    raws.into_iter()
        .map(
            |(review_id, workflow_id, agent_id, agent_name, status, assigned_at, updated_at)| {
                Ok(ReviewSummary {
                    review_id,
                    workflow_id,
                    agent_id,
                    agent_name,
                    status: parse("review status", &status)?,
                    assigned_at: from_ms(assigned_at)?,
                    updated_at: from_ms(updated_at)?,
                })
            },
        )
        .collect()
}

pub fn review_template(conn: &Connection, template_id: &str) -> Result<ReviewTemplate> {
    let body: String = conn
        .prepare_cached("SELECT body FROM review_templates WHERE template_id = ?1")?
        .query_row([template_id], |row| row.get(0))
        .optional()?
        .ok_or_else(|| BackendError::not_found("review template", template_id))?;
    from_json("review template", &body)
}

pub fn default_template_id(conn: &Connection) -> Result<String> {
    // The first stored; PostgreSQL has no row ids, and its store holds
    // only the template its migration wrote.
    let first = match conn.dialect() {
        crate::db::Dialect::Sqlite => {
            "SELECT template_id FROM review_templates ORDER BY rowid LIMIT 1"
        }
        crate::db::Dialect::Postgres => {
            "SELECT template_id FROM review_templates ORDER BY template_id LIMIT 1"
        }
    };
    conn.query_row(first, crate::db::params![], |row| row.get(0))
        .optional()?
        .ok_or_else(|| BackendError::Storage("the store has no review template".into()))
}

/// What `reader` may see of a review. A submitted review is the record and
/// anyone may read it; until then its answers are the reviewer's alone, and
/// others see who holds it and its state (so every screen tells the same
/// truth about whose step the ethics step is). No reader is whoever owns
/// the store file, who can read it anyway.
pub fn visible_to(review: EthicsReview, reader: Option<&User>) -> EthicsReview {
    let whole = reader.is_none_or(|reader| {
        review.status == ReviewStatus::Submitted || reader.is(&review.reviewer)
    });
    if whole {
        review
    } else {
        EthicsReview {
            answers: Answers::new(),
            form_state: None,
            ..review
        }
    }
}
