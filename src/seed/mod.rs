//! The data generator behind `gavel seed` and `gavel demo`.
//!
//! It builds a plausible organisation and runs its history through the real
//! policy engine and workflow state machine, one agent at a time, writing as
//! it goes: memory stays flat however many workflows are asked for. The same
//! seed and anchor date always give the same store.

mod agents;
mod history;
mod names;
mod people;
mod reviews;

use std::collections::HashMap;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::Connection;
use serde::Serialize;

use crate::backend::local::LocalStore;
use crate::backend::local::trail::TrailWriter;
use crate::backend::local::writes::{self, entry, format_id};
use crate::backend::{BackendError, Result};
use crate::domain::bias::{self, BiasAudit, GroupCounts};
use crate::domain::deployment::{DeploymentRequest, DeploymentStatus, Facts, Manifest, evaluate};
use crate::domain::policy::condition::Outcome;
use crate::domain::policy::facts::RequestFacts;
use crate::domain::policy::set::PolicySet;
use crate::domain::review::Answers;
use crate::domain::workflow::{Decider, DecisionRequest};
use crate::domain::{
    Agent, Category, DataClassification, EthicsReview, ReviewStatus, RiskTier, Role, StepStatus,
    Verdict, Workflow, WorkflowStatus,
};
use agents::approve_tools;
use history::History;
use names::*;
pub use people::POLICY_ADMINS;
use people::*;

/// The user `gavel demo` signs in as: a governance lead holding four
/// reviewer roles, and a policy admin.
pub const DEMO_USER: &str = "dana.whitfield@northwind.example";
const DEMO_ROLES: [Role; 5] = [
    Role::TechnicalLead,
    Role::DataSteward,
    Role::EthicsReviewer,
    Role::ComplianceOfficer,
    Role::PolicyAdmin,
];
/// How far back the history reaches.
const HISTORY_DAYS: i64 = 180;
/// Workflows per write transaction.
const BATCH: u64 = 25_000;

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

/// Fills an empty store. `progress` hears the number of workflows written so far.
pub fn seed(
    store: &LocalStore,
    options: &SeedOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<SeedReport> {
    store.with_writer(|conn| fill(conn, &store.log_name(), options, progress))
}

/// Seeds the store file at `path` (created if missing, and empty) without
/// a journal: a seeded store is written once, and a crash mid-seed leaves a
/// file to throw away anyway, so every page is written once instead of
/// twice (WAL, then checkpoint). The file is left in WAL mode, as every
/// store is.
pub fn seed_file(
    path: &std::path::Path,
    options: &SeedOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<SeedReport> {
    // Creates and migrates the file; closing it folds the WAL back in.
    drop(LocalStore::open(path)?);
    let mut conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = OFF", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("off") {
        return Err(BackendError::Storage(format!(
            "store {} is in use by another process",
            path.display()
        )));
    }
    let report = fill(&mut conn, path, options, progress);
    conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
        row.get::<_, String>(0)
    })?;
    report
}

fn fill(
    conn: &mut rusqlite::Connection,
    path: &std::path::Path,
    options: &SeedOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<SeedReport> {
    let started = Instant::now();
    {
        let existing: i64 =
            conn.query_row("SELECT COUNT(*) FROM deployments", [], |row| row.get(0))?;
        if existing > 0 {
            return Err(BackendError::Invalid(format!(
                "store {} already holds {existing} deployments: seed a new file",
                path.display()
            )));
        }
        // A crash mid-seed leaves a half-filled store that is simply thrown
        // away, so durability is not worth the fsyncs here.
        conn.pragma_update(None, "synchronous", "OFF")?;
        conn.pragma_update(None, "cache_size", -256_000)?;
        // Building indexes once over sorted data beats updating them row by
        // row; the definitions come from the schema itself, so none is lost.
        let indexes: Vec<(String, String)> = conn
            .prepare(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
                 AND tbl_name IN ('workflows', 'deployments', 'deployment_policies', 'trail', 'audits', 'reviews', 'agents')",
            )?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (name, _) in &indexes {
            conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
        }
        let result =
            Generator::new(conn, options).and_then(|generator| generator.run(conn, progress));
        for (_, sql) in &indexes {
            conn.execute_batch(sql)?;
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "cache_size", -16_000)?;
        let mut report = result?;
        // The organisation's own rules, recorded as a second policy set
        // version: proposed by one policy admin, approved by another. A
        // third version waits for a second policy admin (the demo user is
        // one), so the console shows a proposal to decide.
        // After version 1, which the store was created with just now.
        let at = Utc::now().max(options.anchor);
        let (proposer, approver) = (POLICY_ADMINS[0].0, POLICY_ADMINS[1].0);
        let record = crate::backend::local::record_policy_set;
        let store = crate::db::Connection::sqlite(conn);
        record(&store, proposer, Some(approver), &seeded_policy_set(), at)?;
        record(
            &store,
            proposer,
            None,
            &proposed_policy_set(),
            at + chrono::TimeDelta::minutes(2),
        )?;
        conn.execute_batch("ANALYZE")?;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }
}

struct Generator {
    rng: ChaCha8Rng,
    options: SeedOptions,
    set: std::sync::Arc<PolicySet>,
    set_version: i64,
    approved_tools: std::collections::BTreeSet<String>,
    people: People,
    trail: TrailWriter,
    report: SeedReport,
    next_deployment: i64,
    next_workflow: i64,
    next_audit: i64,
    next_review: i64,
    since_commit: u64,
}

/// One agent's life: its metadata now, its live version, its latest audit.
struct AgentLife {
    agent: Agent,
    tools: Vec<String>,
    running_version: Option<String>,
    audits_by_version: HashMap<String, BiasAudit>,
}

impl AgentLife {
    /// The newest audit of any version.
    fn latest_audit(&self) -> Option<&BiasAudit> {
        self.audits_by_version
            .values()
            .max_by_key(|audit| (audit.tested_at, audit.audit_id.clone()))
    }
}

impl Generator {
    fn new(conn: &Connection, options: &SeedOptions) -> Result<Generator> {
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        let (set_version, set) =
            crate::backend::local::reads_policy_set(&crate::db::Connection::sqlite(conn))?;
        let mut report = SeedReport::default();
        let people = make_people(conn, &mut rng, options, &mut report)?;
        let approved_tools = approve_tools(conn, &people, options.anchor)?;
        Ok(Generator {
            rng,
            options: options.clone(),
            set,
            set_version,
            approved_tools,
            people,
            trail: TrailWriter::resume(&crate::db::Connection::sqlite(conn))?,
            report,
            next_deployment: 1,
            next_workflow: 1,
            next_audit: 1,
            next_review: 1,
            since_commit: 0,
        })
    }

    fn run(mut self, conn: &Connection, progress: &mut dyn FnMut(u64)) -> Result<SeedReport> {
        let target = self.options.workflows;
        let agents = (target / 6).clamp(12, 250_000);
        conn.execute_batch("BEGIN")?;
        let mut last_report = Instant::now();
        let mut index = 0;
        // Agents past the planned number only top up the last few workflows.
        while self.report.workflows < target || index < 12 {
            let remaining_agents = agents.saturating_sub(index).max(1);
            let budget = (target - self.report.workflows.min(target)).div_ceil(remaining_agents);
            self.agent_history(conn, index, budget, index + 1 >= agents)?;
            index += 1;
            if self.since_commit >= BATCH {
                conn.execute_batch("COMMIT; BEGIN")?;
                self.since_commit = 0;
            }
            if last_report.elapsed() > StdDuration::from_millis(500) {
                progress(self.report.workflows);
                last_report = Instant::now();
            }
        }
        conn.execute_batch("COMMIT")?;
        progress(self.report.workflows);
        Ok(self.report)
    }

    fn anchor(&self) -> DateTime<Utc> {
        self.options.anchor
    }

    fn append(&mut self, conn: &Connection, entry: crate::domain::TrailEntry) -> Result<()> {
        self.trail
            .append(&crate::db::Connection::sqlite(conn), &entry)?;
        self.report.trail_events += 1;
        Ok(())
    }

    /// A decider for `role` who is none of `excluded`.
    fn pick(&mut self, role: Role, excluded: &[&str]) -> String {
        let candidates = self
            .people
            .deciders
            .get(&role)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for _ in 0..16 {
            if let Some(candidate) = candidates.choose(&mut self.rng)
                && !excluded
                    .iter()
                    .any(|email| email.eq_ignore_ascii_case(candidate))
            {
                return candidate.clone();
            }
        }
        candidates
            .iter()
            .find(|candidate| {
                !excluded
                    .iter()
                    .any(|email| email.eq_ignore_ascii_case(candidate))
            })
            .cloned()
            .unwrap_or_else(|| format!("{}.{}@{EMAIL_DOMAIN}", role.as_str(), excluded.len()))
    }
}
