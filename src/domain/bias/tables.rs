//! Impact tables: one per protected attribute and one per intersection of
//! attributes, as the DCWP rules for New York City's Local Law 144 define
//! them (6 RCNY §5-301): each category's rate against the highest-rate
//! category of the same table.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::stats::{MAX_GROUP_TOTAL, SMALL_GROUP, two_sided_p_value, whole, wilson_interval};

/// A category under this share of a table's sample may be left out of the
/// impact ratios, with a recorded justification (6 RCNY §5-301(d)).
pub const EXCLUDABLE_SHARE: f64 = 0.02;
/// Tables in one audit, categories in one table.
pub const MAX_TABLES: usize = 16;
pub const MAX_CATEGORIES: usize = 512;

/// What a positive outcome is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateMode {
    /// The share of individuals selected (or given the favourable outcome).
    #[default]
    Selection,
    /// The share of individuals scoring above the whole sample's median.
    Scoring,
}

impl RateMode {
    pub fn is_selection(&self) -> bool {
        *self == RateMode::Selection
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RateMode::Selection => "selection",
            RateMode::Scoring => "scoring",
        }
    }

    /// "selection rate" or "scoring rate".
    pub fn rate_name(self) -> &'static str {
        match self {
            RateMode::Selection => "selection rate",
            RateMode::Scoring => "scoring rate",
        }
    }

    /// What the positive count counts.
    pub fn positive_name(self) -> &'static str {
        match self {
            RateMode::Selection => "selected",
            RateMode::Scoring => "above median",
        }
    }
}

impl std::str::FromStr for RateMode {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "selection" => Ok(RateMode::Selection),
            "scoring" => Ok(RateMode::Scoring),
            other => Err(format!("rate mode {other:?} is not selection or scoring")),
        }
    }
}

/// One category's counts, as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryCounts {
    /// The category's value of each of the table's attributes, in order.
    pub values: Vec<String>,
    #[serde(deserialize_with = "whole")]
    pub positive: u64,
    #[serde(deserialize_with = "whole")]
    pub total: u64,
    /// Why the category is left out of the impact ratios; only a category
    /// under 2% of the sample may be, and it is still shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<String>,
}

/// One table's counts: an attribute, or several for their intersection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TableCounts {
    pub attributes: Vec<String>,
    /// Individuals whose category is unknown: in no rate, reported.
    #[serde(default, deserialize_with = "whole")]
    pub unknown: u64,
    pub categories: Vec<CategoryCounts>,
}

/// One category's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CategoryResult {
    pub values: Vec<String>,
    pub positive: u64,
    pub total: u64,
    /// Full precision; `None` for a category with no individuals.
    pub rate: Option<f64>,
    /// Wilson 95% interval.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// The category's share of the table's known sample.
    pub share: f64,
    /// Rate over the reference category's rate, full precision; `None` for
    /// an excluded category or when no rate can be compared.
    pub impact_ratio: Option<f64>,
    /// For a category below the threshold: the two-sided p-value of its
    /// gap from the reference category (reported; pass/fail is the ratio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// Why it is left out of the impact ratios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<String>,
}

impl CategoryResult {
    pub fn label(&self) -> String {
        category_label(&self.values)
    }

    /// Whether the category's ratio is below `threshold` (excluded ones never are).
    pub fn fails(&self, threshold: f64) -> bool {
        self.excluded.is_none() && self.impact_ratio.is_some_and(|ratio| ratio < threshold)
    }
}

/// A computed table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImpactTable {
    pub attributes: Vec<String>,
    pub unknown: u64,
    pub categories: Vec<CategoryResult>,
    /// The highest-rate category the ratios are taken against.
    pub reference: Vec<String>,
    /// The lowest impact ratio of the categories in the ratios, full precision.
    pub lowest_ratio: f64,
    pub lowest: Vec<String>,
    /// At the threshold it was recorded under; the gate judges again
    /// against the policy in force.
    pub passes: bool,
}

impl ImpactTable {
    /// `sex`, or `sex × race_ethnicity` for an intersection.
    pub fn name(&self) -> String {
        self.attributes.join(" × ")
    }

    pub fn is_intersectional(&self) -> bool {
        self.attributes.len() > 1
    }

    /// Individuals with a known category.
    pub fn sample(&self) -> u64 {
        self.categories.iter().map(|category| category.total).sum()
    }

    pub fn passes_at(&self, threshold: f64) -> bool {
        !self
            .categories
            .iter()
            .any(|category| category.fails(threshold))
            && self.lowest_ratio >= threshold
    }

    /// Whether this table covers exactly these attributes, in any order.
    pub fn covers(&self, attributes: &[String]) -> bool {
        same_attributes(&self.attributes, attributes)
    }
}

/// Whether two tables are over the same attributes, in any order.
pub fn same_attributes(table: &[String], asked: &[String]) -> bool {
    table.len() == asked.len() && asked.iter().all(|name| table.contains(name))
}

/// `Male · Hispanic or Latino`.
pub fn category_label(values: &[String]) -> String {
    values.join(" · ")
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum TableError {
    #[error("a table needs at least one attribute")]
    NoAttributes,
    #[error(
        "attribute {0:?} must be a snake_case name (a lower-case letter, then letters, digits or _)"
    )]
    BadAttribute(String),
    #[error("table {0}: an attribute appears twice")]
    RepeatedAttribute(String),
    #[error("table {0} appears twice")]
    DuplicateTable(String),
    #[error("an audit has at most {MAX_TABLES} tables")]
    TooManyTables,
    #[error("table {0}: at most {MAX_CATEGORIES} categories")]
    TooManyCategories(String),
    #[error("table {table}: category {category:?} names {got} values for {want} attributes")]
    WrongValueCount {
        table: String,
        category: String,
        got: usize,
        want: usize,
    },
    #[error("table {0}: a category value must be 1 to 200 bytes of text")]
    BadValue(String),
    #[error("table {table}: category {category:?} appears more than once")]
    DuplicateCategory { table: String, category: String },
    #[error(
        "table {table}: category {category:?} has {positive} positive outcomes out of {total}: positives cannot exceed the total"
    )]
    PositiveExceedsTotal {
        table: String,
        category: String,
        positive: u64,
        total: u64,
    },
    #[error("table {table}: category {category:?} has more than {MAX_GROUP_TOTAL} individuals")]
    TooManyCases { table: String, category: String },
    #[error(
        "table {table}: category {category:?} is {share:.1}% of the sample; only a category under 2% may be left out of the impact ratios"
    )]
    ExclusionTooLarge {
        table: String,
        category: String,
        share: f64,
    },
    #[error("table {table}: excluding category {category:?} needs a justification")]
    ExclusionUnjustified { table: String, category: String },
    #[error("table {0}: at least two categories with individuals must be in the impact ratios")]
    TooFewCategories(String),
}

fn check_attribute(name: &str) -> Result<(), TableError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && name.len() <= 64 {
        Ok(())
    } else {
        Err(TableError::BadAttribute(name.to_owned()))
    }
}

/// Computes one table against `threshold`; its warnings (small or empty
/// categories, no positive outcome) are returned beside it.
pub fn compute_table(
    counts: &TableCounts,
    threshold: f64,
) -> Result<(ImpactTable, Vec<String>), TableError> {
    if counts.attributes.is_empty() {
        return Err(TableError::NoAttributes);
    }
    for name in &counts.attributes {
        check_attribute(name)?;
    }
    let table = counts.attributes.join(" × ");
    let mut names = counts.attributes.clone();
    names.sort();
    names.dedup();
    if names.len() != counts.attributes.len() {
        return Err(TableError::RepeatedAttribute(table));
    }
    if counts.categories.len() > MAX_CATEGORIES {
        return Err(TableError::TooManyCategories(table));
    }
    let mut seen = std::collections::HashSet::new();
    for category in &counts.categories {
        let label = category_label(&category.values);
        if category.values.len() != counts.attributes.len() {
            return Err(TableError::WrongValueCount {
                table,
                category: label,
                got: category.values.len(),
                want: counts.attributes.len(),
            });
        }
        if category
            .values
            .iter()
            .any(|value| value.trim().is_empty() || value.len() > 200)
        {
            return Err(TableError::BadValue(table));
        }
        if !seen.insert(category.values.clone()) {
            return Err(TableError::DuplicateCategory {
                table,
                category: label,
            });
        }
        if category.total > MAX_GROUP_TOTAL {
            return Err(TableError::TooManyCases {
                table,
                category: label,
            });
        }
        if category.positive > category.total {
            return Err(TableError::PositiveExceedsTotal {
                table,
                category: label,
                positive: category.positive,
                total: category.total,
            });
        }
    }
    let sample: u64 = counts
        .categories
        .iter()
        .map(|category| category.total)
        .sum();
    let share = |total: u64| {
        if sample == 0 {
            0.0
        } else {
            total as f64 / sample as f64
        }
    };
    for category in &counts.categories {
        let Some(why) = &category.excluded else {
            continue;
        };
        let label = category_label(&category.values);
        if !crate::text::has_visible_text(why) {
            return Err(TableError::ExclusionUnjustified {
                table,
                category: label,
            });
        }
        if share(category.total) >= EXCLUDABLE_SHARE {
            return Err(TableError::ExclusionTooLarge {
                table,
                category: label,
                share: share(category.total) * 100.0,
            });
        }
    }

    let mut warnings = Vec::new();
    let rate = |category: &CategoryCounts| {
        (category.total > 0).then(|| category.positive as f64 / category.total as f64)
    };
    // The reference: the highest rate among the categories in the ratios
    // (first of equals, so the choice is stable for a given input order).
    let included: Vec<(&CategoryCounts, f64)> = counts
        .categories
        .iter()
        .filter(|category| category.excluded.is_none())
        .filter_map(|category| rate(category).map(|rate| (category, rate)))
        .collect();
    if included.len() < 2 {
        return Err(TableError::TooFewCategories(table));
    }
    let (reference, reference_rate) = included
        .iter()
        .copied()
        .reduce(|best, next| if next.1 > best.1 { next } else { best })
        .ok_or_else(|| TableError::TooFewCategories(table.clone()))?;
    if reference_rate == 0.0 {
        warnings.push(format!(
            "{table}: no category has any positive outcome: every impact ratio is 0 by definition"
        ));
    }

    let categories: Vec<CategoryResult> = counts
        .categories
        .iter()
        .map(|category| {
            let label = category_label(&category.values);
            let rate = rate(category);
            let (ci_low, ci_high) = match rate {
                Some(_) => {
                    let (low, high) = wilson_interval(category.positive, category.total);
                    (Some(low), Some(high))
                }
                None => (None, None),
            };
            let impact_ratio = match (rate, &category.excluded) {
                (Some(rate), None) if reference_rate > 0.0 => Some(rate / reference_rate),
                (Some(_), None) => Some(0.0),
                _ => None,
            };
            let p_value = impact_ratio.filter(|ratio| *ratio < threshold).map(|_| {
                two_sided_p_value(
                    category.positive,
                    category.total - category.positive,
                    reference.positive,
                    reference.total - reference.positive,
                )
            });
            if let Some(why) = &category.excluded {
                warnings.push(format!(
                    "{table}: category {label:?} ({:.1}% of the sample) is left out of the impact ratios: {why}",
                    share(category.total) * 100.0
                ));
            }
            if category.total == 0 {
                warnings.push(format!(
                    "{table}: category {label:?} has no individuals: the audit says nothing about it"
                ));
            } else if category.excluded.is_none() && category.total < SMALL_GROUP {
                warnings.push(format!(
                    "{table}: category {label:?} has only {} individuals (fewer than {}): its rate is unreliable",
                    category.total,
                    SMALL_GROUP
                ));
            }
            CategoryResult {
                values: category.values.clone(),
                positive: category.positive,
                total: category.total,
                rate,
                ci_low,
                ci_high,
                share: share(category.total),
                impact_ratio,
                p_value,
                excluded: category.excluded.clone(),
            }
        })
        .collect();
    let (lowest, lowest_ratio) = categories
        .iter()
        .filter_map(|category| category.impact_ratio.map(|ratio| (category, ratio)))
        .reduce(|best, next| if next.1 < best.1 { next } else { best })
        .map(|(category, ratio)| (category.values.clone(), ratio))
        .unwrap_or_default();
    if counts.unknown > 0 {
        warnings.push(format!(
            "{table}: {} individuals of unknown category are in no rate",
            counts.unknown
        ));
    }
    Ok((
        ImpactTable {
            attributes: counts.attributes.clone(),
            unknown: counts.unknown,
            reference: reference.values.clone(),
            passes: lowest_ratio >= threshold,
            lowest_ratio,
            lowest,
            categories,
        },
        warnings,
    ))
}

/// Computes every table of an audit.
pub fn compute_tables(
    tables: &[TableCounts],
    threshold: f64,
) -> Result<(Vec<ImpactTable>, Vec<String>), TableError> {
    if tables.len() > MAX_TABLES {
        return Err(TableError::TooManyTables);
    }
    let mut computed: Vec<ImpactTable> = Vec::with_capacity(tables.len());
    let mut warnings = Vec::new();
    for counts in tables {
        let (table, said) = compute_table(counts, threshold)?;
        if computed.iter().any(|other| other.covers(&table.attributes)) {
            return Err(TableError::DuplicateTable(table.name()));
        }
        warnings.extend(said);
        computed.push(table);
    }
    Ok((computed, warnings))
}

/// Counts per table from individuals' attributes and outcomes: one table
/// per attribute and, for two or more, one for their intersection. A value
/// that is missing, empty or `unknown` puts the individual in that table's
/// unknown count (and the intersection's).
pub fn tabulate<'a>(
    attributes: &[String],
    individuals: impl IntoIterator<Item = (&'a std::collections::BTreeMap<String, String>, bool)>,
) -> Vec<TableCounts> {
    use std::collections::BTreeMap;
    let mut shapes: Vec<Vec<usize>> = (0..attributes.len()).map(|i| vec![i]).collect();
    if attributes.len() > 1 {
        shapes.push((0..attributes.len()).collect());
    }
    // Per table: (positive, total) per category, and the unknown count.
    type Tally = (BTreeMap<Vec<String>, (u64, u64)>, u64);
    let mut tallies: Vec<Tally> = vec![(BTreeMap::new(), 0); shapes.len()];
    for (values, positive) in individuals {
        let known: Vec<Option<&String>> = attributes
            .iter()
            .map(|name| values.get(name).filter(|value| is_known(value)))
            .collect();
        for (shape, (tally, unknown)) in shapes.iter().zip(tallies.iter_mut()) {
            let key: Option<Vec<String>> = shape
                .iter()
                .map(|&i| known[i].map(|value| value.trim().to_owned()))
                .collect();
            match key {
                Some(key) => {
                    let entry = tally.entry(key).or_default();
                    entry.0 += u64::from(positive);
                    entry.1 += 1;
                }
                None => *unknown += 1,
            }
        }
    }
    shapes
        .iter()
        .zip(tallies)
        .map(|(shape, (tally, unknown))| TableCounts {
            attributes: shape.iter().map(|&i| attributes[i].clone()).collect(),
            unknown,
            categories: tally
                .into_iter()
                .map(|(values, (positive, total))| CategoryCounts {
                    values,
                    positive,
                    total,
                    excluded: None,
                })
                .collect(),
        })
        .collect()
}

/// The median of the scores (the mean of the middle two for an even
/// count); `None` for no scores.
pub fn median(scores: &mut [f64]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    scores.sort_by(f64::total_cmp);
    let middle = scores.len() / 2;
    Some(if scores.len().is_multiple_of(2) {
        (scores[middle - 1] + scores[middle]) / 2.0
    } else {
        scores[middle]
    })
}

/// Whether a category value says something: not empty, not `unknown`.
pub fn is_known(value: &str) -> bool {
    let value = value.trim();
    !value.is_empty() && !value.eq_ignore_ascii_case("unknown")
}

#[cfg(test)]
mod tests;
