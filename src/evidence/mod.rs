//! Evidence packs: one zip of everything an auditor asks about an agent
//! (its requests, the policy-set versions that judged them, every workflow
//! step, the ethics reviews, the bias audits with their case evidence, the
//! trail events behind them), whose file list is signed under the trail
//! log's key and whose events are proven in a signed checkpoint, so that
//! `verify` (and anyone holding the public key) can check a pack offline,
//! without the store. `backend::local::evidence` reads what goes in.
//!
//! Layer 4, a part (docs/architecture.md): the pack format reads the
//! contract's records; it may import the rules and the ground, never the
//! stores that collect them.

pub mod collected;
pub mod html;
pub mod obligations;
pub mod pack;
mod style;
pub mod summary;
pub mod svg;
pub mod trail;
pub mod verify;

use chrono::{DateTime, Utc};
use serde::Serialize;
use signed_note::StandardSigner;

use crate::backend::CaseOutcome;
pub use collected::{Evidence, RunEvidence, charts, distributed, slug};
use pack::{Listing, PackError, PackFile};

fn json<T: Serialize>(path: String, value: &T) -> Result<PackFile, PackError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|err| PackError::File {
        path: path.clone(),
        what: err.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(PackFile::new(path, bytes))
}

/// A run's cases as CSV, one row per case.
fn cases_csv(path: String, cases: &[CaseOutcome]) -> Result<PackFile, PackError> {
    let failed = |err: csv::Error| PackError::File {
        path: path.clone(),
        what: err.to_string(),
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "case_id",
            "attributes",
            "pair_id",
            "input",
            "response",
            "response_sha256",
            "outcome",
            "score",
            "reason",
        ])
        .map_err(failed)?;
    for case in cases {
        let attributes = case
            .attributes
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(";");
        // Inputs, answers and reasons come from outside (an agent's answer
        // can be a formula): each text cell is made safe for a spreadsheet.
        let cell = crate::text::spreadsheet_cell;
        writer
            .write_record([
                &*cell(&case.case_id),
                &*cell(&attributes),
                &*cell(case.pair_id.as_deref().unwrap_or("")),
                &*cell(&case.input),
                &*cell(&case.response),
                &case.response_sha256,
                case.outcome.as_str(),
                &case
                    .score
                    .map(|score| score.to_string())
                    .unwrap_or_default(),
                &*cell(&case.reason),
            ])
            .map_err(failed)?;
    }
    let bytes = writer.into_inner().map_err(|err| PackError::File {
        path: path.clone(),
        what: err.to_string(),
    })?;
    Ok(PackFile::new(path, bytes))
}

/// The pack's files, `pack.json` last, signed by `signer` (the log's key).
pub fn build(
    evidence: &Evidence,
    exported_by: &str,
    now: DateTime<Utc>,
    signer: &StandardSigner,
) -> Result<Vec<PackFile>, PackError> {
    let mut files = Vec::new();
    for deployment in &evidence.deployments {
        files.push(json(
            format!("requests/{}.json", deployment.deployment_id),
            deployment,
        )?);
    }
    for set in &evidence.policy_sets {
        files.push(PackFile::new(
            format!("policy-sets/version-{}.toml", set.version.version),
            set.source.clone(),
        ));
    }
    for exception in &evidence.exceptions {
        files.push(json(
            format!("exceptions/{}.json", exception.exception_id),
            exception,
        )?);
    }
    for incident in &evidence.incidents {
        files.push(json(
            format!("incidents/{}.json", incident.incident_id),
            incident,
        )?);
    }
    for workflow in &evidence.workflows {
        files.push(json(
            format!("workflows/{}.json", workflow.workflow_id),
            workflow,
        )?);
    }
    let agent_name = evidence
        .deployments
        .last()
        .map_or(evidence.query.agent_id.as_str(), |d| d.agent_name.as_str());
    for (review, template) in &evidence.reviews {
        files.push(json(format!("reviews/{}.json", review.review_id), review)?);
        files.push(PackFile::new(
            format!("reviews/{}.md", review.review_id),
            crate::domain::review::to_markdown(review, template, agent_name),
        ));
    }
    for audit in &evidence.audits {
        files.push(json(format!("audits/{}.json", audit.audit_id), audit)?);
        for (path, chart) in charts(audit) {
            files.push(PackFile::new(path, chart));
        }
        let shipped = distributed(&evidence.deployments, &audit.agent_version);
        if let Some(public) = summary::summarize(audit, agent_name, shipped) {
            files.push(json(
                format!("summaries/{}-public-summary.json", audit.audit_id),
                &public,
            )?);
            files.push(PackFile::new(
                format!("summaries/{}-public-summary.html", audit.audit_id),
                summary::page(&public),
            ));
        }
    }
    for run in &evidence.runs {
        files.push(json(format!("runs/{}.json", run.run.run_id), &run.run)?);
        files.push(cases_csv(
            format!("runs/{}-cases.csv", run.run.run_id),
            &run.cases,
        )?);
    }
    // Judged once, for its files and for the page.
    let judged = match &evidence.obligations {
        Some(records) => obligations::packed(records, &evidence.pack_records(), now)
            .map_err(|what| PackError::File {
                path: obligations::POSTURE.into(),
                what,
            })?
            .map(|(posture, frameworks)| (records, posture, frameworks)),
        None => None,
    };
    if let Some((records, posture, frameworks)) = &judged {
        files.extend(obligations::files(records, posture, frameworks)?);
    }
    let mut events = Vec::new();
    for event in &evidence.events {
        serde_json::to_writer(&mut events, event).map_err(|err| PackError::File {
            path: "trail/events.jsonl".into(),
            what: err.to_string(),
        })?;
        events.push(b'\n');
    }
    files.push(PackFile::new("trail/events.jsonl", events));
    files.push(PackFile::new(
        "trail/checkpoint.txt",
        evidence.checkpoint.clone(),
    ));
    files.push(PackFile::new(
        "trail/log-key.txt",
        format!("{}\n", evidence.verifier_key),
    ));
    files.push(PackFile::new(
        "index.html",
        html::page(
            evidence,
            judged.as_ref().map(|(_, posture, _)| posture),
            now,
        ),
    ));
    let listing = Listing::of(
        &files,
        Listing {
            format: pack::FORMAT.into(),
            origin: evidence.origin.clone(),
            agent_id: evidence.query.agent_id.clone(),
            agent_version: evidence.query.agent_version.clone(),
            from: evidence.query.from,
            to: evidence.query.to,
            exported_at: now,
            exported_by: exported_by.to_owned(),
            files: Vec::new(),
        },
    );
    files.push(PackFile::new(pack::LIST, pack::sign(&listing, signer)?));
    Ok(files)
}
