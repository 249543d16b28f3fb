//! Watches the backend for commits made elsewhere (another console, the
//! CLI, a server's other clients), so what is on screen reloads without a
//! key being pressed.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::time::MissedTickBehavior;

use super::command::Message;
use crate::backend::GovernanceBackend;

/// How often the backend's change mark is read: a change shows within about
/// this long (plus the reload), and an idle console costs one tiny read.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Sends `Message::StoreChanged` whenever the backend's change mark moves;
/// ends when the backend cannot tell (its sync loop reports instead) or the
/// console has gone.
pub async fn watch_changes(backend: Arc<dyn GovernanceBackend>, answers: UnboundedSender<Message>) {
    let mut ticks = tokio::time::interval(WATCH_INTERVAL);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut last = None;
    loop {
        ticks.tick().await;
        match backend.change_mark().await {
            Ok(None) => return,
            Ok(Some(mark)) => {
                let moved = last.is_some_and(|last| last != mark);
                last = Some(mark);
                if moved && answers.send(Message::StoreChanged).is_err() {
                    return;
                }
            }
            // A busy or unreachable store: the next tick tries again.
            Err(_) => {}
        }
    }
}
