//! Read queries. Every list reads only the rows it returns, through an index.
//! One file per entity; shared row helpers and small lookups live here.

use std::collections::HashMap;
use std::sync::Arc;

use crate::db::Param;
use crate::db::{Connection, Dialect, OptionalExtension, params};
use crate::domain::bias::standing::{
    AuditStanding, LatestAudits, requiring, sort as sort_standings, standing_under,
};
use crate::domain::bias::verdict::AuditFacts;
use crate::domain::policy::condition::Outcome;
use crate::domain::policy::facts::RequestFacts;
use crate::domain::policy::plan::{AgentAudits, Impact, PolicyDiff, Subject, diff, simulate};
use crate::domain::policy::set::{Checks, PolicySet, PolicySetFile};
use crate::domain::policy::vocabulary::Vocabulary;
use chrono::{DateTime, Datelike, Duration, Utc};

use super::rows::{
    self, QUEUE_COLUMNS, WORKFLOW_COLUMNS, corrupt, from_json, from_ms, parse, raw_queue_row,
    raw_workflow_row, to_ms,
};
use crate::backend::queue::{
    Direction, NotActionable, QueueFilter, QueuePage, QueueQuery, QueueScope, QueueSort,
    merge_pages, urgency,
};
use crate::backend::types::{
    AgentSummary, Dashboard, DeploymentPage, DeploymentQuery, NamedCount, ReviewSummary, User,
    WeekCount,
};
use crate::backend::{BackendError, Result};
use std::collections::BTreeSet;

use crate::backend::types::ToolRecord;
use crate::domain::deployment::{Facts, TriggeredPolicy, evaluate as evaluate_policies};
use crate::domain::{
    Agent, BiasAudit, DeploymentRequest, EthicsReview, Evaluation, Manifest, Policy, ReviewStatus,
    ReviewTemplate, Role, Workflow,
};

pub mod audit_runs;
mod dashboard;
mod deployments;
mod policy_sets;
mod queue;
mod reviews;
pub mod snapshot;

pub use dashboard::*;
pub use deployments::*;
pub use policy_sets::*;
pub use queue::*;
pub use reviews::*;

pub(crate) const USER_COLUMNS: &str =
    "email, name, roles, teams, service, issuer, subject, asserted_email, signed_in_at";

pub(crate) struct RawUser {
    email: String,
    name: String,
    roles: String,
    teams: String,
    service: bool,
    issuer: Option<String>,
    subject: Option<String>,
    asserted_email: Option<String>,
    signed_in_at: Option<i64>,
}

pub(crate) fn parse_user(row: &crate::db::Row<'_>) -> crate::db::Result<RawUser> {
    Ok(RawUser {
        email: row.get(0)?,
        name: row.get(1)?,
        roles: row.get(2)?,
        teams: row.get(3)?,
        service: row.get(4)?,
        issuer: row.get(5)?,
        subject: row.get(6)?,
        asserted_email: row.get(7)?,
        signed_in_at: row.get(8)?,
    })
}

pub(crate) fn user_from(raw: RawUser) -> Result<User> {
    let identity = match (raw.issuer, raw.subject) {
        (Some(issuer), Some(subject)) => Some(crate::backend::Identity {
            issuer,
            subject,
            email: raw.asserted_email,
        }),
        _ => None,
    };
    Ok(User {
        email: raw.email,
        name: raw.name,
        roles: rows::roles_from_text(&raw.roles)?,
        teams: rows::teams_from_text(&raw.teams)?,
        identity,
        service: raw.service,
        last_sign_in: raw.signed_in_at.map(rows::from_ms).transpose()?,
    })
}

/// A user who may act (removed users are no one).
pub fn user(conn: &Connection, email: &str) -> Result<Option<User>> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE email = ?1 AND removed_at IS NULL"
    ))?
    .query_row([email], parse_user)
    .optional()?
    .map(user_from)
    .transpose()
}

/// Whether the email belonged to a user who was removed.
pub fn user_removed(conn: &Connection, email: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM users WHERE email = ?1 AND removed_at IS NOT NULL")?
        .query_row([email], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Every user who may act, by email; with `role`, only those holding it.
pub fn users(conn: &Connection, role: Option<Role>) -> Result<Vec<User>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE removed_at IS NULL ORDER BY email"
    ))?;
    let raws = statement
        .query_map(crate::db::params![], parse_user)?
        .collect::<crate::db::Result<Vec<_>>>()?;
    let users = raws
        .into_iter()
        .map(user_from)
        .collect::<Result<Vec<_>>>()?;
    Ok(users
        .into_iter()
        .filter(|user| role.is_none_or(|role| user.holds(role)))
        .collect())
}

/// External tools with a decision on record, by name.
pub fn tools(conn: &Connection) -> Result<Vec<ToolRecord>> {
    let mut statement = conn.prepare_cached(
        "SELECT name, status, decided_by, decided_at, comment FROM tools ORDER BY name COLLATE NOCASE",
    )?;
    let raws: Vec<(String, String, String, i64, String)> = statement
        .query_map(crate::db::params![], |row| row.try_into())?
        .collect::<crate::db::Result<Vec<_>>>()?;
    raws.into_iter()
        .map(|(name, status, decided_by, decided_at, comment)| {
            Ok(ToolRecord {
                name,
                status: parse("tool status", &status)?,
                decided_by,
                decided_at: from_ms(decided_at)?,
                comment,
            })
        })
        .collect()
}

/// Names (lowercased) of the tools approved now.
pub fn approved_tools(conn: &Connection) -> Result<BTreeSet<String>> {
    let mut statement =
        conn.prepare_cached("SELECT lower(name) FROM tools WHERE status = 'approved'")?;
    let names = statement
        .query_map(crate::db::params![], |row| row.get::<String>(0))?
        .collect::<crate::db::Result<BTreeSet<_>>>()?;
    Ok(names)
}

/// `LIKE` pattern for "contains `text`", with wildcards in `text` escaped.
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub fn workflow(conn: &Connection, workflow_id: &str) -> Result<Workflow> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE workflow_id = ?1"
        ))?
        .query_row([workflow_id], raw_workflow_row)
        .optional()?
        .ok_or_else(|| BackendError::not_found("workflow", workflow_id))?;
    rows::parse_workflow(raw)
}

pub fn workflows_of_deployment(conn: &Connection, deployment_id: &str) -> Result<Vec<Workflow>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE deployment_id = ?1 ORDER BY workflow_id"
    ))?;
    let raws = statement
        .query_map([deployment_id], raw_workflow_row)?
        .collect::<crate::db::Result<Vec<_>>>()?;
    raws.into_iter().map(rows::parse_workflow).collect()
}

pub const AGENT_COLUMNS: &str = "agent_id, name, team, owner, category, data_classification, \
    has_external_tools, tools_approved, risk_tier, version, labels";

pub type RawAgent = (
    String,
    String,
    String,
    String,
    String,
    String,
    bool,
    bool,
    String,
    String,
    String,
);

pub fn raw_agent(row: &crate::db::Row<'_>) -> crate::db::Result<RawAgent> {
    row.try_into()
}

pub fn parse_agent(raw: RawAgent) -> Result<Agent> {
    let (
        agent_id,
        name,
        team,
        owner,
        category,
        classification,
        has_external_tools,
        tools_approved,
        risk_tier,
        version,
        labels,
    ) = raw;
    Ok(Agent {
        agent_id,
        name,
        team,
        owner,
        category: parse("category", &category)?,
        data_classification: parse("data classification", &classification)?,
        has_external_tools,
        tools_approved,
        risk_tier: parse("risk tier", &risk_tier)?,
        version,
        labels: rows::labels_from_text(&labels)?,
    })
}

pub fn agent(conn: &Connection, agent_id: &str) -> Result<Agent> {
    agent_row(conn, agent_id)?.ok_or_else(|| BackendError::not_found("agent", agent_id))
}

/// The agent as last recorded, if Gavel knows it.
pub fn agent_row(conn: &Connection, agent_id: &str) -> Result<Option<Agent>> {
    conn.prepare_cached(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents WHERE agent_id = ?1"
    ))?
    .query_row([agent_id], raw_agent)
    .optional()?
    .map(parse_agent)
    .transpose()
}

pub fn search_agents(conn: &Connection, text: &str, limit: u32) -> Result<Vec<AgentSummary>> {
    let pattern = contains_pattern(text.trim());
    let like = conn.dialect().like();
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents
         WHERE name {like} ?1 ESCAPE '\\' OR agent_id {like} ?1 ESCAPE '\\' OR team {like} ?1 ESCAPE '\\'
         ORDER BY name COLLATE nocase, agent_id LIMIT ?2"
    ))?;
    let raws = statement
        .query_map(params![pattern, limit.clamp(1, 1000)], raw_agent)?
        .collect::<crate::db::Result<Vec<_>>>()?;
    raws.into_iter()
        .map(|raw| {
            let agent = parse_agent(raw)?;
            Ok(AgentSummary {
                agent_id: agent.agent_id,
                name: agent.name,
                team: agent.team,
                category: agent.category,
                risk_tier: agent.risk_tier,
                version: agent.version,
            })
        })
        .collect()
}

pub fn parse_audit(body: &str) -> Result<BiasAudit> {
    from_json("bias audit", body)
}

pub fn audits(conn: &Connection, agent_id: &str) -> Result<Vec<BiasAudit>> {
    let mut statement = conn.prepare_cached(
        "SELECT body FROM audits WHERE agent_id = ?1 ORDER BY tested_at DESC, audit_id DESC LIMIT 1000",
    )?;
    let bodies = statement
        .query_map([agent_id], |row| row.get::<String>(0))?
        .collect::<crate::db::Result<Vec<_>>>()?;
    bodies.iter().map(|body| parse_audit(body)).collect()
}

/// Every agent's standing with its required audits, most urgent first.
pub fn audit_standings(
    conn: &Connection,
    now: DateTime<Utc>,
    due_within: chrono::TimeDelta,
) -> Result<Vec<AuditStanding>> {
    let mut standings = standings(conn, now, due_within)?;
    sort_standings(&mut standings);
    Ok(standings)
}

/// Every agent's standing, in no order (what counts of them need).
pub fn standings(
    conn: &Connection,
    now: DateTime<Utc>,
    due_within: chrono::TimeDelta,
) -> Result<Vec<AuditStanding>> {
    let set = policy_set(conn)?;
    let fields = set.fields_read();
    // Agents alike in every field the set reads need the same audits.
    let mut requiring_by_key: HashMap<String, Vec<usize>> = HashMap::new();
    let latest = latest_audit_facts(conn)?;
    let parse = |found: Option<&(String, String)>| -> Result<Option<AuditFacts>> {
        found
            .map(|(_, text)| from_json("bias audit", text))
            .transpose()
    };
    let mut standings = Vec::new();
    for agent in all_agents(conn)? {
        let requiring = match crate::domain::policy::plan::key(&agent, &fields, &[], None) {
            Some(key) => requiring_by_key
                .entry(key)
                .or_insert_with(|| requiring(&set, &agent))
                .clone(),
            None => requiring(&set, &agent),
        };
        let versions = latest.get(&agent.agent_id).map_or(&[][..], Vec::as_slice);
        let audits = LatestAudits {
            of_version: parse(
                versions
                    .iter()
                    .find(|(version, _)| *version == agent.version),
            )?,
            of_agent: parse(versions.first())?,
        };
        standings.push(standing_under(
            &set, &agent, &requiring, &audits, now, due_within,
        ));
    }
    Ok(standings)
}

/// The facts of every agent's newest audit of each version, unparsed and
/// newest first per agent, in one scan of the small `latest_audits` table.
fn latest_audit_facts(conn: &Connection) -> Result<HashMap<String, Vec<(String, String)>>> {
    let mut statement = conn.prepare_cached(
        "SELECT agent_id, agent_version, facts FROM latest_audits ORDER BY agent_id, tested_at DESC, audit_id DESC",
    )?;
    let mut rows = statement.query(crate::db::params![])?;
    let mut by_agent: HashMap<String, Vec<(String, String)>> = HashMap::new();
    while let Some(row) = rows.next()? {
        by_agent
            .entry(row.get(0)?)
            .or_default()
            .push((row.get(1)?, row.get(2)?));
    }
    Ok(by_agent)
}

/// The newest audit of an agent, any version.
pub fn latest_audit_of_agent(conn: &Connection, agent_id: &str) -> Result<Option<BiasAudit>> {
    conn.prepare_cached(
        "SELECT body FROM audits WHERE agent_id = ?1 ORDER BY tested_at DESC, audit_id DESC LIMIT 1",
    )?
    .query_row([agent_id], |row| row.get::<String>(0))
    .optional()?
    .map(|body| parse_audit(&body))
    .transpose()
}

/// The newest audits of an agent's current version and of any version.
pub fn agent_audits(conn: &Connection, agent: &Agent) -> Result<AgentAudits> {
    Ok(AgentAudits {
        of_version: latest_audit_for_version(conn, &agent.agent_id, &agent.version)?,
        of_agent: latest_audit_of_agent(conn, &agent.agent_id)?,
    })
}

pub fn latest_audit_for_version(
    conn: &Connection,
    agent_id: &str,
    version: &str,
) -> Result<Option<BiasAudit>> {
    conn.prepare_cached(
        "SELECT body FROM audits WHERE agent_id = ?1 AND agent_version = ?2 ORDER BY tested_at DESC LIMIT 1",
    )?
    .query_row([agent_id, version], |row| row.get::<String>(0))
    .optional()?
    .map(|body| parse_audit(&body))
    .transpose()
}

/// The active set's policies.
pub fn policies(conn: &Connection) -> Result<Vec<Policy>> {
    Ok(policy_set(conn)?.policies().to_vec())
}

/// The active policy set, compiled.
pub fn policy_set(conn: &Connection) -> Result<Arc<PolicySet>> {
    Ok(active_set(conn)?.1)
}

/// The active policy set's version and the set, compiled.
pub fn active_set(conn: &Connection) -> Result<(i64, Arc<PolicySet>)> {
    let (version, text, hash): (i64, String, String) = conn
        .prepare_cached(
            "SELECT version, source, source_hash FROM policy_sets WHERE state = 'active'",
        )?
        .query_row(crate::db::params![], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?
        .ok_or_else(|| rows::corrupt("policy sets", "no version is active"))?;
    Ok((version, compiled_set(version, &text, &hash)?))
}

/// Compiling a set takes a while next to a read: the last few compiled
/// are kept, by digest.
fn compiled_set(version: i64, text: &str, hash: &str) -> Result<Arc<PolicySet>> {
    static COMPILED: std::sync::Mutex<Vec<(String, Arc<PolicySet>)>> =
        std::sync::Mutex::new(Vec::new());
    if let Some((_, set)) = COMPILED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(known, _)| known == hash)
    {
        return Ok(Arc::clone(set));
    }
    let set = PolicySetFile::parse(text)
        .and_then(|file| PolicySet::compile(file, Checks::Names))
        .map_err(|err| rows::corrupt(&format!("policy set version {version}"), err))?;
    let set = Arc::new(set);
    let mut compiled = COMPILED.lock().unwrap_or_else(|e| e.into_inner());
    compiled.push((hash.to_owned(), Arc::clone(&set)));
    if compiled.len() > 4 {
        compiled.remove(0);
    }
    Ok(set)
}

/// Every agent as last recorded, by id.
fn all_agents(conn: &Connection) -> Result<Vec<Agent>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents ORDER BY agent_id"
    ))?;
    let agents = statement
        .query_map(crate::db::params![], raw_agent)?
        .map(|raw| parse_agent(raw?))
        .collect::<Result<Vec<_>>>()?;
    Ok(agents)
}

/// What `proposed` would change against the active set, for every agent
/// on record (a new request of each, as recorded last), writing nothing.
pub fn plan(conn: &Connection, proposed: &PolicySet) -> Result<(PolicyDiff, Impact)> {
    let active = policy_set(conn)?;
    // The ratio of the newest audit of each agent's current version, in
    // one pass; a full audit is read only for the agents actually judged.
    let mut ratios: std::collections::HashMap<(String, String), f64> =
        std::collections::HashMap::new();
    // SQLite takes the other columns from the row with the MAX;
    // PostgreSQL says which row with DISTINCT ON.
    let ratio = conn
        .dialect()
        .json_number("a.body", "disparate_impact_ratio");
    let mut statement = conn.prepare_cached(&match conn.dialect() {
        Dialect::Sqlite => format!(
            "SELECT a.agent_id, a.agent_version, {ratio}, MAX(a.tested_at)
             FROM audits a JOIN agents g ON g.agent_id = a.agent_id AND g.version = a.agent_version
             GROUP BY a.agent_id, a.agent_version"
        ),
        Dialect::Postgres => format!(
            "SELECT DISTINCT ON (a.agent_id, a.agent_version) a.agent_id, a.agent_version, {ratio}
             FROM audits a JOIN agents g ON g.agent_id = a.agent_id AND g.version = a.agent_version
             ORDER BY a.agent_id, a.agent_version, a.tested_at DESC"
        ),
    })?;
    let mut rows = statement.query(crate::db::params![])?;
    while let Some(row) = rows.next()? {
        let key = (row.get::<String>(0)?, row.get::<String>(1)?);
        ratios.insert(key, row.get::<Option<f64>>(2)?.unwrap_or(0.0));
    }
    let subjects = all_agents(conn)?.into_iter().map(|agent| {
        let audit_ratio = ratios
            .get(&(agent.agent_id.clone(), agent.version.clone()))
            .copied();
        Subject { agent, audit_ratio }
    });
    let mut failure = None;
    let mut load_audits = |agent: &Agent| match agent_audits(conn, agent) {
        Ok(audits) => audits,
        Err(err) => {
            failure.get_or_insert(err);
            AgentAudits::default()
        }
    };
    let impact = simulate(
        &active,
        proposed,
        subjects,
        &mut load_audits,
        chrono::Utc::now(),
    );
    if let Some(err) = failure {
        return Err(err);
    }
    Ok((diff(&active, proposed), impact))
}

/// Streams every agent through every policy; agents are few next to
/// workflows (one per application, not per request). A condition that
/// cannot be evaluated for an agent reaches it (it would block it).
pub fn policy_reach(conn: &Connection) -> Result<Vec<NamedCount>> {
    let set = policy_set(conn)?;
    let policies = set.policies().to_vec();
    let mut counts = vec![0u64; policies.len()];
    let mut statement = conn.prepare_cached(&format!("SELECT {AGENT_COLUMNS} FROM agents"))?;
    let mut rows = statement.query(crate::db::params![])?;
    while let Some(row) = rows.next()? {
        let agent = parse_agent(raw_agent(&row)?)?;
        let outcomes = set.outcomes(&agent, &RequestFacts::default());
        for (outcome, count) in outcomes.iter().zip(&mut counts) {
            if *outcome != Outcome::DoesNotHold {
                *count += 1;
            }
        }
    }
    Ok(policies
        .into_iter()
        .zip(counts)
        .map(|(policy, count)| NamedCount {
            name: policy.policy_id,
            count,
        })
        .collect())
}

/// The agent as last approved (or allowed) and as in its pending
/// requests: what a new request is compared with.
pub fn reference_agents(conn: &Connection, agent_id: &str) -> Result<Vec<Agent>> {
    let mut statement = conn.prepare_cached(
        "SELECT status, body FROM deployments WHERE agent_id = ?1
           AND status IN ('allowed', 'approved', 'pending_approval')
         ORDER BY requested_at DESC, deployment_id DESC",
    )?;
    let rows = statement
        .query_map([agent_id], |row| {
            Ok((row.get::<String>(0)?, row.get::<String>(1)?))
        })?
        .collect::<crate::db::Result<Vec<_>>>()?;
    let mut references = Vec::new();
    let mut live_seen = false;
    for (status, body) in rows {
        let live = status != "pending_approval";
        if live && live_seen {
            continue;
        }
        live_seen |= live;
        let body: DeploymentBody = from_json("deployment", &body)?;
        // Requests from before agents were kept with them compare with the
        // agent as last recorded.
        let agent = match body.agent {
            Some(agent) => agent,
            None => match agent_row(conn, agent_id)? {
                Some(agent) => agent,
                None => continue,
            },
        };
        references.push(agent);
    }
    Ok(references)
}

/// The active policy set's vocabulary.
pub fn vocabulary(conn: &Connection) -> Result<Vocabulary> {
    Ok(policy_set(conn)?.vocabulary().clone())
}

/// What the active policies say about a manifest whose names are in the
/// vocabulary.
pub fn evaluate(conn: &Connection, manifest: &Manifest) -> Result<Evaluation> {
    let (version, set) = active_set(conn)?;
    evaluate_under(conn, manifest, version, &set)
}

/// What policy set `version` says about a manifest (for a caller that
/// already holds the active set).
pub fn evaluate_under(
    conn: &Connection,
    manifest: &Manifest,
    version: i64,
    set: &PolicySet,
) -> Result<Evaluation> {
    let vocabulary = set.vocabulary();
    vocabulary
        .check_category(manifest.agent.category)
        .and_then(|()| vocabulary.check_classification(manifest.agent.data_classification))
        .map_err(|err| BackendError::Invalid(format!("manifest: {err}")))?;
    let audit = latest_audit_for_version(conn, &manifest.agent.agent_id, &manifest.agent.version)?;
    let audit_of_agent = latest_audit_of_agent(conn, &manifest.agent.agent_id)?;
    let approved_tools = approved_tools(conn)?;
    let reference_agents = reference_agents(conn, &manifest.agent.agent_id)?;
    let mut evaluation = evaluate_policies(
        manifest,
        set,
        &Facts {
            latest_audit: audit.as_ref(),
            latest_audit_of_agent: audit_of_agent.as_ref(),
            approved_tools: &approved_tools,
            reference_agents: &reference_agents,
            now: chrono::Utc::now(),
        },
    );
    evaluation.policy_set_version = Some(version);
    Ok(evaluation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// `plan` judges agents the sets cannot tell apart once; judging every
    /// agent one by one under both versions must come out the same.
    #[test]
    fn a_plan_is_what_evaluating_every_agent_under_both_versions_gives() {
        use crate::domain::policy::plan::{Change, Impact, judge};
        let dir = tempfile::tempdir().unwrap();
        let store = crate::backend::local::LocalStore::open(&dir.path().join("s.db")).unwrap();
        crate::seed::seed(
            &store,
            &crate::seed::SeedOptions {
                workflows: 600,
                seed: 11,
                anchor: Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap(),
            },
            &mut |_| {},
        )
        .unwrap();
        let text = include_str!("../../../../examples/policies/northwind.toml");
        let proposed =
            PolicySet::compile(PolicySetFile::parse(text).unwrap(), Checks::Full).unwrap();
        let (_, planned) = store.read(|conn| plan(conn, &proposed)).unwrap();

        let mut brute = Impact::default();
        store
            .read(|conn| {
                let active = policy_set(conn)?;
                for agent in all_agents(conn)? {
                    let audits = agent_audits(conn, &agent)?;
                    brute.agents += 1;
                    for change in judge(&active, &proposed, &agent, &audits, Utc::now()).changes {
                        let affected = brute.changes.entry(change).or_default();
                        affected.count += 1;
                        *affected.by_team.entry(agent.team.clone()).or_insert(0) += 1;
                    }
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(planned.agents, brute.agents);
        assert!(
            brute.changes.contains_key(&Change::NewlyNeedApproval),
            "the set moves some agents: the comparison is not empty"
        );
        for (change, affected) in &brute.changes {
            let got = &planned.changes[change];
            assert_eq!(got.count, affected.count, "{change:?}");
            assert_eq!(got.by_team, affected.by_team, "{change:?}");
        }
        assert_eq!(planned.changes.len(), brute.changes.len());
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn weeks_start_on_monday_midnight() {
        let thursday = Utc.with_ymd_and_hms(2026, 11, 26, 15, 30, 0).unwrap();
        assert_eq!(
            week_start(thursday),
            Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap()
        );
        let monday = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
        assert_eq!(week_start(monday), monday);
    }

    #[test]
    fn deployment_cursors_reject_garbage() {
        assert!(decode_deployment_cursor("nonsense").is_err());
        assert!(decode_deployment_cursor("x.dep-1").is_err());
        assert_eq!(
            decode_deployment_cursor("12.dep-1").unwrap(),
            (12, "dep-1".into())
        );
    }
}
