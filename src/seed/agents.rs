//! Each agent's life: who it is, how it changes over the history, the
//! requests it makes, and the bias audits recorded for it; and the tools the
//! organisation approved before the history starts.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rand::RngExt;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use rusqlite::Connection;

use super::names::*;
use super::people::*;
use crate::backend::Result;
use crate::backend::local::writes::{self, format_id};
use crate::domain::bias::{self, BiasAudit, GroupCounts};
use crate::domain::policy::condition::Outcome;
use crate::domain::policy::facts::RequestFacts;
use crate::domain::{Agent, Category, DataClassification, RiskTier, Role};

use super::generator::{AgentLife, Generator};
use super::options::*;
use crate::domain::bias::tables::{CategoryCounts, TableCounts};

impl Generator {
    pub(super) fn make_agent(&mut self, index: u64) -> AgentLife {
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
    pub(super) fn agent_history(
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
        writes::upsert_agent_row(
            &crate::db::Connection::sqlite(conn),
            &life.agent,
            upserted_at,
        )?;
        self.report.agents += 1;
        for (k, &at) in times.iter().enumerate() {
            let next = times.get(k + 1).copied();
            if k > 0 {
                self.evolve(&mut life);
                writes::upsert_agent_row(&crate::db::Connection::sqlite(conn), &life.agent, at)?;
            }
            if !self.request(conn, &mut life, at, next)? {
                break;
            }
        }
        Ok(())
    }

    /// How many workflows a request of this agent opens when nothing blocks it.
    pub(super) fn workflows_per_request(&self, agent: &Agent) -> u64 {
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
    pub(super) fn evolve(&mut self, life: &mut AgentLife) {
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

    pub(super) fn needs_audit(&self, agent: &Agent) -> bool {
        agent.category == Category::HumanResources || agent.risk_tier == RiskTier::High
    }

    pub(super) fn record_audit(
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
        // Agents that decide about people are audited as Local Law 144 asks.
        let tables = if life.agent.category == Category::HumanResources {
            intersectional_counts(rng, base, failing)
        } else {
            Vec::new()
        };
        let (stats, tables) = if tables.is_empty() {
            let Ok(stats) = bias::compute(&counts, bias::DEFAULT_THRESHOLD) else {
                return Ok(());
            };
            (stats, Vec::new())
        } else {
            let Ok(computed) = bias::compute_multi(&tables, bias::DEFAULT_THRESHOLD) else {
                return Ok(());
            };
            computed
        };
        let audit = BiasAudit::of(
            format_id("aud", self.next_audit),
            life.agent.agent_id.clone(),
            life.agent.version.clone(),
            at,
            stats,
            tables,
        );
        self.next_audit += 1;
        let actor = self.pick(Role::MlEngineer, &[]);
        let audit = BiasAudit {
            recorded_by: Some(actor.clone()),
            recorded_at: Some(at),
            ..audit
        };
        writes::insert_audit_row(&crate::db::Connection::sqlite(conn), &audit)?;
        self.append(conn, writes::audit_entry(&audit, &actor, at))?;
        self.report.audits += 1;
        life.audits_by_version
            .insert(audit.agent_version.clone(), audit);
        Ok(())
    }
}

/// The DCWP's race/ethnicity categories, with how common each is among
/// applicants (the last two are small: under 2% of a sample, sometimes).
const RACE_ETHNICITY: &[(&str, f64)] = &[
    ("Hispanic or Latino", 0.18),
    ("White", 0.34),
    ("Black or African American", 0.16),
    ("Asian", 0.22),
    ("Two or More Races", 0.07),
    ("Native American or Alaska Native", 0.015),
    ("Native Hawaiian or Pacific Islander", 0.012),
];

/// One intersectional cell: sex, race/ethnicity, positive, total.
type Cell<'a> = (&'a str, &'a str, u64, u64);

/// Counts for sex, race/ethnicity and their intersection: the cells are
/// drawn, the tables of one attribute are their sums, and some applicants
/// did not give their race/ethnicity. A failing audit has one category
/// well below the others.
fn intersectional_counts(rng: &mut ChaCha8Rng, base: f64, failing: bool) -> Vec<TableCounts> {
    let applicants = rng.random_range(600..4000) as f64;
    let weak = rng.random_range(0..RACE_ETHNICITY.len() - 2);
    let mut cells = Vec::new();
    for (sex, sex_share, sex_factor) in [
        ("Female", 0.48, rng.random_range(0.9..1.05)),
        ("Male", 0.52, 1.0),
    ] {
        for (index, (race, share)) in RACE_ETHNICITY.iter().enumerate() {
            let total = ((applicants * sex_share * share * rng.random_range(0.8..1.2)).round()
                as u64)
                .max(3);
            let factor = if failing && index == weak {
                rng.random_range(0.55..0.75)
            } else {
                rng.random_range(0.9..1.08)
            };
            let rate = (base * sex_factor * factor).min(0.95);
            let positive = ((total as f64 * rate).round() as u64).min(total);
            cells.push((sex, *race, positive, total));
        }
    }
    let unknown_race = rng.random_range(0..(applicants as u64 / 20).max(1));
    let sum = |keep: &dyn Fn(&Cell) -> bool| {
        cells
            .iter()
            .filter(|cell| keep(cell))
            .fold((0, 0), |(p, t), cell| (p + cell.2, t + cell.3))
    };
    let category = |values: Vec<&str>, (positive, total): (u64, u64)| CategoryCounts {
        values: values.into_iter().map(str::to_owned).collect(),
        positive,
        total,
        excluded: None,
    };
    let sex = TableCounts {
        attributes: vec!["sex".into()],
        unknown: 0,
        categories: ["Female", "Male"]
            .iter()
            .map(|sex| {
                let (positive, total) = sum(&|cell| cell.0 == *sex);
                // Applicants without a race/ethnicity still gave their sex.
                let extra = unknown_race / 2;
                category(
                    vec![sex],
                    (
                        positive + (extra as f64 * base).round() as u64,
                        total + extra,
                    ),
                )
            })
            .collect(),
    };
    let race = TableCounts {
        attributes: vec!["race_ethnicity".into()],
        unknown: unknown_race / 2 * 2,
        categories: RACE_ETHNICITY
            .iter()
            .map(|(race, _)| category(vec![race], sum(&|cell| cell.1 == *race)))
            .collect(),
    };
    let intersection = TableCounts {
        attributes: vec!["sex".into(), "race_ethnicity".into()],
        unknown: unknown_race / 2 * 2,
        categories: cells
            .iter()
            .map(|(sex, race, positive, total)| category(vec![sex, race], (*positive, *total)))
            .collect(),
    };
    let mut tables = vec![sex, race, intersection];
    // The auditor leaves the smallest categories out of the ratios, as the
    // rule allows, and says why.
    for table in &mut tables {
        let sample: u64 = table.categories.iter().map(|category| category.total).sum();
        for category in &mut table.categories {
            if (category.total as f64) < sample as f64 * bias::tables::EXCLUDABLE_SHARE {
                category.excluded = Some(
                    "under 2% of applicants: shown, left out of the impact ratios (6 RCNY 5-301(d))"
                        .into(),
                );
            }
        }
    }
    tables
}
