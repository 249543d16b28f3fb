//! Gavel: a review console for enterprise AI governance.

pub mod backend;
pub mod domain;
