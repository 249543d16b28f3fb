//! The seed's trail, hashed on a second thread: each event's canonical
//! encoding, chain hash and Merkle hashes are computed while the writer
//! goes on with the next rows, and what comes back is stored many rows per
//! statement. Every event is stored before each commit (`flush`), so a
//! committed store is whole.

use std::sync::mpsc;

use rusqlite::Connection;

use crate::backend::local::trail::{ChainHead, HashedEvent, insert_events};
use crate::backend::{BackendError, Result};
use crate::domain::TrailEntry;

/// Events sent to the hasher at a time.
const EVENTS_PER_BATCH: usize = 512;
/// Batches on their way either side: bounds the memory held in flight.
const BATCHES_IN_FLIGHT: usize = 8;

pub(super) struct TrailPipe {
    batch: Vec<TrailEntry>,
    to_hasher: mpsc::SyncSender<Vec<TrailEntry>>,
    from_hasher: mpsc::Receiver<Result<Vec<HashedEvent>>>,
    in_flight: usize,
}

impl TrailPipe {
    /// Starts the hasher where the store's chain and log stand. It ends
    /// when the pipe is dropped (its channels close).
    pub(super) fn start(conn: &Connection) -> Result<TrailPipe> {
        let mut head = ChainHead::detached(&crate::db::Connection::sqlite(conn))?;
        let (to_hasher, batches) = mpsc::sync_channel::<Vec<TrailEntry>>(BATCHES_IN_FLIGHT);
        let (hashed, from_hasher) = mpsc::sync_channel(BATCHES_IN_FLIGHT);
        std::thread::Builder::new()
            .name("seed-trail-hasher".into())
            .spawn(move || {
                for batch in batches {
                    let events: Result<Vec<HashedEvent>> = batch
                        .into_iter()
                        .map(|entry| head.next(None, entry))
                        .collect();
                    let failed = events.is_err();
                    if hashed.send(events).is_err() || failed {
                        return;
                    }
                }
            })
            .map_err(|err| {
                BackendError::Storage(format!("cannot start the trail hasher: {err}"))
            })?;
        Ok(TrailPipe {
            batch: Vec::with_capacity(EVENTS_PER_BATCH),
            to_hasher,
            from_hasher,
            in_flight: 0,
        })
    }

    /// Queues an event; stores whatever the hasher has finished.
    pub(super) fn append(&mut self, conn: &Connection, entry: TrailEntry) -> Result<()> {
        self.batch.push(entry);
        if self.batch.len() >= EVENTS_PER_BATCH {
            self.send(conn)?;
        }
        while let Ok(events) = self.from_hasher.try_recv() {
            self.store(conn, events)?;
        }
        Ok(())
    }

    /// Stores every event queued so far: before each commit.
    pub(super) fn flush(&mut self, conn: &Connection) -> Result<()> {
        if !self.batch.is_empty() {
            self.send(conn)?;
        }
        while self.in_flight > 0 {
            let events = self.from_hasher.recv().map_err(|_| stopped())?;
            self.store(conn, events)?;
        }
        Ok(())
    }

    fn send(&mut self, conn: &Connection) -> Result<()> {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(EVENTS_PER_BATCH));
        let mut pending = Some(batch);
        while let Some(batch) = pending.take() {
            match self.to_hasher.try_send(batch) {
                Ok(()) => self.in_flight += 1,
                // The hasher is behind: store what it finished (it may be
                // waiting for that) and offer the batch again.
                Err(mpsc::TrySendError::Full(batch)) => {
                    pending = Some(batch);
                    let events = self.from_hasher.recv().map_err(|_| stopped())?;
                    self.store(conn, events)?;
                }
                Err(mpsc::TrySendError::Disconnected(_)) => return Err(stopped()),
            }
        }
        Ok(())
    }

    fn store(&mut self, conn: &Connection, events: Result<Vec<HashedEvent>>) -> Result<()> {
        self.in_flight -= 1;
        insert_events(&crate::db::Connection::sqlite(conn), &events?)
    }
}

fn stopped() -> BackendError {
    BackendError::Storage("the trail hasher stopped".into())
}
