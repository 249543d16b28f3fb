//! Human-readable output of the CLI. Every string from the store passes
//! through `safe` before it reaches the terminal.

use super::exit::Failure;
use std::borrow::Cow;
use std::fmt::Write;

use chrono::{DateTime, Utc};

use crate::backend::{QueuePage, User};
use crate::domain::bias::standing::AuditStanding;
use crate::domain::bias::{ImpactTable, RateMode};
use crate::domain::policy::evaluation::Evaluation;
use crate::domain::{
    Agent, BiasAudit, DeploymentRequest, DeploymentStatus, EthicsReview, Manifest, Policy, Role,
    StepStatus, TrailEvent, Verdict, Workflow,
};
use crate::text::{humanize_age, pad, sanitize};

pub fn safe(text: &str) -> Cow<'_, str> {
    sanitize(text)
}

pub fn team_list(teams: &[String]) -> String {
    if teams.is_empty() {
        return "(no teams)".into();
    }
    teams
        .iter()
        .map(|team| safe(team))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn role_list(roles: &[Role]) -> String {
    if roles.is_empty() {
        return "(no roles)".into();
    }
    roles
        .iter()
        .map(|role| role.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn status_word(status: DeploymentStatus) -> &'static str {
    match status {
        DeploymentStatus::Allowed => "ALLOWED",
        DeploymentStatus::PendingApproval => "APPROVAL REQUIRED",
        DeploymentStatus::Blocked => "BLOCKED",
        DeploymentStatus::Approved => "APPROVED",
        DeploymentStatus::Rejected => "REJECTED",
        DeploymentStatus::Withdrawn => "WITHDRAWN",
    }
}

/// A deployment check in words; `running` is the version of the agent
/// running now (allowed or approved before), if any.
pub fn evaluation(manifest: &Manifest, evaluation: &Evaluation, running: Option<&str>) -> String {
    let agent = &manifest.agent;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} \"{}\" version {}: {}",
        safe(&agent.agent_id),
        safe(&agent.name),
        safe(&agent.version),
        status_word(evaluation.status)
    );
    if let Some(version) = evaluation.policy_set_version {
        let _ = writeln!(out, "  under policy set version {version}");
    }
    for warning in &evaluation.warnings {
        let _ = writeln!(out, "  note: {}", safe(warning));
    }
    for exception in &evaluation.exceptions {
        let _ = writeln!(out, "  ~ {}", safe(&exception.describe()));
        let _ = writeln!(out, "      why:  {}", safe(&exception.reason));
    }
    if evaluation.triggered_policies.is_empty() {
        let other = if evaluation.exceptions.is_empty() {
            ""
        } else {
            " other"
        };
        let _ = writeln!(
            out,
            "  no{other} policy applies: the deployment may go ahead."
        );
    }
    for policy in &evaluation.triggered_policies {
        let mark = if policy.blocking { "x" } else { "-" };
        let _ = writeln!(
            out,
            "  {mark} {} ({}) [{}]",
            safe(&policy.policy_id),
            safe(&policy.name),
            policy.action
        );
        let _ = writeln!(out, "      why:  {}", safe(&policy.reason));
        let _ = writeln!(out, "      next: {}", safe(&policy.remediation));
    }
    match evaluation.status {
        DeploymentStatus::Blocked => {
            let _ = match running {
                Some(version) => writeln!(
                    out,
                    "Blocked: version {}, approved before, keeps running until the above is fixed.",
                    safe(version)
                ),
                None => writeln!(
                    out,
                    "Blocked: no version of this agent runs yet; none will until the above is fixed."
                ),
            };
        }
        DeploymentStatus::PendingApproval => {
            let _ = writeln!(
                out,
                "Approval required: `gavel deploy request` opens {} approval workflow(s).",
                evaluation.workflows.len()
            );
        }
        DeploymentStatus::Approved => {
            let until = evaluation
                .standing
                .and_then(|standing| standing.due)
                .map(|due| format!(" until {} (then it is recertified)", due.format("%Y-%m-%d")))
                .unwrap_or_default();
            let since = evaluation
                .standing
                .map(|standing| standing.since.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "Approved: this version, unchanged, is the agent's record since {since}: the sign-offs above were given, and it stands{until}."
            );
        }
        _ => {}
    }
    out
}

pub fn deployment(request: &DeploymentRequest) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} \"{}\" version {} requested by {}: {}",
        safe(&request.deployment_id),
        safe(&request.agent_id),
        safe(&request.agent_name),
        safe(&request.agent_version),
        safe(&request.requested_by),
        status_word(request.status)
    );
    for policy in &request.triggered_policies {
        let _ = writeln!(
            out,
            "  {} [{}]: {}",
            safe(&policy.policy_id),
            policy.action,
            safe(&policy.remediation)
        );
    }
    for workflow_id in &request.workflow_ids {
        let _ = writeln!(out, "  opened workflow {}", safe(workflow_id));
    }
    if let Some(running) = &request.running_version
        && !request.status.is_live()
    {
        let _ = writeln!(out, "  version {} keeps running meanwhile", safe(running));
    }
    if request.supersedes_on_approval {
        let _ = writeln!(
            out,
            "  this request lowers risk-relevant fields: the agent's earlier requests stay open until it is approved"
        );
    }
    out
}

pub fn audit(audit: &BiasAudit) -> String {
    let stats = &audit.stats;
    let mut out = String::new();
    let verdict = if stats.passes_threshold {
        "PASS"
    } else {
        "FAIL"
    };
    let _ = writeln!(
        out,
        "{} version {} tested {}: {verdict}, disparate-impact ratio {:.3} (threshold {:.2}){}",
        safe(&audit.audit_id),
        safe(&audit.agent_version),
        time(audit.tested_at),
        stats.disparate_impact_ratio,
        stats.threshold,
        stats
            .p_value
            .map(|p| format!(", p {}", p_text(p)))
            .unwrap_or_default()
    );
    if let Some(source) = &audit.source {
        let _ = writeln!(
            out,
            "  computed by {} ({}) from {} data{}",
            safe(&source.auditor),
            safe(&audit.auditor_standing()),
            source.data.as_str(),
            source
                .reference
                .as_deref()
                .map(|reference| format!("; published at {}", safe(reference)))
                .unwrap_or_default()
        );
    }
    if audit.attributes.is_empty() {
        out.push_str(&group_lines(stats));
    }
    for table in &audit.attributes {
        out.push_str(&impact_table(table, audit.mode, stats.threshold));
    }
    for warning in &stats.warnings {
        let _ = writeln!(out, "  warning: {}", safe(warning));
    }
    out
}

/// `= 0.0123`, or `< 0.0001` for what four places would show as zero.
fn p_text(p: f64) -> String {
    if p < 0.0001 {
        "< 0.0001".to_owned()
    } else {
        format!("= {p:.4}")
    }
}

/// One attribute's groups, as single-attribute audits print them.
fn group_lines(stats: &crate::domain::AuditStats) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {} {:>8} {:>8} {:>7}  95% interval",
        pad("group", 24),
        "positive",
        "total",
        "rate"
    );
    for group in &stats.groups {
        let rate = group
            .rate
            .map_or("-".to_owned(), |rate| format!("{rate:.3}"));
        let interval = match (group.ci_low, group.ci_high) {
            (Some(low), Some(high)) => format!("{low:.3} - {high:.3}"),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "  {} {:>8} {:>8} {:>7}  {interval}",
            pad(&safe(&group.group), 24),
            group.positive,
            group.total,
            rate
        );
    }
    out
}

/// A table as the DCWP rules lay one out: each category's count, positive
/// count, rate and impact ratio, with the interval and, below the
/// threshold, the gap's significance.
pub fn impact_table(table: &ImpactTable, mode: RateMode, threshold: f64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {}: {} categories, {} individuals, {} of unknown category{}",
        safe(&table.name()),
        table.categories.len(),
        table.sample(),
        table.unknown,
        if table.passes_at(threshold) {
            ""
        } else {
            " — FAILS"
        }
    );
    let _ = writeln!(
        out,
        "    {} {:>10} {:>12} {:>7} {:>7}  {:<15} p (below threshold)",
        pad("category", 34),
        "total",
        mode.positive_name(),
        "rate",
        "impact",
        "95% interval",
    );
    for category in &table.categories {
        let percent =
            |value: Option<f64>| value.map_or("-".to_owned(), |v| format!("{:.1}%", v * 100.0));
        let ratio = match (&category.excluded, category.impact_ratio) {
            (Some(_), _) => "excl.".to_owned(),
            (None, Some(ratio)) => format!("{ratio:.3}"),
            (None, None) => "-".to_owned(),
        };
        let interval = match (category.ci_low, category.ci_high) {
            (Some(low), Some(high)) => format!("{:.1}-{:.1}%", low * 100.0, high * 100.0),
            _ => "-".into(),
        };
        let mark = if category.fails(threshold) { "<" } else { " " };
        let line = format!(
            "   {mark}{} {:>10} {:>12} {:>7} {:>7}  {:<15} {}",
            pad(&safe(&category.label()), 34),
            category.total,
            category.positive,
            percent(category.rate),
            ratio,
            interval,
            category
                .p_value
                .map(|p| p_text(p).trim_start_matches("= ").to_owned())
                .unwrap_or_default()
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    for category in &table.categories {
        if let Some(why) = &category.excluded {
            let _ = writeln!(
                out,
                "    {} ({:.1}% of the sample) is left out of the impact ratios: {}",
                safe(&category.label()),
                category.share * 100.0,
                safe(why)
            );
        }
    }
    out
}

/// `gavel audit due`: agents whose required audit is missing, expired or
/// expiring within the window.
pub fn audits_due(standings: &[AuditStanding], within: chrono::TimeDelta) -> String {
    let mut out = String::new();
    if standings.is_empty() {
        let _ = writeln!(
            out,
            "No required bias audit is missing, expired or expiring within {} days.",
            within.num_days()
        );
        return out;
    }
    let _ = writeln!(
        out,
        "{} agent(s) need a bias audit (expiring within {} days counts)",
        standings.len(),
        within.num_days()
    );
    let _ = writeln!(
        out,
        "{} {} {} {} {} {} WHY",
        pad("STATE", 9),
        pad("AGENT", 30),
        pad("OWNER", 28),
        pad("TEAM", 18),
        pad("LAST AUDIT", 10),
        pad("EXPIRES", 10),
    );
    let day = |at: Option<DateTime<Utc>>| {
        at.map_or("-".to_owned(), |at| at.format("%Y-%m-%d").to_string())
    };
    for standing in standings {
        let _ = writeln!(
            out,
            "{} {} {} {} {} {} {}",
            pad(standing.attention.as_str(), 9),
            pad(
                &safe(&format!("{} {}", standing.agent_id, standing.version)),
                30
            ),
            pad(&safe(&standing.owner), 28),
            pad(&safe(&standing.team), 18),
            pad(&day(standing.tested_at), 10),
            pad(&day(standing.expires_at), 10),
            safe(&standing.reason)
        );
    }
    out
}

pub fn audits(agent: &Agent, audits: &[BiasAudit]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Bias audits of {} \"{}\" (latest first)",
        safe(&agent.agent_id),
        safe(&agent.name)
    );
    if audits.is_empty() {
        let _ = writeln!(out, "  none recorded");
    }
    for one in audits {
        out.push_str(&audit(one));
    }
    out
}

pub fn queue(me: &User, page: &QueuePage, total: u64, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} item(s) for {} ({})",
        total,
        safe(&me.email),
        role_list(&me.roles)
    );
    if page.items.is_empty() {
        let _ = writeln!(out, "Nothing is waiting on you.");
        return out;
    }
    let _ = writeln!(
        out,
        "{} {} {} {} {} {} WAITING",
        pad("WORKFLOW", 11),
        pad("AGENT", 30),
        pad("TEAM", 20),
        pad("POLICY", 20),
        pad("STEP", 24),
        pad("RISK", 6),
    );
    for item in &page.items {
        let step = item.current_step.map_or("-".to_owned(), |step| {
            format!("{}/{} {}", step.step_id, item.step_count, step.role)
        });
        let _ = writeln!(
            out,
            "{} {} {} {} {} {} {}",
            pad(&safe(&item.workflow_id), 11),
            pad(&safe(&item.agent_name), 30),
            pad(&safe(&item.team), 20),
            pad(&safe(&item.triggered_by_policy), 20),
            pad(&step, 24),
            pad(item.risk_tier.as_str(), 6),
            humanize_age(item.waiting_since, now)
        );
    }
    out
}

pub fn workflow(
    workflow: &Workflow,
    agent: Option<&Agent>,
    policy: Option<&Policy>,
    review: Option<&EthicsReview>,
    trail: &[TrailEvent],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}, version {}) for deployment {}",
        safe(&workflow.workflow_id),
        workflow.status,
        workflow.version,
        safe(&workflow.deployment_id)
    );
    if let Some(agent) = agent {
        let _ = writeln!(
            out,
            "agent:   {} \"{}\" v{} - team {}, owner {}, {} / {} data / {} risk",
            safe(&agent.agent_id),
            safe(&agent.name),
            safe(&agent.version),
            safe(&agent.team),
            safe(&agent.owner),
            agent.category,
            agent.data_classification,
            agent.risk_tier
        );
    }
    match policy {
        Some(policy) => {
            let _ = writeln!(
                out,
                "policy:  {} ({}): {}",
                safe(&policy.policy_id),
                safe(&policy.name),
                safe(&policy.explain())
            );
        }
        None => {
            let _ = writeln!(out, "policy:  {}", safe(&workflow.triggered_by_policy));
        }
    }
    if let Some(version) = workflow.policy_set_version {
        let _ = writeln!(
            out,
            "policy set: version {version} (the chain it opened with)"
        );
    }
    let _ = writeln!(
        out,
        "requested by {} on {}",
        safe(&workflow.requested_by),
        time(workflow.created_at)
    );
    let _ = writeln!(out, "steps:");
    let current = workflow.current_step().map(|step| step.step_id);
    for step in &workflow.steps {
        let marker = if Some(step.step_id) == current {
            ">"
        } else {
            " "
        };
        let status = match step.status {
            StepStatus::Pending if Some(step.step_id) == current => "waiting",
            other => other.as_str(),
        };
        let _ = write!(
            out,
            " {marker} {}. {} - {status}",
            step.step_id,
            step.role.label()
        );
        if step.quorum > 1 {
            let _ = write!(
                out,
                " ({} of {} approvals)",
                step.approvals.len(),
                step.quorum
            );
        }
        if let (Some(by), Some(at)) = (&step.approver_email, step.decision_at) {
            let _ = write!(out, " by {}", safe(by));
            if let Some(delegator) = &step.on_behalf_of {
                let _ = write!(out, " on behalf of {}", safe(delegator));
            }
            let _ = write!(out, " on {}", time(at));
            if let Some(received) = step.received_later() {
                let _ = write!(out, " (offline; received {})", time(received));
            }
        }
        if Some(step.step_id) == current
            && let Some(sla) = &step.sla
        {
            let _ = write!(out, "; due {}", time(sla.due(workflow.waiting_since())));
        }
        let _ = writeln!(out);
        if step.quorum > 1 {
            for approval in &step.approvals {
                let _ = write!(out, "      approved by {}", safe(&approval.approver_email));
                if let Some(delegator) = &approval.on_behalf_of {
                    let _ = write!(out, " on behalf of {}", safe(delegator));
                }
                let _ = writeln!(out, " on {}", time(approval.decision_at));
            }
        }
        for alert in &step.alerts {
            let _ = write!(out, "      {} {}", alert.kind.as_str(), time(alert.at));
            if let Some(to) = &alert.to {
                let _ = write!(out, " to {}", safe(to));
            }
            let _ = writeln!(out);
        }
        if let Some(comment) = &step.comment {
            let _ = writeln!(out, "      \"{}\"", safe(comment));
        }
    }
    if let Some(review) = review {
        let _ = writeln!(
            out,
            "ethics review: {} by {} - {}",
            safe(&review.review_id),
            safe(&review.reviewer),
            review.status
        );
    }
    let _ = writeln!(out, "trail:");
    for event in trail {
        let _ = writeln!(
            out,
            "  #{} {} {} {}",
            event.seq,
            time(event.entry.at),
            safe(&event.entry.actor),
            safe(&event.entry.action)
        );
    }
    out
}

pub fn decided(workflow: &Workflow, step_id: u32, verdict: Verdict) -> String {
    let role = workflow
        .steps
        .iter()
        .find(|step| step.step_id == step_id)
        .map_or("step".into(), |step| step.role.label());
    let done = match verdict {
        Verdict::Approve => "approved",
        Verdict::Reject => "rejected",
    };
    let next = match workflow.current_step() {
        Some(step) => format!("now waiting on {}", step.role.with_article()),
        None => format!("the workflow is {}", workflow.status),
    };
    format!(
        "{done} step {step_id} ({role}) of {}; {next}.",
        safe(&workflow.workflow_id)
    )
}

pub fn dashboard(dashboard: &crate::backend::Dashboard) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Blocked now: {}", dashboard.blocked_now);
    let _ = writeln!(
        out,
        "Blocked this week: {} (last week: {})",
        dashboard.blocked_this_week, dashboard.blocked_last_week
    );
    let median = dashboard
        .median_hours_blocked
        .map_or("-".to_owned(), |hours| format!("{:.1} days", hours / 24.0));
    let _ = writeln!(out, "Median time blocked: {median}");
    let _ = writeln!(out, "Pending approvals: {}", dashboard.pending_approvals);
    let rate = dashboard
        .approval_rate
        .map_or("-".to_owned(), |rate| format!("{:.1}%", rate * 100.0));
    let _ = writeln!(out, "Approval rate: {rate}");
    for (title, counts) in [
        ("By policy", &dashboard.blocked_by_policy),
        ("By team", &dashboard.blocked_by_team),
        ("Overdue steps by team", &dashboard.overdue_by_team),
    ] {
        if counts.is_empty() && title.starts_with("Overdue") {
            continue;
        }
        let _ = writeln!(out, "{title}:");
        for count in counts.iter() {
            let _ = writeln!(out, "  {} {}", pad(&safe(&count.name), 28), count.count);
        }
    }
    let audits = &dashboard.audits;
    let _ = writeln!(
        out,
        "Bias audits needing a run: {} ({} failing, {} expired, {} missing, {} lacking an attribute, {} due within 30 days; `gavel audit due`)",
        audits.total(),
        audits.failing,
        audits.expired,
        audits.missing,
        audits.uncovered,
        audits.due_soon
    );
    if dashboard.recertifications_due + dashboard.recertifications_due_soon > 0 {
        let _ = writeln!(
            out,
            "Approvals to recertify: {} due ({} more within 30 days; `gavel recertify due --within 30d`)",
            dashboard.recertifications_due, dashboard.recertifications_due_soon
        );
    }
    if dashboard.incidents_open + dashboard.suspended_versions > 0 {
        let _ = writeln!(
            out,
            "Incidents open: {} ({} owing a report past its deadline); agent versions suspended: {} (`gavel incident list`)",
            dashboard.incidents_open, dashboard.incidents_overdue, dashboard.suspended_versions
        );
    }
    if dashboard.exceptions_active > 0 {
        let _ = writeln!(
            out,
            "Exceptions in force: {} ({} ending within 14 days; `gavel exception list --state active`)",
            dashboard.exceptions_active, dashboard.exceptions_expiring
        );
    }
    if dashboard.obligations_counting {
        let _ = writeln!(
            out,
            "Obligations: being counted again after the policy set changed"
        );
    }
    if !dashboard.obligations.is_empty() {
        let _ = writeln!(
            out,
            "Obligations: agents with a duty in effect and unmet, of those a framework applies to (`gavel obligations --unmet`):"
        );
        for framework in &dashboard.obligations {
            let _ = writeln!(
                out,
                "  {} {} of {}",
                pad(&safe(&framework.framework), 28),
                framework.unmet,
                framework.agents
            );
        }
    }
    let _ = writeln!(out, "Blocked per week:");
    for week in &dashboard.weekly_blocked {
        let _ = writeln!(out, "  {} {}", week.week_start, week.blocked);
    }
    let _ = writeln!(out, "Time to decision, last 13 weeks (p50 / p90):");
    for times in &dashboard.decision_times {
        let hours = |h: Option<f64>| h.map_or("-".to_owned(), crate::text::hours_words);
        let _ = writeln!(
            out,
            "  {} {} / {} over {} decisions",
            pad(times.role.map_or("every role", |role| role.as_str()), 28),
            hours(times.p50_hours),
            hours(times.p90_hours),
            times.decided
        );
    }
    out
}

pub(super) fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|err| Failure::Other(err.into()))?;
    println!("{text}");
    Ok(())
}
