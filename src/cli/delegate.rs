//! `gavel delegate`: handing one's steps to someone who already holds the
//! role while away, listing delegations, and ending them.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};

use super::args::{DelegateArgs, DelegateCommand, Global};
use super::backends::backend;
use super::exit;
use super::exit::{Failure, Outcome};
use super::output::print_json;
use crate::domain::delegation::{Delegation, NewDelegation};

/// A date (midnight UTC, or the midnight after it for an end) or an RFC
/// 3339 time.
pub(super) fn moment(text: &str, end_of_day: bool, flag: &str) -> Result<DateTime<Utc>, Failure> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        Failure::BadInput(format!(
            "{flag} {text:?} is neither a date (2026-12-24) nor a time (2026-12-24T09:00:00Z)"
        ))
    })?;
    let start = date.and_time(NaiveTime::MIN).and_utc();
    Ok(if end_of_day {
        start + TimeDelta::days(1)
    } else {
        start
    })
}

fn line(delegation: &Delegation, me: &str, now: DateTime<Utc>) -> String {
    let role = delegation.roles_label();
    let who = if delegation.delegator.eq_ignore_ascii_case(me) {
        format!("to {}", delegation.delegate)
    } else {
        format!("from {}", delegation.delegator)
    };
    format!(
        "{}  {:<9}  {who}  ({role})  {} to {}",
        delegation.delegation_id,
        delegation.state(now),
        delegation.starts_at.format("%Y-%m-%d %H:%M"),
        delegation.until().format("%Y-%m-%d %H:%M UTC"),
    )
}

pub async fn run(global: &Global, args: DelegateArgs) -> Outcome {
    let backend = backend(global).await?;
    let now = Utc::now();
    match args.command {
        Some(DelegateCommand::List { all, json }) => {
            let delegations = backend.delegations(all).await?;
            if json {
                print_json(&delegations)?;
            } else if delegations.is_empty() {
                println!("no delegations");
            } else {
                let me = backend.me().await?.email;
                for delegation in &delegations {
                    println!("{}", line(delegation, &me, now));
                }
            }
            Ok(exit::OK)
        }
        Some(DelegateCommand::End {
            delegation_id,
            json,
        }) => {
            let ended = backend.end_delegation(delegation_id.as_deref()).await?;
            if json {
                print_json(&ended)?;
            } else if ended.is_empty() {
                println!("no delegation of yours was running");
            } else {
                for delegation in &ended {
                    println!(
                        "ended {}: {} no longer decides for you",
                        delegation.delegation_id, delegation.delegate
                    );
                }
            }
            Ok(exit::OK)
        }
        None => {
            let (Some(to), Some(until)) = (args.to, args.until) else {
                return Err(Failure::BadInput(
                    "say whom and until when: gavel delegate --to EMAIL --until DATE [--from DATE] [--role ROLE] (or `list`, `end`)".into(),
                ));
            };
            let role = args
                .role
                .map(|role| {
                    role.parse()
                        .map_err(|err| Failure::BadInput(format!("--role: {err}")))
                })
                .transpose()?;
            let request = NewDelegation {
                to,
                starts_at: args
                    .from
                    .as_deref()
                    .map(|from| moment(from, false, "--from"))
                    .transpose()?
                    .unwrap_or(now),
                ends_at: moment(&until, true, "--until")?,
                role,
            };
            let delegation = backend.delegate(&request).await?;
            if args.json {
                print_json(&delegation)?;
            } else {
                let me = backend.me().await?.email;
                println!("{}", line(&delegation, &me, now));
                println!(
                    "{} receives your notifications and may decide your steps with --on-behalf-of {me}; `gavel delegate end {}` ends it early",
                    delegation.delegate, delegation.delegation_id
                );
            }
            Ok(exit::OK)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_run_from_their_start_through_their_end() {
        let from = moment("2026-12-24", false, "--from").unwrap();
        let until = moment("2026-12-24", true, "--until").unwrap();
        assert_eq!(until - from, TimeDelta::days(1));
        assert_eq!(
            moment("2026-12-24T09:30:00Z", true, "--until").unwrap(),
            from + TimeDelta::minutes(570)
        );
        assert!(moment("next week", false, "--from").is_err());
    }
}
