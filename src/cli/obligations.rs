//! `gavel obligations` (an agent version's posture, and confirming what is
//! in place outside Gavel) and `gavel intake` (the questions that classify
//! an agent version).

use chrono::NaiveTime;

use super::args::Global;
use super::backends::backend;
use super::exit::{self, Failure, Outcome};
use super::input::{file_sha256, read_input};
use super::obligation_args::{IntakeCommand, ObligationsArgs, ObligationsCommand};
use super::output::{print_json, safe};
use crate::backend::GovernanceBackend;
use crate::domain::obligations::{
    IntakeDecision, IntakeSave, NewConfirmation, Posture, PosturePage, PostureQuery, State,
};
use crate::domain::policy::frameworks::IntakeSection;
use crate::domain::policy::set::PolicySetFile;
use crate::domain::review::Answers;

/// The largest answers file read, in bytes.
const MAX_ANSWERS_FILE: usize = 1024 * 1024;

pub async fn obligations(global: &Global, args: ObligationsArgs) -> Outcome {
    let backend = backend(global).await?;
    if let Some(ObligationsCommand::Confirm {
        obligation,
        agent,
        link,
        file,
        until,
        comment,
        json,
    }) = args.command
    {
        let file_sha256 = file.as_deref().map(file_sha256).transpose()?;
        let request = NewConfirmation {
            obligation_id: obligation,
            agent_id: agent,
            link,
            file_sha256,
            comment,
            // To the end of the day named (UTC).
            valid_until: until
                .and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN))
                .and_utc(),
        };
        let confirmation = backend.confirm_obligation(&request).await?;
        if json {
            print_json(&confirmation)?;
        } else {
            println!(
                "{} confirmed {} for {} as {}, until the end of {} (UTC)",
                confirmation.confirmation_id,
                safe(&confirmation.obligation_id),
                safe(&confirmation.agent_id),
                confirmation.role.label(),
                confirmation.valid_until.format("%Y-%m-%d")
            );
        }
        return Ok(exit::OK);
    }
    let Some(agent) = args.agent else {
        let page = backend
            .postures(&PostureQuery {
                after: args.after,
                limit: args.limit,
                unmet: args.unmet,
            })
            .await?;
        if args.json {
            print_json(&page)?;
        } else {
            print_page(&page);
        }
        return Ok(exit::OK);
    };
    let mut posture = backend.obligations(&agent, args.version.as_deref()).await?;
    posture.obligations.retain(|obligation| {
        args.framework
            .as_ref()
            .is_none_or(|framework| obligation.framework == *framework)
            && (!args.unmet || matches!(obligation.state, State::Unmet { .. }))
    });
    if args.json {
        print_json(&posture)?;
        return Ok(exit::OK);
    }
    print_posture(&posture);
    // What stands for the version beside its duties.
    let of_agent = |agent_id: &str| Some(agent_id.to_owned());
    let incidents = backend
        .incidents(&crate::domain::incident::IncidentQuery {
            agent_id: of_agent(&agent),
            ..Default::default()
        })
        .await?;
    let exceptions = backend
        .exceptions(&crate::domain::exception::ExceptionQuery {
            agent_id: of_agent(&agent),
            ..Default::default()
        })
        .await?;
    let mut beside = crate::domain::after_approval::words(
        &posture.agent_version,
        &incidents,
        &exceptions,
        posture.at,
    );
    beside.extend(
        crate::tui::command::obligations::attestation_words(
            backend.as_ref(),
            &posture.agent_id,
            &posture.agent_version,
        )
        .await,
    );
    if !beside.is_empty() {
        println!("\nafter approval");
        for line in &beside {
            println!("  {}", safe(line));
        }
    }
    Ok(exit::OK)
}

fn print_page(page: &PosturePage) {
    let adopts_none = page.items.iter().all(|item| {
        let counts = item.counts;
        counts.duties == 0 && counts.not_applicable == 0 && counts.not_yet_in_effect == 0
    });
    if adopts_none && !page.items.is_empty() {
        println!(
            "the active policy set adopts no obligation: add [[framework]] tables to it (docs/obligations.md)"
        );
        return;
    }
    if page.items.is_empty() {
        println!("no agent in this page has an obligation to show");
    }
    for item in &page.items {
        let counts = item.counts;
        println!(
            "{}  {}@{}  {}  {} met, {} expiring, {} unmet{}",
            safe(&item.agent_id),
            safe(&item.agent_name),
            safe(&item.agent_version),
            safe(&item.team),
            counts.met,
            counts.expiring,
            counts.unmet,
            if item.unmet.is_empty() {
                String::new()
            } else {
                format!(": {}", safe(&item.unmet.join(", ")))
            }
        );
    }
    if let Some(next) = &page.next {
        println!("more: gavel obligations --after {}", safe(next));
    }
}

fn print_posture(posture: &Posture) {
    let counts = posture.counts();
    println!(
        "{}@{} on {}: {} ({} distinct duties)",
        safe(&posture.agent_id),
        safe(&posture.agent_version),
        posture.at.format("%Y-%m-%d"),
        counts.words(),
        counts.duties
    );
    if posture.obligations.is_empty() {
        println!("no obligation to show: the active policy set adopts none (or none matches)");
    }
    let mut framework = "";
    for obligation in &posture.obligations {
        if obligation.framework != framework {
            framework = &obligation.framework;
            println!("\n{}", safe(framework));
        }
        let mark = match obligation.state {
            State::Met => "✓",
            State::Expiring { .. } => "!",
            State::Unmet { .. } => "✗",
            State::NotYetInEffect { .. } => "…",
            State::NotApplicable { .. } => "-",
        };
        println!(
            "  {mark} {}  {} ({}): {}",
            safe(&obligation.obligation),
            safe(&obligation.title),
            safe(&obligation.citation),
            obligation.state.word()
        );
        match &obligation.state {
            State::Unmet { missing } => {
                for wanted in missing {
                    println!("      missing: {}", safe(wanted));
                }
            }
            State::NotYetInEffect { from, missing } => {
                println!("      applies from {from}");
                for wanted in missing {
                    println!("      will need: {}", safe(wanted));
                }
            }
            State::Expiring { on } => println!("      evidence lapses {}", on.format("%Y-%m-%d")),
            State::NotApplicable { why } => println!("      {}", safe(why)),
            State::Met => {}
        }
        if let Some(via) = &obligation.via {
            println!("      met through {} (crosswalk)", safe(via));
        }
        for found in &obligation.evidence {
            println!(
                "      {} {}: {}{}",
                found.kind,
                safe(&found.id),
                safe(&found.what),
                found
                    .until
                    .map(|until| format!(" (until {})", until.format("%Y-%m-%d")))
                    .unwrap_or_default()
            );
        }
    }
}

pub async fn intake(global: &Global, command: IntakeCommand) -> Outcome {
    let backend = backend(global).await?;
    match command {
        IntakeCommand::Fill {
            agent,
            version,
            answers,
            submit,
            json,
        } => {
            let version = version_of(backend.as_ref(), &agent, version).await?;
            let save = IntakeSave {
                agent_id: agent,
                agent_version: version,
                answers: read_answers(&answers)?,
                submit,
            };
            let intake = backend.save_intake(&save).await?;
            if json {
                print_json(&intake)?;
            } else {
                println!(
                    "intake of {}@{} {} (version {})",
                    safe(&intake.agent_id),
                    safe(&intake.agent_version),
                    intake.status.as_str(),
                    intake.version
                );
            }
            Ok(exit::OK)
        }
        IntakeCommand::Approve {
            agent,
            version,
            comment,
            json,
        } => decide(backend.as_ref(), agent, version, true, comment, json).await,
        IntakeCommand::Reject {
            agent,
            version,
            comment,
            json,
        } => decide(backend.as_ref(), agent, version, false, Some(comment), json).await,
        IntakeCommand::Show {
            agent,
            version,
            json,
        } => {
            let version = version_of(backend.as_ref(), &agent, version).await?;
            let intake = backend.intake(&agent, &version).await?;
            if json {
                print_json(&intake)?;
                return Ok(exit::OK);
            }
            let section = active_intake(backend.as_ref()).await?;
            let Some(intake) = intake else {
                println!(
                    "no intake saved for {}@{}: gavel intake fill {} --version {} --answers FILE --submit",
                    safe(&agent),
                    safe(&version),
                    safe(&agent),
                    safe(&version)
                );
                return Ok(exit::OK);
            };
            println!(
                "intake of {}@{}: {} by {} on {} (version {})",
                safe(&intake.agent_id),
                safe(&intake.agent_version),
                intake.status.as_str(),
                safe(&intake.filled_by),
                intake.updated_at.format("%Y-%m-%d %H:%M UTC"),
                intake.version
            );
            if let Some(pending) = &intake.pending {
                println!(
                    "  a change proposed by {} on {} waits for a decision (it would stop {} from applying): gavel intake approve|reject {} --version {}",
                    safe(&pending.proposed_by),
                    pending.proposed_at.format("%Y-%m-%d"),
                    safe(&pending.stops.join(", ")),
                    safe(&intake.agent_id),
                    safe(&intake.agent_version)
                );
            }
            let questions = section.map(|section| section.questions).unwrap_or_default();
            for question in &questions {
                let answer = intake
                    .answers
                    .get(&question.id)
                    .map_or_else(|| "(no answer)".to_owned(), answer_words);
                println!(
                    "  {} ({}): {}",
                    safe(&question.prompt),
                    question.id,
                    safe(&answer)
                );
            }
            for (id, answer) in intake
                .answers
                .iter()
                .filter(|(id, _)| !questions.iter().any(|question| question.id == **id))
            {
                println!(
                    "  {} (no longer asked): {}",
                    safe(id),
                    safe(&answer_words(answer))
                );
            }
            Ok(exit::OK)
        }
    }
}

async fn decide(
    backend: &dyn GovernanceBackend,
    agent: String,
    version: Option<String>,
    approve: bool,
    comment: Option<String>,
    json: bool,
) -> Outcome {
    let version = version_of(backend, &agent, version).await?;
    let intake = backend
        .decide_intake_change(&IntakeDecision {
            agent_id: agent,
            agent_version: version,
            approve,
            comment,
        })
        .await?;
    if json {
        print_json(&intake)?;
    } else {
        println!(
            "intake change of {}@{} {} (version {})",
            safe(&intake.agent_id),
            safe(&intake.agent_version),
            if approve {
                "approved: its answers classify the agent"
            } else {
                "rejected: the earlier answers stand"
            },
            intake.version
        );
    }
    Ok(exit::OK)
}

/// The version named, else the agent's current one.
async fn version_of(
    backend: &dyn GovernanceBackend,
    agent: &str,
    version: Option<String>,
) -> Result<String, Failure> {
    match version {
        Some(version) => Ok(version),
        None => Ok(backend.agent(agent).await?.version),
    }
}

/// The intake questions of the active policy set.
async fn active_intake(backend: &dyn GovernanceBackend) -> Result<Option<IntakeSection>, Failure> {
    let detail = backend.policy_set(None).await?;
    let file = PolicySetFile::parse(&detail.source)
        .map_err(|err| Failure::Other(color_eyre::eyre::eyre!("the active policy set: {err}")))?;
    Ok(file.intake)
}

fn answer_words(answer: &serde_json::Value) -> String {
    match answer {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map_or_else(|| item.to_string(), str::to_owned)
            })
            .collect::<Vec<_>>()
            .join(", "),
        serde_json::Value::Bool(true) => "yes".into(),
        serde_json::Value::Bool(false) => "no".into(),
        other => other.to_string(),
    }
}

/// Answers from a TOML or JSON file (by its extension: `.json` is JSON).
fn read_answers(path: &std::path::Path) -> Result<Answers, Failure> {
    let cannot = |why: String| Failure::BadInput(format!("{}: {why}", path.display()));
    let text = read_input(path, MAX_ANSWERS_FILE)?;
    let json = path
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("json"));
    if json {
        serde_json::from_str(&text)
            .map_err(|err| cannot(format!("not a JSON object of answers: {err}")))
    } else {
        let table: toml::Table =
            toml::from_str(&text).map_err(|err| cannot(format!("not TOML answers: {err}")))?;
        serde_json::to_value(table)
            .and_then(serde_json::from_value)
            .map_err(|err| cannot(err.to_string()))
    }
}
