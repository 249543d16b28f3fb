//! The public summary of a bias audit of an employment tool done by an
//! independent auditor, as New York City's Local Law 144 asks an employer
//! to publish it (6 RCNY §5-304): the date of the audit, the distribution
//! date, the source of the data, the number of individuals per category,
//! the selection or scoring rates and impact ratios, the unknown-category
//! count, and the categories left out with why. Derived from the audit's
//! tables, so `verify` can derive it again and compare.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::BiasAudit;
use crate::text::html_escape;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicSummary {
    pub agent_id: String,
    pub agent_name: String,
    pub agent_version: String,
    pub audit_id: String,
    pub auditor: String,
    pub independent: bool,
    /// When the audit was done.
    pub audit_date: NaiveDate,
    /// When the tool was first put to use (its first allowed or approved
    /// deployment), if it has been.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution_date: Option<NaiveDate>,
    /// `historical` (the tool's own use) or `test` data.
    pub data: String,
    /// `selection` or `scoring`.
    pub mode: String,
    pub tables: Vec<SummaryTable>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryTable {
    /// `sex`, `race_ethnicity`, `sex × race_ethnicity`.
    pub name: String,
    /// Individuals whose category is unknown (not in the rates).
    pub unknown: u64,
    pub categories: Vec<SummaryCategory>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryCategory {
    pub category: String,
    pub individuals: u64,
    /// Selected, or scoring above the median.
    pub positive: u64,
    /// Rounded to four places.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Rounded to three places; none for a category left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact_ratio: Option<f64>,
    /// Why it is left out of the impact ratios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<String>,
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// Whether an audit is one a public summary is made of: recorded as done
/// by an independent auditor, with per-category tables.
pub fn applies(audit: &BiasAudit) -> bool {
    audit
        .source
        .as_ref()
        .is_some_and(|source| source.independent)
        && !audit.attributes.is_empty()
}

/// The summary of `audit` (see `applies`).
pub fn summarize(
    audit: &BiasAudit,
    agent_name: &str,
    distributed: Option<DateTime<Utc>>,
) -> Option<PublicSummary> {
    let source = audit.source.as_ref().filter(|_| applies(audit))?;
    Some(PublicSummary {
        agent_id: audit.agent_id.clone(),
        agent_name: agent_name.to_owned(),
        agent_version: audit.agent_version.clone(),
        audit_id: audit.audit_id.clone(),
        auditor: source.auditor.clone(),
        // Only grounded independence is published as such.
        independent: audit.is_independent(),
        audit_date: audit.tested_at.date_naive(),
        distribution_date: distributed.map(|at| at.date_naive()),
        data: source.data.as_str().to_owned(),
        mode: audit.mode.as_str().to_owned(),
        tables: audit
            .attributes
            .iter()
            .map(|table| SummaryTable {
                name: table.name(),
                unknown: table.unknown,
                categories: table
                    .categories
                    .iter()
                    .map(|category| SummaryCategory {
                        category: category.label(),
                        individuals: category.total,
                        positive: category.positive,
                        rate: category.rate.map(|rate| round(rate, 4)),
                        impact_ratio: category.impact_ratio.map(|ratio| round(ratio, 3)),
                        excluded: category.excluded.clone(),
                    })
                    .collect(),
            })
            .collect(),
    })
}

/// Where a stated summary is not the one its audit gives.
pub fn differences(stated: &PublicSummary, audit: &BiasAudit) -> Vec<String> {
    let distributed = stated
        .distribution_date
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc());
    let Some(derived) = summarize(audit, &stated.agent_name, distributed) else {
        return vec![format!(
            "audit {} is not one a public summary is made of (no independent auditor)",
            audit.audit_id
        )];
    };
    if derived == *stated {
        return Vec::new();
    }
    let mut found = Vec::new();
    for (stated_table, table) in stated.tables.iter().zip(&derived.tables) {
        for (stated_category, category) in stated_table.categories.iter().zip(&table.categories) {
            if stated_category != category {
                found.push(format!(
                    "{} {:?}: the summary says {} individuals, rate {:?}, impact ratio {:?}; audit {} gives {}, {:?}, {:?}",
                    table.name,
                    category.category,
                    stated_category.individuals,
                    stated_category.rate,
                    stated_category.impact_ratio,
                    audit.audit_id,
                    category.individuals,
                    category.rate,
                    category.impact_ratio
                ));
            }
        }
        if stated_table.unknown != table.unknown {
            found.push(format!(
                "{}: {} unknown stated, {} in audit {}",
                table.name, stated_table.unknown, table.unknown, audit.audit_id
            ));
        }
    }
    if found.is_empty() {
        found.push(format!(
            "the summary's facts (dates, auditor, data, tables) are not those of audit {}",
            audit.audit_id
        ));
    }
    found
}

/// The summary as a page ready to publish.
pub fn page(summary: &PublicSummary) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Bias audit summary: {0}</title><style>{1}</style></head><body><h1>Summary of the bias audit of {0}</h1>",
        html_escape(&summary.agent_name),
        super::style::STYLE,
    );
    let _ = write!(
        out,
        "<p>Automated employment decision tool: {} ({}), version {}.<br>Audit {} by {} ({}), dated {}.<br>Distribution date: {}.<br>Data: {} data; rates are {} rates.</p>",
        html_escape(&summary.agent_name),
        html_escape(&summary.agent_id),
        html_escape(&summary.agent_version),
        html_escape(&summary.audit_id),
        html_escape(&summary.auditor),
        if summary.independent {
            "independent auditor"
        } else {
            "auditor"
        },
        summary.audit_date,
        summary
            .distribution_date
            .map_or_else(|| "not yet in use".to_owned(), |date| date.to_string()),
        html_escape(&summary.data),
        html_escape(&summary.mode),
    );
    for table in &summary.tables {
        let _ = write!(
            out,
            "<h2>{}</h2><table><tr><th>category</th><th>individuals</th><th>{}</th><th>rate</th><th>impact ratio</th></tr>",
            html_escape(&table.name),
            if summary.mode == "scoring" {
                "above median"
            } else {
                "selected"
            },
        );
        for category in &table.categories {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                html_escape(&category.category),
                category.individuals,
                category.positive,
                category
                    .rate
                    .map_or_else(|| "—".into(), |rate| format!("{rate:.4}")),
                match (&category.impact_ratio, &category.excluded) {
                    (Some(ratio), _) => format!("{ratio:.3}"),
                    (None, Some(why)) => format!("excluded: {}", html_escape(why)),
                    (None, None) => "—".into(),
                },
            );
        }
        let _ = write!(
            out,
            "</table><p>Individuals of unknown category, not in the rates: {}.</p>",
            table.unknown
        );
    }
    out.push_str("</body></html>\n");
    out
}
