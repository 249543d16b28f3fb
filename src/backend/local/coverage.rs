//! Filling the kept obligation coverage after a policy set is approved: a
//! slice of agents per transaction, so the write lock is given up between
//! slices and a server keeps deciding while it fills.

use super::{LocalStore, writes};
use crate::backend::Result;

/// The pause after each slice.
const BETWEEN_SLICES: std::time::Duration = std::time::Duration::from_millis(50);

impl LocalStore {
    /// Fills until it is done or `budget` has passed; whether it is done.
    pub fn fill_coverage_for(&self, budget: std::time::Duration) -> Result<bool> {
        let started = std::time::Instant::now();
        self.fill_coverage_while(|| started.elapsed() < budget)
    }

    /// Fills while `go_on` says so (asked after each slice); whether it is
    /// done.
    pub fn fill_coverage_while(&self, mut go_on: impl FnMut() -> bool) -> Result<bool> {
        loop {
            let now = self.now();
            let more =
                self.write(|tx| writes::fill_coverage_slice(tx, now, writes::COVERAGE_SLICE))?;
            if !more {
                return Ok(true);
            }
            if !go_on() {
                return Ok(false);
            }
            // Other writers (this process's, and other processes' polling
            // SQLite's lock) get their turn between slices.
            std::thread::sleep(BETWEEN_SLICES);
        }
    }
}
