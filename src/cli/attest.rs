//! `gavel attest`: an agent version's signed approval (or its revocation),
//! the key it is signed with, and the check a deployment system runs
//! offline, and online when it can reach the server.

use std::path::Path;

use super::args::Global;
use super::attest_args::AttestCommand;
use super::exit::{self, Failure, Outcome};
use super::output::print_json;
use crate::domain::attestation::dsse::PublicKey;
use crate::domain::attestation::verify::{Expect, Report, check};
use crate::domain::attestation::{Attested, REVOCATION_PREDICATE, Revocation, Statement};

pub async fn run(global: &Global, command: AttestCommand) -> Outcome {
    match command {
        AttestCommand::Show {
            agent,
            version,
            manifest,
            out,
        } => {
            let (agent, version) = match (manifest, agent, version) {
                (Some(path), _, _) => {
                    let manifest = super::input::read_manifest(&path)?;
                    (manifest.agent.agent_id, manifest.agent.version)
                }
                (None, Some(agent), Some(version)) => (agent, version),
                _ => {
                    return Err(Failure::BadInput(
                        "name the agent and version, or give --manifest".into(),
                    ));
                }
            };
            let backend = super::backends::backend(global).await?;
            let attested = backend.attestation(&agent, &version).await?;
            let text = envelope_text(attested.envelope())?;
            match &out {
                Some(path) => {
                    write(path, &text)?;
                    println!("wrote {}", path.display());
                }
                None => println!("{text}"),
            }
            match attested {
                Attested::Issued(_) => Ok(exit::OK),
                Attested::Revoked(envelope) => {
                    eprintln!("{}", revoked_words(&envelope));
                    Ok(exit::BLOCKED)
                }
            }
        }
        AttestCommand::Key { out, pem } => {
            let backend = super::backends::backend(global).await?;
            let document = backend.attestation_key().await?;
            let text = if pem {
                document.public_key_pem.clone()
            } else {
                envelope_text(&document)?
            };
            match &out {
                Some(path) => {
                    write(path, &text)?;
                    println!("wrote {} (key {})", path.display(), document.keyid);
                }
                None => print!("{}", text.trim_end().to_owned() + "\n"),
            }
            Ok(exit::OK)
        }
        AttestCommand::Verify {
            file,
            key,
            subject_digest,
            manifest,
            online,
            json,
        } => {
            let key_text = super::input::read_input(&key, 64 * 1024)?;
            let (key, log_key) = PublicKey::parse(&key_text)
                .map_err(|err| Failure::BadInput(format!("{}: {err}", key.display())))?;
            let bytes = super::input::read_input(&file, 16 * 1024 * 1024)?;
            let digest = match &manifest {
                Some(path) => Some(super::input::read_manifest(path)?.canonical_digest()),
                None => subject_digest,
            };
            let expect = Expect {
                subject_digest: digest.as_deref(),
                log_key: log_key.as_deref(),
            };
            let mut report = check(bytes.as_bytes(), &key, &expect, chrono::Utc::now());
            if (online || global.url.is_some()) && report.holds() {
                ask_server(global, &key, &mut report).await?;
            }
            print_report(&file, &report, json)?;
            Ok(if report.holds() {
                exit::OK
            } else if report.revocation.is_some() {
                exit::BLOCKED
            } else {
                exit::FAILURE
            })
        }
    }
}

/// Asks the server for the version's attestation now: a revocation signed
/// by the same key ends the one being checked.
async fn ask_server(global: &Global, key: &PublicKey, report: &mut Report) -> Result<(), Failure> {
    let Some(statement) = &report.approval else {
        return Ok(());
    };
    let agent = &statement.predicate.agent;
    let backend = super::backends::backend(global).await?;
    let answer = backend.attestation(&agent.agent_id, &agent.version).await?;
    let Attested::Revoked(envelope) = answer else {
        report.checked.push("the server: it still stands".into());
        return Ok(());
    };
    let revocation = envelope
        .open(key)
        .ok()
        .and_then(|payload| serde_json::from_slice::<Statement<Revocation>>(&payload).ok())
        .filter(|statement| statement.predicate_type == REVOCATION_PREDICATE)
        .ok_or_else(|| {
            Failure::Other(color_eyre::eyre::eyre!(
                "the server answered a revocation this key did not sign"
            ))
        })?;
    report.problems.push(format!(
        "the server says it no longer stands (as of {}): {}",
        revocation.predicate.revoked_at.format("%Y-%m-%d %H:%M UTC"),
        revocation.predicate.reasons.join("; ")
    ));
    report.revocation = Some(revocation.predicate);
    Ok(())
}

fn print_report(file: &Path, report: &Report, json: bool) -> Result<(), Failure> {
    let statement = report.approval.as_ref();
    if json {
        return print_json(&serde_json::json!({
            "holds": report.holds(),
            "revoked": report.revocation.is_some(),
            "problems": report.problems,
            "checked": report.checked,
            "subjects": statement.map(|statement| &statement.subject),
            "outcome": statement.map(|statement| statement.predicate.outcome),
            "valid_until": statement.and_then(|statement| statement.predicate.valid_until),
        }));
    }
    for problem in &report.problems {
        println!("✗ {}", crate::text::sanitize(problem));
    }
    for checked in &report.checked {
        println!("✓ {}", crate::text::sanitize(checked));
    }
    if let (true, Some(statement)) = (report.holds(), statement) {
        let approval = &statement.predicate;
        println!(
            "{}: {} {} stands {} under policy set v{} (request {})",
            file.display(),
            crate::text::sanitize(&approval.agent.agent_id),
            crate::text::sanitize(&approval.agent.version),
            approval.outcome,
            approval.policy_set.version,
            crate::text::sanitize(&approval.deployment.deployment_id),
        );
    }
    Ok(())
}

fn revoked_words(envelope: &crate::domain::attestation::dsse::Envelope) -> String {
    envelope
        .payload_unchecked()
        .and_then(|payload| serde_json::from_slice::<Statement<Revocation>>(&payload).ok())
        .map(|statement| {
            format!(
                "revoked: {}",
                crate::text::sanitize(&statement.predicate.reasons.join("; "))
            )
        })
        .unwrap_or_else(|| "revoked".into())
}

fn envelope_text<T: serde::Serialize>(value: &T) -> Result<String, Failure> {
    serde_json::to_string_pretty(value)
        .map_err(|err| Failure::Other(color_eyre::eyre::eyre!("cannot write JSON: {err}")))
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    crate::files::write(
        path,
        format!("{}\n", text.trim_end()).as_bytes(),
        crate::files::Existing::Replace,
    )
    .map_err(|err| Failure::BadInput(format!("cannot write {}: {err}", path.display())))
}
