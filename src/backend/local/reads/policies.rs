//! The active policy set, compiled once per version; plans of a proposed set; policy reach; evaluating a manifest.

use super::agents::AGENT_COLUMNS;
use super::agents::agent_row;
use super::agents::all_agents;
use super::agents::parse_agent;
use super::agents::raw_agent;
use super::audits::agent_audits;
use super::audits::latest_audit_for_version;
use super::audits::latest_audit_of_agent;
use super::deployments::DeploymentBody;
use super::users::approved_tools;
use chrono::{DateTime, Utc};
use std::sync::Arc;

use crate::db::{Connection, Dialect, OptionalExtension};
use crate::domain::DeploymentStatus;
use crate::domain::policy::condition::Outcome;
use crate::domain::policy::facts::RequestFacts;
use crate::domain::policy::plan::obligations::{Evidence, Wanted};
use crate::domain::policy::plan::{
    AgentAudits, Impact, PolicyDiff, Records, Subject, diff, simulate,
};
use crate::domain::policy::recertification::Standing;
use crate::domain::policy::set::{Checks, PolicySet, PolicySetFile};
use crate::domain::policy::vocabulary::Vocabulary;

use super::super::rows::{self, from_json};
use crate::backend::types::NamedCount;
use crate::backend::{BackendError, Result};

use crate::domain::policy::evaluation::{Facts, evaluate as evaluate_policies};
use crate::domain::{Agent, Evaluation, Manifest, Policy};

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

/// What `proposed` would change against the active set, for every agent
/// on record (a new request of each, as recorded last), writing nothing.
pub fn plan(
    conn: &Connection,
    proposed: &PolicySet,
    now: DateTime<Utc>,
) -> Result<(PolicyDiff, Impact)> {
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
    // Intakes are read when a set asks questions or holds duties.
    let mut intakes = match proposed.file.intake.is_some()
        || active.file.intake.is_some()
        || crate::domain::policy::plan::obligations::in_play([&active, proposed])
    {
        true => super::submitted_intakes(conn)?,
        false => std::collections::HashMap::new(),
    };
    let audited_versions: std::collections::HashSet<String> = ratios
        .keys()
        .map(|(agent_id, _)| agent_id.clone())
        .collect();
    let subjects = all_agents(conn)?.into_iter().map(|agent| {
        let audit_ratio = ratios
            .get(&(agent.agent_id.clone(), agent.version.clone()))
            .copied();
        let intake = intakes.remove(&agent.agent_id);
        Subject {
            agent,
            audit_ratio,
            intake,
        }
    });
    // Most agents have no confirmation, and many no audit of their
    // current version: those are never asked for theirs.
    let confirmed: std::collections::HashSet<String> = conn
        .prepare_cached("SELECT DISTINCT agent_id FROM obligation_confirmations")?
        .query_map(crate::db::params![], |row| row.get(0))?
        .collect::<crate::db::Result<_>>()?;
    let mut records = StoredRecords {
        conn,
        audited: audited_versions,
        confirmed,
        failure: None,
    };
    let impact = simulate(&active, proposed, subjects, &mut records, now);
    if let Some(err) = records.failure {
        return Err(err);
    }
    Ok((diff(&active, proposed), impact))
}

/// What `plan` reads of an agent on demand; the first failure is kept and
/// returned once the simulation ends.
struct StoredRecords<'r, 'c> {
    conn: &'r Connection<'c>,
    /// Agents with an audit of their current version.
    audited: std::collections::HashSet<String>,
    /// Agents with a confirmation.
    confirmed: std::collections::HashSet<String>,
    failure: Option<BackendError>,
}

impl StoredRecords<'_, '_> {
    fn kept<T: Default>(&mut self, read: Result<T>) -> T {
        read.unwrap_or_else(|err| {
            self.failure.get_or_insert(err);
            T::default()
        })
    }
}

impl Records for StoredRecords<'_, '_> {
    fn audits(&mut self, agent: &Agent) -> AgentAudits {
        let read = agent_audits(self.conn, agent);
        self.kept(read)
    }

    fn evidence(&mut self, agent: &Agent, wanted: Wanted) -> Evidence {
        let conn = self.conn;
        let audited = self.audited.contains(&agent.agent_id);
        let confirmed = self.confirmed.contains(&agent.agent_id);
        let read = || -> Result<Evidence> {
            Ok(Evidence {
                audits: match wanted.audits && audited {
                    true => super::audits_of_version(
                        conn,
                        &agent.agent_id,
                        &agent.version,
                        !wanted.any_auditor,
                    )?,
                    false => Vec::new(),
                },
                confirmations: match wanted.confirmations && confirmed {
                    true => super::confirmations(conn, &agent.agent_id)?,
                    false => Vec::new(),
                },
            })
        };
        let read = read();
        self.kept(read)
    }
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

/// What policy set `version` says about a manifest whose names are in the
/// vocabulary; `recent_use` is the newest check of the version not yet
/// written (a check's; a request has none).
pub fn evaluate_under(
    conn: &Connection,
    manifest: &Manifest,
    version: i64,
    set: &PolicySet,
    now: DateTime<Utc>,
    recent_use: Option<DateTime<Utc>>,
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
    // Only a submitted intake classifies the version; read only when the
    // set asks intake questions.
    let intake = match &set.file.intake {
        Some(_) => super::intake(conn, &manifest.agent.agent_id, &manifest.agent.version)?
            .filter(|intake| intake.status == crate::domain::obligations::IntakeStatus::Submitted),
        None => None,
    };
    let exceptions =
        super::applied_exceptions(conn, &manifest.agent.agent_id, &manifest.agent.version, now)?;
    let mut evaluation = evaluate_policies(
        manifest,
        set,
        &Facts {
            latest_audit: audit.as_ref(),
            latest_audit_of_agent: audit_of_agent.as_ref(),
            approved_tools: &approved_tools,
            reference_agents: &reference_agents,
            intake: intake.as_ref().map(|intake| &intake.answers),
            exceptions: &exceptions,
            now,
        },
    );
    evaluation.policy_set_version = Some(version);
    judge_obligations(conn, set, &mut evaluation, intake.as_ref(), now)?;
    judge_suspension(conn, &mut evaluation)?;
    judge_recertification(
        conn,
        set,
        &mut evaluation,
        &manifest.artifacts,
        now,
        recent_use,
    )?;
    Ok(evaluation)
}

/// Blocks a version an incident holds suspended, naming each incident.
fn judge_suspension(conn: &Connection, evaluation: &mut Evaluation) -> Result<()> {
    let agent = evaluation.agent.clone();
    for incident in super::suspending_incidents(conn, &agent.agent_id, &agent.version)? {
        let Some(suspension) = &incident.suspension else {
            continue;
        };
        let by = suspension
            .by
            .as_deref()
            .map(|by| format!("by {by}"))
            .unwrap_or_else(|| "by the policy set's rule".into());
        let reason = format!(
            "{} {} is suspended since {} {by} under incident {} ({}): {}",
            agent.agent_id,
            agent.version,
            suspension.since.format("%Y-%m-%d %H:%M UTC"),
            incident.incident_id,
            incident.severity,
            suspension.reason
        );
        let remediation = match incident.next_role() {
            Some(role) => format!(
                "its lifting waits for {} (`gavel incident show {}`)",
                role.with_article(),
                incident.incident_id
            ),
            None => format!(
                "lifting it is signed off by the policy set's chain: `gavel incident lift {} --reason WHY`",
                incident.incident_id
            ),
        };
        evaluation.suspend(reason, remediation);
    }
    Ok(())
}

/// When the version evaluated is the agent's record, unchanged: its
/// standing approval, and once the set's period for its tier has passed,
/// the recertification it needs (which a request then opens).
fn judge_recertification(
    conn: &Connection,
    set: &PolicySet,
    evaluation: &mut Evaluation,
    artifacts: &[crate::domain::manifest::Artifact],
    now: DateTime<Utc>,
    recent_use: Option<DateTime<Utc>>,
) -> Result<()> {
    let Some((record, since)) = super::record_since(conn, &evaluation.agent.agent_id)? else {
        return Ok(());
    };
    if record != evaluation.agent || evaluation.status == DeploymentStatus::Blocked {
        // Another version, or this one changed: a new request's rules.
        return Ok(());
    }
    // The same fields shipping other artifacts (a rebuilt image under the
    // same version) are a new request too.
    let stood = super::live_request(conn, &record.agent_id, &record.version)?;
    let mut stood_artifacts = stood.map(|request| request.artifacts).unwrap_or_default();
    let mut asked = artifacts.to_vec();
    stood_artifacts.sort();
    asked.sort();
    if stood_artifacts != asked {
        return Ok(());
    }
    let rules = &set.file.recertification;
    let tier = evaluation.agent.risk_tier;
    // Checks before it became the record say nothing of its use since.
    let last_used = super::last_checked(conn, &record.agent_id, &record.version)?
        .max(recent_use)
        .filter(|used| *used >= since);
    let standing = Standing {
        since,
        due: rules.period(tier).map(|period| since + period),
        last_used,
        dormant_from: rules
            .dormancy()
            .map(|dormancy| last_used.unwrap_or(since) + dormancy),
    };
    evaluation.standing = Some(standing);
    if let Some(from) = standing
        .dormant_from
        .filter(|_| standing.dormant(now) && standing.due.is_none_or(|due| now < due))
    {
        let unused = match last_used {
            Some(used) => format!("was last checked on {}", used.format("%Y-%m-%d")),
            None => format!(
                "has not been checked since it stood ({})",
                since.format("%Y-%m-%d")
            ),
        };
        evaluation.recertify(
            format!(
                "version {} {unused}; the policy set calls an approval unused for {} dormant: recertification due since {}",
                record.version,
                rules.dormant_after,
                from.format("%Y-%m-%d"),
            ),
            &rules.unchanged_chain,
        );
    } else if let Some(due) = standing.due.filter(|due| now >= *due) {
        evaluation.recertify(
            format!(
                "version {} has stood since {}; the policy set renews {tier}-risk approvals every {}: recertification due since {}",
                record.version,
                since.format("%Y-%m-%d"),
                rules.after.get(&tier).map(String::as_str).unwrap_or_default(),
                due.format("%Y-%m-%d"),
            ),
            &rules.unchanged_chain,
        );
    }
    Ok(())
}

/// What a deployment check answers: the policies' evaluation, and for the
/// agent's record, unchanged and not due for recertification, its
/// standing approval (it may deploy: people signed it off already).
/// `recent_use` is the newest check of the version the store holds in
/// memory, not yet written.
pub fn check(
    conn: &Connection,
    manifest: &Manifest,
    now: DateTime<Utc>,
    recent_use: Option<DateTime<Utc>>,
) -> Result<Evaluation> {
    let (version, set) = active_set(conn)?;
    let mut evaluation = evaluate_under(conn, manifest, version, &set, now, recent_use)?;
    if let Some(standing) = evaluation.standing
        && !standing.lapsed(now)
        && evaluation.status == DeploymentStatus::PendingApproval
    {
        evaluation.status = DeploymentStatus::Approved;
        evaluation.workflows.clear();
        evaluation.remediation.clear();
    }
    Ok(evaluation)
}

/// The set's intake and obligations rules, for sets that have them: the
/// requested version's submitted intake, the agent's audits and
/// confirmations, and the sign-offs the evaluation's workflows will seek.
fn judge_obligations(
    conn: &Connection,
    set: &PolicySet,
    evaluation: &mut Evaluation,
    intake: Option<&crate::domain::obligations::Intake>,
    now: DateTime<Utc>,
) -> Result<()> {
    let rules = set
        .file
        .intake
        .as_ref()
        .is_some_and(|intake| intake.required)
        || set.file.obligations.gate != crate::domain::policy::frameworks::GateAction::Off;
    if !rules {
        return Ok(());
    }
    let agent = evaluation.agent.clone();
    let audits = super::audits(conn, &agent.agent_id)?;
    let confirmations = super::confirmations(conn, &agent.agent_id)?;
    let incidents = super::incidents_of_agent(conn, &agent.agent_id)?;
    let pending_roles = evaluation.seeks();
    crate::domain::obligations::gate::judge_request(
        set,
        evaluation,
        &crate::domain::obligations::Record {
            agent: &agent,
            intake,
            workflows: &[],
            reviews: &[],
            audits: &audits,
            confirmations: &confirmations,
            incidents: &incidents,
            pending_roles: &pending_roles,
        },
        now,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::local::reads::*;
    use chrono::TimeZone;
    use chrono::Utc;

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
        let (_, planned) = store
            .read(|conn| plan(conn, &proposed, Utc::now()))
            .unwrap();

        let mut brute = Impact::default();
        store
            .read(|conn| {
                let active = policy_set(conn)?;
                for agent in all_agents(conn)? {
                    let audits = agent_audits(conn, &agent)?;
                    brute.agents += 1;
                    let judged = judge(&active, &proposed, &agent, &audits, None, Utc::now());
                    for change in Change::between(&judged.before, &judged.after) {
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
    fn deployment_cursors_reject_garbage() {
        assert!(decode_deployment_cursor("nonsense").is_err());
        assert!(decode_deployment_cursor("x.dep-1").is_err());
        assert_eq!(
            decode_deployment_cursor("12.dep-1").unwrap(),
            (12, "dep-1".into())
        );
    }
}
