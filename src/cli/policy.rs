//! `gavel policy`: the organisation's policy sets, handled like
//! infrastructure code: plan, propose, a second person approves.

use std::fmt::Write as _;

use super::args::PolicyCommand;
use super::exit;
use super::exit::{Failure, Outcome};
use super::input::read_input;
use super::output::print_json;
use crate::backend::{GovernanceBackend, PolicySetDetail, PolicySetVersion};
use crate::domain::policy::plan::{Plan, PolicyDiff, diff, text_diff};
use crate::domain::policy::set::{Checks, PolicySet, PolicySetFile};
use crate::text::sanitize;

/// The largest policy set file read.
const MAX_SET_BYTES: usize = 1024 * 1024;

pub async fn run(backend: &dyn GovernanceBackend, command: PolicyCommand) -> Outcome {
    match command {
        PolicyCommand::Plan { file, json } => {
            let text = read_input(&file, MAX_SET_BYTES)?;
            let plan = backend.plan_policy_set(&text).await?;
            if json {
                print_json(&plan)?;
            } else {
                print!("{}", describe(&file.display().to_string(), &plan));
            }
        }
        PolicyCommand::Propose { file, json } => {
            let text = read_input(&file, MAX_SET_BYTES)?;
            let proposed = backend.propose_policy_set(&text).await?;
            if json {
                print_json(&proposed)?;
            } else {
                let summary = &proposed.version;
                println!(
                    "proposed policy set version {} ({}); another policy admin approves it with `gavel policy approve {}`",
                    summary.version,
                    sanitize(&summary.description),
                    summary.version
                );
                if let Ok(plan) = serde_json::from_value::<Plan>(proposed.plan.clone()) {
                    print!(
                        "{}",
                        describe(&format!("version {}", summary.version), &plan)
                    );
                }
            }
        }
        PolicyCommand::Approve {
            version,
            comment,
            json,
        } => {
            let decided = backend
                .decide_policy_set(version, true, comment.as_deref())
                .await?;
            decided_report(&decided, json)?;
        }
        PolicyCommand::Reject {
            version,
            comment,
            json,
        } => {
            let decided = backend
                .decide_policy_set(version, false, Some(&comment))
                .await?;
            decided_report(&decided, json)?;
        }
        PolicyCommand::List { json } => {
            let versions = backend.policy_sets().await?;
            if json {
                print_json(&versions)?;
            } else {
                for version in &versions {
                    println!("{}", list_line(version));
                }
            }
        }
        PolicyCommand::Show { version, json } => {
            let detail = backend.policy_set(version).await?;
            if json {
                print_json(&detail)?;
            } else {
                // The text as proposed, byte for byte: pipe it to a file and
                // it is the same file.
                print!("{}", detail.source);
            }
        }
        PolicyCommand::Diff { from, to, json } => {
            let (old, new) = (
                backend.policy_set(Some(from)).await?,
                backend.policy_set(Some(to)).await?,
            );
            let compiled = |detail: &PolicySetDetail| {
                PolicySetFile::parse(&detail.source)
                    .and_then(|file| PolicySet::compile(file, Checks::Names))
                    .map_err(|err| {
                        Failure::Other(color_eyre::eyre::eyre!(
                            "version {} does not compile: {err}",
                            detail.version.version
                        ))
                    })
            };
            let changes = diff(&compiled(&old)?, &compiled(&new)?);
            if json {
                print_json(&changes)?;
            } else {
                print!(
                    "{}",
                    describe_diff(&format!("version {from} -> version {to}"), &changes)
                );
                // The text itself, so every condition and chain is read.
                println!();
                for line in text_diff(&old.source, &new.source) {
                    println!("{}", sanitize(&line));
                }
            }
        }
        PolicyCommand::History => {
            let mut versions = backend.policy_sets().await?;
            versions.reverse();
            for version in &versions {
                print!("{}", history_lines(version));
            }
        }
    }
    Ok(exit::OK)
}

fn decided_report(decided: &PolicySetDetail, json: bool) -> Result<(), Failure> {
    if json {
        return print_json(decided);
    }
    let summary = &decided.version;
    println!(
        "policy set version {} is {} (by {})",
        summary.version,
        summary.state,
        sanitize(summary.decided_by.as_deref().unwrap_or("?"))
    );
    Ok(())
}

fn list_line(version: &PolicySetVersion) -> String {
    format!(
        "v{:<4} {:<10} {}  proposed by {} {}",
        version.version,
        version.state.as_str(),
        sanitize(&version.description),
        sanitize(&version.proposed_by),
        version.proposed_at.format("%Y-%m-%d %H:%M"),
    )
}

fn history_lines(version: &PolicySetVersion) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  v{} proposed by {}: {}",
        version.proposed_at.format("%Y-%m-%d %H:%M"),
        version.version,
        sanitize(&version.proposed_by),
        sanitize(&version.description)
    );
    if let Some((at, decision)) = version.decision() {
        let _ = writeln!(
            out,
            "{}  v{} {decision}",
            at.format("%Y-%m-%d %H:%M"),
            version.version,
        );
    }
    out
}

fn describe_diff(title: &str, diff: &PolicyDiff) -> String {
    let mut out = format!("{}\n\n", sanitize(title));
    for line in diff.lines() {
        let _ = writeln!(out, "{}", sanitize(&line));
    }
    out
}

/// The plan as a person reads it.
pub fn describe(file: &str, plan: &Plan) -> String {
    let mut out = describe_diff(&format!("{file} against the active policy set"), &plan.diff);
    out.push('\n');
    for line in plan.impact.lines() {
        let _ = writeln!(out, "{}", sanitize(&line));
    }
    out
}
