//! `index.html`: the pack read top to bottom by a person. One page, no
//! network, no scripts, print-friendly; every section links to the files
//! it is drawn from. Everything in it comes from the store, so every text
//! is escaped.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::collected::{Evidence, charts};
use super::style::STYLE;
use crate::domain::{Step, StepStatus};
use crate::text::html_escape;

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn rate(value: Option<f64>) -> String {
    value.map_or_else(|| "—".into(), |value| format!("{:.1}%", value * 100.0))
}

fn step_row(out: &mut String, step: &Step, total: usize) {
    let decided = step.decision_at.map(time).unwrap_or_default();
    let received = step.received_later().map(time).unwrap_or_default();
    let status = match step.status {
        StepStatus::Approved => "approved",
        StepStatus::Rejected => "rejected",
        StepStatus::Skipped => "skipped",
        StepStatus::Pending => "waiting",
    };
    let mut decider = step
        .approver_email
        .as_deref()
        .map(html_escape)
        .unwrap_or_default();
    if step.quorum > 1 {
        let approvals: Vec<String> = step
            .approvals
            .iter()
            .map(|approval| {
                let behalf = approval
                    .on_behalf_of
                    .as_deref()
                    .map(|delegator| format!(" for {}", html_escape(delegator)))
                    .unwrap_or_default();
                format!(
                    "{}{behalf} ({})",
                    html_escape(&approval.approver_email),
                    time(approval.decision_at)
                )
            })
            .collect();
        decider = format!(
            "{} of {} approvals: {}",
            step.approvals.len(),
            step.quorum,
            approvals.join("; ")
        );
    }
    let alerts: Vec<String> = step
        .alerts
        .iter()
        .map(|alert| {
            let to = alert
                .to
                .as_deref()
                .map(|to| format!(" to {}", html_escape(to)))
                .unwrap_or_default();
            format!("{}{to} {}", alert.kind.as_str(), time(alert.at))
        })
        .collect();
    let _ = write!(
        out,
        "<tr><td>{}/{total}</td><td>{}</td><td>{status}</td><td>{decider}</td><td>{}</td><td>{decided}</td><td>{received}</td><td>{}</td><td>{}</td></tr>",
        step.step_id,
        html_escape(&step.role.label()),
        step.on_behalf_of
            .as_deref()
            .map(html_escape)
            .unwrap_or_default(),
        step.comment.as_deref().map(html_escape).unwrap_or_default(),
        alerts.join("<br>"),
    );
}

/// The page.
/// The page; `obligations` is the posture `obligations/` carries, if any.
pub fn page(
    evidence: &Evidence,
    obligations: Option<&super::obligations::PackedPosture>,
    now: DateTime<Utc>,
) -> String {
    let query = &evidence.query;
    let mut out = String::new();
    let agent_name = evidence
        .deployments
        .last()
        .map(|deployment| deployment.agent_name.clone())
        .unwrap_or_else(|| query.agent_id.clone());
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Evidence: {}</title><style>{STYLE}</style></head><body>",
        html_escape(&agent_name)
    );
    let _ = write!(
        out,
        "<h1>Evidence pack: {} ({})</h1><p class=\"muted\">Exported {}{}{}. Log <code>{}</code>. Every file is listed with its SHA-256 in <a href=\"pack.json\">pack.json</a>, signed under the log's key; check the pack with <code>gavel evidence verify PACK.zip --key KEY</code>.</p>",
        html_escape(&agent_name),
        html_escape(&query.agent_id),
        time(now),
        query
            .agent_version
            .as_deref()
            .map(|version| format!(", version {}", html_escape(version)))
            .unwrap_or_default(),
        match (query.from, query.to) {
            (Some(from), Some(to)) => format!(", from {} to {}", time(from), time(to)),
            (Some(from), None) => format!(", from {}", time(from)),
            (None, Some(to)) => format!(", until {}", time(to)),
            (None, None) => String::new(),
        },
        html_escape(&evidence.origin),
    );

    out.push_str("<h2 id=\"requests\">Deployment requests</h2>");
    if evidence.deployments.is_empty() {
        out.push_str("<p>No request in this scope.</p>");
    }
    for deployment in &evidence.deployments {
        let _ = write!(
            out,
            "<h3><a href=\"requests/{0}.json\">{0}</a>: version {1}, {2}</h3><p>Requested by {3} on {4}; judged under policy set <a href=\"policy-sets/version-{5}.toml\">version {5}</a>.</p>",
            html_escape(&deployment.deployment_id),
            html_escape(&deployment.agent_version),
            deployment.status.as_str().replace('_', " "),
            html_escape(&deployment.requested_by),
            time(deployment.requested_at),
            deployment.policy_set_version.unwrap_or_default(),
        );
        if !deployment.triggered_policies.is_empty() {
            out.push_str("<table><tr><th>policy</th><th>action</th><th>why it fired</th><th>outcome and remediation</th></tr>");
            for policy in &deployment.triggered_policies {
                let _ = write!(
                    out,
                    "<tr><td>{} ({})</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                    html_escape(&policy.name),
                    html_escape(&policy.policy_id),
                    policy.action.as_str(),
                    html_escape(&policy.reason),
                    if policy.blocking {
                        "<b>blocks</b>: "
                    } else {
                        ""
                    },
                    html_escape(&policy.remediation),
                );
            }
            out.push_str("</table>");
        }
    }

    out.push_str("<h2 id=\"workflows\">Approval workflows</h2>");
    if evidence.workflows.is_empty() {
        out.push_str("<p>No workflow in this scope.</p>");
    }
    for workflow in &evidence.workflows {
        let _ = write!(
            out,
            "<h3><a href=\"workflows/{0}.json\">{0}</a> ({1}): {2}</h3><p class=\"muted\">Deployment {3}, requested by {4}, opened {5}.</p><table><tr><th>step</th><th>role</th><th>status</th><th>decided by</th><th>on behalf of</th><th>decided</th><th>received</th><th>comment</th><th>reminders and escalation</th></tr>",
            html_escape(&workflow.workflow_id),
            html_escape(&workflow.triggered_by_policy),
            workflow.status.as_str().replace('_', " "),
            html_escape(&workflow.deployment_id),
            html_escape(&workflow.requested_by),
            time(workflow.created_at),
        );
        for step in &workflow.steps {
            step_row(&mut out, step, workflow.steps.len());
        }
        out.push_str("</table>");
    }

    out.push_str("<h2 id=\"reviews\">Ethics reviews</h2>");
    if evidence.reviews.is_empty() {
        out.push_str("<p>No submitted review in this scope.</p>");
    }
    for (review, template) in &evidence.reviews {
        let _ = write!(
            out,
            "<h3><a href=\"reviews/{0}.md\">{0}</a> by {1} for {2}</h3><table><tr><th>question</th><th>answer</th></tr>",
            html_escape(&review.review_id),
            html_escape(&review.reviewer),
            html_escape(&review.workflow_id),
        );
        for question in &template.questions {
            let answer = review
                .answers
                .get(&question.id)
                .map(|value| match value {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td></tr>",
                html_escape(&question.prompt),
                html_escape(&answer)
            );
        }
        out.push_str("</table>");
    }

    out.push_str("<h2 id=\"audits\">Bias audits</h2>");
    if evidence.audits.is_empty() {
        out.push_str("<p>No bias audit in this scope.</p>");
    }
    for audit in &evidence.audits {
        let stats = &audit.stats;
        let (verdict, class) = if stats.passes_threshold {
            ("passes", "pass")
        } else {
            ("fails", "fail")
        };
        let _ = write!(
            out,
            "<h3><a href=\"audits/{0}.json\">{0}</a>: version {1}, tested {2}</h3><p><span class=\"{class}\">{verdict}</span> the four-fifths rule: disparate-impact ratio {3:.3} against threshold {4:.2}{5}.</p>",
            html_escape(&audit.audit_id),
            html_escape(&audit.agent_version),
            time(audit.tested_at),
            stats.disparate_impact_ratio,
            stats.threshold,
            stats
                .p_value
                .map(|p| format!("; p = {p:.4} between the lowest and highest group"))
                .unwrap_or_default(),
        );
        out.push_str(&provenance(audit, evidence));
        out.push_str("<table><tr><th>group</th><th>positive</th><th>total</th><th>rate</th><th>95% interval</th></tr>");
        for group in &stats.groups {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} – {}</td></tr>",
                html_escape(&group.group),
                group.positive,
                group.total,
                rate(group.rate),
                rate(group.ci_low),
                rate(group.ci_high),
            );
        }
        out.push_str("</table>");
        for table in &audit.attributes {
            let _ = write!(
                out,
                "<p><b>{}</b>: lowest impact ratio {:.3}; {} with an unknown category.</p><table><tr><th>category</th><th>positive</th><th>total</th><th>rate</th><th>95% interval</th><th>impact ratio</th><th>p (gap to reference)</th></tr>",
                html_escape(&table.name()),
                table.lowest_ratio,
                table.unknown,
            );
            for category in &table.categories {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} – {}</td><td>{}</td><td>{}</td></tr>",
                    html_escape(&category.values.join(" × ")),
                    category.positive,
                    category.total,
                    rate(category.rate),
                    rate(category.ci_low),
                    rate(category.ci_high),
                    match (&category.excluded, category.impact_ratio) {
                        (Some(why), _) => format!("excluded: {}", html_escape(why)),
                        (None, Some(ratio)) => format!("{ratio:.3}"),
                        (None, None) => "no rate".into(),
                    },
                    category
                        .p_value
                        .map(|p| format!("{p:.4}"))
                        .unwrap_or_default(),
                );
            }
            out.push_str("</table>");
        }
        for (path, _) in charts(audit) {
            let _ = write!(
                out,
                "<p><img src=\"{0}\" alt=\"rates of {1}\" style=\"max-width:100%\"></p>",
                html_escape(&path),
                html_escape(&audit.audit_id)
            );
        }
        if super::summary::applies(audit) {
            let _ = write!(
                out,
                "<p>Public summary (Local Law 144), ready to publish: <a href=\"summaries/{0}-public-summary.html\">page</a>, <a href=\"summaries/{0}-public-summary.json\">data</a>.</p>",
                html_escape(&audit.audit_id)
            );
        }
        for warning in &stats.warnings {
            let _ = write!(out, "<p class=\"muted\">⚠ {}</p>", html_escape(warning));
        }
        if let Some(run) = &audit.run_id {
            let _ = write!(
                out,
                "<p>Computed from run <a href=\"runs/{0}.json\">{0}</a>; every case in <a href=\"runs/{0}-cases.csv\">its case evidence</a>.</p>",
                html_escape(run)
            );
        }
    }

    out.push_str(&exceptions_section(evidence, now));
    out.push_str(&incidents_section(evidence, now));
    out.push_str(&super::obligations::section(obligations));
    let _ = write!(
        out,
        "<h2 id=\"trail\">The trail</h2><p>{} events of the audit trail are behind this pack, each in <a href=\"trail/events.jsonl\">trail/events.jsonl</a> with its proof of inclusion in the log <a href=\"trail/checkpoint.txt\">checkpoint</a> signed by the key in <a href=\"trail/log-key.txt\">trail/log-key.txt</a>. Check that key against the one your organisation published before you trust the pack.</p></body></html>",
        evidence.events.len()
    );
    out.push('\n');
    out
}

/// The exceptions asked for the agent: each policy set aside, for how
/// long, on whose word, and where it stood when the pack was made.
fn exceptions_section(evidence: &Evidence, now: DateTime<Utc>) -> String {
    let mut out = String::from("<h2 id=\"exceptions\">Exceptions</h2>");
    if evidence.exceptions.is_empty() {
        out.push_str("<p>No exception to a policy was asked for in this scope.</p>");
        return out;
    }
    out.push_str("<table><tr><th>exception</th><th>version</th><th>policy set aside</th><th>state at export</th><th>until</th><th>asked by</th><th>approved by</th><th>reason</th></tr>");
    for exception in &evidence.exceptions {
        let approved: Vec<String> = exception
            .approvals
            .iter()
            .map(|approval| format!("{} ({})", approval.by, approval.role.label()))
            .collect();
        let _ = write!(
            out,
            "<tr><td><a href=\"exceptions/{0}.json\">{0}</a></td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td><td>{5}</td><td>{6}</td><td>{7}</td></tr>",
            html_escape(&exception.exception_id),
            html_escape(&exception.agent_version),
            html_escape(&exception.policy_id),
            exception.state(now),
            time(exception.until),
            html_escape(&exception.requested_by),
            html_escape(&approved.join(", ")),
            html_escape(&exception.reason),
        );
    }
    out.push_str("</table>");
    out
}

/// The incidents reported with the agent: severity, deadline and how the
/// report went, suspension, and how each was closed.
fn incidents_section(evidence: &Evidence, now: DateTime<Utc>) -> String {
    let mut out = String::from("<h2 id=\"incidents\">Incidents</h2>");
    if evidence.incidents.is_empty() {
        out.push_str("<p>No incident was reported with this agent in this scope.</p>");
        return out;
    }
    out.push_str("<table><tr><th>incident</th><th>version</th><th>severity</th><th>state at export</th><th>became aware</th><th>report</th><th>suspension</th><th>closure</th></tr>");
    for incident in &evidence.incidents {
        let suspension = match &incident.suspension {
            None => "-".to_owned(),
            Some(suspension) => format!(
                "since {} by {}{}",
                time(suspension.since),
                suspension.by.as_deref().unwrap_or("the set's rule"),
                suspension
                    .lifted_at
                    .map(|at| format!("; lifted {}", time(at)))
                    .unwrap_or_default()
            ),
        };
        let closure = incident
            .closure
            .as_ref()
            .map(|closure| {
                format!(
                    "{}: {} (corrective action: {})",
                    closure.by, closure.cause, closure.corrective_action
                )
            })
            .unwrap_or_else(|| "-".into());
        let _ = write!(
            out,
            "<tr><td><a href=\"incidents/{0}.json\">{0}</a></td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td><td>{5}</td><td>{6}</td><td>{7}</td></tr>",
            html_escape(&incident.incident_id),
            html_escape(&incident.agent_version),
            html_escape(&incident.severity),
            html_escape(&incident.state_words(now)),
            time(incident.became_aware_at),
            html_escape(&incident.deadline_words(now)),
            html_escape(&suspension),
            html_escape(&closure),
        );
    }
    out.push_str("</table>");
    out
}

/// Who computed an audit and from what: its recorder, the outside auditor
/// and their data, or the run against the agent with what identifies it.
fn provenance(audit: &crate::domain::BiasAudit, evidence: &Evidence) -> String {
    let mut out = String::from("<p class=\"muted\">");
    if let Some(by) = &audit.recorded_by {
        let _ = write!(out, "Recorded by {}", html_escape(by));
        if let Some(at) = audit.recorded_at {
            let _ = write!(out, " on {}", time(at));
        }
        out.push_str(". ");
    }
    if let Some(source) = &audit.source {
        let _ = write!(
            out,
            "Computed by {} ({}) from {} data",
            html_escape(&source.auditor),
            html_escape(&audit.auditor_standing()),
            source.data.as_str()
        );
        if let Some(hash) = &source.file_sha256 {
            let _ = write!(
                out,
                "; imported file SHA-256 <code>{}</code>",
                html_escape(hash)
            );
        }
        if let Some(reference) = &source.reference {
            let _ = write!(out, "; published at {}", html_escape(reference));
        }
        out.push_str(". ");
    }
    if let Some(run_id) = &audit.run_id {
        match evidence.runs.iter().find(|run| &run.run.run_id == run_id) {
            Some(run) => {
                let model = match &run.run.settings.agent {
                    crate::backend::AgentProtocol::OpenaiChat { model, .. } => {
                        format!("model {}", html_escape(model))
                    }
                    crate::backend::AgentProtocol::JsonHttp { .. } => "a JSON endpoint".into(),
                };
                let _ = write!(
                    out,
                    "Computed by Gavel from run <a href=\"runs/{0}.json\">{0}</a>: {1} cases sent to {2} ({model}), started by {3}; case file SHA-256 <code>{4}</code>, classifier SHA-256 <code>{5}</code>; every case in <a href=\"runs/{0}-cases.csv\">runs/{0}-cases.csv</a>.",
                    html_escape(run_id),
                    run.run.case_count,
                    html_escape(&run.run.settings.endpoint),
                    html_escape(&run.run.started_by),
                    html_escape(&run.run.cases_sha256),
                    html_escape(&run.run.classifier_sha256),
                );
            }
            None => {
                let _ = write!(out, "Computed by Gavel from run {}.", html_escape(run_id));
            }
        }
    }
    out.push_str("</p>");
    out
}
