//! The approvals queue: per-role keyset pages merged, and counts.

use super::agents::contains_pattern;

use crate::db::Param;
use crate::db::{Connection, Dialect};

use super::super::rows::{QUEUE_COLUMNS, raw_queue_row};
use crate::backend::queue::{
    Direction, NotActionable, QueueFilter, QueuePage, QueueQuery, QueueScope, QueueSort,
    merge_pages, urgency,
};
use crate::backend::types::User;
use crate::backend::{BackendError, Result};

use crate::domain::Role;

use crate::backend::queue::REVIEWER_MARK;

/// A queue filter made concrete for its reader: the role ranges to read,
/// and (for an actionable queue) what its reader may not decide.
#[derive(Debug, Clone)]
pub struct QueuePlan {
    pub partitions: Vec<Option<Role>>,
    /// The reader of an actionable queue.
    pub actionable_for: Option<ActionableFor>,
}

/// Who reads an actionable queue, as far as its conditions need to know.
#[derive(Debug, Clone)]
pub struct ActionableFor {
    /// Lowercased email.
    pub email: String,
    /// Holds the ethics reviewer role: the ethics steps whose review they
    /// hold are theirs to write and decide.
    pub writes_reviews: bool,
    /// Holds the compliance officer role: ethics steps whose review nobody
    /// holds are theirs to assign.
    pub assigns_reviews: bool,
}

impl ActionableFor {
    fn of(reader: &User) -> ActionableFor {
        ActionableFor {
            email: reader.email.to_lowercase(),
            writes_reviews: reader.holds(Role::EthicsReviewer),
            assigns_reviews: reader.holds(Role::ComplianceOfficer),
        }
    }

    /// Whether steps of `role` may be in this reader's queue.
    fn takes(&self, reader: &User, role: Role) -> bool {
        reader.holds(role) || (role == Role::EthicsReviewer && self.assigns_reviews)
    }
}

impl QueuePlan {
    /// Resolves `filter` for `reader`. An actionable queue needs a reader:
    /// it holds only what they may decide now (and, for compliance
    /// officers, the ethics reviews waiting to be assigned).
    pub fn new(filter: &QueueFilter, reader: Option<&User>) -> Result<QueuePlan> {
        let asked = role_partitions(filter);
        match (filter.scope, reader) {
            (QueueScope::Everything, _) => Ok(QueuePlan {
                partitions: asked,
                actionable_for: None,
            }),
            (QueueScope::Actionable, Some(reader)) => {
                let actionable_for = ActionableFor::of(reader);
                let partitions = match &filter.roles {
                    None => role_partitions(&QueueFilter {
                        roles: Some(
                            reader
                                .roles
                                .iter()
                                .copied()
                                .chain(
                                    actionable_for
                                        .assigns_reviews
                                        .then_some(Role::EthicsReviewer),
                                )
                                .collect(),
                        ),
                        ..filter.clone()
                    }),
                    Some(_) => asked
                        .into_iter()
                        .filter(|role| role.is_some_and(|role| actionable_for.takes(reader, role)))
                        .collect(),
                };
                Ok(QueuePlan {
                    partitions,
                    actionable_for: Some(actionable_for),
                })
            }
            (QueueScope::Actionable, None) => Err(BackendError::Unauthenticated(
                "your queue needs to know who you are: pass --user EMAIL (or ask for --all)".into(),
            )),
        }
    }
}

/// The WHERE clause of a queue filter, for one role (or none).
pub fn queue_conditions(
    dialect: Dialect,
    filter: &QueueFilter,
    role: Option<Role>,
    actionable_for: Option<&ActionableFor>,
) -> (Vec<String>, Vec<Param>) {
    let mut conditions = vec!["status = ?".to_owned()];
    let mut values = vec![Param::Text(filter.status.as_str().to_owned())];
    if let Some(role) = role {
        conditions.push("\"current_role\" = ?".into());
        values.push(Param::Text(role.as_str().to_owned()));
    }
    // What the reader may not decide: their own requests (separation of
    // duties), workflows they decided a step of (one person, one step),
    // and those whose review they hold but at another step. An ethics step
    // is theirs when they hold its review (to write it, then decide the
    // step) or, for a compliance officer, when nobody does yet (to assign).
    if let Some(reader) = actionable_for {
        let contains = |needle| dialect.contains("deciders", needle);
        let email = reader.email.clone();
        let mine = format!("|{REVIEWER_MARK}{email}|");
        conditions.push(format!(
            "requested_by <> ? COLLATE nocase AND NOT {} \
             AND NOT ({} AND \"current_role\" <> 'ethics_reviewer')",
            contains("?"),
            contains("?"),
        ));
        values.push(Param::Text(email.clone()));
        values.push(Param::Text(format!("|{email}|")));
        values.push(Param::Text(mine.clone()));
        let mut ethics = vec!["\"current_role\" <> 'ethics_reviewer'".to_owned()];
        if reader.writes_reviews {
            ethics.push(contains("?"));
            values.push(Param::Text(mine));
        }
        if reader.assigns_reviews {
            ethics.push(format!("NOT {}", contains("?")));
            values.push(Param::Text(format!("|{REVIEWER_MARK}")));
        }
        conditions.push(format!("({})", ethics.join(" OR ")));
    }
    if let Some(risk) = filter.risk {
        conditions.push("urgency = ?".into());
        values.push(Param::Integer(urgency(risk)));
    }
    if let Some(team) = &filter.team {
        conditions.push("team = ?".into());
        values.push(Param::Text(team.clone()));
    }
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        // A workflow id finds that workflow; other text, agents and teams.
        let like = dialect.like();
        conditions.push(format!(
            "(agent_name {like} ? ESCAPE '\\' OR team {like} ? ESCAPE '\\' OR workflow_id = ?)"
        ));
        let pattern = contains_pattern(search);
        values.push(Param::Text(pattern.clone()));
        values.push(Param::Text(pattern));
        values.push(Param::Text(search.to_owned()));
    }
    (conditions, values)
}

/// The roles to read separately: each is one index range.
pub fn role_partitions(filter: &QueueFilter) -> Vec<Option<Role>> {
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
pub fn queue_sql(
    dialect: Dialect,
    query: &QueueQuery,
    role: Option<Role>,
    actionable_for: Option<&ActionableFor>,
) -> (String, Vec<Param>) {
    let (mut conditions, mut values) =
        queue_conditions(dialect, &query.filter, role, actionable_for);
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
            values.push(Param::Integer(cursor.urgency));
        } else {
            conditions.push(format!("(waiting_since, workflow_id) {comparison} (?, ?)"));
        }
        values.push(Param::Integer(cursor.waiting_since_ms));
        values.push(Param::Text(cursor.workflow_id.clone()));
    }
    let order_by = key_columns
        .split(", ")
        .map(|column| format!("{column} {order}"))
        .collect::<Vec<_>>()
        .join(", ");
    values.push(Param::Integer(i64::from(query.limit()) + 1));
    let sql = format!(
        "SELECT {QUEUE_COLUMNS} FROM workflows WHERE {} ORDER BY {order_by} LIMIT ?",
        conditions.join(" AND ")
    );
    (sql, values)
}

pub fn queue_page_for_role(
    conn: &Connection,
    query: &QueueQuery,
    role: Option<Role>,
    plan: &QueuePlan,
    reader: Option<&User>,
) -> Result<QueuePage> {
    let (sql, values) = queue_sql(conn.dialect(), query, role, plan.actionable_for.as_ref());
    let mut statement = conn.prepare_cached(&sql)?;
    let raws = statement
        .query_map(values, raw_queue_row)?
        .collect::<crate::db::Result<Vec<_>>>()?;
    let mut items = raws
        .into_iter()
        .map(|raw| {
            let deciders = raw.deciders.clone();
            let mut item = raw.parse()?;
            item.not_actionable =
                reader.and_then(|reader| NotActionable::of(&item, &deciders, reader));
            Ok(item)
        })
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

/// One page of `reader`'s queue (see `QueuePlan`).
pub fn queue(conn: &Connection, query: &QueueQuery, reader: Option<&User>) -> Result<QueuePage> {
    let plan = QueuePlan::new(&query.filter, reader)?;
    let partitions = plan.partitions.clone();
    if partitions.is_empty() {
        return Ok(QueuePage {
            items: Vec::new(),
            more_before: false,
            more_after: false,
        });
    }
    let pages = partitions
        .into_iter()
        .map(|role| queue_page_for_role(conn, query, role, &plan, reader))
        .collect::<Result<Vec<_>>>()?;
    Ok(merge_pages(
        pages,
        query.sort,
        query.direction,
        query.limit() as usize,
    ))
}

pub fn queue_plans(
    conn: &Connection,
    query: &QueueQuery,
    reader: Option<&User>,
) -> Result<Vec<String>> {
    let plan = QueuePlan::new(&query.filter, reader)?;
    plan.partitions
        .iter()
        .map(|role| {
            let (sql, values) =
                queue_sql(conn.dialect(), query, *role, plan.actionable_for.as_ref());
            explain(conn, &sql, values)
        })
        .collect()
}

/// How SQLite runs `sql` (`EXPLAIN QUERY PLAN`), a step a line.
pub fn explain(conn: &Connection, sql: &str, values: Vec<Param>) -> Result<String> {
    let mut statement = conn.prepare_cached(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let details = statement
        .query_map(values, |row| row.get::<String>(3))?
        .collect::<crate::db::Result<Vec<_>>>()?;
    Ok(details.join("\n"))
}

pub fn queue_count(conn: &Connection, filter: &QueueFilter, reader: Option<&User>) -> Result<u64> {
    let plan = QueuePlan::new(filter, reader)?;
    let mut total = 0u64;
    for role in plan.partitions {
        let (conditions, values) =
            queue_conditions(conn.dialect(), filter, role, plan.actionable_for.as_ref());
        let sql = format!(
            "SELECT COUNT(*) FROM workflows WHERE {}",
            conditions.join(" AND ")
        );
        let count: i64 = conn
            .prepare_cached(&sql)?
            .query_row(values, |row| row.get(0))?;
        total += count.max(0) as u64;
    }
    Ok(total)
}
