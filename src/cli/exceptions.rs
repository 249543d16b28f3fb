//! `gavel exception`: asking for a time-bound exception to a policy,
//! deciding its steps, listing and revoking them.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::args::Global;
use super::backends::backend;
use super::delegate::moment;
use super::exception_args::{ExceptionCommand, RecertifyCommand};
use super::exit::{self, Outcome};
use super::output::{print_json, safe};
use crate::domain::exception::{
    Exception, ExceptionDecision, ExceptionQuery, ExceptionState, NewException,
};

/// One line per exception, for lists.
pub fn line(exception: &Exception, now: DateTime<Utc>) -> String {
    let state = exception.state.unwrap_or_else(|| exception.state(now));
    let progress = exception.progress(now);
    format!(
        "{}  {:<8}  {} {}  policy {}  {progress}  asked by {}",
        exception.exception_id,
        state.as_str(),
        safe(&exception.agent_id),
        safe(&exception.agent_version),
        safe(&exception.policy_id),
        safe(&exception.requested_by),
    )
}

/// An exception in full, for `show` and after a change.
pub fn detail(exception: &Exception, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: exception to policy {} for {} {}: {}",
        exception.exception_id,
        safe(&exception.policy_id),
        safe(&exception.agent_id),
        safe(&exception.agent_version),
        exception.state.unwrap_or_else(|| exception.state(now))
    );
    let _ = writeln!(
        out,
        "  until   {}",
        exception.until.format("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(
        out,
        "  asked   by {} at {} (policy set version {})",
        safe(&exception.requested_by),
        exception.requested_at.format("%Y-%m-%d %H:%M UTC"),
        exception.policy_set_version
    );
    let _ = writeln!(out, "  reason  {}", safe(&exception.reason));
    if let Some(ticket) = &exception.ticket {
        let _ = writeln!(out, "  ticket  {}", safe(ticket));
    }
    if let Some(controls) = &exception.controls {
        let _ = writeln!(out, "  controls {}", safe(controls));
    }
    for (index, role) in exception.chain.iter().enumerate() {
        let step = safe(&exception.step_words(index)).into_owned();
        let _ = writeln!(out, "  step {} ({}): {step}", index + 1, role.label());
    }
    if let (Some(by), Some(at)) = (&exception.closed_by, exception.closed_at) {
        let verb = match exception.state.unwrap_or_else(|| exception.state(now)) {
            ExceptionState::Rejected => "rejected",
            _ => "revoked",
        };
        let _ = writeln!(
            out,
            "  {verb} by {} at {}: {}",
            safe(by),
            at.format("%Y-%m-%d %H:%M UTC"),
            safe(exception.closing_comment.as_deref().unwrap_or(""))
        );
    }
    out
}

pub async fn run(global: &Global, command: ExceptionCommand) -> Outcome {
    let backend = backend(global).await?;
    let now = Utc::now();
    let (exception, json) = match command {
        ExceptionCommand::Request {
            agent,
            version,
            policy,
            until,
            reason,
            ticket,
            controls,
            json,
        } => {
            let request = NewException {
                agent_id: agent,
                agent_version: version,
                policy_id: policy,
                until: moment(&until, true, "--until")?,
                reason,
                ticket,
                controls,
            };
            (backend.request_exception(&request).await?, json)
        }
        ExceptionCommand::List {
            agent,
            state,
            mine,
            json,
        } => {
            let exceptions = backend
                .exceptions(&ExceptionQuery {
                    agent_id: agent,
                    state,
                    awaiting_me: mine,
                })
                .await?;
            if json {
                print_json(&exceptions)?;
            } else if exceptions.is_empty() {
                println!("no exceptions");
            } else {
                for exception in &exceptions {
                    println!("{}", line(exception, now));
                }
            }
            return Ok(exit::OK);
        }
        ExceptionCommand::Show { exception_id, json } => {
            (backend.exception(&exception_id).await?, json)
        }
        ExceptionCommand::Approve {
            exception_id,
            comment,
            json,
        } => {
            let decision = ExceptionDecision {
                exception_id,
                approve: true,
                comment,
                version: None,
            };
            (backend.decide_exception(&decision).await?, json)
        }
        ExceptionCommand::Reject {
            exception_id,
            comment,
            json,
        } => {
            let decision = ExceptionDecision {
                exception_id,
                approve: false,
                comment: Some(comment),
                version: None,
            };
            (backend.decide_exception(&decision).await?, json)
        }
        ExceptionCommand::Revoke {
            exception_id,
            reason,
            json,
        } => (
            backend.revoke_exception(&exception_id, &reason).await?,
            json,
        ),
    };
    if json {
        print_json(&exception)?;
    } else {
        print!("{}", detail(&exception, now));
    }
    Ok(exit::OK)
}

/// `gavel recertify due`: the approvals due, most overdue first.
pub async fn recertify(global: &Global, command: RecertifyCommand) -> Outcome {
    let RecertifyCommand::Due { within, json } = command;
    let within_days = match within.as_deref() {
        None => 0,
        Some(text) => {
            let span = crate::domain::policy::span::parse_age(text)
                .map_err(|err| super::exit::Failure::BadInput(format!("--within: {err}")))?;
            u32::try_from(span.num_days().clamp(0, 366)).unwrap_or(366)
        }
    };
    let backend = backend(global).await?;
    let page = backend.recertifications_due(within_days).await?;
    if json {
        print_json(&page)?;
        return Ok(exit::OK);
    }
    let now = Utc::now();
    if page.due.is_empty() {
        println!("no approval is due for recertification");
    }
    for due in &page.due {
        let when = if due.due <= now { "due since" } else { "due" };
        println!(
            "{} {}  {}  {} risk  {when} {}  (record since {})  owner {}  team {}",
            safe(&due.agent.agent_id),
            safe(&due.agent.version),
            safe(&due.agent.name),
            due.agent.risk_tier,
            due.due.format("%Y-%m-%d"),
            due.since.format("%Y-%m-%d"),
            safe(&due.agent.owner),
            safe(&due.agent.team),
        );
    }
    if page.total > page.due.len() as u64 {
        println!(
            "({} of {} shown, most overdue first)",
            page.due.len(),
            page.total
        );
    }
    Ok(exit::OK)
}
