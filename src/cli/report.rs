//! `gavel report`: the board report drawn from the signed figures the
//! store (or server) makes, and checked offline with the log's key.

use super::args::Global;
use super::exit::{self, Failure, Outcome};
use super::output::print_json;
use super::report_args::{ReportArgs, ReportCommand};
use crate::domain::report::{NewSchedule, ReportQuery, Schedule};
use crate::report::format::{Format, render};
use crate::report::verify;

/// The largest document `verify` reads (a report is a few hundred KB).
const MAX_DOCUMENT: u64 = 64 << 20;

pub async fn run(global: &Global, args: ReportArgs) -> Outcome {
    match args.command {
        Some(ReportCommand::Verify { file, key, json }) => verify_file(&file, &key, json),
        Some(ReportCommand::Schedule {
            every,
            to,
            team,
            format,
            json,
        }) => {
            let asked = NewSchedule {
                every: every.parse().map_err(Failure::BadInput)?,
                recipients: to,
                team,
                format,
            };
            let backend = super::backends::backend(global).await?;
            let made = backend.schedule_report(&asked).await?;
            if json {
                print_json(&made)?;
            } else {
                println!(
                    "{}: the report of each {} goes to {} in {}, first at {}; stop it with `gavel report unschedule {}`",
                    made.schedule_id,
                    made.every.as_str(),
                    made.recipients.join(", "),
                    made.format,
                    made.next_at.format("%Y-%m-%d %H:%M UTC"),
                    made.schedule_id
                );
            }
            Ok(exit::OK)
        }
        Some(ReportCommand::Schedules { json }) => {
            let backend = super::backends::backend(global).await?;
            let schedules = backend.report_schedules().await?;
            if json {
                print_json(&schedules)?;
            } else if schedules.is_empty() {
                println!(
                    "no report is scheduled: `gavel report schedule --every month --to EMAIL`"
                );
            }
            if !json {
                for schedule in &schedules {
                    println!("{}", crate::text::sanitize(&schedule_line(schedule)));
                }
            }
            Ok(exit::OK)
        }
        Some(ReportCommand::Unschedule { schedule_id }) => {
            let backend = super::backends::backend(global).await?;
            let stopped = backend.stop_report_schedule(&schedule_id).await?;
            println!("{}", crate::text::sanitize(&schedule_line(&stopped)));
            Ok(exit::OK)
        }
        None => make(global, args).await,
    }
}

/// One schedule on a line.
fn schedule_line(schedule: &Schedule) -> String {
    format!(
        "{}  every {}  {}  to {}{}  by {}  {}",
        schedule.schedule_id,
        schedule.every.as_str(),
        schedule.format,
        schedule.recipients.join(", "),
        schedule
            .team
            .as_ref()
            .map_or_else(String::new, |team| format!("  team {team}")),
        schedule.created_by,
        match schedule.stopped_at {
            Some(at) => format!("stopped {}", at.format("%Y-%m-%d")),
            None => format!("next {}", schedule.next_at.format("%Y-%m-%d %H:%M UTC")),
        }
    )
}

async fn make(global: &Global, args: ReportArgs) -> Outcome {
    let (Some(from), Some(to)) = (args.from, args.to) else {
        return Err(Failure::BadInput(
            "give --from and --to (YYYY-MM-DD)".into(),
        ));
    };
    let format = match &args.out {
        Some(out) => Some(Format::of_path(out).ok_or_else(|| {
            Failure::BadInput(format!(
                "--out {}: name a .html, .pdf or .md file (the extension decides the format)",
                out.display()
            ))
        })?),
        None if args.json => None,
        None => {
            return Err(Failure::BadInput(
                "give --out FILE.html, FILE.pdf or FILE.md, or --json".into(),
            ));
        }
    };
    let backend = super::backends::backend(global).await?;
    let signed = backend
        .board_report(&ReportQuery {
            from,
            to,
            team: args.team,
        })
        .await?;
    let report = crate::report::note::read(&signed.note)
        .map_err(|err| Failure::BadInput(format!("the report as signed: {err}")))?;
    if let (Some(out), Some(format)) = (&args.out, format) {
        let bytes = render(format, &report, &signed.note)
            .map_err(|err| Failure::BadInput(err.to_string()))?;
        crate::files::write(out, &bytes, crate::files::Existing::Replace)
            .map_err(|err| Failure::BadInput(format!("cannot write {}: {err}", out.display())))?;
        let line = format!(
            "wrote {} ({}, {} bytes): weeks {} to {}; check it with `gavel report verify {} --key \"$(gavel trail key)\"`",
            out.display(),
            format.name(),
            bytes.len(),
            report.period.from,
            report.period.to,
            out.display()
        );
        if args.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
    if args.json {
        print_json(&serde_json::json!({ "report": report, "note": signed.note }))?;
    }
    Ok(exit::OK)
}

fn verify_file(path: &std::path::Path, key: &str, json: bool) -> Outcome {
    let cannot =
        |err: std::io::Error| Failure::BadInput(format!("cannot read {}: {err}", path.display()));
    let size = std::fs::metadata(path).map_err(cannot)?.len();
    if size > MAX_DOCUMENT {
        return Err(Failure::BadInput(format!(
            "{} is {size} bytes: larger than any report ({MAX_DOCUMENT} bytes at most)",
            path.display()
        )));
    }
    let bytes = std::fs::read(path).map_err(cannot)?;
    let verdict = verify::verify(&bytes, key);
    if json {
        print_json(&serde_json::json!({
            "holds": verdict.holds(),
            "format": verdict.format,
            "checkpoint_size": verdict.checkpoint_size,
            "period": verdict.report.as_ref().map(|report| report.period),
            "team": verdict.report.as_ref().and_then(|report| report.team.clone()),
            "problems": verdict.problems,
        }))?;
    } else {
        for problem in &verdict.problems {
            println!("✗ {}", crate::text::sanitize(problem));
        }
        if let (true, Some(report)) = (verdict.holds(), &verdict.report) {
            println!(
                "✓ {}: {} report of weeks {} to {}, signed under the log's key ({}); its figures read at the checkpoint of {} entries; every figure on its pages is the signed one",
                path.display(),
                verdict.format,
                report.period.from,
                report.period.to,
                crate::text::sanitize(&report.origin),
                verdict.checkpoint_size.unwrap_or_default()
            );
        }
    }
    Ok(if verdict.holds() {
        exit::OK
    } else {
        exit::FAILURE
    })
}
