//! Read queries. Every list reads only the rows it returns, through an index.

use chrono::{DateTime, Datelike, Duration, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::rows::{
    self, QUEUE_COLUMNS, WORKFLOW_COLUMNS, corrupt, from_json, from_ms, parse, raw_queue_row,
    raw_workflow_row, to_ms,
};
use crate::backend::queue::{
    Direction, QueueFilter, QueuePage, QueueQuery, QueueSort, merge_pages, urgency,
};
use crate::backend::types::{
    AgentSummary, Dashboard, DeploymentPage, DeploymentQuery, NamedCount, ReviewSummary, User,
    WeekCount,
};
use crate::backend::{BackendError, Result};
use crate::domain::deployment::{TriggeredPolicy, evaluate as evaluate_policies};
use crate::domain::{
    Agent, BiasAudit, DeploymentRequest, EthicsReview, Evaluation, Manifest, Policy, ReviewStatus,
    ReviewTemplate, Role, Workflow,
};

pub fn user(conn: &Connection, email: &str) -> Result<Option<User>> {
    let row: Option<(String, String, String)> = conn
        .prepare_cached("SELECT email, name, roles FROM users WHERE email = ?1")?
        .query_row([email], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    row.map(|(email, name, roles)| {
        Ok(User {
            email,
            name,
            roles: rows::roles_from_text(&roles)?,
        })
    })
    .transpose()
}

pub fn users(conn: &Connection) -> Result<Vec<User>> {
    let mut statement = conn.prepare("SELECT email, name, roles FROM users ORDER BY email")?;
    let raws = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raws.into_iter()
        .map(|(email, name, roles)| {
            Ok(User {
                email,
                name,
                roles: rows::roles_from_text(&roles)?,
            })
        })
        .collect()
}

/// `LIKE` pattern for "contains `text`", with wildcards in `text` escaped.
fn contains_pattern(text: &str) -> String {
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

/// The WHERE clause of a queue filter, for one role (or none).
fn queue_conditions(filter: &QueueFilter, role: Option<Role>) -> (Vec<String>, Vec<Value>) {
    let mut conditions = vec!["status = ?".to_owned()];
    let mut values = vec![Value::Text(filter.status.as_str().to_owned())];
    if let Some(role) = role {
        conditions.push("current_role = ?".into());
        values.push(Value::Text(role.as_str().to_owned()));
    }
    if let Some(risk) = filter.risk {
        conditions.push("urgency = ?".into());
        values.push(Value::Integer(urgency(risk)));
    }
    if let Some(team) = &filter.team {
        conditions.push("team = ?".into());
        values.push(Value::Text(team.clone()));
    }
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        // A workflow id finds that workflow; other text, agents and teams.
        conditions.push(
            "(agent_name LIKE ? ESCAPE '\\' OR team LIKE ? ESCAPE '\\' OR workflow_id = ?)".into(),
        );
        let pattern = contains_pattern(search);
        values.push(Value::Text(pattern.clone()));
        values.push(Value::Text(pattern));
        values.push(Value::Text(search.to_owned()));
    }
    (conditions, values)
}

/// The roles to read separately: each is one index range.
fn role_partitions(filter: &QueueFilter) -> Vec<Option<Role>> {
    match &filter.roles {
        None => vec![None],
        Some(roles) => {
            let mut roles = roles.clone();
            roles.sort();
            roles.dedup();
            roles.into_iter().map(Some).collect()
        }
    }
}

/// The SQL and parameters of one role's page (exposed for the query-plan test).
pub fn queue_sql(query: &QueueQuery, role: Option<Role>) -> (String, Vec<Value>) {
    let (mut conditions, mut values) = queue_conditions(&query.filter, role);
    // With one risk tier selected both orders are the same, and leaving
    // urgency out of the key lets the index seek straight to the cursor.
    let by_risk = query.sort == QueueSort::Risk && query.filter.risk.is_none();
    let key_columns = if by_risk {
        "urgency, waiting_since, workflow_id"
    } else {
        "waiting_since, workflow_id"
    };
    let (comparison, order) = match query.direction {
        Direction::Forward => (">", "ASC"),
        Direction::Backward => ("<", "DESC"),
    };
    if let Some(cursor) = &query.cursor {
        if by_risk {
            conditions.push(format!(
                "(urgency, waiting_since, workflow_id) {comparison} (?, ?, ?)"
            ));
            values.push(Value::Integer(cursor.urgency));
        } else {
            conditions.push(format!("(waiting_since, workflow_id) {comparison} (?, ?)"));
        }
        values.push(Value::Integer(cursor.waiting_since_ms));
        values.push(Value::Text(cursor.workflow_id.clone()));
    }
    let order_by = key_columns
        .split(", ")
        .map(|column| format!("{column} {order}"))
        .collect::<Vec<_>>()
        .join(", ");
    values.push(Value::Integer(i64::from(query.limit()) + 1));
    let sql = format!(
        "SELECT {QUEUE_COLUMNS} FROM workflows WHERE {} ORDER BY {order_by} LIMIT ?",
        conditions.join(" AND ")
    );
    (sql, values)
}

fn queue_page_for_role(
    conn: &Connection,
    query: &QueueQuery,
    role: Option<Role>,
) -> Result<QueuePage> {
    let (sql, values) = queue_sql(query, role);
    let mut statement = conn.prepare_cached(&sql)?;
    let raws = statement
        .query_map(params_from_iter(values), raw_queue_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut items = raws
        .into_iter()
        .map(|raw| raw.parse())
        .collect::<Result<Vec<_>>>()?;
    let limit = query.limit() as usize;
    let overflow = items.len() > limit;
    items.truncate(limit);
    let has_cursor = query.cursor.is_some();
    Ok(match query.direction {
        Direction::Forward => QueuePage {
            items,
            more_before: has_cursor,
            more_after: overflow,
        },
        Direction::Backward => {
            items.reverse();
            QueuePage {
                items,
                more_before: overflow,
                more_after: has_cursor,
            }
        }
    })
}

pub fn queue(conn: &Connection, query: &QueueQuery) -> Result<QueuePage> {
    let partitions = role_partitions(&query.filter);
    if partitions.is_empty() {
        return Ok(QueuePage {
            items: Vec::new(),
            more_before: false,
            more_after: false,
        });
    }
    let pages = partitions
        .into_iter()
        .map(|role| queue_page_for_role(conn, query, role))
        .collect::<Result<Vec<_>>>()?;
    Ok(merge_pages(
        pages,
        query.sort,
        query.direction,
        query.limit() as usize,
    ))
}

pub fn queue_plans(conn: &Connection, query: &QueueQuery) -> Result<Vec<String>> {
    role_partitions(&query.filter)
        .into_iter()
        .map(|role| {
            let (sql, values) = queue_sql(query, role);
            let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let details = statement
                .query_map(params_from_iter(values), |row| row.get::<_, String>(3))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(details.join("\n"))
        })
        .collect()
}

pub fn queue_count(conn: &Connection, filter: &QueueFilter) -> Result<u64> {
    let mut total = 0u64;
    for role in role_partitions(filter) {
        let (conditions, values) = queue_conditions(filter, role);
        let sql = format!(
            "SELECT COUNT(*) FROM workflows WHERE {}",
            conditions.join(" AND ")
        );
        let count: i64 = conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(values), |row| row.get(0))?;
        total += count.max(0) as u64;
    }
    Ok(total)
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
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raws.into_iter().map(rows::parse_workflow).collect()
}

const REVIEW_COLUMNS: &str = "review_id, workflow_id, agent_id, reviewer, template_id, status, answers, \
    form_state, assigned_at, updated_at, submitted_at, version";

type RawReview = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    i64,
);

fn raw_review(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawReview> {
    row.try_into()
}

fn parse_review(raw: RawReview) -> Result<EthicsReview> {
    let (
        review_id,
        workflow_id,
        agent_id,
        reviewer,
        template_id,
        status,
        answers,
        form_state,
        assigned_at,
        updated_at,
        submitted_at,
        version,
    ) = raw;
    Ok(EthicsReview {
        review_id,
        workflow_id,
        agent_id,
        reviewer,
        template_id,
        status: parse("review status", &status)?,
        answers: from_json("review answers", &answers)?,
        form_state: form_state
            .map(|text| from_json("review form state", &text))
            .transpose()?,
        assigned_at: from_ms(assigned_at)?,
        updated_at: from_ms(updated_at)?,
        submitted_at: submitted_at.map(from_ms).transpose()?,
        version,
    })
}

pub fn review(conn: &Connection, review_id: &str) -> Result<EthicsReview> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {REVIEW_COLUMNS} FROM reviews WHERE review_id = ?1"
        ))?
        .query_row([review_id], raw_review)
        .optional()?
        .ok_or_else(|| BackendError::not_found("review", review_id))?;
    parse_review(raw)
}

pub fn review_for_workflow(conn: &Connection, workflow_id: &str) -> Result<Option<EthicsReview>> {
    conn.prepare_cached(&format!(
        "SELECT {REVIEW_COLUMNS} FROM reviews WHERE workflow_id = ?1"
    ))?
    .query_row([workflow_id], raw_review)
    .optional()?
    .map(parse_review)
    .transpose()
}

pub fn reviews_of(
    conn: &Connection,
    email: &str,
    status: Option<ReviewStatus>,
) -> Result<Vec<ReviewSummary>> {
    let mut statement = conn.prepare_cached(
        "SELECT r.review_id, r.workflow_id, r.agent_id, COALESCE(a.name, r.agent_id), r.status, r.assigned_at, r.updated_at
         FROM reviews r LEFT JOIN agents a ON a.agent_id = r.agent_id
         WHERE r.reviewer = ?1 AND (?2 IS NULL OR r.status = ?2)
         ORDER BY r.assigned_at DESC LIMIT 1000",
    )?;
    let raws = statement
        .query_map(params![email, status.map(|s| s.as_str())], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, i64>(5)?,
                row.get::<_, i64>(6)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raws.into_iter()
        .map(
            |(review_id, workflow_id, agent_id, agent_name, status, assigned_at, updated_at)| {
                Ok(ReviewSummary {
                    review_id,
                    workflow_id,
                    agent_id,
                    agent_name,
                    status: parse("review status", &status)?,
                    assigned_at: from_ms(assigned_at)?,
                    updated_at: from_ms(updated_at)?,
                })
            },
        )
        .collect()
}

pub fn review_template(conn: &Connection, template_id: &str) -> Result<ReviewTemplate> {
    let body: String = conn
        .prepare_cached("SELECT body FROM review_templates WHERE template_id = ?1")?
        .query_row([template_id], |row| row.get(0))
        .optional()?
        .ok_or_else(|| BackendError::not_found("review template", template_id))?;
    from_json("review template", &body)
}

pub fn default_template_id(conn: &Connection) -> Result<String> {
    conn.query_row(
        "SELECT template_id FROM review_templates ORDER BY rowid LIMIT 1",
        [],
        |row| row.get(0),
    )
    .optional()?
    .ok_or_else(|| BackendError::Storage("the store has no review template".into()))
}

const AGENT_COLUMNS: &str = "agent_id, name, team, owner, category, data_classification, \
    has_external_tools, tools_approved, risk_tier, version";

type RawAgent = (
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
);

fn raw_agent(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawAgent> {
    row.try_into()
}

fn parse_agent(raw: RawAgent) -> Result<Agent> {
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
    })
}

pub fn agent(conn: &Connection, agent_id: &str) -> Result<Agent> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE agent_id = ?1"
        ))?
        .query_row([agent_id], raw_agent)
        .optional()?
        .ok_or_else(|| BackendError::not_found("agent", agent_id))?;
    parse_agent(raw)
}

pub fn search_agents(conn: &Connection, text: &str, limit: u32) -> Result<Vec<AgentSummary>> {
    let pattern = contains_pattern(text.trim());
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents
         WHERE name LIKE ?1 ESCAPE '\\' OR agent_id LIKE ?1 ESCAPE '\\' OR team LIKE ?1 ESCAPE '\\'
         ORDER BY name COLLATE NOCASE, agent_id LIMIT ?2"
    ))?;
    let raws = statement
        .query_map(params![pattern, limit.clamp(1, 1000)], raw_agent)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
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

fn parse_audit(body: &str) -> Result<BiasAudit> {
    from_json("bias audit", body)
}

pub fn audits(conn: &Connection, agent_id: &str) -> Result<Vec<BiasAudit>> {
    let mut statement = conn.prepare_cached(
        "SELECT body FROM audits WHERE agent_id = ?1 ORDER BY tested_at DESC, audit_id DESC LIMIT 1000",
    )?;
    let bodies = statement
        .query_map([agent_id], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    bodies.iter().map(|body| parse_audit(body)).collect()
}

pub fn latest_audit_for_version(
    conn: &Connection,
    agent_id: &str,
    version: &str,
) -> Result<Option<BiasAudit>> {
    conn.prepare_cached(
        "SELECT body FROM audits WHERE agent_id = ?1 AND agent_version = ?2 ORDER BY tested_at DESC LIMIT 1",
    )?
    .query_row([agent_id, version], |row| row.get::<_, String>(0))
    .optional()?
    .map(|body| parse_audit(&body))
    .transpose()
}

pub fn policies(conn: &Connection) -> Result<Vec<Policy>> {
    let mut statement =
        conn.prepare_cached("SELECT body FROM policies ORDER BY position, policy_id")?;
    let bodies = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    bodies
        .iter()
        .map(|body| from_json("policy", body))
        .collect()
}

/// Streams every agent through every policy; agents are few next to
/// workflows (one per application, not per request).
pub fn policy_reach(conn: &Connection) -> Result<Vec<NamedCount>> {
    let policies = policies(conn)?;
    let mut counts = vec![0u64; policies.len()];
    let mut statement = conn.prepare(&format!("SELECT {AGENT_COLUMNS} FROM agents"))?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let agent = parse_agent(raw_agent(row)?)?;
        for (policy, count) in policies.iter().zip(&mut counts) {
            if policy.triggers_on(&agent) {
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

pub fn evaluate(conn: &Connection, manifest: &Manifest) -> Result<Evaluation> {
    let policies = policies(conn)?;
    let audit = latest_audit_for_version(conn, &manifest.agent.agent_id, &manifest.agent.version)?;
    Ok(evaluate_policies(manifest, &policies, audit.as_ref()))
}

/// The JSON body of a deployment row: the parts with no column of their own.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct DeploymentBody {
    pub triggered_policies: Vec<TriggeredPolicy>,
    pub blocking_reasons: Vec<String>,
    pub remediation: Vec<String>,
    pub workflow_ids: Vec<String>,
}

const DEPLOYMENT_COLUMNS: &str = "deployment_id, agent_id, agent_name, team, agent_version, requested_by, \
    requested_at, status, running_version, body";

type RawDeployment = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    String,
);

fn raw_deployment(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawDeployment> {
    row.try_into()
}

fn parse_deployment(raw: RawDeployment) -> Result<DeploymentRequest> {
    let (
        deployment_id,
        agent_id,
        agent_name,
        team,
        agent_version,
        requested_by,
        requested_at,
        status,
        running_version,
        body,
    ) = raw;
    let body: DeploymentBody = from_json("deployment", &body)?;
    Ok(DeploymentRequest {
        deployment_id,
        agent_id,
        agent_name,
        team,
        agent_version,
        requested_by,
        requested_at: from_ms(requested_at)?,
        status: parse("deployment status", &status)?,
        triggered_policies: body.triggered_policies,
        blocking_reasons: body.blocking_reasons,
        remediation: body.remediation,
        running_version,
        workflow_ids: body.workflow_ids,
    })
}

pub fn deployment(conn: &Connection, deployment_id: &str) -> Result<DeploymentRequest> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {DEPLOYMENT_COLUMNS} FROM deployments WHERE deployment_id = ?1"
        ))?
        .query_row([deployment_id], raw_deployment)
        .optional()?
        .ok_or_else(|| BackendError::not_found("deployment", deployment_id))?;
    parse_deployment(raw)
}

/// Deployment cursor: `requested_at_ms.deployment_id` of the last row shown.
fn decode_deployment_cursor(text: &str) -> Result<(i64, String)> {
    let bad = || BackendError::Invalid(format!("malformed deployment cursor {text:?}"));
    let (ms, id) = text.split_once('.').ok_or_else(bad)?;
    Ok((ms.parse().map_err(|_| bad())?, id.to_owned()))
}

/// Newest first.
pub fn deployments(conn: &Connection, query: &DeploymentQuery) -> Result<DeploymentPage> {
    let limit = query.limit.clamp(1, 500);
    let mut conditions = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(status) = query.status {
        conditions.push("status = ?");
        values.push(Value::Text(status.as_str().into()));
    }
    if let Some(cursor) = &query.cursor {
        let (ms, id) = decode_deployment_cursor(cursor)?;
        conditions.push("(requested_at, deployment_id) < (?, ?)");
        values.push(Value::Integer(ms));
        values.push(Value::Text(id));
    }
    values.push(Value::Integer(i64::from(limit) + 1));
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT {DEPLOYMENT_COLUMNS} FROM deployments {where_clause} ORDER BY requested_at DESC, deployment_id DESC LIMIT ?"
    );
    let raws = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(values), raw_deployment)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut items = raws
        .into_iter()
        .map(parse_deployment)
        .collect::<Result<Vec<_>>>()?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = more
        .then(|| {
            items
                .last()
                .map(|last| format!("{}.{}", to_ms(last.requested_at), last.deployment_id))
        })
        .flatten();
    Ok(DeploymentPage { items, next })
}

fn count(conn: &Connection, sql: &str, values: impl rusqlite::Params) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(sql)?
        .query_row(values, |row| row.get(0))?;
    Ok(n.max(0) as u64)
}

fn named_counts(conn: &Connection, sql: &str) -> Result<Vec<NamedCount>> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement
        .query_map([], |row| {
            Ok(NamedCount {
                name: row.get(0)?,
                count: row.get::<_, i64>(1)?.max(0) as u64,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The Monday 00:00 UTC of the week holding `at`.
pub fn week_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let date = at.date_naive() - Duration::days(i64::from(at.weekday().num_days_from_monday()));
    date.and_hms_opt(0, 0, 0)
        .map_or(at, |naive| naive.and_utc())
}

pub const TREND_WEEKS: i64 = 13;

pub fn dashboard(conn: &Connection, now: DateTime<Utc>) -> Result<Dashboard> {
    let blocked_now = count(
        conn,
        "SELECT COUNT(*) FROM deployments WHERE status = 'blocked'",
        [],
    )?;
    let this_week = week_start(now);
    let blocked_between = |from: DateTime<Utc>, to: DateTime<Utc>| {
        count(
            conn,
            "SELECT COUNT(*) FROM deployments WHERE outcome = 'blocked' AND requested_at >= ?1 AND requested_at < ?2",
            params![to_ms(from), to_ms(to)],
        )
    };
    let blocked_this_week = blocked_between(this_week, now + Duration::milliseconds(1))?;
    let blocked_last_week = blocked_between(this_week - Duration::weeks(1), this_week)?;

    let mut ages: Vec<i64> = conn
        .prepare_cached(
            "SELECT requested_at FROM deployments WHERE status = 'blocked' ORDER BY requested_at",
        )?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    ages.iter_mut()
        .for_each(|at| *at = (to_ms(now) - *at).max(0));
    ages.sort_unstable();
    let median_hours_blocked = match ages.len() {
        0 => None,
        n if n % 2 == 1 => Some(ages[n / 2] as f64 / 3_600_000.0),
        n => Some((ages[n / 2 - 1] + ages[n / 2]) as f64 / 2.0 / 3_600_000.0),
    };

    let pending_approvals = count(
        conn,
        "SELECT COUNT(*) FROM workflows WHERE status = 'in_progress'",
        [],
    )?;
    let approved = count(
        conn,
        "SELECT COUNT(*) FROM workflows WHERE status = 'approved'",
        [],
    )?;
    let rejected = count(
        conn,
        "SELECT COUNT(*) FROM workflows WHERE status = 'rejected'",
        [],
    )?;
    let approval_rate =
        (approved + rejected > 0).then(|| approved as f64 / (approved + rejected) as f64);

    let blocked_by_policy = named_counts(
        conn,
        "SELECT p.policy_id, COUNT(*) FROM deployments d
         JOIN deployment_policies p ON p.deployment_id = d.deployment_id AND p.blocking = 1
         WHERE d.status = 'blocked' GROUP BY p.policy_id ORDER BY COUNT(*) DESC, p.policy_id",
    )?;
    let blocked_by_team = named_counts(
        conn,
        "SELECT team, COUNT(*) FROM deployments WHERE status = 'blocked'
         GROUP BY team ORDER BY COUNT(*) DESC, team",
    )?;

    let first_week = this_week - Duration::weeks(TREND_WEEKS - 1);
    let week_ms = Duration::weeks(1).num_milliseconds();
    let mut weekly_blocked: Vec<WeekCount> = (0..TREND_WEEKS)
        .map(|week| WeekCount {
            week_start: (first_week + Duration::weeks(week)).date_naive(),
            blocked: 0,
        })
        .collect();
    let mut statement = conn.prepare_cached(
        "SELECT (requested_at - ?1) / ?2, COUNT(*) FROM deployments
         WHERE outcome = 'blocked' AND requested_at >= ?1 AND requested_at <= ?3 GROUP BY 1",
    )?;
    let buckets = statement
        .query_map(params![to_ms(first_week), week_ms, to_ms(now)], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (week, blocked) in buckets {
        let slot = usize::try_from(week)
            .ok()
            .and_then(|week| weekly_blocked.get_mut(week));
        let slot = slot.ok_or_else(|| corrupt("deployment week", week))?;
        slot.blocked = blocked.max(0) as u64;
    }

    Ok(Dashboard {
        generated_at: now,
        blocked_now,
        blocked_this_week,
        blocked_last_week,
        median_hours_blocked,
        pending_approvals,
        approval_rate,
        blocked_by_policy,
        blocked_by_team,
        weekly_blocked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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

/// One keyset page of a table's rows, by primary key, for a mirror's first
/// sync.
pub mod snapshot {
    use rusqlite::{Connection, params};

    use super::super::rows::{self, WORKFLOW_COLUMNS, from_json, raw_workflow_row};
    use super::{
        AGENT_COLUMNS, DEPLOYMENT_COLUMNS, REVIEW_COLUMNS, parse_agent, parse_deployment,
        parse_review, raw_agent, raw_deployment, raw_review,
    };
    use crate::backend::Result;
    use crate::domain::{Agent, BiasAudit, DeploymentRequest, EthicsReview, Workflow};

    fn page_sql(columns: &str, table: &str, key: &str) -> String {
        format!("SELECT {columns} FROM {table} WHERE {key} > ?1 ORDER BY {key} LIMIT ?2")
    }

    pub fn workflows(conn: &Connection, after: &str, limit: u32) -> Result<Vec<Workflow>> {
        let raws = conn
            .prepare_cached(&page_sql(WORKFLOW_COLUMNS, "workflows", "workflow_id"))?
            .query_map(params![after, limit], raw_workflow_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raws.into_iter().map(rows::parse_workflow).collect()
    }

    pub fn reviews(conn: &Connection, after: &str, limit: u32) -> Result<Vec<EthicsReview>> {
        let raws = conn
            .prepare_cached(&page_sql(REVIEW_COLUMNS, "reviews", "review_id"))?
            .query_map(params![after, limit], raw_review)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raws.into_iter().map(parse_review).collect()
    }

    pub fn deployments(
        conn: &Connection,
        after: &str,
        limit: u32,
    ) -> Result<Vec<DeploymentRequest>> {
        let raws = conn
            .prepare_cached(&page_sql(
                DEPLOYMENT_COLUMNS,
                "deployments",
                "deployment_id",
            ))?
            .query_map(params![after, limit], raw_deployment)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raws.into_iter().map(parse_deployment).collect()
    }

    pub fn agents(conn: &Connection, after: &str, limit: u32) -> Result<Vec<Agent>> {
        let raws = conn
            .prepare_cached(&page_sql(AGENT_COLUMNS, "agents", "agent_id"))?
            .query_map(params![after, limit], raw_agent)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raws.into_iter().map(parse_agent).collect()
    }

    pub fn audits(conn: &Connection, after: &str, limit: u32) -> Result<Vec<BiasAudit>> {
        let bodies = conn
            .prepare_cached(&page_sql("body", "audits", "audit_id"))?
            .query_map(params![after, limit], |row| row.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        bodies
            .iter()
            .map(|body| from_json("bias audit", body))
            .collect()
    }
}
