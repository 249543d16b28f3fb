//! The policy language, layered within itself: spans of time and the facts
//! a request adds, the vocabulary, conditions (CEL) and their limits, SLA
//! rules, policies, policy sets, and plans that simulate a set.
//!
//! Part of the rules layer: imports the ground and the domain's names,
//! roles, agents and bias rules; each file only the ones listed before it.

pub mod cel_limits;
pub mod condition;
pub mod evaluation;
pub mod exceptions;
pub mod facts;
pub mod frameworks;
pub mod incidents;
pub mod lowering;
pub mod plan;
pub mod policies;
pub mod recertification;
pub mod set;
pub mod sla;
pub mod span;
pub mod vocabulary;
