//! Audits computed elsewhere, as a CSV file of per-category counts: what an
//! external auditor publishes, entered so Gavel can check and gate on it.
//!
//! One row per category. Columns named after protected attributes (`sex`,
//! `race_ethnicity`, snake_case) hold the category; a row that fills one
//! of them belongs to that attribute's table, a row that fills several to
//! their intersection's. The other columns:
//!
//! - `total` (or `applicants`): individuals in the category;
//! - `positive` (or `selected`, `above_median`): those with the positive
//!   outcome; or `rate` (`54.3%` or `0.543`), from which the count is
//!   derived; with both, the published rate is checked against the count;
//! - `impact_ratio` (optional): the published ratio, checked against the
//!   one computed from the counts;
//! - `excluded` (optional): why a category under 2% of the sample is left
//!   out of the impact ratios.
//!
//! A category written `unknown` counts individuals of unknown category.

use crate::domain::bias::tables::{
    CategoryCounts, ImpactTable, TableCounts, category_label, is_known,
};

/// Printed figures to check once the tables are computed.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedRatio {
    pub attributes: Vec<String>,
    pub values: Vec<String>,
    pub printed: Printed,
    pub line: u64,
}

/// A number as printed: its value and how many decimals it was printed with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Printed {
    pub value: f64,
    pub decimals: i32,
}

impl Printed {
    fn parse(text: &str) -> Option<Printed> {
        let text = text.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return None;
        }
        let value: f64 = text.parse().ok()?;
        let decimals = text.split_once('.').map_or(0, |(_, tail)| tail.len()) as i32;
        Some(Printed { value, decimals })
    }

    /// Whether `value` prints as this: within one unit of the last digit
    /// printed (published tables both round and truncate).
    pub fn matches(&self, value: f64) -> bool {
        (value - self.value).abs() <= 10f64.powi(-self.decimals) + 1e-9
    }
}

/// A rate as printed: a percentage (`54.3%`) or a fraction (`0.543`), as
/// a fraction with its precision.
fn parse_rate(text: &str) -> Option<Printed> {
    let text = text.trim();
    match text.strip_suffix('%') {
        Some(percent) => {
            let printed = Printed::parse(percent)?;
            (printed.value <= 100.0).then_some(Printed {
                value: printed.value / 100.0,
                decimals: printed.decimals + 2,
            })
        }
        None => Printed::parse(text).filter(|printed| printed.value <= 1.0),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub tables: Vec<TableCounts>,
    pub published: Vec<PublishedRatio>,
}

#[derive(Clone, Copy, PartialEq)]
enum Column {
    Attribute(usize),
    Total,
    Positive,
    Rate,
    ImpactRatio,
    Excluded,
}

fn column(name: &str) -> Option<Column> {
    Some(match name {
        "total" | "applicants" | "individuals" => Column::Total,
        "positive" | "selected" | "above_median" | "scored_above_median" => Column::Positive,
        "rate" | "selection_rate" | "scoring_rate" => Column::Rate,
        "impact_ratio" => Column::ImpactRatio,
        "excluded" | "exclusion" | "exclusion_justification" => Column::Excluded,
        _ => return None,
    })
}

/// Reads the CSV text; every error names its line.
pub fn parse_csv(text: &str) -> Result<Imported, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|err| format!("the header line: {err}"))?
        .clone();
    let mut attributes: Vec<String> = Vec::new();
    let mut columns = Vec::with_capacity(headers.len());
    for header in &headers {
        let name = header.to_lowercase();
        match column(&name) {
            Some(kind) => {
                if columns.contains(&kind) {
                    return Err(format!("column {header:?} is given twice"));
                }
                columns.push(kind);
            }
            None => {
                let mut chars = name.chars();
                let snake = chars.next().is_some_and(|c| c.is_ascii_lowercase())
                    && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !snake || name.len() > 64 {
                    return Err(format!(
                        "column {header:?} is neither a figure (total, positive, rate, impact_ratio, excluded) nor an attribute name in snake_case (sex, race_ethnicity)"
                    ));
                }
                if attributes.contains(&name) {
                    return Err(format!("column {header:?} is given twice"));
                }
                columns.push(Column::Attribute(attributes.len()));
                attributes.push(name);
            }
        }
    }
    if attributes.is_empty() {
        return Err("no attribute column (sex, race_ethnicity, ...)".into());
    }
    if !columns.contains(&Column::Total) {
        return Err("no total column: each category needs its number of individuals".into());
    }
    if !columns.contains(&Column::Positive) && !columns.contains(&Column::Rate) {
        return Err("no positive (or selected) column and no rate column".into());
    }

    let mut tables: Vec<TableCounts> = Vec::new();
    let mut published = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|err| format!("{err}"))?;
        let line = record.position().map_or(0, |position| position.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        let mut values: Vec<Option<&str>> = vec![None; attributes.len()];
        let (mut total, mut positive, mut rate, mut ratio, mut excluded) =
            (None, None, None, None, None);
        for (kind, field) in columns.iter().zip(record.iter()) {
            if field.is_empty() {
                continue;
            }
            match kind {
                Column::Attribute(index) => values[*index] = Some(field),
                Column::Total => total = Some(count(field, "total", line)?),
                Column::Positive => positive = Some(count(field, "positive", line)?),
                Column::Rate => {
                    rate = Some(parse_rate(field).ok_or_else(|| {
                        format!("line {line}: rate {field:?} is not a percentage (54.3%) or a fraction (0.543)")
                    })?)
                }
                Column::ImpactRatio => {
                    ratio = Some(Printed::parse(field).ok_or_else(|| {
                        format!("line {line}: impact_ratio {field:?} is not a number")
                    })?)
                }
                Column::Excluded => excluded = Some(field.to_owned()),
            }
        }
        let shape: Vec<usize> = (0..attributes.len())
            .filter(|&i| values[i].is_some())
            .collect();
        if shape.is_empty() {
            return Err(format!("line {line}: no attribute names the category"));
        }
        let total = total.ok_or_else(|| format!("line {line}: the total is missing"))?;
        let positive = match (positive, rate) {
            (Some(positive), Some(rate))
                if !rate.matches(positive as f64 / total.max(1) as f64) =>
            {
                return Err(format!(
                    "line {line}: {positive} of {total} is a rate of {:.4}; the rate printed is {}",
                    positive as f64 / total.max(1) as f64,
                    rate.value
                ));
            }
            (Some(positive), _) => positive,
            (None, Some(rate)) => derive_count(rate, total).ok_or_else(|| {
                format!(
                    "line {line}: no whole number of the {total} individuals gives the rate {}",
                    rate.value
                )
            })?,
            (None, None) => return Err(format!("line {line}: neither positive nor rate is given")),
        };
        let table_attributes: Vec<String> = shape.iter().map(|&i| attributes[i].clone()).collect();
        let category: Vec<String> = shape
            .iter()
            .filter_map(|&i| values[i].map(str::to_owned))
            .collect();
        let index = match tables
            .iter()
            .position(|table| table.attributes == table_attributes)
        {
            Some(index) => index,
            None => {
                tables.push(TableCounts {
                    attributes: table_attributes.clone(),
                    unknown: 0,
                    categories: Vec::new(),
                });
                tables.len() - 1
            }
        };
        let table = &mut tables[index];
        if !category.iter().all(|value| is_known(value)) {
            table.unknown += total;
            continue;
        }
        if let Some(printed) = ratio {
            published.push(PublishedRatio {
                attributes: table_attributes,
                values: category.clone(),
                printed,
                line,
            });
        }
        table.categories.push(CategoryCounts {
            values: category,
            positive,
            total,
            excluded,
        });
    }
    if tables.is_empty() {
        return Err("the file has no categories".into());
    }
    // Single attributes first, then intersections, each in column order.
    tables.sort_by_key(|table| table.attributes.len());
    Ok(Imported { tables, published })
}

fn count(field: &str, name: &str, line: u64) -> Result<u64, String> {
    field
        .parse::<u64>()
        .map_err(|_| format!("line {line}: {name} {field:?} is not a whole number"))
}

/// The count of `total` whose rate prints as `rate`.
fn derive_count(rate: Printed, total: u64) -> Option<u64> {
    let count = (rate.value * total as f64).round();
    (count >= 0.0 && count <= total as f64 && rate.matches(count / total.max(1) as f64))
        .then_some(count as u64)
}

/// Checks the published impact ratios against the computed tables.
pub fn check_published(published: &[PublishedRatio], tables: &[ImpactTable]) -> Result<(), String> {
    for ratio in published {
        let computed = tables
            .iter()
            .find(|table| table.attributes == ratio.attributes)
            .and_then(|table| {
                table
                    .categories
                    .iter()
                    .find(|category| category.values == ratio.values)
            })
            .and_then(|category| category.impact_ratio);
        match computed {
            Some(value) if ratio.printed.matches(value) => {}
            Some(value) => {
                return Err(format!(
                    "line {}: the published impact ratio of {:?} is {}, but its counts give {value:.4}",
                    ratio.line,
                    category_label(&ratio.values),
                    ratio.printed.value
                ));
            }
            None => {
                return Err(format!(
                    "line {}: {:?} has a published impact ratio but none is computed (excluded, or no individuals)",
                    ratio.line,
                    category_label(&ratio.values)
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DCWP rule's scoring-rate example as published: applicants and
    /// scoring rates, no counts.
    const SCORING_EXAMPLE: &str = "\
sex,race_ethnicity,applicants,scoring_rate,impact_ratio
Male,,92,54.3%,1.00
Female,,76,44.7%,0.82
,Hispanic or Latino,28,64.2%,1.00
,White,40,37.5%,0.58
,Black or African American,32,50.0%,0.78
,Native Hawaiian or Pacific Islander,8,62.5%,0.97
,Asian,24,41.7%,0.65
";

    #[test]
    fn the_dcwp_scoring_example_is_read_from_rates_and_its_ratios_check() {
        let imported = parse_csv(SCORING_EXAMPLE).unwrap();
        assert_eq!(imported.tables.len(), 2);
        let sex = &imported.tables[0];
        assert_eq!(sex.attributes, ["sex"]);
        assert_eq!(
            sex.categories
                .iter()
                .map(|c| (c.positive, c.total))
                .collect::<Vec<_>>(),
            [(50, 92), (34, 76)]
        );
        let race = &imported.tables[1];
        assert_eq!(race.categories[0].positive, 18);
        let (computed, _) =
            crate::domain::bias::tables::compute_tables(&imported.tables, 0.8).unwrap();
        check_published(&imported.published, &computed).unwrap();
    }

    #[test]
    fn a_published_figure_that_does_not_match_its_counts_is_named() {
        let text = "sex,total,positive,rate\nMale,92,50,60%\nFemale,76,34,44.7%\n";
        let err = parse_csv(text).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let text = "sex,total,positive,impact_ratio\nMale,92,50,1.00\nFemale,76,34,0.90\n";
        let imported = parse_csv(text).unwrap();
        let (computed, _) =
            crate::domain::bias::tables::compute_tables(&imported.tables, 0.8).unwrap();
        let err = check_published(&imported.published, &computed).unwrap_err();
        assert!(err.contains("line 3") && err.contains("0.9"), "{err}");
    }

    #[test]
    fn intersections_unknowns_and_exclusions_are_read() {
        let text = "\
sex,race_ethnicity,total,selected,excluded
Male,,100,50,
Female,,90,40,
Unknown,,12,3,
,Black,60,30,
,White,120,55,
,Asian,3,1,fewer than 2% of applicants
,unknown,19,7,
Male,Black,30,15,
Female,Black,30,15,
Male,White,60,30,
Female,White,60,25,
";
        let imported = parse_csv(text).unwrap();
        let shapes: Vec<_> = imported
            .tables
            .iter()
            .map(|t| (t.attributes.join("+"), t.categories.len(), t.unknown))
            .collect();
        assert_eq!(
            shapes,
            [
                ("sex".to_owned(), 2, 12),
                ("race_ethnicity".to_owned(), 3, 19),
                ("sex+race_ethnicity".to_owned(), 4, 0)
            ]
        );
        assert_eq!(
            imported.tables[1].categories[2].excluded.as_deref(),
            Some("fewer than 2% of applicants")
        );
    }

    #[test]
    fn bad_files_get_clear_errors() {
        for (text, says) in [
            ("", "no attribute column"),
            ("Race/Ethnicity,total,positive\n", "snake_case"),
            ("sex,positive\nMale,1\n", "no total column"),
            ("sex,total\nMale,1\n", "no positive"),
            ("sex,total,positive\nMale,x,1\n", "not a whole number"),
            ("sex,total,positive\n,3,1\n", "no attribute names"),
            ("sex,total,rate\nMale,3,150\n", "not a percentage"),
            ("sex,total,rate\nMale,3,0.5\n", "no whole number"),
            ("sex,total,positive\nMale,3\n", "fields"),
            ("sex,total,total\n", "twice"),
        ] {
            let err = parse_csv(text).unwrap_err();
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }
}
