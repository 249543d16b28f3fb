//! What a seed run is asked for and what it reports; the demo user.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::Role;

/// The user `gavel demo` signs in as: a governance lead holding four
/// reviewer roles, and a policy admin.
pub const DEMO_USER: &str = "dana.whitfield@northwind.example";
pub(super) const DEMO_ROLES: [Role; 5] = [
    Role::TechnicalLead,
    Role::DataSteward,
    Role::EthicsReviewer,
    Role::ComplianceOfficer,
    Role::PolicyAdmin,
];
/// How far back the history reaches.
pub(super) const HISTORY_DAYS: i64 = 180;
/// Workflows per write transaction.
pub(super) const BATCH: u64 = 25_000;

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub workflows: u64,
    pub seed: u64,
    /// "Now" for the generated history; the same anchor and seed give the
    /// same store.
    pub anchor: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SeedReport {
    pub users: u64,
    pub agents: u64,
    pub deployments: u64,
    pub workflows: u64,
    pub in_progress: u64,
    pub audits: u64,
    pub reviews: u64,
    pub trail_events: u64,
    pub seconds: f64,
}
