//! The data generator behind `gavel seed` and `gavel demo`.
//!
//! It builds a plausible organisation and runs its history through the real
//! policy engine and workflow state machine, one agent at a time, writing as
//! it goes: memory stays flat however many workflows are asked for. The same
//! seed and anchor date always give the same store.

mod names;
mod people;

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
use crate::domain::condition::Outcome;
use crate::domain::deployment::{DeploymentRequest, DeploymentStatus, Facts, Manifest, evaluate};
use crate::domain::policy::RequestFacts;
use crate::domain::policy_set::PolicySet;
use crate::domain::review::Answers;
use crate::domain::workflow::{Decider, DecisionRequest};
use crate::domain::{
    Agent, Category, DataClassification, EthicsReview, ReviewStatus, RiskTier, Role, StepStatus,
    Verdict, Workflow, WorkflowStatus,
};
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
    store.with_writer(|conn| fill(conn, store.path(), options, progress))
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
        record(conn, proposer, Some(approver), &seeded_policy_set(), at)?;
        record(
            conn,
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

/// The tools the seeded organisation has approved: most of them.
fn seeded_tool_approved(tool: &str) -> bool {
    EXTERNAL_TOOLS
        .iter()
        .position(|known| *known == tool)
        .is_some_and(|index| index % 4 != 3)
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

impl Generator {
    fn new(conn: &Connection, options: &SeedOptions) -> Result<Generator> {
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        let (set_version, set) = crate::backend::local::reads_policy_set(conn)?;
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
            trail: TrailWriter::resume(conn)?,
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

    fn make_agent(&mut self, index: u64) -> AgentLife {
        let nearly_done = self.options.workflows.saturating_sub(self.report.workflows) <= 2;
        let rng = &mut self.rng;
        let (team, category) = *TEAMS.choose(rng).unwrap_or(&TEAMS[0]);
        let kinds = agent_kinds(category);
        let kind = kinds[index as usize % kinds.len()];
        let code = CODE_NAMES[(index as usize / kinds.len()) % CODE_NAMES.len()];
        let round = index as usize / (kinds.len() * CODE_NAMES.len());
        let name = if round == 0 {
            format!("{kind} {code}")
        } else {
            format!("{kind} {code} {}", round + 1)
        };
        let data_classification = match rng.random_range(0..100) {
            0..15 => DataClassification::Public,
            15..55 => DataClassification::Internal,
            55..88 => DataClassification::Confidential,
            _ => DataClassification::Restricted,
        };
        let risk_tier = match rng.random_range(0..100) {
            0..45 => RiskTier::Low,
            45..80 => RiskTier::Medium,
            _ => RiskTier::High,
        };
        let has_external_tools = rng.random_bool(0.3);
        let tools = if has_external_tools {
            let count = rng.random_range(1..=3);
            EXTERNAL_TOOLS
                .sample(rng, count)
                .map(|tool| (*tool).to_owned())
                .collect()
        } else {
            Vec::new()
        };
        let owner = self
            .people
            .requesters
            .choose(rng)
            .cloned()
            .unwrap_or_default();
        let tools_approved =
            has_external_tools && tools.iter().all(|tool: &String| seeded_tool_approved(tool));
        // The last workflow or two come from agents that open exactly one
        // workflow per request, so the store holds exactly the number asked for.
        let (category, data_classification, risk_tier, has_external_tools) = if nearly_done {
            (
                Category::Engineering,
                DataClassification::Internal,
                RiskTier::Medium,
                false,
            )
        } else {
            (category, data_classification, risk_tier, has_external_tools)
        };
        let mut life = AgentLife {
            agent: Agent {
                agent_id: format!("agt-{:05}", index + 1),
                name,
                team: team.to_owned(),
                owner,
                category,
                data_classification,
                has_external_tools,
                tools_approved,
                risk_tier,
                version: "1.0.0".into(),
                labels: Default::default(),
            },
            tools,
            running_version: None,
            audits_by_version: HashMap::new(),
        };
        life.agent.risk_tier = life
            .agent
            .risk_tier
            .max(self.set.minimum_risk(&life.agent).0);
        life
    }

    /// Writes one agent's requests, oldest first, within its workflow budget.
    fn agent_history(
        &mut self,
        conn: &Connection,
        index: u64,
        budget: u64,
        last_agent: bool,
    ) -> Result<()> {
        let mut life = self.make_agent(index);
        let per_request = self.workflows_per_request(&life.agent);
        let requests = if per_request == 0 {
            self.rng.random_range(1..=3)
        } else if last_agent {
            budget.div_ceil(per_request).max(1)
        } else {
            // Vary around the budget so agents differ in how busy they are.
            let wanted = budget as f64 * self.rng.random_range(0.5..1.5) / per_request as f64;
            (wanted.round() as u64).clamp(1, 12)
        };
        let first = self.anchor() - Duration::days(self.rng.random_range(20..HISTORY_DAYS));
        let span = (self.anchor() - first).num_minutes().max(60);
        let mut times: Vec<DateTime<Utc>> = (0..requests)
            .map(|k| {
                let slot = span * k as i64 / requests as i64;
                let jitter = self.rng.random_range(0..(span / requests as i64).max(1));
                first + Duration::minutes(slot + jitter / 2)
            })
            .collect();
        times.sort();
        // The latest request is the one still open; keep it recent, as real
        // queues are worked through within weeks.
        if let Some(last) = times.len().checked_sub(1) {
            // Skewed towards the last few days, with a tail of overdue items.
            let spread: f64 = self.rng.random_range(0.0..1.0);
            let minutes = 60 + (spread * spread * 18.0 * 1440.0) as i64;
            let recent = self.anchor() - Duration::minutes(minutes);
            let floor = if last > 0 {
                times[last - 1] + Duration::hours(1)
            } else {
                first
            };
            times[last] = recent.max(floor).min(self.anchor());
        }
        let upserted_at = times.first().copied().unwrap_or(first);
        writes::upsert_agent(conn, &life.agent, upserted_at)?;
        self.report.agents += 1;
        for (k, &at) in times.iter().enumerate() {
            let next = times.get(k + 1).copied();
            if k > 0 {
                self.evolve(&mut life);
                writes::upsert_agent(conn, &life.agent, at)?;
            }
            if !self.request(conn, &mut life, at, next)? {
                break;
            }
        }
        Ok(())
    }

    /// How many workflows a request of this agent opens when nothing blocks it.
    fn workflows_per_request(&self, agent: &Agent) -> u64 {
        let mut unblocked = agent.clone();
        unblocked.tools_approved = true;
        self.set
            .policies()
            .iter()
            .zip(self.set.outcomes(&unblocked, &RequestFacts::default()))
            .filter(|(policy, outcome)| {
                *outcome != Outcome::DoesNotHold && policy.chain().is_some()
            })
            .count() as u64
    }

    /// A new version; now and then the tools get approved or the risk changes.
    fn evolve(&mut self, life: &mut AgentLife) {
        let rng = &mut self.rng;
        let parts: Vec<u32> = life
            .agent
            .version
            .split('.')
            .filter_map(|part| part.parse().ok())
            .collect();
        let (major, minor, patch) = match parts.as_slice() {
            [major, minor, patch] => (*major, *minor, *patch),
            _ => (1, 0, 0),
        };
        life.agent.version = match rng.random_range(0..10) {
            0 => format!("{}.0.0", major + 1),
            1..5 => format!("{major}.{}.0", minor + 1),
            _ => format!("{major}.{minor}.{}", patch + 1),
        };
        // A blocked agent's team swaps its unapproved tools for approved ones.
        if life.agent.has_external_tools && !life.agent.tools_approved && rng.random_bool(0.6) {
            for tool in &mut life.tools {
                if !seeded_tool_approved(tool) {
                    *tool = EXTERNAL_TOOLS[0].to_owned();
                }
            }
            life.tools.dedup();
            life.agent.tools_approved = true;
        }
        if rng.random_bool(0.05) {
            life.agent.risk_tier = *RiskTier::ALL.choose(rng).unwrap_or(&RiskTier::Low);
        }
        life.agent.risk_tier = life
            .agent
            .risk_tier
            .max(self.set.minimum_risk(&life.agent).0);
    }

    fn needs_audit(&self, agent: &Agent) -> bool {
        agent.category == Category::HumanResources || agent.risk_tier == RiskTier::High
    }

    fn record_audit(
        &mut self,
        conn: &Connection,
        life: &mut AgentLife,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let rng = &mut self.rng;
        let groups = AUDIT_GROUP_SETS
            .choose(rng)
            .copied()
            .unwrap_or(AUDIT_GROUP_SETS[0]);
        let base: f64 = rng.random_range(0.25..0.6);
        let failing = rng.random_bool(0.22);
        let small = rng.random_bool(0.15);
        let counts: Vec<GroupCounts> = groups
            .iter()
            .enumerate()
            .map(|(i, group)| {
                let total = if small && i + 1 == groups.len() {
                    rng.random_range(8..30)
                } else {
                    rng.random_range(150..2500)
                };
                let factor: f64 = match (i, failing) {
                    (0, _) => 1.0,
                    (_, true) if i == 1 => rng.random_range(0.5..0.78),
                    _ => rng.random_range(0.86..1.05),
                };
                let rate: f64 = (base * factor).min(0.98);
                let positive = if small && rng.random_bool(0.3) {
                    0
                } else {
                    (total as f64 * rate).round() as u64
                };
                GroupCounts {
                    group: (*group).to_owned(),
                    positive: positive.min(total),
                    total,
                }
            })
            .collect();
        let Ok(stats) = bias::compute(&counts, bias::DEFAULT_THRESHOLD) else {
            return Ok(());
        };
        let audit = BiasAudit {
            audit_id: format_id("aud", self.next_audit),
            agent_id: life.agent.agent_id.clone(),
            agent_version: life.agent.version.clone(),
            tested_at: at,
            recorded_by: None,
            recorded_at: None,
            stats,
        };
        self.next_audit += 1;
        let actor = self.pick(Role::MlEngineer, &[]);
        let audit = BiasAudit {
            recorded_by: Some(actor.clone()),
            recorded_at: Some(at),
            ..audit
        };
        writes::insert_audit(conn, &audit)?;
        self.append(conn, writes::audit_entry(&audit, &actor, at))?;
        self.report.audits += 1;
        life.audits_by_version
            .insert(audit.agent_version.clone(), audit);
        Ok(())
    }

    fn append(&mut self, conn: &Connection, entry: crate::domain::TrailEntry) -> Result<()> {
        self.trail.append(conn, &entry)?;
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

    /// Writes one request; false when it would pass the workflow target.
    fn request(
        &mut self,
        conn: &Connection,
        life: &mut AgentLife,
        at: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let remaining = self.options.workflows.saturating_sub(self.report.workflows);
        if remaining == 0 {
            return Ok(false);
        }
        if self.needs_audit(&life.agent) && self.rng.random_bool(0.85) {
            let audited_at = at - Duration::hours(self.rng.random_range(2..96));
            self.record_audit(conn, life, audited_at)?;
        }
        // The owner requests, or a colleague of their team holding a role.
        let colleague = self
            .people
            .requesters
            .choose(&mut self.rng)
            .cloned()
            .unwrap_or_default();
        let requester = match self.people.teams.get(&colleague) {
            Some((team, true)) if *team == life.agent.team => colleague,
            _ => life.agent.owner.clone(),
        };
        let manifest = Manifest::for_agent(life.agent.clone(), life.tools.clone());
        let audit = life.audits_by_version.get(&life.agent.version);
        let evaluation = evaluate(
            &manifest,
            &self.set,
            &Facts {
                latest_audit: audit,
                approved_tools: &self.approved_tools,
                reference_agents: &[],
            },
        );
        if evaluation.workflows.len() as u64 > remaining {
            return Ok(false);
        }
        let deployment_id = format_id("dep", self.next_deployment);
        self.next_deployment += 1;

        // Each workflow's history, decided up front so rows are written once.
        let window_end = next.unwrap_or(self.anchor());
        let is_current = next.is_none();
        let mut workflows = Vec::new();
        for planned in &evaluation.workflows {
            let mut workflow = Workflow::open(
                format_id("wf", self.next_workflow),
                deployment_id.clone(),
                life.agent.agent_id.clone(),
                planned.policy_id.clone(),
                requester.clone(),
                &planned.chain,
                at,
            );
            workflow.policy_set_version = Some(self.set_version);
            self.next_workflow += 1;
            workflows.push(workflow);
        }
        let rejected_one =
            !workflows.is_empty() && self.rng.random_bool(if is_current { 0.06 } else { 0.12 });
        let rejected_index = if rejected_one {
            self.rng.random_range(0..workflows.len())
        } else {
            usize::MAX
        };
        let mut histories = Vec::new();
        for (i, workflow) in workflows.iter().enumerate() {
            let stop = if i == rejected_index {
                Stop::RejectAt(self.rng.random_range(0..workflow.steps.len()))
            } else if is_current && self.rng.random_bool(0.7) {
                Stop::PendingAt(self.rng.random_range(0..workflow.steps.len()))
            } else {
                Stop::Complete
            };
            histories.push(self.decide_history(workflow, stop, at, window_end));
        }
        // A rejection withdraws the siblings still open at that moment.
        let rejection = histories.iter().find_map(|history| {
            (history.workflow.status == WorkflowStatus::Rejected).then_some(history.closed_at)
        });
        if let Some(rejected_at) = rejection {
            for history in &mut histories {
                if history.workflow.status != WorkflowStatus::Rejected {
                    history.cut_at(rejected_at);
                }
            }
        }

        let status = match evaluation.status {
            DeploymentStatus::Blocked if !is_current => DeploymentStatus::Withdrawn,
            DeploymentStatus::PendingApproval if rejection.is_some() => DeploymentStatus::Rejected,
            DeploymentStatus::PendingApproval
                if histories
                    .iter()
                    .all(|h| h.workflow.status == WorkflowStatus::Approved) =>
            {
                DeploymentStatus::Approved
            }
            other => other,
        };
        let request = DeploymentRequest {
            deployment_id: deployment_id.clone(),
            agent_id: life.agent.agent_id.clone(),
            agent_name: life.agent.name.clone(),
            team: life.agent.team.clone(),
            agent_version: life.agent.version.clone(),
            requested_by: requester.clone(),
            requested_at: at,
            status: evaluation.status,
            triggered_policies: evaluation.triggered_policies.clone(),
            blocking_reasons: evaluation.blocking_reasons.clone(),
            remediation: evaluation.remediation.clone(),
            running_version: life.running_version.clone(),
            workflow_ids: workflows.iter().map(|w| w.workflow_id.clone()).collect(),
            agent: Some(evaluation.agent.clone()),
            external_tools: life.tools.clone(),
            supersedes_on_approval: false,
            policy_set_version: Some(self.set_version),
        };
        writes::insert_deployment(conn, &request)?;
        if status != evaluation.status {
            conn.prepare_cached("UPDATE deployments SET status = ?2 WHERE deployment_id = ?1")?
                .execute(rusqlite::params![deployment_id, status.as_str()])?;
        }
        self.report.deployments += 1;
        self.append(
            conn,
            entry(at, &requester, "deployment", &deployment_id, "deployment_requested", (None, None),
                serde_json::json!({
                    "agent_id": life.agent.agent_id,
                    "agent_version": life.agent.version,
                    "requested_by": requester,
                    "outcome": evaluation.status,
                    "triggered_policies": evaluation.triggered_policies.iter().map(|p| &p.policy_id).collect::<Vec<_>>(),
                })),
        )?;
        for history in histories {
            self.write_history(conn, &life.agent, history)?;
        }
        if status != evaluation.status {
            let changed_at = match status {
                DeploymentStatus::Withdrawn => window_end,
                _ => rejection.unwrap_or(window_end),
            };
            let why = match status {
                DeploymentStatus::Withdrawn => format!(
                    "superseded by a request for a newer version on {}",
                    changed_at.format("%Y-%m-%d")
                ),
                DeploymentStatus::Rejected => "an approval workflow was rejected".to_owned(),
                _ => "every approval workflow approved".to_owned(),
            };
            self.append(
                conn,
                entry(
                    changed_at,
                    &requester,
                    "deployment",
                    &deployment_id,
                    "status_changed",
                    (None, None),
                    serde_json::json!({ "from": evaluation.status, "to": status, "why": why }),
                ),
            )?;
        }
        if status.is_live() {
            life.running_version = Some(life.agent.version.clone());
        }
        Ok(true)
    }

    /// Walks a workflow through the real state machine up to `stop`.
    fn decide_history(
        &mut self,
        workflow: &Workflow,
        stop: Stop,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> History {
        let steps = workflow.steps.len();
        let decisions = match stop {
            Stop::Complete => steps,
            Stop::RejectAt(step) => step + 1,
            Stop::PendingAt(step) => step,
        };
        let window = (until - from).num_minutes().max(steps as i64 + 2);
        // Decision times spread over the window, leaving the last stretch for
        // the step still waiting.
        let mut offsets: Vec<i64> = (0..decisions)
            .map(|_| self.rng.random_range(1..window))
            .collect();
        offsets.sort_unstable();
        let mut current = workflow.clone();
        let mut events = Vec::new();
        let mut review_submitted_at = None;
        for (i, offset) in offsets.into_iter().enumerate() {
            let Some(step) = current.current_step().cloned() else {
                break;
            };
            let at = from + Duration::minutes(offset);
            let excluded: Vec<&str> = std::iter::once(current.requested_by.as_str())
                .chain(
                    current
                        .steps
                        .iter()
                        .filter_map(|s| s.approver_email.as_deref()),
                )
                .collect();
            let email = self.pick(step.role, &excluded);
            let reject = matches!(stop, Stop::RejectAt(n) if n == i);
            let comment = if reject {
                Some(
                    REJECTION_COMMENTS
                        .choose(&mut self.rng)
                        .copied()
                        .unwrap_or("Rejected."),
                )
            } else if self.rng.random_bool(0.4) {
                APPROVAL_COMMENTS.choose(&mut self.rng).copied()
            } else {
                None
            };
            if step.role == Role::EthicsReviewer {
                review_submitted_at = Some(at - Duration::minutes(self.rng.random_range(5..600)));
            }
            let roles = [step.role];
            let request = DecisionRequest {
                step_id: step.step_id,
                verdict: if reject {
                    Verdict::Reject
                } else {
                    Verdict::Approve
                },
                comment,
                expected_version: current.version,
                ethics_review_submitted: true,
                decided_at: at,
                received_at: at,
            };
            match current.decide(
                &Decider {
                    email: &email,
                    roles: &roles,
                },
                &request,
            ) {
                Ok(next) => {
                    events.push((current.version, step.step_id, at));
                    current = next;
                }
                // The generator only makes legal moves; if one is refused the
                // workflow simply stays where it is.
                Err(_) => break,
            }
        }
        let closed_at = events.last().map_or(from, |event| event.2);
        History {
            workflow: current,
            events,
            closed_at,
            withdrawn_at: None,
            review_submitted_at,
        }
    }

    fn write_history(&mut self, conn: &Connection, agent: &Agent, history: History) -> Result<()> {
        let workflow = &history.workflow;
        let closed_at = history.withdrawn_at.unwrap_or(history.closed_at);
        writes::insert_workflow(conn, workflow, agent, closed_at)?;
        self.report.workflows += 1;
        self.since_commit += 1;
        if workflow.status == WorkflowStatus::InProgress {
            self.report.in_progress += 1;
        }
        self.append(
            conn,
            writes::opened_entry(
                &Workflow {
                    version: 1,
                    ..workflow.clone()
                },
                &workflow.requested_by,
            ),
        )?;
        self.write_review(conn, &history)?;
        for &(before, step_id, at) in &history.events {
            let Some(step) = workflow.steps.iter().find(|s| s.step_id == step_id) else {
                continue;
            };
            let approver = step.approver_email.clone().unwrap_or_default();
            let action = if step.status == StepStatus::Rejected {
                "step_rejected"
            } else {
                "step_approved"
            };
            self.append(
                conn,
                entry(at, &approver, "workflow", &workflow.workflow_id, action, (Some(before), Some(before + 1)),
                    serde_json::json!({ "step_id": step_id, "role": step.role, "comment": step.comment })),
            )?;
        }
        if let Some(at) = history.withdrawn_at {
            self.append(
                conn,
                entry(
                    at,
                    &workflow.requested_by,
                    "workflow",
                    &workflow.workflow_id,
                    "workflow_withdrawn",
                    (Some(workflow.version - 1), Some(workflow.version)),
                    serde_json::json!({ "why": "a sibling workflow was rejected" }),
                ),
            )?;
        }
        Ok(())
    }

    /// The ethics review that goes with a workflow's ethics step, if any.
    fn write_review(&mut self, conn: &Connection, history: &History) -> Result<()> {
        let workflow = &history.workflow;
        let Some(ethics) = workflow
            .steps
            .iter()
            .find(|s| s.role == Role::EthicsReviewer)
        else {
            return Ok(());
        };
        let current = workflow.current_step().map(|s| s.step_id);
        let (status, reviewer) = match (ethics.status, current) {
            (StepStatus::Approved | StepStatus::Rejected, _) => (
                ReviewStatus::Submitted,
                ethics.approver_email.clone().unwrap_or_default(),
            ),
            (StepStatus::Pending, Some(step)) if step == ethics.step_id => {
                let status = match self.rng.random_range(0..100) {
                    0..40 => ReviewStatus::Assigned,
                    40..75 => ReviewStatus::Draft,
                    _ => ReviewStatus::Submitted,
                };
                (status, self.reviewer_for(workflow))
            }
            (StepStatus::Pending, Some(_)) if self.rng.random_bool(0.3) => {
                (ReviewStatus::Assigned, self.reviewer_for(workflow))
            }
            _ => return Ok(()),
        };
        let assigned_at = workflow.created_at + Duration::minutes(self.rng.random_range(5..240));
        let submitted_at = match status {
            ReviewStatus::Submitted => Some(
                history
                    .review_submitted_at
                    .unwrap_or(assigned_at + Duration::hours(20))
                    .max(assigned_at),
            ),
            _ => None,
        };
        let recommendation = if ethics.status == StepStatus::Rejected {
            "reject"
        } else if self.rng.random_bool(0.3) {
            "approve_with_conditions"
        } else {
            "approve"
        };
        let answers = match status {
            ReviewStatus::Assigned => Answers::new(),
            ReviewStatus::Draft => self.answers(recommendation, false),
            ReviewStatus::Submitted => self.answers(recommendation, true),
        };
        let review = EthicsReview {
            review_id: format_id("rev", self.next_review),
            workflow_id: workflow.workflow_id.clone(),
            agent_id: workflow.agent_id.clone(),
            reviewer: reviewer.clone(),
            template_id: "ethics_default_v1".into(),
            status,
            form_state: (status == ReviewStatus::Draft)
                .then(|| serde_json::json!({ "field": 4, "cursor": 0 })),
            answers,
            assigned_at,
            updated_at: submitted_at.unwrap_or(assigned_at),
            submitted_at,
            version: match status {
                ReviewStatus::Assigned => 1,
                ReviewStatus::Draft => 2,
                ReviewStatus::Submitted => 3,
            },
        };
        self.next_review += 1;
        writes::insert_review(conn, &review)?;
        self.report.reviews += 1;
        let assigner = self.pick(Role::ComplianceOfficer, &[workflow.requested_by.as_str()]);
        self.append(
            conn,
            entry(
                assigned_at,
                &assigner,
                "review",
                &review.review_id,
                "review_assigned",
                (None, Some(1)),
                serde_json::json!({ "workflow_id": workflow.workflow_id, "reviewer": reviewer }),
            ),
        )?;
        if status != ReviewStatus::Assigned {
            self.append(
                conn,
                entry(
                    assigned_at + Duration::minutes(30),
                    &reviewer,
                    "review",
                    &review.review_id,
                    "review_started",
                    (Some(1), Some(2)),
                    serde_json::json!({}),
                ),
            )?;
        }
        if let Some(at) = submitted_at {
            self.append(
                conn,
                entry(
                    at,
                    &reviewer,
                    "review",
                    &review.review_id,
                    "review_submitted",
                    (Some(2), Some(3)),
                    serde_json::json!({ "answers_sha256": writes::answers_hash(&review.answers)? }),
                ),
            )?;
        }
        Ok(())
    }

    fn reviewer_for(&mut self, workflow: &Workflow) -> String {
        if self.rng.random_bool(0.25) {
            return DEMO_USER.to_owned();
        }
        let requester = workflow.requested_by.clone();
        for _ in 0..16 {
            if let Some(reviewer) = self.people.reviewers.choose(&mut self.rng)
                && !reviewer.eq_ignore_ascii_case(&requester)
            {
                return reviewer.clone();
            }
        }
        DEMO_USER.to_owned()
    }

    fn answers(&mut self, recommendation: &str, complete: bool) -> Answers {
        let rng = &mut self.rng;
        let mut answers = Answers::new();
        let value = serde_json::Value::from;
        answers.insert(
            "use_case_appropriateness".into(),
            value(if recommendation == "reject" {
                "inappropriate"
            } else {
                "appropriate_with_safeguards"
            }),
        );
        answers.insert(
            "training_data_ethically_sourced".into(),
            serde_json::Value::Bool(recommendation != "reject" || rng.random_bool(0.5)),
        );
        answers.insert(
            "affected_populations".into(),
            serde_json::json!(["job_applicants", "employees"]),
        );
        answers.insert(
            "risks_and_mitigations".into(),
            value(RISK_NOTES.choose(rng).copied().unwrap_or_default()),
        );
        if !complete {
            return answers;
        }
        answers.insert(
            "values_alignment".into(),
            serde_json::Value::from(if recommendation == "reject" {
                2
            } else {
                rng.random_range(3..=5)
            }),
        );
        answers.insert("recommendation".into(), value(recommendation));
        if recommendation != "approve" {
            answers.insert(
                "rationale".into(),
                value("The mitigations above are necessary and, with them, sufficient."),
            );
        }
        if recommendation == "approve_with_conditions" {
            answers.insert(
                "conditions".into(),
                value(CONDITIONS.choose(rng).copied().unwrap_or_default()),
            );
        }
        answers
    }
}

#[derive(Debug, Clone, Copy)]
enum Stop {
    Complete,
    RejectAt(usize),
    PendingAt(usize),
}

struct History {
    workflow: Workflow,
    /// (version before, step id, time) of each decision.
    events: Vec<(i64, u32, DateTime<Utc>)>,
    closed_at: DateTime<Utc>,
    withdrawn_at: Option<DateTime<Utc>>,
    review_submitted_at: Option<DateTime<Utc>>,
}

impl History {
    /// Undoes decisions made after `at` and withdraws the workflow then, as
    /// the store does when a sibling is rejected.
    fn cut_at(&mut self, at: DateTime<Utc>) {
        let kept = self.events.iter().take_while(|event| event.2 <= at).count();
        if self.workflow.status == WorkflowStatus::Approved && kept == self.events.len() {
            return;
        }
        for event in &self.events[kept..] {
            if let Some(step) = self
                .workflow
                .steps
                .iter_mut()
                .find(|s| s.step_id == event.1)
            {
                step.status = StepStatus::Pending;
                step.approver_email = None;
                step.comment = None;
                step.decision_at = None;
            }
        }
        self.events.truncate(kept);
        self.workflow.status = WorkflowStatus::InProgress;
        self.workflow.version = 1 + kept as i64;
        if let Some(withdrawn) = self.workflow.withdraw() {
            self.workflow = withdrawn;
            self.withdrawn_at = Some(at);
        }
    }
}

/// Records the approval of the tools the organisation approved, by a data
/// steward, before the history starts.
fn approve_tools(
    conn: &Connection,
    people: &People,
    anchor: DateTime<Utc>,
) -> Result<std::collections::BTreeSet<String>> {
    let steward = people
        .deciders
        .get(&Role::DataSteward)
        .and_then(|stewards| stewards.first())
        .cloned()
        .unwrap_or_else(|| DEMO_USER.to_owned());
    let at = anchor - Duration::days(HISTORY_DAYS + 1);
    let mut approved = std::collections::BTreeSet::new();
    for tool in EXTERNAL_TOOLS
        .iter()
        .filter(|tool| seeded_tool_approved(tool))
    {
        conn.execute(
            "INSERT INTO tools (name, status, decided_by, decided_at, comment) VALUES (?1, 'approved', ?2, ?3, ?4)",
            rusqlite::params![
                tool,
                steward,
                crate::backend::local::rows::to_ms(at),
                "Reviewed the vendor's data processing terms and the scopes the agent requests."
            ],
        )?;
        approved.insert(tool.to_lowercase());
    }
    Ok(approved)
}
