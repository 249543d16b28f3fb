//! Commands on deployments, bias audits, ethics-review exports and tools.

use super::args::{AuditCommand, AuditImportArgs, DeployCommand, ToolsCommand};
use super::exit;
use super::exit::{Failure, Outcome};
use super::input::{read_input, read_manifest};
use super::output;
use super::output::print_json;
use crate::backend::{GovernanceBackend, ToolStatus};
use crate::backend::{StandingCursor, StandingQuery};
use crate::domain::bias::standing::{Attention, AuditStanding};
use crate::domain::bias::{self, AuditSubmission};
use crate::domain::manifest::MAX_MANIFEST_BYTES;
use crate::domain::{DeploymentStatus, ReviewStatus};

pub async fn deploy(backend: &dyn GovernanceBackend, command: DeployCommand) -> Outcome {
    match command {
        DeployCommand::Check {
            manifest: path,
            json,
            format,
            out,
        } => {
            use super::ci_formats::{self, CheckFormat};
            let manifest = read_manifest(&path)?;
            let evaluation = backend.check_deployment(&manifest).await?;
            let shown = path.display().to_string();
            let format = if json { CheckFormat::Json } else { format };
            let text = match format {
                CheckFormat::Json => serde_json::to_string_pretty(&evaluation)
                    .map(|text| text + "\n")
                    .map_err(|err| Failure::Other(err.into()))?,
                CheckFormat::Text => {
                    let running = running_version(backend, &manifest.agent.agent_id).await?;
                    output::evaluation(&manifest, &evaluation, running.as_deref())
                }
                CheckFormat::Github => {
                    let (commands, summary) = ci_formats::github(&manifest, &shown, &evaluation);
                    if let Some(file) = std::env::var_os("GITHUB_STEP_SUMMARY") {
                        let file = std::path::Path::new(&file);
                        crate::files::append(file, summary.as_bytes()).map_err(|err| {
                            Failure::BadInput(format!(
                                "cannot write the step summary {}: {err}",
                                file.display()
                            ))
                        })?;
                    }
                    commands
                }
                CheckFormat::Gitlab => serde_json::to_string_pretty(&ci_formats::gitlab(
                    &manifest,
                    &shown,
                    &evaluation,
                ))
                .map(|text| text + "\n")
                .map_err(|err| Failure::Other(err.into()))?,
                CheckFormat::Junit => ci_formats::junit(&manifest, &shown, &evaluation),
            };
            match out {
                Some(file) => {
                    crate::files::write(&file, text.as_bytes(), crate::files::Existing::Replace)
                        .map_err(|err| {
                            Failure::BadInput(format!("cannot write {}: {err}", file.display()))
                        })?
                }
                None => print!("{text}"),
            }
            Ok(match evaluation.status {
                DeploymentStatus::Blocked => exit::BLOCKED,
                DeploymentStatus::PendingApproval => exit::APPROVAL_REQUIRED,
                _ => exit::OK,
            })
        }
        DeployCommand::Request { manifest, json } => {
            let manifest = read_manifest(&manifest)?;
            let request = backend.request_deployment(&manifest).await?;
            if json {
                print_json(&request)?;
            } else {
                print!("{}", output::deployment(&request));
            }
            Ok(exit::OK)
        }
    }
}

/// Largest CSV `gavel audit import` reads.
const MAX_IMPORT_BYTES: usize = 4 << 20;

/// Reads an external audit's tables, checks the figures it publishes
/// against its counts, and records it through the same gate as any audit.
async fn import(backend: &dyn GovernanceBackend, args: AuditImportArgs) -> Outcome {
    let shown = args.file.display().to_string();
    let text = read_input(&args.file, MAX_IMPORT_BYTES)?;
    let imported = bias::import::parse_csv(&text)
        .map_err(|err| Failure::BadInput(format!("{shown}: {err}")))?;
    // Ratios do not depend on the threshold; the store applies the policy's.
    let (computed, _) = bias::tables::compute_tables(&imported.tables, bias::DEFAULT_THRESHOLD)
        .map_err(|err| Failure::BadInput(format!("{shown}: {err}")))?;
    bias::import::check_published(&imported.published, &computed)
        .map_err(|err| Failure::BadInput(format!("{shown}: {err}")))?;
    let submission = AuditSubmission {
        agent_id: args.agent,
        agent_version: args.agent_version,
        tested_at: args.tested_at,
        groups: Vec::new(),
        attributes: imported.tables,
        mode: args.mode,
        source: Some(bias::AuditSource {
            auditor: args.auditor,
            independent: args.independent,
            data: args.data,
            reference: args.reference,
            file_sha256: Some(crate::domain::digest::sha256_hex(&text)),
        }),
        threshold: None,
    };
    let audit = backend.record_audit(&submission).await?;
    if args.json {
        print_json(&audit)?;
    } else {
        print!("{}", output::audit(&audit));
    }
    Ok(exit::OK)
}

pub async fn audit(
    backend: std::sync::Arc<dyn GovernanceBackend>,
    command: AuditCommand,
) -> Outcome {
    match command {
        AuditCommand::Show { agent_id, json } => {
            let agent = backend.agent(&agent_id).await?;
            let audits = backend.audits(&agent_id).await?;
            if json {
                print_json(&audits)?;
            } else {
                print!("{}", output::audits(&agent, &audits));
            }
            Ok(exit::OK)
        }
        AuditCommand::Record { file, json } => {
            let text = read_input(&file, MAX_MANIFEST_BYTES)?;
            let submission: AuditSubmission = serde_json::from_str(&text)
                .map_err(|err| Failure::BadInput(format!("{}: {err}", file.display())))?;
            let audit = backend.record_audit(&submission).await?;
            if json {
                print_json(&audit)?;
            } else {
                print!("{}", output::audit(&audit));
            }
            Ok(exit::OK)
        }
        AuditCommand::Import(args) => import(backend.as_ref(), *args).await,
        AuditCommand::ConfirmIndependence {
            audit_id,
            auditor,
            comment,
            json,
        } => {
            let audit = backend
                .confirm_audit_independence(&crate::domain::bias::IndependenceConfirmation {
                    audit_id,
                    auditor,
                    comment,
                })
                .await?;
            if json {
                print_json(&audit)?;
            } else {
                println!(
                    "audit {}: {}",
                    super::output::safe(&audit.audit_id),
                    super::output::safe(&audit.auditor_standing())
                );
            }
            Ok(exit::OK)
        }
        AuditCommand::Due { within, json } => {
            let standings = due_standings(backend.as_ref(), within).await?;
            if json {
                print_json(&standings)?;
            } else {
                print!("{}", output::audits_due(&standings, within));
            }
            Ok(exit::OK)
        }
        AuditCommand::Run(args) => super::audit_run::run(backend, *args).await,
        AuditCommand::Runs { agent, json } => {
            super::audit_run::runs(backend.as_ref(), agent.as_deref(), json).await
        }
        AuditCommand::Cases {
            run_id,
            group,
            categories,
            outcome,
            limit,
            json,
        } => {
            super::audit_run::list_cases(
                backend.as_ref(),
                &run_id,
                (group, categories),
                outcome,
                limit,
                json,
            )
            .await
        }
        AuditCommand::Verify { json, .. } => {
            let report = backend.verify_trail().await?;
            let mismatch = report
                .replay
                .as_ref()
                .and_then(|replay| replay.mismatch.as_ref());
            if json {
                print_json(&report)?;
            } else {
                print!("{}", super::verification::verification(&report));
            }
            Ok(
                if report.broken.is_some()
                    || mismatch.is_some()
                    || !report.figures_differ.is_empty()
                {
                    exit::FAILURE
                } else {
                    exit::OK
                },
            )
        }
    }
}

pub async fn export_review(backend: &dyn GovernanceBackend, review_id: &str) -> Outcome {
    let review = backend.review(review_id).await?;
    if review.status != ReviewStatus::Submitted {
        return Err(Failure::Refused(format!(
            "review {review_id} is {}: only submitted reviews are exported",
            review.status
        )));
    }
    let template = backend.review_template(&review.template_id).await?;
    let agent_name = backend
        .agent(&review.agent_id)
        .await
        .map_or(review.agent_id.clone(), |agent| agent.name);
    print!(
        "{}",
        crate::domain::review::to_markdown(&review, &template, &agent_name)
    );
    Ok(exit::OK)
}

pub async fn tools(backend: &dyn GovernanceBackend, command: ToolsCommand) -> Outcome {
    let (name, status, comment) = match command {
        ToolsCommand::List { json } => {
            let tools = backend.tools().await?;
            if json {
                print_json(&tools)?;
            } else if tools.is_empty() {
                println!("No tool has a decision on record yet.");
            } else {
                for tool in tools {
                    println!(
                        "{:<24} {:<9} by {} on {}: {}",
                        output::safe(&tool.name),
                        tool.status.as_str(),
                        output::safe(&tool.decided_by),
                        tool.decided_at.format("%Y-%m-%d"),
                        output::safe(&tool.comment)
                    );
                }
            }
            return Ok(exit::OK);
        }
        ToolsCommand::Approve { name, comment } => (name, ToolStatus::Approved, comment),
        ToolsCommand::Reject { name, comment } => (name, ToolStatus::Rejected, comment),
    };
    let record = backend.decide_tool(&name, status, &comment).await?;
    println!(
        "tool {} {} by {}",
        output::safe(&record.name),
        record.status.as_str(),
        output::safe(&record.decided_by)
    );
    Ok(exit::OK)
}

/// `audit verify --checkpoint FILE`: the store's events must still hold the
/// tree a checkpoint kept earlier names. Someone holding the key can sign
/// new checkpoints, but cannot make the old one agree with a rewritten or
/// truncated record.
pub fn verify_against_checkpoint(
    store: &crate::backend::local::LocalStore,
    checkpoint_file: &std::path::Path,
    verifier_key: &str,
    json: bool,
) -> Outcome {
    let note = read_input(checkpoint_file, 64 * 1024)?;
    let checkpoint = crate::domain::checkpoint::open(&note, verifier_key)
        .map_err(|err| Failure::BadInput(format!("{}: {err}", checkpoint_file.display())))?;
    let root =
        store.read(|conn| crate::backend::local::trail::root_of_first(conn, checkpoint.size))?;
    let expected = crate::domain::merkle::hex(&checkpoint.root);
    let (holds, text) = match root {
        Ok(root) if root == expected => (
            true,
            format!(
                "checkpoint holds: the store's first {} events give its root {expected} ({})",
                checkpoint.size, checkpoint.origin
            ),
        ),
        Ok(root) => (
            false,
            format!(
                "checkpoint BROKEN: the store's first {} events give root {root}, the checkpoint names {expected}: the record was rewritten after it was signed",
                checkpoint.size
            ),
        ),
        Err(held) => (
            false,
            format!(
                "checkpoint BROKEN: the store holds {held} events, the checkpoint names {}: events were removed after it was signed",
                checkpoint.size
            ),
        ),
    };
    if json {
        print_json(&serde_json::json!({
            "origin": checkpoint.origin,
            "size": checkpoint.size,
            "root": expected,
            "holds": holds,
            "message": text,
        }))?;
    } else {
        println!("{text}");
    }
    Ok(if holds { exit::OK } else { exit::FAILURE })
}

/// Every agent with an audit to (re-)run, most urgent first, read a page
/// at a time.
async fn due_standings(
    backend: &dyn GovernanceBackend,
    within: chrono::TimeDelta,
) -> crate::backend::Result<Vec<AuditStanding>> {
    let mut query = StandingQuery {
        due_within: within,
        kinds: Attention::ALL
            .into_iter()
            .filter(|kind| kind.is_due())
            .collect(),
        search: None,
        after: None,
        limit: crate::backend::queue::MAX_PAGE,
    };
    let mut standings = Vec::new();
    loop {
        let page = backend.audit_standings(&query).await?;
        standings.extend(page.standings);
        let Some(next) = page.next else {
            return Ok(standings);
        };
        query.after =
            Some(StandingCursor::decode(&next).map_err(crate::backend::BackendError::Storage)?);
    }
}

/// The version of an agent running now: its newest request that was
/// allowed or approved.
async fn running_version(
    backend: &dyn crate::backend::GovernanceBackend,
    agent_id: &str,
) -> Result<Option<String>, Failure> {
    let mut newest: Option<crate::domain::DeploymentRequest> = None;
    for status in [DeploymentStatus::Allowed, DeploymentStatus::Approved] {
        let page = backend
            .deployments(&crate::backend::DeploymentQuery {
                status: Some(status),
                agent_id: Some(agent_id.to_owned()),
                limit: 1,
                ..crate::backend::DeploymentQuery::default()
            })
            .await?;
        if let Some(found) = page.items.into_iter().next()
            && newest
                .as_ref()
                .is_none_or(|newest| found.requested_at > newest.requested_at)
        {
            newest = Some(found);
        }
    }
    Ok(newest.map(|deployment| deployment.agent_version))
}
