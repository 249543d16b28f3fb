//! Running bias audits against the agent itself: its case files, how it is
//! asked (an OpenAI-compatible chat endpoint or any JSON HTTP agent), how
//! its answers become outcomes, and the runner that commits each case's
//! evidence through the backend. The statistics stay in `domain::bias`.
//!
//! Layer 5, a service (docs/architecture.md): may import the parts (stores,
//! the HTTP client), the contract, the rules and the ground.

pub mod agent;
pub mod cases;
pub mod classifier;
pub mod run;
