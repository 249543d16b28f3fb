//! `gavel sync`: one pass of the offline cache's sync, its status, and
//! discarding a refused change.

use super::SyncArgs;
use super::exit;
use super::exit::{Failure, Outcome};
use super::output::print_json;
use crate::backend::GovernanceBackend;
use crate::backend::cache::CachedBackend;
use crate::backend::sync::plan::EntryState;
use crate::backend::sync::status::SyncStatus;
use crate::text::sanitize;

pub async fn run(backend: &CachedBackend, args: &SyncArgs) -> Outcome {
    if let Some(notice) = backend.notice() {
        eprintln!("warning: {}", sanitize(notice));
    }
    let Some(syncer) = backend.syncer() else {
        return Err(Failure::Other(color_eyre::eyre::eyre!(
            "the cache has no sync loop"
        )));
    };
    if let Some(id) = args.discard {
        syncer.discard(id).await?;
        println!("Discarded change {id}; the server's state stands.");
        return Ok(exit::OK);
    }
    if !args.status {
        // Asked for by hand: nothing waits out a backoff.
        syncer.make_due().await?;
        let progress = show_progress(syncer.subscribe());
        let result = syncer.pass().await;
        progress.abort();
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            eprint!("\r\x1b[K");
        }
        match result {
            Ok(report) => {
                if !args.json {
                    match report.full_sync_rows {
                        Some(rows) => {
                            println!("Full sync: {rows} rows from {}.", backend.location())
                        }
                        None => println!(
                            "Synced with {}: {} received, {} sent, {} conflict(s), {} failed.",
                            backend.location(),
                            report.pulled_changes,
                            report.pushed,
                            report.conflicts,
                            report.failed
                        ),
                    }
                }
            }
            Err(err) => {
                // The status still says what is waiting; show it, then fail.
                let status = syncer.status();
                if args.json {
                    print_json(&status)?;
                } else {
                    print_status(&status);
                }
                return Err(err.into());
            }
        }
    }
    let status = syncer.status();
    if args.json {
        print_json(&status)?;
    } else if args.status || !status.items.is_empty() {
        print_status(&status);
    }
    let attention = status
        .items
        .iter()
        .any(|item| item.state != EntryState::Pending);
    Ok(if attention { exit::REFUSED } else { exit::OK })
}

fn print_status(status: &SyncStatus) {
    let now = chrono::Utc::now();
    println!("{}", status.describe(now));
    if status.items.is_empty() {
        println!("Nothing waits to be sent.");
        return;
    }
    println!("{:>6}  {:<9} {:<17} change", "id", "state", "made");
    for item in &status.items {
        println!(
            "{:>6}  {:<9} {:<17} {}",
            item.id,
            item.state.as_str(),
            item.made_at
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M"),
            sanitize(&item.change)
        );
        if let Some(now) = &item.server_now {
            println!("{:>6}  server now: {}", "", sanitize(now));
        }
        if let Some(answer) = &item.server_answer {
            println!("{:>6}  server said: {}", "", sanitize(answer));
        }
    }
}

/// A first sync can take a while: on a terminal, say how far it is.
fn show_progress(
    mut status: tokio::sync::watch::Receiver<SyncStatus>,
) -> tokio::task::JoinHandle<()> {
    use std::io::{IsTerminal, Write};
    tokio::spawn(async move {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let mut shown = false;
        while status.changed().await.is_ok() {
            let progress = status.borrow_and_update().full_sync.clone();
            let mut err = std::io::stderr();
            match progress {
                Some(progress) => {
                    let _ = write!(
                        err,
                        "\rfirst sync: {} {}…\x1b[K",
                        crate::text::thousands(progress.rows),
                        progress.table
                    );
                    shown = true;
                }
                None if shown => {
                    let _ = write!(err, "\r\x1b[K");
                    shown = false;
                }
                None => {}
            }
            let _ = err.flush();
        }
    })
}
