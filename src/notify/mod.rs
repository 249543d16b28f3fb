//! Telling people when it is their turn: events recorded in the store's
//! outbox with the change that causes them (`backend::local::notifications`),
//! and a worker that delivers them by email and webhook, durably.
//!
//! Layer 5, a service (docs/architecture.md): may import the parts, the
//! contract (the event kinds live there), the rules and the ground.

pub mod email;
pub mod message;
pub mod metrics;
pub mod settings;
pub mod webhook;
pub mod worker;
