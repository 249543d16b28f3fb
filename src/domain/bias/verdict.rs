//! Whether an audit meets what a policy requires of it, at a given time:
//! recent enough, covering the attributes the policy names (and their
//! intersection when it says so), every category at the threshold.

use chrono::{DateTime, TimeDelta, Utc};

use serde::{Deserialize, Serialize};

use crate::domain::bias::BiasAudit;
use crate::domain::bias::tables::ImpactTable;
use crate::domain::policy::policies::Policy;
use crate::domain::policy::span::parse_age;

/// What a `require_bias_audit` policy demands.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    pub threshold: f64,
    pub attributes: Vec<String>,
    pub intersectional: bool,
    pub max_age: Option<TimeDelta>,
    /// Whether each agent version needs its own audit.
    pub each_version: bool,
}

impl Requirement {
    pub fn of(policy: &Policy) -> Requirement {
        let rule = policy.bias_audit.as_ref();
        Requirement {
            threshold: policy.bias_threshold(),
            attributes: rule.map(|rule| rule.attributes.clone()).unwrap_or_default(),
            intersectional: rule.is_some_and(|rule| rule.intersectional),
            // Checked when the policy set was compiled.
            max_age: rule
                .and_then(|rule| rule.max_age.as_deref())
                .and_then(|age| parse_age(age).ok()),
            each_version: rule.is_none_or(|rule| rule.each_version),
        }
    }

    /// The intersection table the policy requires, when it does.
    fn intersection(&self) -> Option<&[String]> {
        (self.intersectional && self.attributes.len() > 1).then_some(self.attributes.as_slice())
    }
}

/// What judging needs of an audit: its date and each table's lowest
/// ratio, not every category. Readable straight from a stored audit's
/// JSON (`serde` skips the rest), so standings of thousands of agents
/// never build whole audits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditFacts {
    pub audit_id: String,
    pub agent_version: String,
    pub tested_at: DateTime<Utc>,
    #[serde(default)]
    pub attribute: Option<String>,
    /// One attribute's ratio (rounded, as single-attribute audits are judged).
    pub disparate_impact_ratio: f64,
    #[serde(default)]
    pub lowest_group: Option<String>,
    #[serde(default)]
    pub attributes: Vec<TableFacts>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableFacts {
    pub attributes: Vec<String>,
    /// Over the categories in the ratios.
    pub lowest_ratio: f64,
    pub lowest: Vec<String>,
}

impl TableFacts {
    fn covers(&self, attributes: &[String]) -> bool {
        crate::domain::bias::tables::same_attributes(&self.attributes, attributes)
    }
}

impl From<&BiasAudit> for AuditFacts {
    fn from(audit: &BiasAudit) -> AuditFacts {
        AuditFacts {
            audit_id: audit.audit_id.clone(),
            agent_version: audit.agent_version.clone(),
            tested_at: audit.tested_at,
            attribute: audit.attribute.clone(),
            disparate_impact_ratio: audit.stats.disparate_impact_ratio,
            lowest_group: audit.stats.lowest_group.clone(),
            attributes: audit
                .attributes
                .iter()
                .map(|table: &ImpactTable| TableFacts {
                    attributes: table.attributes.clone(),
                    lowest_ratio: table.lowest_ratio,
                    lowest: table.lowest.clone(),
                })
                .collect(),
        }
    }
}

impl AuditFacts {
    /// The lowest ratio of all its tables (its one ratio without tables).
    pub fn lowest_ratio(&self) -> f64 {
        self.attributes
            .iter()
            .map(|table| table.lowest_ratio)
            .reduce(f64::min)
            .unwrap_or(self.disparate_impact_ratio)
    }
}

/// The judgement.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict<'a> {
    Missing,
    Expired {
        audit: &'a AuditFacts,
        expired_at: DateTime<Utc>,
    },
    /// The audit has no table for these attributes (or intersection).
    Uncovered {
        audit: &'a AuditFacts,
        missing: Vec<String>,
    },
    Fails {
        audit: &'a AuditFacts,
        /// The table's name, when the audit has tables.
        table: Option<String>,
        category: Option<String>,
        ratio: f64,
    },
    Passes {
        audit: &'a AuditFacts,
        lowest_ratio: f64,
        expires_at: Option<DateTime<Utc>>,
    },
}

impl Verdict<'_> {
    pub fn passes(&self) -> bool {
        matches!(self, Verdict::Passes { .. })
    }
}

/// When the audit stops counting under this requirement.
pub fn expires_at(requirement: &Requirement, audit: &AuditFacts) -> Option<DateTime<Utc>> {
    requirement
        .max_age
        .and_then(|age| audit.tested_at.checked_add_signed(age))
}

/// The attributes an audit covers: its single-attribute tables, or the
/// one attribute it was run over.
pub fn covered(audit: &AuditFacts) -> Vec<String> {
    if audit.attributes.is_empty() {
        return audit.attribute.iter().cloned().collect();
    }
    audit
        .attributes
        .iter()
        .filter(|table| table.attributes.len() == 1)
        .map(|table| table.attributes[0].clone())
        .collect()
}

pub fn judge<'a>(
    requirement: &Requirement,
    audit: Option<&'a AuditFacts>,
    now: DateTime<Utc>,
) -> Verdict<'a> {
    let Some(audit) = audit else {
        return Verdict::Missing;
    };
    let expires = expires_at(requirement, audit);
    if let Some(expired_at) = expires.filter(|at| *at <= now) {
        return Verdict::Expired { audit, expired_at };
    }
    let covered = covered(audit);
    let mut missing: Vec<String> = requirement
        .attributes
        .iter()
        .filter(|name| !covered.contains(name))
        .cloned()
        .collect();
    if let Some(attributes) = requirement.intersection()
        && !audit
            .attributes
            .iter()
            .any(|table| table.covers(attributes))
    {
        missing.push(attributes.join(" × "));
    }
    if !missing.is_empty() {
        return Verdict::Uncovered { audit, missing };
    }
    if audit.attributes.is_empty() {
        // One attribute's figures, judged as they always were.
        let ratio = audit.disparate_impact_ratio;
        return if ratio < requirement.threshold {
            Verdict::Fails {
                audit,
                table: None,
                category: audit.lowest_group.clone(),
                ratio,
            }
        } else {
            Verdict::Passes {
                audit,
                lowest_ratio: ratio,
                expires_at: expires,
            }
        };
    }
    let judged = audit.attributes.iter().filter(|table| {
        requirement.attributes.is_empty()
            || (table.attributes.len() == 1
                && requirement.attributes.contains(&table.attributes[0]))
            || requirement
                .intersection()
                .is_some_and(|attributes| table.covers(attributes))
    });
    match judged.reduce(|best, next| {
        if next.lowest_ratio < best.lowest_ratio {
            next
        } else {
            best
        }
    }) {
        Some(table) if table.lowest_ratio < requirement.threshold => Verdict::Fails {
            audit,
            table: Some(table.attributes.join(" × ")),
            category: Some(crate::domain::bias::tables::category_label(&table.lowest)),
            ratio: table.lowest_ratio,
        },
        Some(table) => Verdict::Passes {
            audit,
            lowest_ratio: table.lowest_ratio,
            expires_at: expires,
        },
        None => Verdict::Fails {
            audit,
            table: None,
            category: None,
            ratio: 0.0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::bias::tables::{CategoryCounts, TableCounts};

    fn table(attributes: &[&str], rows: &[(&[&str], u64, u64)]) -> TableCounts {
        TableCounts {
            attributes: attributes.iter().map(|a| (*a).to_owned()).collect(),
            unknown: 0,
            categories: rows
                .iter()
                .map(|(values, positive, total)| CategoryCounts {
                    values: values.iter().map(|v| (*v).to_owned()).collect(),
                    positive: *positive,
                    total: *total,
                    excluded: None,
                })
                .collect(),
        }
    }

    fn audit(tested_at: DateTime<Utc>, intersection_fails: bool) -> AuditFacts {
        AuditFacts::from(&full_audit(tested_at, intersection_fails))
    }

    fn full_audit(tested_at: DateTime<Utc>, intersection_fails: bool) -> BiasAudit {
        let low = if intersection_fails { 10 } else { 45 };
        let tables = [
            table(&["sex"], &[(&["f"], 95, 200), (&["m"], 100, 200)]),
            table(&["race"], &[(&["a"], 95, 200), (&["b"], 100, 200)]),
            table(
                &["sex", "race"],
                &[
                    (&["f", "a"], low, 100),
                    (&["f", "b"], 50, 100),
                    (&["m", "a"], 50, 100),
                    (&["m", "b"], 50, 100),
                ],
            ),
        ];
        let (stats, attributes) = crate::domain::bias::compute_multi(&tables, 0.8).unwrap();
        BiasAudit::of(
            "aud-1".into(),
            "a".into(),
            "1".into(),
            tested_at,
            stats,
            attributes,
        )
    }

    #[test]
    fn facts_read_from_a_stored_audit_are_the_facts_of_the_audit() {
        let audit = full_audit(at("2025-01-10T09:00:00Z"), true);
        let stored = serde_json::to_string(&audit).unwrap();
        let read: AuditFacts = serde_json::from_str(&stored).unwrap();
        assert_eq!(read, AuditFacts::from(&audit));
        // And from the compact copy the store keeps beside the body.
        let compact = serde_json::to_string(&read).unwrap();
        assert!(compact.len() * 4 < stored.len(), "{compact}");
        assert_eq!(serde_json::from_str::<AuditFacts>(&compact).unwrap(), read);
        assert!(read.attributes.len() == 3 && read.lowest_ratio() < 0.8);
    }

    fn requirement(attributes: &[&str], intersectional: bool) -> Requirement {
        Requirement {
            threshold: 0.8,
            attributes: attributes.iter().map(|a| (*a).to_owned()).collect(),
            intersectional,
            max_age: Some(TimeDelta::days(365)),
            each_version: true,
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn an_audit_expires_after_max_age_on_a_clock_we_set() {
        let audit = audit(at("2025-01-10T09:00:00Z"), false);
        let rule = requirement(&["sex"], false);
        assert!(judge(&rule, Some(&audit), at("2026-01-10T08:59:59Z")).passes());
        assert_eq!(
            judge(&rule, Some(&audit), at("2026-01-10T09:00:00Z")),
            Verdict::Expired {
                audit: &audit,
                expired_at: at("2026-01-10T09:00:00Z")
            }
        );
        assert_eq!(
            judge(&rule, None, at("2025-01-11T00:00:00Z")),
            Verdict::Missing
        );
    }

    #[test]
    fn the_intersection_counts_only_when_the_policy_says_so() {
        let now = at("2025-02-01T00:00:00Z");
        let audit = audit(at("2025-01-10T09:00:00Z"), true);
        assert!(judge(&requirement(&["sex", "race"], false), Some(&audit), now).passes());
        match judge(&requirement(&["sex", "race"], true), Some(&audit), now) {
            Verdict::Fails {
                table, category, ..
            } => {
                assert_eq!(table.as_deref(), Some("sex × race"));
                assert_eq!(category.as_deref(), Some("f · a"));
            }
            other => panic!("{other:?}"),
        }
        // No attributes named: every table of the audit is judged.
        assert!(!judge(&requirement(&[], false), Some(&audit), now).passes());
    }

    #[test]
    fn attributes_the_audit_does_not_cover_are_named() {
        let now = at("2025-02-01T00:00:00Z");
        let audit = audit(at("2025-01-10T09:00:00Z"), false);
        assert_eq!(
            judge(&requirement(&["sex", "age_band"], true), Some(&audit), now),
            Verdict::Uncovered {
                audit: &audit,
                missing: vec!["age_band".into(), "sex × age_band".into()]
            }
        );
    }
}
