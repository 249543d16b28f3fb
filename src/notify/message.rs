//! What a notification says: an email's subject, plain text and HTML, and
//! the Slack or Teams message, from an event. The words say what waits, for
//! whom, since when, the SLA, and the exact command or console key to act.

use chrono::{DateTime, TimeDelta, Utc};

use crate::backend::events::{Event, EventKind, role_words, text_of};
use crate::text::html_escape;

/// An email's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// A file sent with it: its name, media type and bytes.
    pub attachment: Option<(String, String, Vec<u8>)>,
}

/// Text from outside, on one line and of bounded length (a subject line
/// must not carry a header break).
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}

/// The lines a person needs to act on `event`, by email; `None` when the
/// event asks nobody to act.
pub fn email(event: &Event, sla_days: u32, gavel_url: Option<&str>) -> Option<Email> {
    let data = &event.data;
    let (subject, lines) = match event.kind {
        EventKind::WorkflowOpened
        | EventKind::StepDecided
        | EventKind::StepReminder
        | EventKind::StepOverdue
        | EventKind::StepEscalated => {
            let step = data.get("current_step").filter(|step| !step.is_null())?;
            let workflow = text_of(data, "workflow_id");
            let role = role_words(step.get("role").and_then(|r| r.as_str()).unwrap_or(""));
            let number = step.get("step_id").and_then(|n| n.as_u64()).unwrap_or(1);
            let of = step.get("of").and_then(|n| n.as_u64()).unwrap_or(1);
            let time = |field: &str| {
                data.get(field)
                    .and_then(|at| serde_json::from_value::<DateTime<Utc>>(at.clone()).ok())
            };
            let since = time("waiting_since").unwrap_or(event.timestamp);
            // The step's own SLA when its policy gives one, else the default.
            let (due, sla) = match time("due_at") {
                Some(due) => (due, sla_words(due - since)),
                None => (
                    since + TimeDelta::days(i64::from(sla_days)),
                    format!("{sla_days} days"),
                ),
            };
            let agent = format!(
                "{} ({})",
                text_of(data, "agent_name"),
                text_of(data, "agent_id")
            );
            let what = format!("step {number} of {of} ({role}) for {agent}, {workflow}");
            let due_words = due.format("%Y-%m-%d %H:%M");
            let (subject, opening) = match event.kind {
                EventKind::StepReminder => (
                    format!("Reminder: {what}, due {due_words} UTC"),
                    format!(
                        "A reminder: your decision on step {number} of {of}, {role}, of workflow {workflow} is due {due_words} UTC."
                    ),
                ),
                EventKind::StepOverdue => (
                    format!("Overdue: {what}, was due {due_words} UTC"),
                    format!(
                        "Overdue: step {number} of {of}, {role}, of workflow {workflow} was due {due_words} UTC and is still waiting for your decision."
                    ),
                ),
                EventKind::StepEscalated => (
                    format!("Escalated to you: {what}, overdue since {due_words} UTC"),
                    format!(
                        "Step {number} of {of}, {role}, of workflow {workflow} is overdue since {due_words} UTC and was escalated to you ({}). Chase its deciders, or ask someone of the role to take it; a delegate can decide for a person who is away.",
                        text_of(data, "escalated_to")
                    ),
                ),
                _ => (
                    format!("Approval waiting: {what}"),
                    format!(
                        "Your decision is waiting: step {number} of {of}, {role}, of workflow {workflow}."
                    ),
                ),
            };
            let mut lines = vec![
                opening,
                format!("Agent: {agent}, team {}.", text_of(data, "team")),
                format!("Requested by: {}.", text_of(data, "requested_by")),
                format!(
                    "Triggered by policy: {}.",
                    text_of(data, "triggered_by_policy")
                ),
                format!("Waiting since: {} UTC.", since.format("%Y-%m-%d %H:%M")),
                format!("SLA: {sla}, so decide by {due_words} UTC."),
            ];
            let quorum = step.get("quorum").and_then(|n| n.as_u64()).unwrap_or(1);
            if quorum > 1 {
                lines.push(format!(
                    "This step needs {quorum} different approvers; {} approved so far.",
                    step.get("approvals").and_then(|n| n.as_u64()).unwrap_or(0)
                ));
            }
            if let Some(decided) = data.get("decided_step").filter(|step| !step.is_null()) {
                lines.push(format!(
                    "The step before was {} by {}.",
                    decided
                        .get("status")
                        .and_then(|s| s.as_str())
                        .unwrap_or("decided"),
                    decided
                        .get("decided_by")
                        .and_then(|s| s.as_str())
                        .unwrap_or("someone"),
                ));
            }
            lines.push(String::new());
            lines.push(format!(
                "To approve:  gavel approve {workflow} --comment \"...\""
            ));
            lines.push(format!(
                "To reject:   gavel reject {workflow} --comment \"why\""
            ));
            lines.push(format!(
                "In the console: the Queue tab, select {workflow}, press a to approve or r to reject."
            ));
            (subject, lines)
        }
        EventKind::ReviewAssigned => {
            let review = text_of(data, "review_id");
            let workflow = text_of(data, "workflow_id");
            let subject = format!(
                "Ethics review assigned: {} ({}), {review}",
                text_of(data, "agent_name"),
                text_of(data, "agent_id")
            );
            let lines = vec![
                format!(
                    "{} assigned you the ethics review {review} of workflow {workflow}.",
                    text_of(data, "actor")
                ),
                format!(
                    "Assigned: {} UTC.",
                    event.timestamp.format("%Y-%m-%d %H:%M")
                ),
                format!("SLA: {sla_days} days."),
                String::new(),
                "In the console: the Reviews tab, select it, press enter to fill in the form."
                    .into(),
                format!("From the command line: gavel show {workflow}"),
            ];
            (subject, lines)
        }
        EventKind::PolicySetProposed => {
            let version = data.get("version").and_then(|v| v.as_i64()).unwrap_or(0);
            let subject = format!("Policy set version {version} proposed: your approval is needed");
            let lines = vec![
                format!(
                    "{} proposed policy set version {version}: {}.",
                    text_of(data, "proposed_by"),
                    text_of(data, "description")
                ),
                "It takes effect once another policy administrator approves it.".into(),
                String::new(),
                format!("To see its plan:  gavel policy show {version}"),
                format!("To approve:       gavel policy approve {version}"),
                "In the console: the Policies tab.".into(),
            ];
            (subject, lines)
        }
        EventKind::ExceptionRequested => {
            let id = text_of(data, "exception_id");
            let policy = text_of(data, "policy_id");
            let agent = format!(
                "{} {}",
                text_of(data, "agent_id"),
                text_of(data, "agent_version")
            );
            let subject =
                format!("Exception {id} to {policy} for {agent}: your approval is needed");
            let lines = vec![
                format!(
                    "{} asks to set policy {policy} aside for {agent} until {} UTC.",
                    text_of(data, "requested_by"),
                    text_of(data, "until")
                        .get(..16)
                        .unwrap_or_default()
                        .replace('T', " ")
                ),
                format!(
                    "Its next step is for {}.",
                    text_of(data, "next_role")
                        .parse::<crate::domain::Role>()
                        .map(|role| role.with_article())
                        .unwrap_or_else(|_| role_words(&text_of(data, "next_role")))
                ),
                String::new(),
                format!("To see it:   gavel exception show {id}"),
                format!("To approve:  gavel exception approve {id}"),
                format!("To reject:   gavel exception reject {id} --comment WHY"),
                "In the console: e, then w until \"awaiting me\".".into(),
            ];
            (subject, lines)
        }
        EventKind::ReviewerRemoved => {
            let review = text_of(data, "review_id");
            let workflow = text_of(data, "workflow_id");
            let subject = format!(
                "Ethics review needs a new reviewer: {} ({}), {review}",
                text_of(data, "agent_name"),
                text_of(data, "agent_id")
            );
            let lines = vec![
                format!(
                    "The directory removed {}, who was assigned the ethics review {review} of workflow {workflow} and had not submitted it.",
                    text_of(data, "reviewer")
                ),
                "Their draft stays theirs: the new reviewer starts from an empty form.".into(),
                String::new(),
                format!("To reassign: gavel review assign {workflow} --to REVIEWER"),
                "In the console: the inbox (i), enter on this item to open the workflow, then A to assign its review."
                    .into(),
            ];
            (subject, lines)
        }
        EventKind::ReportSent => {
            let (from, to) = (text_of(data, "from"), text_of(data, "to"));
            let subject = format!("Governance report, {from} to {to}");
            let lines = vec![
                format!(
                    "The governance report for {from} to {to}{} is attached, as scheduled by {} (schedule {}).",
                    match text_of(data, "team").as_str() {
                        "" => String::new(),
                        team => format!(", team {team}"),
                    },
                    text_of(data, "created_by"),
                    text_of(data, "schedule_id")
                ),
                "Its figures are signed under the trail log's key and travel inside the file."
                    .into(),
                String::new(),
                "To check it: gavel report verify FILE --key \"$(gavel trail key)\"".into(),
            ];
            (subject, lines)
        }
        _ => return None,
    };
    let mut lines = lines;
    if let Some(url) = gavel_url {
        lines.push(format!("Gavel: {url}"));
    }
    let text = lines.join("\n") + "\n";
    let html = format!(
        "<!DOCTYPE html><html><body><h2>{}</h2>{}</body></html>",
        html_escape(&one_line(&subject)),
        lines
            .iter()
            .filter(|line| !line.is_empty())
            .map(|line| format!("<p>{}</p>", html_escape(line)))
            .collect::<String>()
    );
    let attachment = (event.kind == EventKind::ReportSent)
        .then(|| report_attachment(data))
        .flatten();
    Some(Email {
        subject: one_line(&subject),
        text,
        html,
        attachment,
    })
}

/// A scheduled report's document, drawn from the signed note the event
/// carries (none when it cannot be drawn: the delivery then fails and is
/// retried, never sent without it).
fn report_attachment(data: &serde_json::Value) -> Option<(String, String, Vec<u8>)> {
    use crate::report::format::{Format, render};
    let note = data.get("note")?.as_str()?;
    let (format, media, extension) = match text_of(data, "format").as_str() {
        "pdf" => (Format::Pdf, "application/pdf", "pdf"),
        "html" => (Format::Html, "text/html", "html"),
        "md" => (Format::Markdown, "text/markdown", "md"),
        _ => return None,
    };
    let report = crate::report::note::read(note).ok()?;
    let bytes = render(format, &report, note).ok()?;
    Some((
        format!(
            "governance-report-{}-to-{}.{extension}",
            report.period.from, report.period.to
        ),
        media.to_owned(),
        bytes,
    ))
}

/// An SLA in words: "48 hours", "3 days".
fn sla_words(span: TimeDelta) -> String {
    let hours = span.num_hours();
    if hours % 24 == 0 && hours >= 48 {
        format!("{} days", hours / 24)
    } else {
        format!("{hours} hours")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened() -> Event {
        Event {
            event_id: 7,
            kind: EventKind::WorkflowOpened,
            timestamp: chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 1, 9, 30, 0).unwrap(),
            data: serde_json::json!({
                "workflow_id": "wf-0000042", "agent_id": "agt-support", "agent_name": "Support <b>bot</b>",
                "team": "People", "requested_by": "dana@example.com", "triggered_by_policy": "pii_access_approval",
                "current_step": { "step_id": 1, "of": 2, "role": "technical_lead" },
                "waiting_since": "2026-12-01T09:30:00Z",
            }),
        }
    }

    #[test]
    fn an_approval_email_says_what_for_whom_since_when_the_sla_and_how_to_act() {
        let email = email(&opened(), 3, Some("https://gavel.example.com")).expect("an email");
        assert_eq!(
            email.subject,
            "Approval waiting: step 1 of 2 (technical lead) for Support <b>bot</b> (agt-support), wf-0000042"
        );
        for needle in [
            "step 1 of 2, technical lead, of workflow wf-0000042",
            "Requested by: dana@example.com.",
            "Waiting since: 2026-12-01 09:30 UTC.",
            "SLA: 3 days, so decide by 2026-12-04 09:30 UTC.",
            "gavel approve wf-0000042",
            "press a to approve",
        ] {
            assert!(email.text.contains(needle), "{needle} in {}", email.text);
        }
        assert!(
            email.html.contains("Support &lt;b&gt;bot&lt;/b&gt;"),
            "{}",
            email.html
        );
        assert!(!email.html.contains("<b>bot"));
    }

    #[test]
    fn events_that_ask_nobody_to_act_are_no_email() {
        let mut event = opened();
        event.kind = EventKind::ToolApproved;
        assert!(email(&event, 3, None).is_none());
        let mut finished = opened();
        finished.data["current_step"] = serde_json::Value::Null;
        assert!(email(&finished, 3, None).is_none());
    }
}
