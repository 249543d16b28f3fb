use super::*;

/// The worked examples of 6 RCNY §5-301 as the rule prints them: for each
/// category, (values, applicants, selected or above the median, rate in
/// percent, impact ratio). The rule prints rates and ratios cut to a few
/// digits, sometimes rounded and sometimes truncated, so a printed figure
/// must lie within one unit of its last digit of the full-precision one.
type Printed = (&'static [&'static str], u64, u64, f64, f64);

fn counts(attributes: &[&str], rows: &[Printed]) -> TableCounts {
    TableCounts {
        attributes: attributes.iter().map(|name| (*name).to_owned()).collect(),
        unknown: 0,
        categories: rows
            .iter()
            .map(|(values, total, positive, _, _)| CategoryCounts {
                values: values.iter().map(|value| (*value).to_owned()).collect(),
                positive: *positive,
                total: *total,
                excluded: None,
            })
            .collect(),
    }
}

fn printed_as(value: f64, printed: f64, digits: i32) -> bool {
    (value - printed).abs() < 10f64.powi(-digits) + 1e-12
}

fn reproduces(attributes: &[&str], rows: &[Printed], rate_digits: i32, ratio_digits: i32) {
    let (table, _) = compute_table(&counts(attributes, rows), 0.8).unwrap();
    for (row, category) in rows.iter().zip(&table.categories) {
        let (values, _, _, rate, ratio) = row;
        let got_rate = category.rate.unwrap() * 100.0;
        let got_ratio = category.impact_ratio.unwrap();
        assert!(
            printed_as(got_rate, *rate, rate_digits),
            "{values:?}: rate {got_rate} printed {rate}"
        );
        assert!(
            printed_as(got_ratio, *ratio, ratio_digits),
            "{values:?}: ratio {got_ratio} printed {ratio}"
        );
    }
}

const MALE: &[&str] = &["Male"];
const FEMALE: &[&str] = &["Female"];

#[test]
fn the_dcwp_selection_rate_example_is_reproduced_per_sex_and_race() {
    reproduces(
        &["sex"],
        &[
            (MALE, 1390, 667, 48.0, 1.00),
            (FEMALE, 1181, 555, 47.0, 0.98),
        ],
        0,
        2,
    );
    reproduces(
        &["race_ethnicity"],
        &[
            (&["Hispanic or Latino"], 408, 204, 50.0, 0.97),
            (&["White"], 797, 412, 52.0, 1.00),
            (&["Black or African American"], 390, 170, 44.0, 0.84),
            (
                &["Native Hawaiian or Pacific Islander"],
                119,
                52,
                44.0,
                0.85,
            ),
            (&["Asian"], 616, 302, 49.0, 0.95),
            (&["Native American or Alaska Native"], 41, 18, 44.0, 0.85),
            (&["Two or More Races"], 200, 64, 32.0, 0.62),
        ],
        0,
        2,
    );
}

#[test]
fn the_dcwp_selection_rate_example_is_reproduced_for_the_intersection() {
    reproduces(
        &["sex", "race_ethnicity"],
        &[
            (&["Male", "Hispanic or Latino"], 205, 90, 43.9, 0.841),
            (&["Male", "White"], 412, 215, 52.2, 1.000),
            (&["Male", "Black or African American"], 226, 95, 42.0, 0.806),
            (
                &["Male", "Native Hawaiian or Pacific Islander"],
                87,
                37,
                42.5,
                0.815,
            ),
            (&["Male", "Asian"], 321, 167, 52.0, 0.997),
            (
                &["Male", "Native American or Alaska Native"],
                24,
                11,
                45.8,
                0.878,
            ),
            (&["Male", "Two or More Races"], 115, 52, 45.2, 0.866),
            (&["Female", "Hispanic or Latino"], 203, 85, 41.9, 0.803),
            (&["Female", "White"], 385, 197, 51.2, 0.981),
            (
                &["Female", "Black or African American"],
                164,
                75,
                45.7,
                0.877,
            ),
            (
                &["Female", "Native Hawaiian or Pacific Islander"],
                32,
                15,
                46.9,
                0.898,
            ),
            (&["Female", "Asian"], 295, 135, 45.8, 0.877),
            (
                &["Female", "Native American or Alaska Native"],
                17,
                7,
                41.2,
                0.789,
            ),
            (&["Female", "Two or More Races"], 85, 41, 48.2, 0.924),
        ],
        1,
        3,
    );
}

#[test]
fn the_dcwp_scoring_rate_example_is_reproduced() {
    // Counts above the median: the printed rate times the applicants.
    reproduces(
        &["sex"],
        &[(MALE, 92, 50, 54.3, 1.00), (FEMALE, 76, 34, 44.7, 0.82)],
        1,
        2,
    );
    reproduces(
        &["race_ethnicity"],
        &[
            (&["Hispanic or Latino"], 28, 18, 64.2, 1.00),
            (&["White"], 40, 15, 37.5, 0.58),
            (&["Black or African American"], 32, 16, 50.0, 0.78),
            (&["Native Hawaiian or Pacific Islander"], 8, 5, 62.5, 0.97),
            (&["Asian"], 24, 10, 41.7, 0.65),
        ],
        1,
        2,
    );
}

#[test]
fn the_reference_is_the_highest_rate_and_pass_fail_is_the_lowest_ratio_at_full_precision() {
    let table = TableCounts {
        attributes: vec!["sex".into()],
        unknown: 7,
        categories: vec![
            CategoryCounts {
                values: vec!["a".into()],
                positive: 3999,
                total: 10_000,
                excluded: None,
            },
            CategoryCounts {
                values: vec!["b".into()],
                positive: 5000,
                total: 10_000,
                excluded: None,
            },
        ],
    };
    // 0.3999 / 0.5 = 0.7998: rounds to 0.800 but is below the threshold.
    let (computed, warnings) = compute_table(&table, 0.8).unwrap();
    assert_eq!(computed.reference, ["b"]);
    assert_eq!(computed.lowest, ["a"]);
    assert!((computed.lowest_ratio - 0.7998).abs() < 1e-12);
    assert!(!computed.passes);
    assert!(computed.categories[0].p_value.is_some());
    assert_eq!(computed.categories[1].p_value, None);
    assert_eq!(computed.unknown, 7);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("7 individuals of unknown category"))
    );
}

fn category(value: &str, positive: u64, total: u64, excluded: Option<&str>) -> CategoryCounts {
    CategoryCounts {
        values: vec![value.into()],
        positive,
        total,
        excluded: excluded.map(str::to_owned),
    }
}

#[test]
fn only_a_category_under_two_percent_may_be_excluded_and_it_is_still_shown() {
    let mut table = TableCounts {
        attributes: vec!["race_ethnicity".into()],
        unknown: 0,
        categories: vec![
            category("a", 500, 1000, None),
            category("b", 450, 1000, None),
            // 39 of 2039: 1.9%, with a rate far below the others.
            category("c", 2, 39, Some("39 applicants, 1.9% of the sample")),
        ],
    };
    let (computed, _) = compute_table(&table, 0.8).unwrap();
    let excluded = &computed.categories[2];
    assert_eq!(excluded.total, 39);
    assert!(excluded.rate.is_some());
    assert_eq!(excluded.impact_ratio, None);
    assert!(
        computed.passes,
        "the excluded category does not fail the table"
    );

    table.categories[2].excluded = Some("  ".into());
    assert!(matches!(
        compute_table(&table, 0.8),
        Err(TableError::ExclusionUnjustified { .. })
    ));
    // 41 of 2041: 2.0%, too large to leave out.
    table.categories[2] = category("c", 2, 41, Some("small"));
    assert!(matches!(
        compute_table(&table, 0.8),
        Err(TableError::ExclusionTooLarge { .. })
    ));
    // Without an exclusion the small category fails the table.
    table.categories[2] = category("c", 2, 39, None);
    let (computed, _) = compute_table(&table, 0.8).unwrap();
    assert!(!computed.passes);
    assert_eq!(computed.lowest, ["c"]);
}

#[test]
fn individuals_are_tabulated_per_attribute_and_intersection_with_unknowns_counted() {
    use std::collections::BTreeMap;
    let person = |sex: &str, race: &str| {
        let mut values = BTreeMap::new();
        values.insert("sex".to_owned(), sex.to_owned());
        if !race.is_empty() {
            values.insert("race_ethnicity".to_owned(), race.to_owned());
        }
        values
    };
    let people = [
        (person("female", "black"), true),
        (person("female", "white"), false),
        (person("male", "black"), true),
        (person("male", ""), true),
        (person("Unknown", "white"), false),
    ];
    let attributes = vec!["sex".to_owned(), "race_ethnicity".to_owned()];
    let tables = tabulate(&attributes, people.iter().map(|(v, p)| (v, *p)));
    assert_eq!(tables.len(), 3);
    assert_eq!(tables[0].attributes, ["sex"]);
    assert_eq!(tables[0].unknown, 1);
    assert_eq!(tables[0].categories.len(), 2);
    assert_eq!(
        (
            tables[0].categories[1].positive,
            tables[0].categories[1].total
        ),
        (2, 2)
    );
    assert_eq!(tables[1].unknown, 1);
    assert_eq!(tables[2].attributes, ["sex", "race_ethnicity"]);
    assert_eq!(tables[2].unknown, 2);
    assert_eq!(tables[2].categories.len(), 3);
}

#[test]
fn bad_tables_are_errors_not_panics() {
    let good = |values: Vec<&str>| CategoryCounts {
        values: values.into_iter().map(str::to_owned).collect(),
        positive: 1,
        total: 2,
        excluded: None,
    };
    let table = |attributes: Vec<&str>, categories| TableCounts {
        attributes: attributes.into_iter().map(str::to_owned).collect(),
        unknown: 0,
        categories,
    };
    for bad in [
        table(vec![], vec![good(vec![]), good(vec![])]),
        table(vec!["Sex"], vec![good(vec!["a"]), good(vec!["b"])]),
        table(
            vec!["sex", "sex"],
            vec![good(vec!["a", "b"]), good(vec!["b", "c"])],
        ),
        table(vec!["sex"], vec![good(vec!["a", "x"]), good(vec!["b"])]),
        table(vec!["sex"], vec![good(vec!["a"]), good(vec!["a"])]),
        table(vec!["sex"], vec![good(vec![" "]), good(vec!["a"])]),
        table(vec!["sex"], vec![good(vec!["a"])]),
        table(
            vec!["sex"],
            vec![
                good(vec!["a"]),
                CategoryCounts {
                    positive: 3,
                    ..good(vec!["b"])
                },
            ],
        ),
    ] {
        assert!(compute_table(&bad, 0.8).is_err(), "{bad:?}");
    }
    let sex = table(vec!["sex"], vec![good(vec!["a"]), good(vec!["b"])]);
    assert!(matches!(
        compute_tables(&[sex.clone(), sex], 0.8),
        Err(TableError::DuplicateTable(_))
    ));
}

#[test]
fn the_median_is_the_middle_score() {
    assert_eq!(median(&mut []), None);
    assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
}
