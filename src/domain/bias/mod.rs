//! Bias-audit statistics: the four-fifths rule and what lies beyond it.
//!
//! Part of the rules (layer 2): imports the ground, the domain's names and,
//! for verdicts, the policies that ask for audits; `stats` sits below the
//! tables and the verdicts.

pub mod import;
pub mod replay;
pub mod standing;
pub mod stats;
pub mod tables;
pub mod verdict;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use stats::{MAX_GROUP_TOTAL, SMALL_GROUP, round3, two_sided_p_value, whole, wilson_interval};
pub use tables::{ImpactTable, RateMode, TableCounts};

/// The four-fifths rule.
pub const DEFAULT_THRESHOLD: f64 = 0.8;

/// One group's raw counts, as an audit submits them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupCounts {
    pub group: String,
    #[serde(deserialize_with = "whole_count")]
    pub positive: u64,
    #[serde(deserialize_with = "whole_count")]
    pub total: u64,
}

/// A count from a JSON integer, or from a number with no fractional part
/// (`120.0`), which JSON Schema's `integer` admits and some tools write.
fn whole_count<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    whole(deserializer)
}

/// One group's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupResult {
    pub group: String,
    pub positive: u64,
    pub total: u64,
    /// Positive-outcome rate; `None` for a group with no cases.
    pub rate: Option<f64>,
    /// Wilson 95% interval.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// The computed statistics of an audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditStats {
    pub groups: Vec<GroupResult>,
    pub group_rates: BTreeMap<String, f64>,
    pub disparate_impact_ratio: f64,
    pub threshold: f64,
    pub passes_threshold: bool,
    /// Two-sided p-value of the difference between the lowest- and
    /// highest-rate groups.
    pub p_value: Option<f64>,
    pub lowest_group: Option<String>,
    pub highest_group: Option<String>,
    pub warnings: Vec<String>,
}

/// A stored audit: the statistics plus what they were about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BiasAudit {
    pub audit_id: String,
    pub agent_id: String,
    pub agent_version: String,
    pub tested_at: DateTime<Utc>,
    /// Who recorded it and when, stamped by the store (absent on audits
    /// recorded before Gavel kept them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<DateTime<Utc>>,
    /// The audit run whose case evidence it was computed from, when Gavel
    /// ran it against the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The one attribute a run over one attribute grouped by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// Where an audit computed elsewhere came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<AuditSource>,
    /// Why its auditor counts as independent, stamped by the store (never
    /// the importer's say-so); absent, a claim of independence is only a
    /// claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub independence: Option<Independence>,
    #[serde(default, skip_serializing_if = "RateMode::is_selection")]
    pub mode: RateMode,
    /// One table per protected attribute and per intersection, for an
    /// audit of several attributes; the top-level figures are then those
    /// of the table with the lowest ratio.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<ImpactTable>,
    #[serde(flatten)]
    pub stats: AuditStats,
}

impl BiasAudit {
    /// An audit of these figures, not yet stamped with who recorded it,
    /// from no run and no outside source.
    pub fn of(
        audit_id: String,
        agent_id: String,
        agent_version: String,
        tested_at: DateTime<Utc>,
        stats: AuditStats,
        attributes: Vec<ImpactTable>,
    ) -> BiasAudit {
        BiasAudit {
            audit_id,
            agent_id,
            agent_version,
            tested_at,
            recorded_by: None,
            recorded_at: None,
            run_id: None,
            attribute: None,
            source: None,
            independence: None,
            mode: RateMode::Selection,
            attributes,
            stats,
        }
    }

    /// Whether its auditor counts as independent: claimed by its source
    /// and grounded (an auditor's own account, or a compliance officer's
    /// confirmation).
    pub fn is_independent(&self) -> bool {
        self.independence.is_some()
            && self
                .source
                .as_ref()
                .is_some_and(|source| source.independent)
    }

    /// The auditor's standing in words, as reports and evidence pages say it.
    pub fn auditor_standing(&self) -> String {
        match (&self.source, &self.independence) {
            (None, _) => "computed by Gavel (not independent)".into(),
            (Some(source), _) if !source.independent => "not independent".into(),
            (Some(_), Some(Independence::AuditorAccount { by })) => {
                format!("independent auditor (recorded by their account {by})")
            }
            (Some(_), Some(Independence::Confirmed { by, .. })) => {
                format!("independent auditor (confirmed by {by})")
            }
            (Some(_), None) => "claimed independent, not confirmed".into(),
        }
    }

    /// The table of exactly these attributes.
    pub fn table(&self, attributes: &[String]) -> Option<&ImpactTable> {
        self.attributes
            .iter()
            .find(|table| table.covers(attributes))
    }
}

/// Why an audit's auditor counts as independent of the agent's makers and
/// users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum Independence {
    /// Recorded by an account holding the independent-auditor role.
    AuditorAccount { by: String },
    /// A compliance officer, not its recorder, confirmed the named
    /// auditor's independence.
    Confirmed {
        by: String,
        at: DateTime<Utc>,
        comment: String,
    },
}

impl Independence {
    pub fn basis(&self) -> &'static str {
        match self {
            Independence::AuditorAccount { .. } => "auditor_account",
            Independence::Confirmed { .. } => "confirmed",
        }
    }

    pub fn by(&self) -> &str {
        match self {
            Independence::AuditorAccount { by } | Independence::Confirmed { by, .. } => by,
        }
    }
}

/// A compliance officer's confirmation that an audit's auditor is
/// independent, naming the auditor as the audit's source does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndependenceConfirmation {
    pub audit_id: String,
    /// The auditor, exactly as the audit's source names them.
    pub auditor: String,
    /// How their independence was established (engagement letter,
    /// declaration of no relationship with us or the vendor, ...).
    pub comment: String,
}

/// Who computed an imported audit, and from what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditSource {
    /// The auditor, as they sign the audit.
    pub auditor: String,
    /// Whether the auditor is independent of the agent's makers and users.
    pub independent: bool,
    pub data: AuditData,
    /// Where the published summary is (a URL, a document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// SHA-256 of the file the figures were imported from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<String>,
}

impl AuditSource {
    pub fn check(&self) -> Result<(), String> {
        let fits =
            |text: &str, most: usize| crate::text::has_visible_text(text) && text.len() <= most;
        if !fits(&self.auditor, 200) {
            return Err("source.auditor must be 1 to 200 bytes of text".into());
        }
        if self
            .reference
            .as_deref()
            .is_some_and(|text| !fits(text, 1000))
        {
            return Err("source.reference must be 1 to 1000 bytes of text".into());
        }
        if self
            .file_sha256
            .as_deref()
            .is_some_and(|hash| hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err("source.file_sha256 must be 64 hex digits".into());
        }
        Ok(())
    }
}

/// The data an audit was computed from (6 RCNY §5-301: historical data of
/// the tool's use, or test data when there is not enough of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditData {
    Historical,
    Test,
}

impl AuditData {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditData::Historical => "historical",
            AuditData::Test => "test",
        }
    }
}

impl std::str::FromStr for AuditData {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "historical" => Ok(AuditData::Historical),
            "test" => Ok(AuditData::Test),
            other => Err(format!("data {other:?} is not historical or test")),
        }
    }
}

/// What a caller submits to record an audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditSubmission {
    pub agent_id: String,
    pub agent_version: String,
    #[serde(default)]
    pub tested_at: Option<DateTime<Utc>>,
    /// One attribute's groups (today's form), or ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupCounts>,
    /// ... one table per attribute and intersection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<TableCounts>,
    #[serde(default, skip_serializing_if = "RateMode::is_selection")]
    pub mode: RateMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<AuditSource>,
    /// Refused when present: the policy requiring the audit sets the
    /// threshold, never the submitter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(deprecated)]
    pub threshold: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum AuditError {
    #[error("a bias audit needs at least two groups with cases; got {0}")]
    TooFewGroups(usize),
    #[error(
        "group {group:?} has {positive} positive outcomes out of {total}: positives cannot exceed the total"
    )]
    PositiveExceedsTotal {
        group: String,
        positive: u64,
        total: u64,
    },
    #[error("group {0:?} appears more than once")]
    DuplicateGroup(String),
    #[error("a group name must not be empty")]
    EmptyGroupName,
    #[error("group name {0:?} is longer than 200 bytes")]
    GroupNameTooLong(String),
    #[error("threshold {0} is outside (0, 1]")]
    BadThreshold(f64),
    #[error(
        "group {group:?} has {total} cases; the most an audit group may hold is {MAX_GROUP_TOTAL}"
    )]
    TooManyCases { group: String, total: u64 },
}

/// Computes an audit's statistics from its groups' counts.
pub fn compute(groups: &[GroupCounts], threshold: f64) -> Result<AuditStats, AuditError> {
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(AuditError::BadThreshold(threshold));
    }
    let mut seen = std::collections::HashSet::new();
    for counts in groups {
        if counts.group.trim().is_empty() {
            return Err(AuditError::EmptyGroupName);
        }
        if counts.group.len() > 200 {
            return Err(AuditError::GroupNameTooLong(counts.group.clone()));
        }
        if !seen.insert(counts.group.as_str()) {
            return Err(AuditError::DuplicateGroup(counts.group.clone()));
        }
        if counts.total > MAX_GROUP_TOTAL {
            return Err(AuditError::TooManyCases {
                group: counts.group.clone(),
                total: counts.total,
            });
        }
        if counts.positive > counts.total {
            return Err(AuditError::PositiveExceedsTotal {
                group: counts.group.clone(),
                positive: counts.positive,
                total: counts.total,
            });
        }
    }
    let with_cases = groups.iter().filter(|counts| counts.total > 0).count();
    if with_cases < 2 {
        return Err(AuditError::TooFewGroups(with_cases));
    }

    let mut warnings = Vec::new();
    let results: Vec<GroupResult> = groups
        .iter()
        .map(|counts| {
            if counts.total == 0 {
                warnings.push(format!(
                    "group {:?} has no cases: it is left out of the ratio, so the audit says nothing about it",
                    counts.group
                ));
                return GroupResult {
                    group: counts.group.clone(),
                    positive: 0,
                    total: 0,
                    rate: None,
                    ci_low: None,
                    ci_high: None,
                };
            }
            if counts.total < SMALL_GROUP {
                warnings.push(format!(
                    "group {:?} has only {} cases (fewer than {SMALL_GROUP}): its rate is unreliable",
                    counts.group, counts.total
                ));
            }
            if counts.positive == 0 {
                warnings.push(format!(
                    "group {:?} has zero positive outcomes out of {}",
                    counts.group, counts.total
                ));
            }
            let (low, high) = wilson_interval(counts.positive, counts.total);
            GroupResult {
                group: counts.group.clone(),
                positive: counts.positive,
                total: counts.total,
                rate: Some(counts.positive as f64 / counts.total as f64),
                ci_low: Some(low),
                ci_high: Some(high),
            }
        })
        .collect();

    let rated: Vec<(&GroupResult, f64)> = results
        .iter()
        .filter_map(|result| result.rate.map(|rate| (result, rate)))
        .collect();
    // First of equals wins, so the choice is stable for a given input order.
    let lowest = rated
        .iter()
        .copied()
        .reduce(|best, next| if next.1 < best.1 { next } else { best });
    let highest = rated
        .iter()
        .copied()
        .reduce(|best, next| if next.1 > best.1 { next } else { best });
    let (Some((low_group, low_rate)), Some((high_group, high_rate))) = (lowest, highest) else {
        return Err(AuditError::TooFewGroups(rated.len()));
    };
    let ratio = if high_rate == 0.0 {
        0.0
    } else {
        round3(low_rate / high_rate)
    };
    if high_rate == 0.0 {
        warnings.push("no group has any positive outcome: the ratio is 0 by definition".into());
    }
    let p_value = two_sided_p_value(
        low_group.positive,
        low_group.total - low_group.positive,
        high_group.positive,
        high_group.total - high_group.positive,
    );
    Ok(AuditStats {
        group_rates: rated
            .iter()
            .map(|(result, rate)| (result.group.clone(), *rate))
            .collect(),
        disparate_impact_ratio: ratio,
        threshold,
        passes_threshold: ratio >= threshold,
        p_value: Some(p_value),
        lowest_group: Some(low_group.group.clone()),
        highest_group: Some(high_group.group.clone()),
        warnings,
        groups: results,
    })
}

/// An audit of several tables: the tables, and top-level figures taken
/// from the table with the lowest ratio (so readers of one attribute's
/// figures see the binding one), passing only when every table passes.
pub fn compute_multi(
    tables: &[TableCounts],
    threshold: f64,
) -> Result<(AuditStats, Vec<ImpactTable>), String> {
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(AuditError::BadThreshold(threshold).to_string());
    }
    let (computed, warnings) =
        tables::compute_tables(tables, threshold).map_err(|err| err.to_string())?;
    let binding = computed
        .iter()
        .reduce(|best, next| {
            if next.lowest_ratio < best.lowest_ratio {
                next
            } else {
                best
            }
        })
        .ok_or("an audit needs at least one table")?;
    let find = |values: &[String]| {
        binding
            .categories
            .iter()
            .find(|category| category.values == values)
    };
    let lowest = find(&binding.lowest);
    let reference = find(&binding.reference);
    let p_value = match (lowest, reference) {
        (Some(low), Some(high)) => Some(two_sided_p_value(
            low.positive,
            low.total - low.positive,
            high.positive,
            high.total - high.positive,
        )),
        _ => None,
    };
    let label = |category: &tables::CategoryResult| {
        if binding.is_intersectional() {
            category.label()
        } else {
            category.values.concat()
        }
    };
    let stats = AuditStats {
        groups: binding
            .categories
            .iter()
            .map(|category| GroupResult {
                group: label(category),
                positive: category.positive,
                total: category.total,
                rate: category.rate,
                ci_low: category.ci_low,
                ci_high: category.ci_high,
            })
            .collect(),
        group_rates: binding
            .categories
            .iter()
            .filter(|category| category.excluded.is_none())
            .filter_map(|category| category.rate.map(|rate| (label(category), rate)))
            .collect(),
        disparate_impact_ratio: round3(binding.lowest_ratio),
        threshold,
        passes_threshold: computed.iter().all(|table| table.passes),
        p_value,
        lowest_group: lowest.map(label),
        highest_group: reference.map(label),
        warnings,
    };
    Ok((stats, computed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_whole_numbers_written_either_way() {
        let counts: GroupCounts =
            serde_json::from_str(r#"{"group":"a","positive":12.0,"total":40}"#).unwrap();
        assert_eq!((counts.positive, counts.total), (12, 40));
        for bad in [
            r#"{"group":"a","positive":12.5,"total":40}"#,
            r#"{"group":"a","positive":-1,"total":40}"#,
            r#"{"group":"a","positive":"12","total":40}"#,
        ] {
            assert!(serde_json::from_str::<GroupCounts>(bad).is_err(), "{bad}");
        }
    }

    fn counts(list: &[(&str, u64, u64)]) -> Vec<GroupCounts> {
        list.iter()
            .map(|&(group, positive, total)| GroupCounts {
                group: group.into(),
                positive,
                total,
            })
            .collect()
    }

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn ratio_is_lowest_over_highest_rounded_to_three_places() {
        // 40/100 = 0.4 and 60/100 = 0.6: 0.4 / 0.6 = 0.6667 -> 0.667
        let stats = compute(&counts(&[("a", 40, 100), ("b", 60, 100)]), 0.8).unwrap();
        assert_eq!(stats.disparate_impact_ratio, 0.667);
        assert!(!stats.passes_threshold);
        assert_eq!(stats.lowest_group.as_deref(), Some("a"));
        assert_eq!(stats.highest_group.as_deref(), Some("b"));
        assert_eq!(stats.group_rates["a"], 0.4);
    }

    #[test]
    fn exactly_four_fifths_passes() {
        let stats = compute(&counts(&[("a", 40, 100), ("b", 50, 100)]), 0.8).unwrap();
        assert_eq!(stats.disparate_impact_ratio, 0.8);
        assert!(stats.passes_threshold);
    }

    #[test]
    fn a_zero_highest_rate_gives_ratio_zero() {
        let stats = compute(&counts(&[("a", 0, 50), ("b", 0, 60)]), 0.8).unwrap();
        assert_eq!(stats.disparate_impact_ratio, 0.0);
        assert!(!stats.passes_threshold);
        assert_eq!(stats.p_value, Some(1.0));
        assert!(
            stats
                .warnings
                .iter()
                .any(|w| w.contains("no group has any positive"))
        );
    }

    #[test]
    fn wilson_interval_matches_hand_computation() {
        // p = 0.5, n = 100: centre 0.5, half-width 0.0962
        let (low, high) = wilson_interval(50, 100);
        assert!(close(low, 0.4038, 1e-4), "{low}");
        assert!(close(high, 0.5962, 1e-4), "{high}");
        // 0 of 10: [0, 0.2775]
        let (low, high) = wilson_interval(0, 10);
        assert_eq!(low, 0.0);
        assert!(close(high, 0.2775, 1e-4), "{high}");
    }

    #[test]
    fn fisher_exact_matches_the_textbook_table() {
        // R: fisher.test(matrix(c(1, 11, 9, 3), nrow = 2))$p.value = 0.002759
        let p = two_sided_p_value(1, 9, 11, 3);
        assert!(close(p, 0.002759, 1e-6), "{p}");
        // Checked against exact rational arithmetic (Python fractions).
        for (table, expected) in [
            ((10, 90, 20, 80), 0.07342758972137638),
            ((120, 380, 160, 340), 0.005964890863782508),
            ((0, 12, 40, 60), 0.004007770696430982),
            ((45, 955, 70, 930), 0.020790780187427315),
        ] {
            let (a, b, c, d) = table;
            let p = two_sided_p_value(a, b, c, d);
            assert!(
                (p - expected).abs() <= expected * 1e-9,
                "{table:?}: {p} vs {expected}"
            );
        }
        // Identical proportions: p = 1
        assert!(close(two_sided_p_value(5, 5, 5, 5), 1.0, 1e-9));
    }

    #[test]
    fn large_tables_use_the_normal_approximation() {
        // 480k/1M vs 500k/1M: z = 28.3, p is essentially zero
        let p = two_sided_p_value(480_000, 520_000, 500_000, 500_000);
        assert!(p < 1e-100, "{p}");
        let same = two_sided_p_value(500_000, 500_000, 500_000, 500_000);
        assert!(close(same, 1.0, 1e-9));
    }

    #[test]
    fn the_audit_p_value_compares_lowest_and_highest() {
        let stats = compute(&counts(&[("x", 1, 10), ("y", 5, 10), ("z", 11, 14)]), 0.8).unwrap();
        assert!(close(stats.p_value.unwrap(), 0.002759, 1e-6));
    }

    #[test]
    fn small_groups_and_zero_positives_are_warned_not_dropped() {
        let stats = compute(&counts(&[("a", 0, 12), ("b", 40, 100)]), 0.8).unwrap();
        assert_eq!(stats.groups.len(), 2);
        assert_eq!(stats.warnings.len(), 2, "{:?}", stats.warnings);
        assert!(stats.warnings[0].contains("only 12 cases"));
        assert!(stats.warnings[1].contains("zero positive outcomes"));
    }

    #[test]
    fn a_group_without_cases_is_kept_and_explained() {
        let stats = compute(&counts(&[("a", 30, 60), ("b", 40, 80), ("c", 0, 0)]), 0.8).unwrap();
        assert_eq!(stats.groups.len(), 3);
        assert_eq!(stats.groups[2].rate, None);
        assert!(stats.warnings[0].contains("no cases"));
        assert_eq!(stats.disparate_impact_ratio, 1.0);
    }

    #[test]
    fn bad_audits_are_errors_not_panics() {
        assert_eq!(compute(&[], 0.8), Err(AuditError::TooFewGroups(0)));
        assert_eq!(
            compute(&counts(&[("a", 1, 2)]), 0.8),
            Err(AuditError::TooFewGroups(1))
        );
        assert_eq!(
            compute(&counts(&[("a", 1, 0), ("b", 1, 2)]), 0.8),
            Err(AuditError::PositiveExceedsTotal {
                group: "a".into(),
                positive: 1,
                total: 0
            })
        );
        assert_eq!(
            compute(&counts(&[("a", 1, 2), ("a", 1, 2)]), 0.8),
            Err(AuditError::DuplicateGroup("a".into()))
        );
        assert!(compute(&counts(&[("a", 1, 2), ("b", 1, 2)]), 0.0).is_err());
        assert!(compute(&counts(&[("a", 1, 2), ("b", 1, 2)]), f64::NAN).is_err());
        assert!(compute(&counts(&[(" ", 1, 2), ("b", 1, 2)]), 0.8).is_err());
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        let stats = compute(
            &counts(&[("a", MAX_GROUP_TOTAL / 2, MAX_GROUP_TOTAL), ("b", 1, 3)]),
            0.8,
        )
        .unwrap();
        assert!(stats.p_value.unwrap().is_finite());
        assert!(matches!(
            compute(&counts(&[("a", 1, u64::MAX), ("b", 1, 3)]), 0.8),
            Err(AuditError::TooManyCases { .. })
        ));
    }
}
