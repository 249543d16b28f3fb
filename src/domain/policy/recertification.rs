//! How long an agent's approval stands before people look at it again
//! (`[recertification]`), and what a check finds of the approval standing
//! for the version it checks.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::agent::RiskTier;
use crate::domain::policy::span::parse_age;
use crate::domain::policy::vocabulary::Vocabulary;
use crate::domain::role::Role;

/// The rule's id where a check or a request names it.
pub const RECERTIFICATION_RULE: &str = "recertification_due";

/// The longest an approval may stand.
const LONGEST: TimeDelta = TimeDelta::days(3 * 366);

/// A set without `[recertification]` lets approvals stand until the agent
/// changes, unless the version goes unused for 90 days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecertificationRules {
    /// By risk tier, how long the approval of an agent's version stands
    /// (`high = "180d"`); a tier not named: until the agent changes.
    #[serde(default)]
    pub after: BTreeMap<RiskTier, String>,
    /// Who recertifies an agent unchanged since its approval, instead of
    /// the chains its policies give a new request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchanged_chain: Vec<Role>,
    /// How long an approved version may go without a deployment check
    /// before it is dormant and recertified before its next use (`90d`);
    /// `"off"`: never.
    #[serde(default = "default_dormant_after")]
    pub dormant_after: String,
}

fn default_dormant_after() -> String {
    "90d".into()
}

impl Default for RecertificationRules {
    fn default() -> Self {
        RecertificationRules {
            after: BTreeMap::new(),
            unchanged_chain: Vec::new(),
            dormant_after: default_dormant_after(),
        }
    }
}

impl RecertificationRules {
    pub fn is_default(&self) -> bool {
        *self == RecertificationRules::default()
    }

    /// How long an approved version may go unused, if the set says.
    pub fn dormancy(&self) -> Option<TimeDelta> {
        (self.dormant_after != "off")
            .then(|| parse_age(&self.dormant_after).ok())
            .flatten()
    }

    /// How long an approval of an agent of `tier` stands, if it lapses.
    pub fn period(&self, tier: RiskTier) -> Option<TimeDelta> {
        self.after.get(&tier).and_then(|text| parse_age(text).ok())
    }

    /// The problems of the section, each with the field it is about.
    pub fn check(&self, vocabulary: &Vocabulary) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        for (tier, text) in &self.after {
            match parse_age(text) {
                Ok(span) if span > LONGEST => problems.push((
                    format!("recertification.after.{tier}"),
                    format!("{text} is longer than three years"),
                )),
                Ok(span) if span < TimeDelta::days(1) => problems.push((
                    format!("recertification.after.{tier}"),
                    format!("{text} is shorter than a day"),
                )),
                Ok(_) => {}
                Err(message) => {
                    problems.push((format!("recertification.after.{tier}"), message));
                }
            }
        }
        if self.dormant_after != "off" {
            match parse_age(&self.dormant_after) {
                Ok(span) if span < TimeDelta::days(7) => problems.push((
                    "recertification.dormant_after".to_owned(),
                    format!("{} is shorter than a week", self.dormant_after),
                )),
                Ok(span) if span > LONGEST => problems.push((
                    "recertification.dormant_after".to_owned(),
                    format!("{} is longer than three years", self.dormant_after),
                )),
                Ok(_) => {}
                Err(message) => problems.push((
                    "recertification.dormant_after".to_owned(),
                    format!("{message} (or \"off\")"),
                )),
            }
        }
        for role in &self.unchanged_chain {
            if let Err(err) = vocabulary.check_role("recertification.unchanged_chain", *role) {
                problems.push((
                    "recertification.unchanged_chain".to_owned(),
                    err.to_string(),
                ));
            }
        }
        problems
    }
}

/// The approval standing for the version a check names: the agent's
/// record is that version, unchanged, since `since`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Standing {
    /// When it became the agent's record (allowed, or its last approval).
    pub since: DateTime<Utc>,
    /// When it must be recertified, if the set says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<DateTime<Utc>>,
    /// When a deployment check last found it in use (none: not since it
    /// became the record, as far as Gavel knows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<DateTime<Utc>>,
    /// When it is dormant from, unused, if the set says: its next use
    /// needs recertification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dormant_from: Option<DateTime<Utc>>,
}

impl Standing {
    /// Whether its recertification is due at `now`: its period passed, or
    /// it went unused too long.
    pub fn lapsed(&self, now: DateTime<Utc>) -> bool {
        self.due.is_some_and(|due| now >= due) || self.dormant(now)
    }

    /// Whether it went unused for longer than the set allows.
    pub fn dormant(&self, now: DateTime<Utc>) -> bool {
        self.dormant_from.is_some_and(|from| now >= from)
    }
}
