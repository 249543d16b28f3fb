//! Policy set versions: proposed by a policy admin, approved or rejected by
//! another (four eyes); approval makes a version the active one in the same
//! transaction that supersedes the last, so an evaluation sees one or the
//! other, never a mix. A version's text never changes after it is proposed
//! (the table's triggers refuse it too).

use super::checks::check_person;
use super::stamps::entry;
use super::standings::rebuild_standings;
use crate::db::{Connection, OptionalExtension, params};

use super::super::reads;
use super::super::rows::to_ms;
use super::super::trail::TrailWriter;
use chrono::{DateTime, Utc};

use crate::backend::{BackendError, Result};
use crate::domain::TrailEntry;

use crate::backend::types::{PolicySetDetail, PolicySetState, User};
use crate::domain::Role;
use crate::domain::policy::set::{Checks, PolicySet, PolicySetFile, Source};

/// Checks a set's text as a proposal is checked: every problem, listed.
pub fn check_set(text: &str) -> Result<PolicySet> {
    PolicySetFile::parse(text)
        .and_then(|file| PolicySet::compile(file, Checks::Full))
        .map_err(|errors| {
            BackendError::Invalid(format!(
                "the policy set has {} error{}:\n{}",
                errors.0.len(),
                if errors.0.len() == 1 { "" } else { "s" },
                errors
                    .0
                    .iter()
                    .map(|err| format!("  {err}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ))
        })
}

/// A policy set version's event in the trail.
fn set_event(
    actor: &str,
    version: i64,
    action: &str,
    details: serde_json::Value,
    at: DateTime<Utc>,
) -> TrailEntry {
    entry(
        at,
        actor,
        "policy_set",
        &version.to_string(),
        action,
        (None, None),
        details,
    )
}

pub fn require_policy_admin(user: &User, doing: &str) -> Result<()> {
    if user.holds(Role::PolicyAdmin) {
        Ok(())
    } else {
        Err(BackendError::Forbidden(format!(
            "{doing} needs the policy_admin role, which {} does not hold",
            user.email
        )))
    }
}

/// What a proposal records besides its text, worked out before the write
/// (in a read, so the writers' lock is never held while agents are
/// simulated): the checked set and its plan against the active version.
pub struct Proposal {
    pub set: PolicySet,
    /// The active version the plan compares with.
    pub based_on: i64,
    pub plan: serde_json::Value,
}

fn active_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT version FROM policy_sets WHERE state = 'active'",
        crate::db::params![],
        |row| row.get(0),
    )?)
}

/// Plans a checked set against the active version.
pub fn plan_proposal(conn: &Connection, set: PolicySet, now: DateTime<Utc>) -> Result<Proposal> {
    let based_on = active_version(conn)?;
    let (diff, impact) = reads::plan(conn, &set, now)?;
    Ok(Proposal {
        set,
        based_on,
        plan: serde_json::json!({ "diff": diff, "impact": impact }),
    })
}

/// Records `text` as a new proposed version, with its plan against the
/// active version (checked, planned and recorded in one go: the embedded
/// store's own history).
pub fn propose_policy_set(
    conn: &Connection,
    user: &User,
    text: &str,
    now: DateTime<Utc>,
) -> Result<PolicySetDetail> {
    require_policy_admin(user, "proposing a policy set")?;
    let proposal = plan_proposal(conn, check_set(text)?, now)?;
    record_proposal(conn, user, text, &proposal, now)
}

/// Records a proposal planned beforehand, unless another version became
/// active meanwhile (its plan would compare with the wrong one).
pub fn record_proposal(
    conn: &Connection,
    user: &User,
    text: &str,
    proposal: &Proposal,
    now: DateTime<Utc>,
) -> Result<PolicySetDetail> {
    require_policy_admin(user, "proposing a policy set")?;
    let (proposed, plan) = (&proposal.set, &proposal.plan);
    let active = active_version(conn)?;
    if active != proposal.based_on {
        return Err(BackendError::Conflict(format!(
            "version {active} became active while the proposal was planned against version {}: propose it again",
            proposal.based_on
        )));
    }
    let version: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM policy_sets",
        crate::db::params![],
        |row| row.get(0),
    )?;
    let source = Source::new(text, &proposed.file.description);
    conn.prepare_cached(
        "INSERT INTO policy_sets (version, source, source_hash, description, based_on, plan, proposed_by, proposed_at, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'proposed')",
    )?
    .execute(params![
        version,
        source.text,
        source.sha256,
        source.description,
        active,
        plan.to_string(),
        user.email,
        to_ms(now),
    ])?;
    let mut trail = TrailWriter::resume(conn)?;
    trail.append(
        conn,
        &set_event(
            &user.email,
            version,
            "policy_set_proposed",
            serde_json::json!({
                "sha256": source.sha256,
                "based_on": active,
                "policies": proposed.policies().len(),
            }),
            now,
        ),
    )?;
    super::super::notifications::policy_set_proposed(
        conn,
        version,
        &user.email,
        &source.description,
        now,
    )?;
    reads::policy_set_detail(conn, version)
}

/// Approves or rejects a proposed version.
pub fn decide_policy_set(
    conn: &Connection,
    user: &User,
    version: i64,
    approve: bool,
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> Result<PolicySetDetail> {
    let doing = if approve {
        "approving a policy set"
    } else {
        "rejecting a policy set"
    };
    check_person(user, doing)?;
    require_policy_admin(user, doing)?;
    let detail = reads::policy_set_detail(conn, version)?;
    let summary = &detail.version;
    if summary.state != PolicySetState::Proposed {
        return Err(BackendError::Conflict(format!(
            "policy set version {version} is {}, not proposed: only a proposal is decided",
            summary.state
        )));
    }
    if user.is(&summary.proposed_by) {
        return Err(BackendError::Forbidden(format!(
            "four eyes: {} proposed version {version}; another policy admin must decide it",
            summary.proposed_by
        )));
    }
    let comment = comment
        .map(str::trim)
        .filter(|comment| crate::text::has_visible_text(comment));
    if !approve && comment.is_none() {
        return Err(BackendError::Invalid(
            "a rejection needs a comment saying why".into(),
        ));
    }
    if comment.is_some_and(|comment| comment.len() > 8 * 1024) {
        return Err(BackendError::Invalid(
            "the comment is longer than 8 KiB".into(),
        ));
    }
    let active: Option<i64> = conn
        .query_row(
            "SELECT version FROM policy_sets WHERE state = 'active'",
            crate::db::params![],
            |row| row.get(0),
        )
        .optional()?;
    if approve && active != summary.based_on {
        return Err(BackendError::Conflict(format!(
            "version {version} was planned against version {} but version {} is active now: propose its text again to see what it would change today",
            summary.based_on.map_or("none".into(), |v| v.to_string()),
            active.map_or("none".into(), |v| v.to_string()),
        )));
    }
    let mut trail = TrailWriter::resume(conn)?;
    if approve && let Some(active) = active {
        conn.execute(
            "UPDATE policy_sets SET state = 'superseded' WHERE version = ?1",
            [active],
        )?;
        trail.append(
            conn,
            &set_event(
                &user.email,
                active,
                "policy_set_superseded",
                serde_json::json!({ "by": version }),
                now,
            ),
        )?;
    }
    conn.execute(
        "UPDATE policy_sets SET state = ?2, decided_by = ?3, decided_at = ?4, comment = ?5 WHERE version = ?1",
        params![
            version,
            if approve { "active" } else { "rejected" },
            user.email,
            to_ms(now),
            comment
        ],
    )?;
    if approve {
        // Which policies require an audit, and how, changed with the set.
        rebuild_standings(conn)?;
        // So did the frameworks adopted and what meets them: the coverage
        // is filled again a slice at a time, after this commits
        // (`LocalStore::fill_coverage`).
        super::coverage::restart_coverage(conn)?;
    }
    trail.append(
        conn,
        &set_event(
            &user.email,
            version,
            if approve {
                "policy_set_approved"
            } else {
                "policy_set_rejected"
            },
            serde_json::json!({ "comment": comment, "sha256": summary.source_sha256 }),
            now,
        ),
    )?;
    reads::policy_set_detail(conn, version)
}
