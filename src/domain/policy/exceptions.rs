//! Time-bound exceptions to one policy for one agent version: what a set
//! says about granting them (`[exceptions]`), and what evaluation needs of
//! one in force. The life of an exception (asked, approved step by step,
//! revoked, lapsed) is `domain::exception`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::policy::vocabulary::Vocabulary;
use crate::domain::role::Role;

/// The longest a set may let an exception run.
pub const LONGEST_MAX_DAYS: u32 = 366;

/// Who approves an exception and for how long one may run. A set without
/// `[exceptions]` gets these defaults: a technical lead, then a compliance
/// officer, for at most 90 days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRules {
    /// The roles that approve, in order, after the person asking: never
    /// that person, and each step someone who approved no earlier one.
    #[serde(default = "default_chain")]
    pub chain: Vec<Role>,
    /// The longest an exception may run, in days from when it is asked
    /// for; 0: the organisation grants none.
    #[serde(default = "default_max_days")]
    pub max_days: u32,
    /// Policies never set aside, whoever approves (a duty of law, say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_for: Vec<String>,
}

fn default_chain() -> Vec<Role> {
    vec![Role::TechnicalLead, Role::ComplianceOfficer]
}

fn default_max_days() -> u32 {
    90
}

impl Default for ExceptionRules {
    fn default() -> Self {
        ExceptionRules {
            chain: default_chain(),
            max_days: default_max_days(),
            not_for: Vec::new(),
        }
    }
}

impl ExceptionRules {
    pub fn is_default(&self) -> bool {
        *self == ExceptionRules::default()
    }

    /// Whether the set grants exceptions at all.
    pub fn grants(&self) -> bool {
        self.max_days > 0
    }

    /// Whether an exception may set `policy_id` aside.
    pub fn allows(&self, policy_id: &str) -> bool {
        !self.not_for.iter().any(|never| never == policy_id)
    }

    /// The problems of the section, each with the field it is about;
    /// `policy_ids` are the set's.
    pub fn check<'a>(
        &self,
        vocabulary: &Vocabulary,
        mut policy_ids: impl Iterator<Item = &'a str>,
    ) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let known: Vec<&str> = policy_ids.by_ref().collect();
        for never in &self.not_for {
            if !known.contains(&never.as_str()) {
                problems.push((
                    "exceptions.not_for".to_owned(),
                    format!("names {never:?}, which is not a policy of this set"),
                ));
            }
        }
        if self.max_days > LONGEST_MAX_DAYS {
            problems.push((
                "exceptions.max_days".to_owned(),
                format!(
                    "is {}; an exception runs at most {LONGEST_MAX_DAYS} days (0: none are granted)",
                    self.max_days
                ),
            ));
        }
        if self.grants() && self.chain.is_empty() {
            problems.push((
                "exceptions.chain".to_owned(),
                "names no role: an exception is approved by someone besides the person asking (set max_days = 0 to grant none)".to_owned(),
            ));
        }
        if self.chain.len() > 8 {
            problems.push((
                "exceptions.chain".to_owned(),
                format!("has {} steps; at most 8", self.chain.len()),
            ));
        }
        for role in &self.chain {
            if let Err(err) = vocabulary.check_role("exceptions.chain", *role) {
                problems.push(("exceptions.chain".to_owned(), err.to_string()));
            }
        }
        problems
    }
}

/// An exception in force for the version evaluated: the policy it sets
/// aside, until when, and on whose word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AppliedException {
    pub exception_id: String,
    pub policy_id: String,
    /// When the policy applies again.
    pub until: DateTime<Utc>,
    pub requested_by: String,
    /// Who approved it, in chain order.
    pub approved_by: Vec<String>,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
}

impl AppliedException {
    /// One line for a deployment check.
    pub fn describe(&self) -> String {
        let ticket = self
            .ticket
            .as_deref()
            .map(|ticket| format!(", ticket {ticket}"))
            .unwrap_or_default();
        format!(
            "policy {} is set aside by exception {} until {} (asked by {}, approved by {}{ticket})",
            self.policy_id,
            self.exception_id,
            self.until.format("%Y-%m-%d %H:%M UTC"),
            self.requested_by,
            self.approved_by.join(", "),
        )
    }
}
