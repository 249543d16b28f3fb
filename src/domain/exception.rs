//! The life of an exception to one policy for one agent version: asked
//! for by a person with a reason and an end, approved by each role of the
//! chain the set gave when it was asked (never by the person asking, each
//! step by someone new), in force until its end unless revoked. Nothing
//! here reads a clock: every rule takes the store's `now`.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::policy::exceptions::{AppliedException, ExceptionRules};
use crate::domain::role::Role;

pub mod replay;
#[cfg(test)]
mod tests;

/// The most bytes a reason, a comment or a ticket link holds.
pub const MAX_EXCEPTION_TEXT: usize = 2_000;
/// The most bytes the compensating controls hold.
pub const MAX_CONTROLS_TEXT: usize = 4_000;
/// How many exceptions one person may have waiting for approval at once.
pub const MAX_PENDING_PER_PERSON: u64 = 20;
/// An exception ending within this many days counts as expiring.
pub const EXPIRING_WITHIN_DAYS: i64 = 14;

/// What the store keeps: the decisions taken. Lapsing is read from the
/// clock, never written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionStatus {
    Pending,
    Active,
    Rejected,
    Revoked,
}

crate::domain::name::display_as_str!(ExceptionStatus);

impl ExceptionStatus {
    pub const ALL: [ExceptionStatus; 4] = [
        ExceptionStatus::Pending,
        ExceptionStatus::Active,
        ExceptionStatus::Rejected,
        ExceptionStatus::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionStatus::Pending => "pending",
            ExceptionStatus::Active => "active",
            ExceptionStatus::Rejected => "rejected",
            ExceptionStatus::Revoked => "revoked",
        }
    }
}

/// Where an exception stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionState {
    /// Waiting for a step of its chain.
    Pending,
    /// Approved and not yet ended: the policy is set aside.
    Active,
    /// Approved, and its end has passed: the policy applies again.
    Lapsed,
    Rejected,
    Revoked,
}

impl ExceptionState {
    pub const ALL: [ExceptionState; 5] = [
        ExceptionState::Pending,
        ExceptionState::Active,
        ExceptionState::Lapsed,
        ExceptionState::Rejected,
        ExceptionState::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionState::Pending => "pending",
            ExceptionState::Active => "active",
            ExceptionState::Lapsed => "lapsed",
            ExceptionState::Rejected => "rejected",
            ExceptionState::Revoked => "revoked",
        }
    }
}

crate::domain::name::display_as_str!(ExceptionState);

/// One step's approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExceptionApproval {
    pub role: Role,
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Exception {
    pub exception_id: String,
    pub agent_id: String,
    pub agent_version: String,
    pub policy_id: String,
    pub reason: String,
    /// A link to the ticket that tracks the fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// What stands in for the policy meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controls: Option<String>,
    /// When the policy applies again.
    pub until: DateTime<Utc>,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    /// The roles that approve, as the set said when it was asked for.
    pub chain: Vec<Role>,
    pub approvals: Vec<ExceptionApproval>,
    pub status: ExceptionStatus,
    /// Who rejected or revoked it, when, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closing_comment: Option<String>,
    /// The policy set version it was asked under.
    pub policy_set_version: i64,
    /// Bumped by every decision.
    pub version: i64,
    /// Where it stands at the store's clock when it was read (a lapsed
    /// exception keeps the status `active`); never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ExceptionState>,
}

/// An exception as asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewException {
    pub agent_id: String,
    pub agent_version: String,
    pub policy_id: String,
    pub until: DateTime<Utc>,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controls: Option<String>,
}

/// A step's approval or rejection (a rejection says why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExceptionDecision {
    /// The path names it over HTTP.
    #[serde(default)]
    pub exception_id: String,
    pub approve: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The exception's version the decision was made on: a decision on
    /// one that changed meanwhile is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

/// Which exceptions to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExceptionQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ExceptionState>,
    /// Only those whose next step the caller's roles may approve.
    #[serde(default)]
    pub awaiting_me: bool,
}

/// How many exceptions a list returns at most (newest first).
pub const LIST_LIMIT: u32 = 200;

/// Why a rule refused: the store maps each to its error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The person may not do this.
    Forbidden(String),
    /// The exception is no longer where this needs it.
    Conflict(String),
    /// What was given is not acceptable.
    Invalid(String),
}

pub(crate) fn clean_text(
    field: &str,
    text: &str,
    most: usize,
    required: bool,
) -> Result<(), Refusal> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(Refusal::Invalid(format!("{field} is required")));
    }
    if text.len() > most {
        return Err(Refusal::Invalid(format!(
            "{field} is {} bytes; at most {most}",
            text.len()
        )));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Refusal::Invalid(format!(
            "{field} holds control characters"
        )));
    }
    Ok(())
}

/// Checks a request against the set's rules at `now`.
pub fn check_request(
    request: &NewException,
    rules: &ExceptionRules,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    if !rules.grants() {
        return Err(Refusal::Forbidden(
            "the active policy set grants no exceptions ([exceptions] max_days = 0)".into(),
        ));
    }
    if !rules.allows(&request.policy_id) {
        return Err(Refusal::Forbidden(format!(
            "the active policy set never sets {} aside ([exceptions] not_for)",
            request.policy_id
        )));
    }
    clean_text("the agent version", &request.agent_version, 128, true)?;
    if request.agent_version.trim() != request.agent_version {
        return Err(Refusal::Invalid(
            "the agent version has spaces around it".into(),
        ));
    }
    clean_text("the reason", &request.reason, MAX_EXCEPTION_TEXT, true)?;
    if let Some(controls) = &request.controls {
        clean_text("the controls", controls, MAX_CONTROLS_TEXT, false)?;
    }
    if let Some(ticket) = &request.ticket {
        let https = url::Url::parse(ticket)
            .ok()
            .is_some_and(|url| url.scheme() == "https" && url.host_str().is_some());
        if !https || ticket.len() > MAX_EXCEPTION_TEXT {
            return Err(Refusal::Invalid(format!(
                "the ticket must be an https URL of at most {MAX_EXCEPTION_TEXT} bytes"
            )));
        }
    }
    if request.until <= now {
        return Err(Refusal::Invalid(format!(
            "the exception would end in the past ({})",
            request.until.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    let longest = TimeDelta::days(i64::from(rules.max_days));
    if request.until - now > longest {
        return Err(Refusal::Invalid(format!(
            "an exception runs at most {} days under the active policy set: end it by {}",
            rules.max_days,
            (now + longest).format("%Y-%m-%d %H:%M UTC")
        )));
    }
    Ok(())
}

impl Exception {
    /// As read at `now`: with `state` said.
    pub fn read_at(mut self, now: DateTime<Utc>) -> Exception {
        self.state = Some(self.state(now));
        self
    }

    /// Where it stands at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> ExceptionState {
        match self.status {
            ExceptionStatus::Pending => ExceptionState::Pending,
            ExceptionStatus::Active if now < self.until => ExceptionState::Active,
            ExceptionStatus::Active => ExceptionState::Lapsed,
            ExceptionStatus::Rejected => ExceptionState::Rejected,
            ExceptionStatus::Revoked => ExceptionState::Revoked,
        }
    }

    /// Whether it is in force and ends within `EXPIRING_WITHIN_DAYS`.
    pub fn expiring(&self, now: DateTime<Utc>) -> bool {
        self.state(now) == ExceptionState::Active
            && self.until - now <= TimeDelta::days(EXPIRING_WITHIN_DAYS)
    }

    /// Where it stands in a few words: the step it waits for, else its end.
    pub fn progress(&self, now: DateTime<Utc>) -> String {
        match (self.state(now), self.next_role()) {
            (ExceptionState::Pending, Some(role)) => format!(
                "step {}/{} {}",
                self.approvals.len() + 1,
                self.chain.len(),
                role.label()
            ),
            _ => format!("until {}", self.until.format("%Y-%m-%d %H:%M")),
        }
    }

    /// What became of step `index` of its chain: who approved it and when
    /// (with their comment), "waiting", or "-" (not reached). Unsanitized.
    pub fn step_words(&self, index: usize) -> String {
        match self.approvals.get(index) {
            Some(approval) => format!(
                "approved by {} on {}{}",
                approval.by,
                approval.at.format("%Y-%m-%d %H:%M"),
                approval
                    .comment
                    .as_deref()
                    .map(|comment| format!(": {comment}"))
                    .unwrap_or_default()
            ),
            None if self.status == ExceptionStatus::Pending && index == self.approvals.len() => {
                "waiting".to_owned()
            }
            None => "-".to_owned(),
        }
    }

    /// The role its next step waits for, while pending.
    pub fn next_role(&self) -> Option<Role> {
        (self.status == ExceptionStatus::Pending)
            .then(|| self.chain.get(self.approvals.len()).copied())
            .flatten()
    }

    /// What evaluation needs of it, when it is in force at `now`.
    pub fn applied(&self, now: DateTime<Utc>) -> Option<AppliedException> {
        (self.state(now) == ExceptionState::Active).then(|| AppliedException {
            exception_id: self.exception_id.clone(),
            policy_id: self.policy_id.clone(),
            until: self.until,
            requested_by: self.requested_by.clone(),
            approved_by: self
                .approvals
                .iter()
                .map(|approval| approval.by.clone())
                .collect(),
            reason: self.reason.clone(),
            ticket: self.ticket.clone(),
        })
    }

    /// Whether `email` took part: asked for it or approved a step.
    fn involves(&self, email: &str) -> bool {
        self.requested_by.eq_ignore_ascii_case(email)
            || self
                .approvals
                .iter()
                .any(|approval| approval.by.eq_ignore_ascii_case(email))
    }

    /// The next step, approved or rejected by `by` holding `roles`.
    pub fn decide(
        &mut self,
        by: &str,
        roles: &[Role],
        approve: bool,
        comment: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let Some(role) = self.next_role() else {
            return Err(Refusal::Conflict(format!(
                "{} is {}: nothing waits for a decision",
                self.exception_id,
                self.state(now)
            )));
        };
        if !roles.contains(&role) {
            return Err(Refusal::Forbidden(format!(
                "{}'s next step is for {}",
                self.exception_id,
                role.with_article()
            )));
        }
        if self.requested_by.eq_ignore_ascii_case(by) {
            return Err(Refusal::Forbidden(
                "the person who asked for an exception does not decide it".into(),
            ));
        }
        if self.involves(by) {
            return Err(Refusal::Forbidden(
                "you approved an earlier step: each step is someone else's".into(),
            ));
        }
        let comment = comment.map(str::trim).filter(|text| !text.is_empty());
        if let Some(text) = comment {
            clean_text("the comment", text, MAX_EXCEPTION_TEXT, false)?;
        }
        if !approve {
            if comment.is_none() {
                return Err(Refusal::Invalid(
                    "a rejection says why: give a comment".into(),
                ));
            }
            self.status = ExceptionStatus::Rejected;
            self.closed_by = Some(by.to_owned());
            self.closed_at = Some(now);
            self.closing_comment = comment.map(str::to_owned);
        } else {
            if now >= self.until {
                return Err(Refusal::Conflict(format!(
                    "{} ended ({}) before it was approved: ask again",
                    self.exception_id,
                    self.until.format("%Y-%m-%d %H:%M UTC")
                )));
            }
            self.approvals.push(ExceptionApproval {
                role,
                by: by.to_owned(),
                at: now,
                comment: comment.map(str::to_owned),
            });
            if self.approvals.len() == self.chain.len() {
                self.status = ExceptionStatus::Active;
            }
        }
        self.version += 1;
        Ok(())
    }

    /// Ends it now: by the person who asked, or a compliance officer.
    pub fn revoke(
        &mut self,
        by: &str,
        roles: &[Role],
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        if !self.requested_by.eq_ignore_ascii_case(by) && !roles.contains(&Role::ComplianceOfficer)
        {
            return Err(Refusal::Forbidden(
                "an exception is revoked by the person who asked for it or a compliance officer"
                    .into(),
            ));
        }
        match self.state(now) {
            ExceptionState::Pending | ExceptionState::Active => {}
            other => {
                return Err(Refusal::Conflict(format!(
                    "{} is {other}: there is nothing to revoke",
                    self.exception_id
                )));
            }
        }
        clean_text("the reason", reason, MAX_EXCEPTION_TEXT, true)?;
        self.status = ExceptionStatus::Revoked;
        self.closed_by = Some(by.to_owned());
        self.closed_at = Some(now);
        self.closing_comment = Some(reason.trim().to_owned());
        self.version += 1;
        Ok(())
    }
}
