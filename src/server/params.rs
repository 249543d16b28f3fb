//! The query and path parameters of each route, as the OpenAPI document
//! states them: their types, enums and patterns, so a client (or a fuzzer)
//! that follows the document is never answered "malformed".
//!
//! The handlers parse the raw query themselves (`extract::param`), for
//! messages that name the parameter and what is wrong with it; these types
//! only describe. `tests/openapi_schemathesis.rs` keeps the two in step: it
//! sends schema-valid requests of every operation and fails on any 400.

// Never constructed: they exist for their derived `IntoParams`.
#![allow(dead_code)]

use utoipa::IntoParams;

use crate::domain::policy::evaluation::DeploymentStatus;
use crate::domain::{ReviewStatus, RiskTier, Role, WorkflowStatus};

/// The filter of a queue page and of its count.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueFilterParams {
    /// `actionable` (default): what the caller may decide now; `all`: every
    /// matching workflow, each saying why it is not the caller's to decide.
    #[param(pattern = "^(actionable|all)$")]
    scope: Option<String>,
    /// Comma-separated roles whose steps to list.
    #[param(pattern = "^[a-z][a-z0-9_]{0,62}(,[a-z][a-z0-9_]{0,62})*$")]
    roles: Option<String>,
    /// Default `in_progress`.
    status: Option<WorkflowStatus>,
    risk: Option<RiskTier>,
    team: Option<String>,
    /// Text in the agent's name, id or team.
    search: Option<String>,
}

/// The order and position of a queue page.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueuePageParams {
    /// `age` (default, oldest first) or `risk`.
    #[param(pattern = "^(age|risk)$")]
    sort: Option<String>,
    /// `forward` (default) or `backward` from the cursor.
    #[param(pattern = "^(forward|backward)$")]
    direction: Option<String>,
    /// A page's `next_cursor` or `prev_cursor`, as given.
    cursor: Option<String>,
    /// Items per page (at most 500).
    #[param(maximum = 4_294_967_295_u64)]
    limit: Option<u32>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewParams {
    status: Option<ReviewStatus>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgentSearchParams {
    /// Text in the agent's name, id or team (none: every agent).
    search: Option<String>,
    /// Agents at most (at most 1000).
    #[param(maximum = 4_294_967_295_u64)]
    limit: Option<u32>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StandingParams {
    /// An expiry this many hours ahead counts as due (default 720: 30 days).
    within_hours: Option<u32>,
    /// Only these kinds, comma-separated: failing, expired, missing,
    /// uncovered, due, passing, not_required.
    #[param(
        pattern = "^(failing|expired|missing|uncovered|due|passing|not_required)(,(failing|expired|missing|uncovered|due|passing|not_required))*$"
    )]
    attention: Option<String>,
    /// Text in the agent's name, id or team (case-insensitive).
    #[param(max_length = 200)]
    search: Option<String>,
    /// The previous page's `next`, as given.
    after: Option<String>,
    /// Standings per page (at most 500; default 100).
    #[param(maximum = 4_294_967_295_u64)]
    limit: Option<u32>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditRunParams {
    /// Only this agent's runs.
    agent_id: Option<String>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseParams {
    /// Only cases of this category of the run's attribute.
    group: Option<String>,
    outcome: Option<crate::backend::CaseOutcomeKind>,
    /// Cases of these categories: a JSON object of attribute to category
    /// (`{"sex":"Female","race_ethnicity":"Asian"}`); a case without an
    /// attribute is of the category `unknown` in it.
    categories: Option<String>,
    /// The last case id of the previous page (its `next`).
    after: Option<String>,
    /// Cases per page (at most 5000).
    #[param(maximum = 4_294_967_295_u64)]
    limit: Option<u32>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserParams {
    /// Only the people holding this role.
    role: Option<Role>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeploymentParams {
    status: Option<DeploymentStatus>,
    /// A page's `next_cursor`, as given.
    cursor: Option<String>,
    /// Deployments per page (at most 500).
    #[param(maximum = 4_294_967_295_u64)]
    limit: Option<u32>,
    /// Only this agent's requests.
    agent: Option<String>,
    /// Only this team's (with `status=blocked`).
    team: Option<String>,
    /// Only those this policy blocks (with `status=blocked`).
    policy: Option<String>,
    /// Agents whose name, id or team contains this (with `status=blocked`;
    /// at most 200 characters).
    search: Option<String>,
    /// `newest` (the default), `oldest`, `team` or `policy` (the last two
    /// with `status=blocked`).
    #[param(pattern = "^(newest|oldest|team|policy)$")]
    sort: Option<String>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeParams {
    /// The last change already held (0: from the start).
    #[param(minimum = 0)]
    since: Option<i64>,
    /// Changes per page (at most 5000).
    #[param(maximum = 4_294_967_295_u64)]
    limit: Option<u32>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SnapshotTableParams {
    #[param(pattern = "^(agents|workflows|reviews|deployments|audits)$")]
    table: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SnapshotPageParams {
    /// The last key of the previous page (none: from the start).
    after: Option<String>,
    /// Rows per page (at most 5000).
    #[param(maximum = 4_294_967_295_u64)]
    limit: Option<u32>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionParams {
    /// The event's 0-based index in the log.
    index: u64,
    /// The size of the tree the proof is for (at most the log's size).
    size: u64,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyParams {
    /// The smaller tree's size.
    old: u64,
    /// The larger tree's size (at most the log's size).
    new: u64,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DelegationParams {
    /// Include delegations that have ended.
    ended: Option<bool>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvidenceParams {
    /// Only this agent version's requests and audits.
    version: Option<String>,
    /// From this time on (RFC 3339).
    from: Option<chrono::DateTime<chrono::Utc>>,
    /// Before this time (RFC 3339).
    to: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// The first day (YYYY-MM-DD); the report starts on its week's Monday.
    #[allow(dead_code)]
    from: chrono::NaiveDate,
    /// The last day (YYYY-MM-DD); the report ends on its week's Sunday.
    #[allow(dead_code)]
    to: chrono::NaiveDate,
    /// Only this team's figures.
    #[allow(dead_code)]
    team: Option<String>,
}
