//! Runs commands on the runtime, off the UI loop, and sends answers back.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::command::{Command, Message, execute};
use crate::backend::GovernanceBackend;
use crate::backend::cache::syncer::Syncer;

pub struct Worker {
    backend: Arc<dyn GovernanceBackend>,
    /// The sync loop, when the backend is a server's offline cache.
    syncer: Option<Arc<Syncer>>,
    answers: UnboundedSender<Message>,
    running: HashMap<&'static str, JoinHandle<()>>,
}

impl Worker {
    pub fn new(
        backend: Arc<dyn GovernanceBackend>,
        syncer: Option<Arc<Syncer>>,
        answers: UnboundedSender<Message>,
    ) -> Worker {
        Worker {
            backend,
            syncer,
            answers,
            running: HashMap::new(),
        }
    }

    /// Runs a command to completion (used on the way out).
    pub async fn run_now(&self, command: Command) {
        let message = execute(self.backend.as_ref(), self.syncer.as_deref(), command).await;
        let _ = self.answers.send(message);
    }

    /// Starts a command; a newer command for the same view cancels the older.
    pub fn submit(&mut self, command: Command) {
        let key = command.collapse_key();
        if let Some(previous) = key.and_then(|key| self.running.remove(key)) {
            previous.abort();
        }
        let backend = Arc::clone(&self.backend);
        let syncer = self.syncer.clone();
        let answers = self.answers.clone();
        let handle = tokio::spawn(async move {
            let message = execute(backend.as_ref(), syncer.as_deref(), command).await;
            // The UI may have quit; nobody is left to tell.
            let _ = answers.send(message);
        });
        if let Some(key) = key {
            self.running.insert(key, handle);
        }
    }
}
