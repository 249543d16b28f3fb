//! `gavel notify`: delivering the store's notifications, seeing the outbox,
//! re-queuing what was dead-lettered, and testing the SMTP setup. Runs where
//! the store is (`gavel serve` delivers by itself).

use std::sync::Arc;

use super::args::{Global, NotifyCommand};
use super::backends::{load_config, local_only, open_store};
use super::exit;
use super::exit::{Failure, Outcome};
use super::output;
use super::output::print_json;
use crate::backend::local::notifications;
use crate::notify::worker::Worker;

pub async fn run(global: &Global, command: NotifyCommand) -> Outcome {
    local_only(global, "notify")?;
    let config = load_config(global)?;
    let store = open_store(global, &config).await?;
    match command {
        NotifyCommand::Run { once } => {
            let mut worker =
                Worker::new(Arc::clone(&store), config.notify.clone(), config.sla_days())
                    .map_err(Failure::BadInput)?;
            // Scheduled reports are signed with the log's key, when it is here.
            if let Ok(key) = super::backends::load_log_key(&config, &store) {
                worker = worker.with_log_key(Arc::new(key));
            }
            if !worker.delivers() {
                eprintln!(
                    "no [notify] smtp_url or [[notify.webhook]] in the config: reminders and escalations of steps with an SLA go to inboxes only"
                );
            }
            if once {
                let alerted = worker.alert_due_steps().await?;
                let counts = worker.pass().await?;
                println!(
                    "{alerted} steps or incident deadlines reminded or escalated; delivered {}; {} to retry; {} dead-lettered",
                    counts.sent, counts.failed, counts.dead
                );
            } else {
                eprintln!("delivering notifications until stopped (Ctrl-C)");
                worker
                    .run(async {
                        let _ = tokio::signal::ctrl_c().await;
                    })
                    .await;
            }
            Ok(exit::OK)
        }
        NotifyCommand::Status { json } => {
            let status = store.read(notifications::status)?;
            if json {
                print_json(&status)?;
            } else {
                println!(
                    "{} sent · {} waiting · {} dead-lettered · {} events not yet fanned out",
                    status.sent, status.pending, status.dead, status.events_waiting
                );
                for row in &status.undelivered {
                    println!(
                        "{:>6}  {:<7} {:<19} {:<10} {}  attempts {}  {}{}",
                        row.delivery_id,
                        row.state,
                        row.kind,
                        output::safe(&row.subject),
                        row.channel,
                        row.attempts,
                        output::safe(&row.target),
                        row.last_error
                            .as_deref()
                            .map(|err| format!("  last error: {}", output::safe(err)))
                            .unwrap_or_default()
                    );
                }
            }
            Ok(exit::OK)
        }
        NotifyCommand::Retry { delivery_id } => {
            store.write(|tx| notifications::retry(tx, delivery_id, chrono::Utc::now()))?;
            println!("notification {delivery_id} goes again at the next delivery pass");
            Ok(exit::OK)
        }
        NotifyCommand::Test { to } => {
            let worker = Worker::new(Arc::clone(&store), config.notify.clone(), config.sla_days())
                .map_err(Failure::BadInput)?;
            let mailer = worker.mailer().ok_or_else(|| {
                Failure::BadInput("no SMTP server: set [notify] smtp_url in the config".into())
            })?;
            let email = crate::notify::message::Email {
                subject: "Gavel test message".into(),
                text: "This is a test message from Gavel: email notifications reach you.\n".into(),
                html: "<!DOCTYPE html><html><body><p>This is a test message from Gavel: email notifications reach you.</p></body></html>".into(),
                attachment: None,
            };
            let id = format!("<gavel.test.{}@gavel>", uuid::Uuid::new_v4().simple());
            mailer
                .send(&to, &email, &id)
                .await
                .map_err(|err| Failure::Other(color_eyre::eyre::eyre!(err)))?;
            println!("sent a test message to {}", output::safe(&to));
            Ok(exit::OK)
        }
    }
}
