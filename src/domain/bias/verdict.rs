//! Whether an audit meets what a policy requires of it, at a given time:
//! recent enough, covering the attributes the policy names (and their
//! intersection when it says so), every category at the threshold.

use chrono::{DateTime, TimeDelta, Utc};

use super::BiasAudit;
use super::tables::ImpactTable;
use crate::domain::policy::{Policy, parse_age};

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

/// The judgement.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict<'a> {
    Missing,
    Expired {
        audit: &'a BiasAudit,
        expired_at: DateTime<Utc>,
    },
    /// The audit has no table for these attributes (or intersection).
    Uncovered {
        audit: &'a BiasAudit,
        missing: Vec<String>,
    },
    Fails {
        audit: &'a BiasAudit,
        /// The table's name, when the audit has tables.
        table: Option<String>,
        category: Option<String>,
        ratio: f64,
    },
    Passes {
        audit: &'a BiasAudit,
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
pub fn expires_at(requirement: &Requirement, audit: &BiasAudit) -> Option<DateTime<Utc>> {
    requirement
        .max_age
        .and_then(|age| audit.tested_at.checked_add_signed(age))
}

/// The attributes an audit covers: its single-attribute tables, or the
/// one attribute it was run over.
pub fn covered(audit: &BiasAudit) -> Vec<String> {
    if audit.attributes.is_empty() {
        return audit.attribute.iter().cloned().collect();
    }
    audit
        .attributes
        .iter()
        .filter(|table| !table.is_intersectional())
        .map(|table| table.attributes[0].clone())
        .collect()
}

pub fn judge<'a>(
    requirement: &Requirement,
    audit: Option<&'a BiasAudit>,
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
        && audit.table(attributes).is_none()
    {
        missing.push(attributes.join(" × "));
    }
    if !missing.is_empty() {
        return Verdict::Uncovered { audit, missing };
    }
    if audit.attributes.is_empty() {
        // One attribute's figures, judged as they always were.
        let ratio = audit.stats.disparate_impact_ratio;
        return if ratio < requirement.threshold {
            Verdict::Fails {
                audit,
                table: None,
                category: audit.stats.lowest_group.clone(),
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
    let judged: Vec<&ImpactTable> = if requirement.attributes.is_empty() {
        audit.attributes.iter().collect()
    } else {
        audit
            .attributes
            .iter()
            .filter(|table| {
                (!table.is_intersectional()
                    && requirement.attributes.contains(&table.attributes[0]))
                    || requirement
                        .intersection()
                        .is_some_and(|attributes| table.covers(attributes))
            })
            .collect()
    };
    let worst = judged
        .iter()
        .flat_map(|table| {
            table.categories.iter().filter_map(move |category| {
                category
                    .impact_ratio
                    .filter(|_| category.excluded.is_none())
                    .map(|ratio| (table, category, ratio))
            })
        })
        .reduce(|best, next| if next.2 < best.2 { next } else { best });
    match worst {
        Some((table, category, ratio)) if ratio < requirement.threshold => Verdict::Fails {
            audit,
            table: Some(table.name()),
            category: Some(category.label()),
            ratio,
        },
        Some((_, _, ratio)) => Verdict::Passes {
            audit,
            lowest_ratio: ratio,
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

    fn audit(tested_at: DateTime<Utc>, intersection_fails: bool) -> BiasAudit {
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
        let (stats, attributes) = super::super::compute_multi(&tables, 0.8).unwrap();
        BiasAudit {
            audit_id: "aud-1".into(),
            agent_id: "a".into(),
            agent_version: "1".into(),
            tested_at,
            recorded_by: None,
            recorded_at: None,
            run_id: None,
            attribute: None,
            source: None,
            mode: Default::default(),
            attributes,
            stats,
        }
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
