//! What a set says about incidents (`[incidents]`): the severities an
//! incident is reported under, which of them owe a report outside the
//! organisation and by when, which suspend the agent version at once, and
//! whose sign-off lifts a suspension. The life of an incident is
//! `domain::incident`.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::domain::policy::span::parse_age;
use crate::domain::policy::vocabulary::Vocabulary;
use crate::domain::role::Role;

/// The most severities a set names.
const MOST_SEVERITIES: usize = 16;

/// Whom a serious incident is reported to.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReportTo {
    /// The organisation deploys systems others provide: it informs the
    /// provider (EU AI Act Art. 26(5)).
    #[default]
    Provider,
    /// The organisation provides the systems: it reports to the market
    /// surveillance authority (Art. 73).
    Authority,
}

impl ReportTo {
    pub const ALL: [ReportTo; 2] = [ReportTo::Provider, ReportTo::Authority];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportTo::Provider => "provider",
            ReportTo::Authority => "authority",
        }
    }

    /// Who receives the report, in words.
    pub fn label(self) -> &'static str {
        match self {
            ReportTo::Provider => "the provider",
            ReportTo::Authority => "the market surveillance authority",
        }
    }
}

crate::domain::name::display_as_str!(ReportTo);

/// One severity an incident may be reported under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Severity {
    /// `serious`, `death`: lowercase letters, digits and `_`.
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// How long after the organisation became aware the report is due
    /// (`15d`); none: nothing is owed outside the organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_within: Option<String>,
    /// Whether reporting it (by someone concerned with the agent) or
    /// triaging it as this suspends the agent version at once.
    #[serde(default)]
    pub suspend: bool,
}

impl Severity {
    fn new(name: &str, description: &str, report_within: Option<&str>, suspend: bool) -> Severity {
        Severity {
            name: name.to_owned(),
            description: description.to_owned(),
            report_within: report_within.map(str::to_owned),
            suspend,
        }
    }

    /// How long the report may take, when one is owed.
    pub fn report_period(&self) -> Option<TimeDelta> {
        self.report_within
            .as_deref()
            .and_then(|text| parse_age(text).ok())
    }
}

/// A set without `[incidents]` gets these: reports go to the provider,
/// the EU AI Act's Art. 73 periods, and lifting a suspension needs a
/// technical lead and then a compliance officer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentRules {
    #[serde(default)]
    pub report_to: ReportTo,
    /// The roles that sign a suspension's lifting off, in order, after the
    /// person asking for it: never that person, each step someone new.
    #[serde(default = "default_lift_chain")]
    pub lift_chain: Vec<Role>,
    #[serde(default = "default_severities", rename = "severity")]
    pub severities: Vec<Severity>,
}

fn default_lift_chain() -> Vec<Role> {
    vec![Role::TechnicalLead, Role::ComplianceOfficer]
}

fn default_severities() -> Vec<Severity> {
    vec![
        Severity::new(
            "minor",
            "a malfunction that harmed nobody and infringed no right",
            None,
            false,
        ),
        Severity::new(
            "serious",
            "a serious incident (EU AI Act Art. 3(49)): report within 15 days of becoming aware (Art. 73(2))",
            Some("15d"),
            false,
        ),
        Severity::new(
            "death",
            "a person's death may have been caused: report within 10 days (Art. 73(4))",
            Some("10d"),
            true,
        ),
        Severity::new(
            "widespread",
            "a widespread infringement, or a serious and irreversible disruption of critical infrastructure: report within 2 days (Art. 73(3))",
            Some("2d"),
            true,
        ),
    ]
}

impl Default for IncidentRules {
    fn default() -> Self {
        IncidentRules {
            report_to: ReportTo::default(),
            lift_chain: default_lift_chain(),
            severities: default_severities(),
        }
    }
}

impl IncidentRules {
    pub fn is_default(&self) -> bool {
        *self == IncidentRules::default()
    }

    pub fn severity(&self, name: &str) -> Option<&Severity> {
        self.severities
            .iter()
            .find(|severity| severity.name == name)
    }

    /// The severities' names, for an error that lists them.
    pub fn names(&self) -> String {
        self.severities
            .iter()
            .map(|severity| severity.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The problems of the section, each with the field it is about.
    pub fn check(&self, vocabulary: &Vocabulary) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut push = |field: String, message: String| problems.push((field, message));
        if self.severities.is_empty() {
            push(
                "incidents.severity".into(),
                "names none: an incident is reported under one".into(),
            );
        }
        if self.severities.len() > MOST_SEVERITIES {
            push(
                "incidents.severity".into(),
                format!("names {}; at most {MOST_SEVERITIES}", self.severities.len()),
            );
        }
        for (index, severity) in self.severities.iter().enumerate() {
            let field = format!("incidents.severity[{index}]");
            let well_named = !severity.name.is_empty()
                && severity.name.len() <= 32
                && severity
                    .name
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_');
            if !well_named {
                push(
                    format!("{field}.name"),
                    format!(
                        "{:?} is not a name (lowercase letters, digits and _, at most 32)",
                        severity.name
                    ),
                );
            }
            if self.severities[..index]
                .iter()
                .any(|earlier| earlier.name == severity.name)
            {
                push(
                    format!("{field}.name"),
                    format!("{:?} is named twice", severity.name),
                );
            }
            if let Some(text) = &severity.report_within {
                match parse_age(text) {
                    Ok(span) if span > TimeDelta::days(366) => push(
                        format!("{field}.report_within"),
                        format!("{text} is longer than a year"),
                    ),
                    Ok(_) => {}
                    Err(message) => push(format!("{field}.report_within"), message),
                }
            }
        }
        if self.lift_chain.is_empty() {
            push(
                "incidents.lift_chain".into(),
                "names no role: a suspension is lifted by people besides the one asking".into(),
            );
        }
        if self.lift_chain.len() > 8 {
            push(
                "incidents.lift_chain".into(),
                format!("has {} steps; at most 8", self.lift_chain.len()),
            );
        }
        for role in &self.lift_chain {
            if let Err(err) = vocabulary.check_role("incidents.lift_chain", *role) {
                push("incidents.lift_chain".into(), err.to_string());
            }
        }
        problems
    }
}

/// The rule's id where a check names a suspension.
pub const SUSPENSION_RULE: &str = "suspended";
