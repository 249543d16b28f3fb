//! `gavel evidence`: exporting an agent's evidence pack from the store, and
//! verifying a pack offline with the log's public key.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};

use super::args::{EvidenceCommand, Global};
use super::exit;
use super::exit::{Failure, Outcome};
use super::output::print_json;
use crate::backend::EvidenceQuery;
use crate::evidence::pack;
use crate::evidence::verify::{Key, verify};

/// A date (its start, or the start of the next day for an end) or an RFC
/// 3339 time.
fn moment(text: &str, end: bool, flag: &str) -> Result<DateTime<Utc>, Failure> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(at.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        Failure::BadInput(format!(
            "{flag} {text:?} is neither a date (2026-12-01) nor a time (2026-12-01T09:00:00Z)"
        ))
    })?;
    let start = date.and_time(NaiveTime::MIN).and_utc();
    Ok(if end {
        start + TimeDelta::days(1)
    } else {
        start
    })
}

pub async fn run(global: &Global, command: EvidenceCommand) -> Outcome {
    match command {
        EvidenceCommand::Export {
            agent,
            version,
            from,
            to,
            out,
        } => {
            let backend = super::backends::backend(global).await?;
            let query = EvidenceQuery {
                agent_id: agent,
                agent_version: version,
                from: from
                    .map(|from| moment(&from, false, "--from"))
                    .transpose()?,
                to: to.map(|to| moment(&to, true, "--to")).transpose()?,
            };
            let bytes = backend.evidence_pack(&query).await?;
            let files = pack::count(&bytes).unwrap_or(0);
            pack::save(&out, &bytes, true).map_err(|err| {
                Failure::BadInput(format!("cannot write {}: {err}", out.display()))
            })?;
            println!(
                "wrote {} ({} files, {} bytes); check it with `gavel evidence verify {} --key \"$(gavel trail key)\"`",
                out.display(),
                files,
                bytes.len(),
                out.display()
            );
            Ok(exit::OK)
        }
        EvidenceCommand::Verify {
            pack: path,
            key,
            trust_pack_key,
            json,
        } => {
            let key = match (&key, trust_pack_key) {
                (Some(key), _) => Key::Given(key),
                (None, true) => Key::TrustPack,
                (None, false) => {
                    return Err(Failure::BadInput(
                        "give the log's public key with --key (as `gavel trail key` prints it), or --trust-pack-key to check the pack against the key it carries".into(),
                    ));
                }
            };
            let bytes = std::fs::read(&path).map_err(|err| {
                Failure::BadInput(format!("cannot read {}: {err}", path.display()))
            })?;
            let report = verify(&bytes, key);
            if json {
                print_json(&serde_json::json!({
                    "holds": report.holds(),
                    "key_checked": report.key_checked,
                    "files": report.files,
                    "events": report.events,
                    "checkpoint_size": report.checkpoint_size,
                    "problems": report.problems,
                }))?;
            } else {
                for problem in &report.problems {
                    println!("✗ {}", crate::text::sanitize(problem));
                }
                if report.holds() {
                    println!(
                        "✓ {}: {} files as pack.json lists them, signed; {} trail events, each in the signed checkpoint of {} events; workflows, requests and exceptions replay from their events; audit figures recomputed",
                        path.display(),
                        report.files,
                        report.events,
                        report.checkpoint_size.unwrap_or_default()
                    );
                }
                if !report.key_checked {
                    println!(
                        "! the key was the pack's own: compare trail/log-key.txt with the key your organisation published"
                    );
                }
            }
            Ok(if report.holds() {
                exit::OK
            } else {
                exit::FAILURE
            })
        }
    }
}
