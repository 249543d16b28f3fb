//! What a report says, once, as blocks every format draws (headings,
//! paragraphs, tables, charts): the Markdown, the HTML and the PDF show the
//! same figures in the same words, so re-drawing any of them from the
//! signed data finds an edit.

use crate::domain::report::{BoardReport, Headline, Waits};

use super::chart::{Chart, Series};

/// One part of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading(String),
    Paragraph(String),
    Table {
        headers: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Chart(Chart),
}

/// The report's title.
pub fn title(report: &BoardReport) -> String {
    format!(
        "Governance report, {} to {}",
        report.period.from, report.period.to
    )
}

fn count(n: u64) -> String {
    n.to_string()
}

fn hours(hours: Option<f64>) -> String {
    hours.map_or_else(|| "-".to_owned(), |hours| format!("{hours:.1} h"))
}

/// The change from `before` to `now`, signed ("+3", "-12", "0").
fn change(now: u64, before: u64) -> String {
    match now.cmp(&before) {
        std::cmp::Ordering::Greater => format!("+{}", now - before),
        std::cmp::Ordering::Less => format!("-{}", before - now),
        std::cmp::Ordering::Equal => "0".to_owned(),
    }
}

fn hours_change(now: Option<f64>, before: Option<f64>) -> String {
    match (now, before) {
        (Some(now), Some(before)) => format!("{:+.1} h", now - before),
        _ => "-".to_owned(),
    }
}

/// The size of the log a checkpoint note names (its second line).
pub fn checkpoint_size(checkpoint: &str) -> String {
    checkpoint
        .lines()
        .nth(1)
        .filter(|size| size.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or("?")
        .to_owned()
}

fn headline_rows(now: &Headline, before: &Headline) -> Vec<Vec<String>> {
    let counts: [(&str, u64, u64); 17] = [
        ("Deployments requested", now.requests, before.requests),
        ("Allowed at request", now.allowed, before.allowed),
        (
            "Sent for approval",
            now.approval_required,
            before.approval_required,
        ),
        ("Blocked at request", now.blocked, before.blocked),
        ("Workflows approved", now.approved, before.approved),
        ("Workflows rejected", now.rejected, before.rejected),
        ("Requests withdrawn", now.withdrawn, before.withdrawn),
        ("Steps decided", now.decided_steps, before.decided_steps),
        ("Reminders sent", now.reminders, before.reminders),
        ("Steps overdue", now.overdue, before.overdue),
        ("Steps escalated", now.escalations, before.escalations),
        ("Bias audits recorded", now.audits, before.audits),
        (
            "Bias audits failing",
            now.audits_failing,
            before.audits_failing,
        ),
        ("Incidents reported", now.incidents, before.incidents),
        ("Versions suspended", now.suspensions, before.suspensions),
        ("Exceptions granted", now.exceptions, before.exceptions),
        (
            "Policy-set changes",
            now.policy_changes,
            before.policy_changes,
        ),
    ];
    let mut rows: Vec<Vec<String>> = counts
        .iter()
        .map(|(name, now, before)| {
            vec![
                (*name).to_owned(),
                count(*now),
                count(*before),
                change(*now, *before),
            ]
        })
        .collect();
    rows.insert(
        8,
        vec![
            "Time to decision, median".into(),
            hours(now.p50_hours),
            hours(before.p50_hours),
            hours_change(now.p50_hours, before.p50_hours),
        ],
    );
    rows.insert(
        9,
        vec![
            "Time to decision, 90th percentile".into(),
            hours(now.p90_hours),
            hours(before.p90_hours),
            hours_change(now.p90_hours, before.p90_hours),
        ],
    );
    rows
}

fn waits_table(first: &str, waits: &[Waits]) -> Block {
    Block::Table {
        headers: vec![
            first.into(),
            "Steps decided".into(),
            "Median".into(),
            "90th percentile".into(),
        ],
        rows: waits
            .iter()
            .map(|waits| {
                vec![
                    waits.name.clone(),
                    count(waits.decided),
                    hours(waits.p50_hours),
                    hours(waits.p90_hours),
                ]
            })
            .collect(),
    }
}

/// Every block of the report, in order.
pub fn blocks(report: &BoardReport) -> Vec<Block> {
    let figures = &report.figures;
    let mut blocks = vec![Block::Paragraph(format!(
        "{} Weeks {} to {} (Monday to Sunday, UTC), compared with {} to {}. Generated {} by {}, from the record as of the trail log's checkpoint at {} entries ({}).",
        report
            .team
            .as_ref()
            .map_or_else(|| "All teams.".to_owned(), |team| format!("Team {team}.")),
        report.period.from,
        report.period.to,
        report.previous.from,
        report.previous.to,
        report.generated_at.format("%Y-%m-%d %H:%M UTC"),
        report.generated_by,
        checkpoint_size(&report.checkpoint),
        report.origin,
    ))];

    blocks.push(Block::Heading("Headline".into()));
    blocks.push(Block::Table {
        headers: vec![
            "Figure".into(),
            "This period".into(),
            "Previous period".into(),
            "Change".into(),
        ],
        rows: headline_rows(&figures.headline, &figures.previous),
    });

    blocks.push(Block::Heading("Week by week".into()));
    let labels: Vec<String> = figures
        .weeks
        .iter()
        .map(|week| week.monday.format("%m-%d").to_string())
        .collect();
    let series = |name: &str, pick: fn(&crate::domain::report::Week) -> u64| Series {
        name: name.to_owned(),
        values: figures.weeks.iter().map(pick).collect(),
    };
    blocks.push(Block::Chart(Chart {
        title: "Requests and outcomes per week".into(),
        labels: labels.clone(),
        series: vec![
            series("requested", |week| week.requests),
            series("approved", |week| week.approved),
            series("rejected", |week| week.rejected),
            series("blocked", |week| week.blocked),
        ],
    }));
    blocks.push(Block::Table {
        headers: [
            "Week of",
            "Requested",
            "Allowed",
            "Approved",
            "Rejected",
            "Blocked",
            "Withdrawn",
        ]
        .map(String::from)
        .to_vec(),
        rows: figures
            .weeks
            .iter()
            .map(|week| {
                vec![
                    week.monday.to_string(),
                    count(week.requests),
                    count(week.allowed),
                    count(week.approved),
                    count(week.rejected),
                    count(week.blocked),
                    count(week.withdrawn),
                ]
            })
            .collect(),
    });

    blocks.push(Block::Heading("Time to decision".into()));
    blocks.push(Block::Paragraph(match figures.waits_by_role.first() {
        Some(longest) => format!(
            "Workflows waited longest at the {} step: 90% of its decisions within {}. Hours run from the step's turn to its decision; each figure is the end of its histogram bucket.",
            longest.name,
            hours(longest.p90_hours)
        ),
        None => "No step was decided in the period.".into(),
    }));
    blocks.push(waits_table("Step role", &figures.waits_by_role));
    blocks.push(waits_table("Team", &figures.waits_by_team));

    blocks.push(Block::Heading("Bias audits".into()));
    let audits = &figures.audits;
    blocks.push(Block::Table {
        headers: vec!["Agents".into(), "Count".into()],
        rows: [
            ("Audit expired in the period", audits.expired_in_period),
            ("Failing now", audits.failing),
            ("Expired now", audits.expired),
            ("Without a required audit now", audits.missing),
            ("Due within 30 days", audits.due_soon),
        ]
        .iter()
        .map(|(name, n)| vec![(*name).to_owned(), count(*n)])
        .collect(),
    });

    blocks.push(Block::Heading("Obligations".into()));
    if figures.obligations.is_empty() {
        blocks.push(Block::Paragraph(
            "The policy set adopts no framework.".into(),
        ));
    } else {
        blocks.push(Block::Paragraph(format!(
            "As of {}: the agents each adopted framework applies to, and those with a duty in effect and unmet.",
            report.generated_at.format("%Y-%m-%d")
        )));
        blocks.push(Block::Table {
            headers: vec![
                "Framework".into(),
                "Agents".into(),
                "Unmet".into(),
                "Met or not yet due".into(),
            ],
            rows: figures
                .obligations
                .iter()
                .map(|coverage| {
                    vec![
                        coverage.name.clone(),
                        count(coverage.agents),
                        count(coverage.unmet),
                        count(coverage.agents.saturating_sub(coverage.unmet)),
                    ]
                })
                .collect(),
        });
        if !figures.unmet.is_empty() {
            blocks.push(Block::Paragraph("Unmet the longest:".into()));
            blocks.push(Block::Table {
                headers: vec!["Agent".into(), "Framework".into(), "Unmet since".into()],
                rows: figures
                    .unmet
                    .iter()
                    .map(|unmet| {
                        vec![
                            unmet.agent_id.clone(),
                            unmet.framework.clone(),
                            unmet.since.to_string(),
                        ]
                    })
                    .collect(),
            });
        }
    }

    blocks.push(Block::Heading("Incidents and exceptions".into()));
    blocks.push(Block::Paragraph(format!(
        "{} incidents reported, {} of them suspending their version; {} exceptions to a policy granted.",
        figures.headline.incidents, figures.headline.suspensions, figures.headline.exceptions
    )));
    if !figures.incidents.is_empty() {
        blocks.push(Block::Table {
            headers: [
                "Incident", "Agent", "Version", "Severity", "Reported", "Status",
            ]
            .map(String::from)
            .to_vec(),
            rows: figures
                .incidents
                .iter()
                .map(|incident| {
                    vec![
                        incident.incident_id.clone(),
                        incident.agent_id.clone(),
                        incident.agent_version.clone(),
                        format!(
                            "{}{}",
                            incident.severity,
                            if incident.suspended {
                                " (suspended)"
                            } else {
                                ""
                            }
                        ),
                        incident.reported_at.format("%Y-%m-%d").to_string(),
                        incident.status.clone(),
                    ]
                })
                .collect(),
        });
    }

    blocks.push(Block::Heading("Policy-set changes".into()));
    if figures.policy_changes.is_empty() {
        blocks.push(Block::Paragraph(
            "No policy-set version took effect in the period.".into(),
        ));
    } else {
        blocks.push(Block::Table {
            headers: ["Version", "What", "Proposed by", "Approved by", "Approved"]
                .map(String::from)
                .to_vec(),
            rows: figures
                .policy_changes
                .iter()
                .map(|change| {
                    vec![
                        change.version.to_string(),
                        change.description.clone(),
                        change.proposed_by.clone(),
                        change.approved_by.clone(),
                        change.approved_at.format("%Y-%m-%d").to_string(),
                    ]
                })
                .collect(),
        });
    }

    blocks.push(Block::Heading("Checking this document".into()));
    blocks.push(Block::Paragraph(
        "The figures above are signed under the trail log's key and travel inside this document. `gavel report verify FILE --key KEY` checks the signature and draws the document again from the signed figures: a changed figure does not match. The log's key is printed by `gavel trail key`.".into(),
    ));
    blocks
}
