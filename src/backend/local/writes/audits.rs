//! Bias audits.

use super::checks::check_permission;
use super::stamps::entry;
use super::stamps::next_id;
use super::standings::refresh_standing;
use crate::db::{Connection, OptionalExtension, params};

use super::super::reads::{self};
use super::super::rows::{to_json, to_ms};
use chrono::{DateTime, Utc};

use crate::backend::{BackendError, Result};

use crate::backend::types::User;
use crate::domain::bias::verdict::AuditFacts;
use crate::domain::bias::{self, AuditSubmission};
use crate::domain::{BiasAudit, TrailEntry};

/// How far ahead of this clock a `tested_at` may be (clock skew).
pub const TESTED_AT_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// Records a bias audit computed from its groups' counts. The audit stores
/// figures; whether it passes is decided when a policy that requires it is
/// evaluated, against that policy's threshold.
pub fn record_audit(
    conn: &Connection,
    actor: &User,
    submission: &AuditSubmission,
    now: DateTime<Utc>,
) -> Result<BiasAudit> {
    check_may_record_audits(conn, actor, "recording a bias audit")?;
    if submission.threshold.is_some() {
        return Err(BackendError::Invalid(
            "threshold: an audit does not set its own threshold; the policy that requires the audit does".into(),
        ));
    }
    if let Some(tested_at) = submission.tested_at
        && tested_at > now + TESTED_AT_SKEW
    {
        return Err(BackendError::Invalid(format!(
            "tested_at {tested_at} is in the future (this server's clock says {now})"
        )));
    }
    if submission.agent_version.trim().is_empty() || submission.agent_version.len() > 256 {
        return Err(BackendError::Invalid(
            "agent_version must be 1 to 256 bytes".into(),
        ));
    }
    if submission.groups.is_empty() == submission.attributes.is_empty() {
        return Err(BackendError::Invalid(
            "an audit gives either groups (one attribute) or attributes (a table per attribute and intersection), not both or neither".into(),
        ));
    }
    if let Some(source) = &submission.source {
        source.check().map_err(BackendError::Invalid)?;
    }
    record_counts(
        conn,
        actor,
        &Counts {
            agent_id: &submission.agent_id,
            agent_version: &submission.agent_version,
            tested_at: submission.tested_at.unwrap_or(now),
            groups: &submission.groups,
            tables: &submission.attributes,
            mode: submission.mode,
            source: submission.source.as_ref(),
            attribute: None,
            run_id: None,
            warnings: Vec::new(),
        },
        now,
    )
}

/// Refuses an actor whom the active policy set does not let record audits.
pub fn check_may_record_audits(conn: &Connection, actor: &User, doing: &str) -> Result<()> {
    let set = super::super::reads::policy_set(conn)?;
    check_permission(actor, &set.permissions().record_audits, doing)
}

/// What an audit is computed from.
pub struct Counts<'a> {
    pub agent_id: &'a str,
    pub agent_version: &'a str,
    pub tested_at: DateTime<Utc>,
    pub groups: &'a [bias::GroupCounts],
    /// A table per attribute and intersection, instead of `groups`.
    pub tables: &'a [bias::TableCounts],
    pub mode: bias::RateMode,
    pub source: Option<&'a bias::AuditSource>,
    /// The attribute `groups` are categories of, when known.
    pub attribute: Option<&'a str>,
    /// The run it came from, when Gavel ran it.
    pub run_id: Option<&'a str>,
    /// Said beside the statistics' own warnings.
    pub warnings: Vec<String>,
}

/// Records an audit of an agent version from its groups' counts, held to
/// the threshold of the policies that require it of this agent; the trail
/// says who recorded it.
pub fn record_counts(
    conn: &Connection,
    actor: &User,
    counts: &Counts<'_>,
    now: DateTime<Utc>,
) -> Result<BiasAudit> {
    let agent = reads::agent(conn, counts.agent_id)?;
    let threshold = reads::policy_set(conn)?.audit_threshold(&agent);
    let (mut stats, tables) = if counts.tables.is_empty() {
        let stats = bias::compute(counts.groups, threshold)
            .map_err(|err| BackendError::Invalid(err.to_string()))?;
        (stats, Vec::new())
    } else {
        bias::compute_multi(counts.tables, threshold).map_err(BackendError::Invalid)?
    };
    stats.warnings.extend(counts.warnings.iter().cloned());
    let audit = BiasAudit {
        audit_id: next_id(conn, "audits", "aud")?,
        agent_id: counts.agent_id.to_owned(),
        agent_version: counts.agent_version.to_owned(),
        tested_at: counts.tested_at,
        recorded_by: Some(actor.email.clone()),
        recorded_at: Some(now),
        run_id: counts.run_id.map(str::to_owned),
        attribute: counts.attribute.map(str::to_owned),
        source: counts.source.cloned(),
        // Independence is grounded in who records, never in the claim.
        independence: counts
            .source
            .filter(|source| {
                source.independent && actor.holds(crate::domain::Role::IndependentAuditor)
            })
            .map(|_| bias::Independence::AuditorAccount {
                by: actor.email.clone(),
            }),
        mode: counts.mode,
        attributes: tables,
        stats,
    };
    insert_audit(conn, &audit)?;
    super::coverage::refresh_coverage(conn, &audit.agent_id, now)?;
    super::super::trail::append(conn, &audit_entry(&audit, &actor.email, now))?;
    Ok(audit)
}

pub fn audit_entry(audit: &BiasAudit, actor: &str, at: DateTime<Utc>) -> TrailEntry {
    entry(
        at,
        actor,
        "audit",
        &audit.audit_id,
        "audit_recorded",
        (None, None),
        serde_json::json!({
            "agent_id": audit.agent_id,
            "agent_version": audit.agent_version,
            "disparate_impact_ratio": audit.stats.disparate_impact_ratio,
            "passes_threshold": audit.stats.passes_threshold,
            "run_id": audit.run_id,
            "source_sha256": crate::domain::bias::replay::audit_source_sha256(audit.source.as_ref()),
            "independence": audit.independence.as_ref().map(bias::Independence::basis),
        }),
    )
}

/// Records an audit and judges its agent's standing again.
pub fn insert_audit(conn: &Connection, audit: &BiasAudit) -> Result<()> {
    insert_audit_row(conn, audit)?;
    refresh_standing(conn, &audit.agent_id)
}

/// Records an audit only: for the seed, which judges every standing once
/// at the end.
pub fn insert_audit_row(conn: &Connection, audit: &BiasAudit) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audits (audit_id, agent_id, agent_version, tested_at, passes, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        audit.audit_id,
        audit.agent_id,
        audit.agent_version,
        to_ms(audit.tested_at),
        audit.stats.passes_threshold,
        to_json(audit)?,
    ])?;
    // The board report's weekly audits, under the agent's team.
    let team: Option<String> = conn
        .prepare_cached("SELECT team FROM agents WHERE agent_id = ?1")?
        .query_row([&audit.agent_id], |row| row.get(0))
        .optional()?;
    if let Some(team) = team {
        use crate::domain::figures::ReportFigure;
        let figures: &[ReportFigure] = if audit.stats.passes_threshold {
            &[ReportFigure::Audit]
        } else {
            &[ReportFigure::Audit, ReportFigure::AuditFailing]
        };
        for figure in figures {
            super::figures::count_report_figure(conn, audit.tested_at, &team, *figure, 1)?;
        }
    }
    // The newest of its version: what the standings read.
    conn.prepare_cached(
        "INSERT INTO latest_audits (agent_id, agent_version, tested_at, audit_id, facts) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (agent_id, agent_version) DO UPDATE
         SET tested_at = excluded.tested_at, audit_id = excluded.audit_id, facts = excluded.facts
         WHERE (excluded.tested_at, excluded.audit_id) > (latest_audits.tested_at, latest_audits.audit_id)",
    )?
    .execute(params![
        audit.agent_id,
        audit.agent_version,
        to_ms(audit.tested_at),
        audit.audit_id,
        to_json(&AuditFacts::from(audit))?,
    ])?;
    Ok(())
}

/// A compliance officer confirms that an imported audit's auditor is
/// independent, naming the auditor: then the audit meets duties that ask
/// for an independent auditor. Not its recorder (four eyes), only an audit
/// whose source claims independence, and only once.
pub fn confirm_audit_independence(
    conn: &Connection,
    actor: &User,
    request: &bias::IndependenceConfirmation,
    now: DateTime<Utc>,
) -> Result<BiasAudit> {
    if !actor.holds(crate::domain::Role::ComplianceOfficer) {
        return Err(BackendError::Forbidden(
            "confirming an auditor's independence needs the compliance_officer role".into(),
        ));
    }
    let comment = request.comment.trim();
    if !crate::text::has_visible_text(comment) || comment.len() > 2000 {
        return Err(BackendError::Invalid(
            "comment: say how the auditor's independence was established (1 to 2,000 bytes)".into(),
        ));
    }
    let body: String = conn
        .prepare_cached("SELECT body FROM audits WHERE audit_id = ?1")?
        .query_row(params![request.audit_id], |row| row.get(0))
        .optional()?
        .ok_or_else(|| BackendError::not_found("audit", &request.audit_id))?;
    let mut audit = reads::parse_audit(&body)?;
    let Some(source) = audit.source.as_ref().filter(|source| source.independent) else {
        return Err(BackendError::Invalid(format!(
            "audit {} does not claim an independent auditor: only an imported audit whose source says so can be confirmed",
            audit.audit_id
        )));
    };
    if !source
        .auditor
        .trim()
        .eq_ignore_ascii_case(request.auditor.trim())
    {
        return Err(BackendError::Invalid(format!(
            "audit {} names its auditor {:?}; the confirmation must name the same auditor",
            audit.audit_id, source.auditor
        )));
    }
    if audit
        .recorded_by
        .as_deref()
        .is_some_and(|by| by.eq_ignore_ascii_case(&actor.email))
    {
        return Err(BackendError::Forbidden(
            "you recorded this audit: another compliance officer confirms its auditor's independence"
                .into(),
        ));
    }
    if let Some(already) = &audit.independence {
        return Err(BackendError::Conflict(format!(
            "audit {}'s auditor is already independent ({} by {})",
            audit.audit_id,
            already.basis(),
            already.by()
        )));
    }
    audit.independence = Some(bias::Independence::Confirmed {
        by: actor.email.clone(),
        at: now,
        comment: comment.to_owned(),
    });
    conn.prepare_cached("UPDATE audits SET body = ?2 WHERE audit_id = ?1")?
        .execute(params![audit.audit_id, to_json(&audit)?])?;
    super::super::trail::append(
        conn,
        &entry(
            now,
            &actor.email,
            "audit",
            &audit.audit_id,
            "audit_independence_confirmed",
            (None, None),
            serde_json::json!({
                "auditor": source_auditor(&audit),
                "comment": comment,
            }),
        ),
    )?;
    super::coverage::refresh_coverage(conn, &audit.agent_id, now)?;
    Ok(audit)
}

fn source_auditor(audit: &BiasAudit) -> &str {
    audit
        .source
        .as_ref()
        .map_or("", |source| source.auditor.as_str())
}
