//! The generator: its random source, the people and policy set it draws
//! on, the trail it writes, and the loop over agents' histories.

use std::collections::HashMap;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use rusqlite::Connection;

use super::names::*;
use super::people::*;
use crate::backend::Result;
use crate::domain::bias::BiasAudit;
use crate::domain::policy::set::PolicySet;
use crate::domain::{Agent, Role};

use super::options::*;

pub(super) struct Generator {
    pub(super) rng: ChaCha8Rng,
    pub(super) options: SeedOptions,
    pub(super) set: std::sync::Arc<PolicySet>,
    pub(super) set_version: i64,
    pub(super) approved_tools: std::collections::BTreeSet<String>,
    pub(super) people: People,
    pub(super) trail: super::trail_pipe::TrailPipe,
    pub(super) report: SeedReport,
    pub(super) next_deployment: i64,
    pub(super) next_workflow: i64,
    pub(super) next_audit: i64,
    pub(super) next_review: i64,
    pub(super) since_commit: u64,
}

/// One agent's life: its metadata now, its live version, its latest audit.
pub(super) struct AgentLife {
    pub(super) agent: Agent,
    pub(super) tools: Vec<String>,
    pub(super) running_version: Option<String>,
    pub(super) audits_by_version: HashMap<String, BiasAudit>,
}

impl AgentLife {
    /// The newest audit of any version.
    pub(super) fn latest_audit(&self) -> Option<&BiasAudit> {
        self.audits_by_version
            .values()
            .max_by_key(|audit| (audit.tested_at, audit.audit_id.clone()))
    }
}

impl Generator {
    pub(super) fn new(conn: &Connection, options: &SeedOptions) -> Result<Generator> {
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
            trail: super::trail_pipe::TrailPipe::start(conn)?,
            report,
            next_deployment: 1,
            next_workflow: 1,
            next_audit: 1,
            next_review: 1,
            since_commit: 0,
        })
    }

    pub(super) fn run(
        mut self,
        conn: &Connection,
        progress: &mut dyn FnMut(u64),
    ) -> Result<SeedReport> {
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
                self.trail.flush(conn)?;
                conn.execute_batch("COMMIT; BEGIN")?;
                self.since_commit = 0;
            }
            if last_report.elapsed() > StdDuration::from_millis(500) {
                progress(self.report.workflows);
                last_report = Instant::now();
            }
        }
        self.trail.flush(conn)?;
        conn.execute_batch("COMMIT")?;
        progress(self.report.workflows);
        Ok(self.report)
    }

    pub(super) fn anchor(&self) -> DateTime<Utc> {
        self.options.anchor
    }

    pub(super) fn append(
        &mut self,
        conn: &Connection,
        entry: crate::domain::TrailEntry,
    ) -> Result<()> {
        self.trail.append(conn, entry)?;
        self.report.trail_events += 1;
        Ok(())
    }

    /// A decider for `role` who is none of `excluded`.
    pub(super) fn pick(&mut self, role: Role, excluded: &[&str]) -> String {
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
