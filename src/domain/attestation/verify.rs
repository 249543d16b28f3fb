//! The offline check of an attestation: the envelope's signature by the
//! attestation key, the statement's form, its subjects, its validity window
//! and the trail event's inclusion in the signed log. What `gavel attest
//! verify` runs before it asks the server anything.

use chrono::{DateTime, Duration, Utc};

use super::dsse::{Envelope, PublicKey};
use super::{
    APPROVAL_PREDICATE, Approval, PAYLOAD_TYPE, REVOCATION_PREDICATE, Revocation, STATEMENT_TYPE,
    Statement, agent_subject,
};
use crate::domain::checkpoint;

/// How far ahead of the checker's clock an issue time may be (clocks drift).
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// What the checker is told besides the key.
#[derive(Debug, Clone, Default)]
pub struct Expect<'a> {
    /// A digest (`sha256:…`) one subject must carry.
    pub subject_digest: Option<&'a str>,
    /// The log's signed-note verifier key, to check the checkpoint's own
    /// signature.
    pub log_key: Option<&'a str>,
}

/// What the check found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The approval the envelope attests, when its signature held.
    pub approval: Option<Statement<Approval>>,
    /// A revocation, when the envelope is one.
    pub revocation: Option<Revocation>,
    /// What makes it unacceptable, in words. Empty: it holds.
    pub problems: Vec<String>,
    /// What was checked, in words.
    pub checked: Vec<String>,
}

impl Report {
    pub fn holds(&self) -> bool {
        self.problems.is_empty() && self.approval.is_some()
    }
}

/// Checks an attestation file's text at `now`.
pub fn check(text: &[u8], key: &PublicKey, expect: &Expect<'_>, now: DateTime<Utc>) -> Report {
    let mut report = Report::default();
    let statement = match open_statement(text, key) {
        Ok(statement) => statement,
        Err(problem) => {
            report.problems.push(problem);
            return report;
        }
    };
    report
        .checked
        .push(format!("signature by key {}", key.keyid));
    match statement.predicate_type.as_str() {
        REVOCATION_PREDICATE => {
            match serde_json::from_value::<Revocation>(statement.predicate) {
                Ok(revocation) => {
                    report.problems.push(format!(
                        "{} {} is revoked since {}: {}",
                        revocation.agent_id,
                        revocation.version,
                        revocation.revoked_at.format("%Y-%m-%d %H:%M UTC"),
                        revocation.reasons.join("; ")
                    ));
                    report.revocation = Some(revocation);
                }
                Err(err) => report
                    .problems
                    .push(format!("a revocation that does not read: {err}")),
            }
            return report;
        }
        APPROVAL_PREDICATE => {}
        other => {
            report.problems.push(format!(
                "predicateType is {other:?}, not Gavel's approval ({APPROVAL_PREDICATE})"
            ));
            return report;
        }
    }
    let approval: Approval = match serde_json::from_value(statement.predicate) {
        Ok(approval) => approval,
        Err(err) => {
            report
                .problems
                .push(format!("the approval predicate does not read: {err}"));
            return report;
        }
    };
    check_subjects(&statement.subject, &approval, expect, &mut report);
    check_window(&approval, now, &mut report);
    check_inclusion(&approval, expect, &mut report);
    report.approval = Some(Statement {
        statement_type: statement.statement_type,
        subject: statement.subject,
        predicate_type: statement.predicate_type,
        predicate: approval,
    });
    report
}

/// The statement inside an envelope signed by `key`, or what is wrong.
fn open_statement(text: &[u8], key: &PublicKey) -> Result<Statement<serde_json::Value>, String> {
    let envelope: Envelope = serde_json::from_slice(text).map_err(|err| {
        format!("not a DSSE envelope (JSON with payload, payloadType, signatures): {err}")
    })?;
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(format!(
            "payloadType is {:?}, not an in-toto statement ({PAYLOAD_TYPE})",
            envelope.payload_type
        ));
    }
    let payload = envelope.open(key).map_err(|err| err.to_string())?;
    let statement: Statement<serde_json::Value> = serde_json::from_slice(&payload)
        .map_err(|err| format!("the payload is not an in-toto statement: {err}"))?;
    if statement.statement_type != STATEMENT_TYPE {
        return Err(format!(
            "_type is {:?}, not {STATEMENT_TYPE}",
            statement.statement_type
        ));
    }
    Ok(statement)
}

fn check_subjects(
    subjects: &[super::Subject],
    approval: &Approval,
    expect: &Expect<'_>,
    report: &mut Report,
) {
    let agent = agent_subject(&approval.agent.agent_id, &approval.agent.version);
    let named = subjects.iter().find(|subject| subject.name == agent);
    match named.and_then(super::Subject::sha256_digest) {
        Some(digest) if digest == approval.manifest_digest => {}
        Some(digest) => report.problems.push(format!(
            "subject {agent} carries {digest}, not the manifest's {}",
            approval.manifest_digest
        )),
        None => report
            .problems
            .push(format!("no subject {agent} with a sha256 digest")),
    }
    if let Some(wanted) = expect.subject_digest {
        if subjects
            .iter()
            .any(|subject| subject.sha256_digest().as_deref() == Some(wanted))
        {
            report.checked.push(format!("subject {wanted}"));
        } else {
            report.problems.push(format!(
                "no subject has digest {wanted}: this attestation is for {}",
                subjects
                    .iter()
                    .map(|subject| subject.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
}

fn check_window(approval: &Approval, now: DateTime<Utc>, report: &mut Report) {
    if approval.issued_at > now + CLOCK_SKEW {
        report.problems.push(format!(
            "issued at {}, after now: the issuer's clock or this one is wrong",
            approval.issued_at.to_rfc3339()
        ));
    }
    match approval.valid_until {
        Some(until) if now >= until => report.problems.push(format!(
            "valid until {}: it has lapsed (recertification, dormancy or an exception's end); ask the server for a new one",
            until.format("%Y-%m-%d %H:%M UTC")
        )),
        Some(until) => report.checked.push(format!(
            "valid until {}",
            until.format("%Y-%m-%d %H:%M UTC")
        )),
        None => report
            .checked
            .push("no end date: only a later decision ends it (check online with --url)".into()),
    }
}

fn check_inclusion(approval: &Approval, expect: &Expect<'_>, report: &mut Report) {
    let trail = &approval.trail;
    let entry = &trail.event.entry;
    let concerns_it = (entry.entity_type == "deployment"
        && entry.entity_id == approval.deployment.deployment_id)
        || (entry.entity_type == "workflow"
            && approval
                .workflows
                .iter()
                .any(|workflow| workflow.workflow_id == entry.entity_id));
    if !concerns_it {
        report.problems.push(format!(
            "the trail event is about {} {}, not this deployment or its workflows",
            entry.entity_type, entry.entity_id
        ));
    }
    let tree = match expect.log_key {
        Some(log_key) => checkpoint::open(&trail.checkpoint, log_key)
            .map(|verified| (verified.size, verified.root))
            .inspect(|_| {
                report
                    .checked
                    .push("the checkpoint's signature by the log key".into())
            }),
        None => checkpoint::read_unverified(&trail.checkpoint),
    };
    match tree {
        Ok((size, root)) => {
            let problems = crate::domain::log_proof::check_event(&trail.event, size, root);
            if problems.is_empty() {
                report.checked.push(format!(
                    "trail event {} in the log of {size} events",
                    trail.event.seq
                ));
            }
            report.problems.extend(problems);
        }
        Err(err) => report.problems.push(format!("the checkpoint: {err}")),
    }
}
