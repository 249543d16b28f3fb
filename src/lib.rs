//! Gavel: a review console for enterprise AI governance.

pub mod domain;
