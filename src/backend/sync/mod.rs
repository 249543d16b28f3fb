//! Offline sync with a `gavel serve`: what to push from the outbox, how to
//! read the server's answers, and whether a page of changes can be taken.
//!
//! Layer 4, a part (docs/architecture.md): decisions only; imports the
//! contract, the rules and the ground.
//!
//! This module decides; it does no I/O (STYLE.md §8). The cache and the sync
//! loop that act on its decisions are built on top of it (issue 6).

pub mod plan;
pub mod status;
