//! Plain data the backend trait passes around.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    Category, DeploymentRequest, DeploymentStatus, ReviewStatus, RiskTier, Role, Verdict,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    /// The teams the user belongs to; with a role, they may request
    /// deployments of their teams' agents.
    #[serde(default)]
    pub teams: Vec<String>,
    /// Who the identity provider says this is, when they signed in with
    /// it (with a Gavel token, nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// A service account (a CI gate, say): acts with a Gavel token only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub service: bool,
    /// Their latest sign-in with the identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sign_in: Option<DateTime<Utc>>,
}

/// A person as the identity provider asserted them: `issuer` and `subject`
/// name them (an email alone never does: providers let it change and some
/// let people set it); `email` is what the provider said at that sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl User {
    pub fn holds(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is(&self, email: &str) -> bool {
        self.email.eq_ignore_ascii_case(email)
    }

    pub fn in_team(&self, team: &str) -> bool {
        self.teams
            .iter()
            .any(|mine| mine.eq_ignore_ascii_case(team))
    }
}

/// An external tool's approval record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolRecord {
    pub name: String,
    pub status: ToolStatus,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
    pub comment: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    Approved,
    Rejected,
}

impl ToolStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolStatus::Approved => "approved",
            ToolStatus::Rejected => "rejected",
        }
    }
}

impl std::str::FromStr for ToolStatus {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "approved" => Ok(ToolStatus::Approved),
            "rejected" => Ok(ToolStatus::Rejected),
            other => Err(format!("unknown tool status {other:?}")),
        }
    }
}

/// A decision on a workflow's current step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub workflow_id: String,
    pub step_id: u32,
    pub verdict: Verdict,
    pub comment: Option<String>,
    /// The workflow version the decision was made on.
    pub expected_version: i64,
    /// The same key on every retry of one decision.
    pub idempotency_key: String,
    /// When the person decided, if that was before it reached the server (a
    /// decision made offline). Absent: when the server receives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_at: Option<DateTime<Utc>>,
    /// Whom the decider decides for, under a delegation that person gave
    /// them (the store checks it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
}

impl Decision {
    /// A fresh idempotency key.
    pub fn new_key() -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewSummary {
    pub review_id: String,
    pub workflow_id: String,
    pub agent_id: String,
    pub agent_name: String,
    pub status: ReviewStatus,
    pub assigned_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentSummary {
    pub agent_id: String,
    pub name: String,
    pub team: String,
    pub category: Category,
    pub risk_tier: RiskTier,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeploymentQuery {
    pub status: Option<DeploymentStatus>,
    /// Continue after this cursor (from a previous page's `next`).
    pub cursor: Option<String>,
    pub limit: u32,
    /// Only one agent's requests.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Only one team's (blocked deployments only).
    #[serde(default)]
    pub team: Option<String>,
    /// Only those a policy blocks (blocked deployments only).
    #[serde(default)]
    pub policy: Option<String>,
    /// Agents whose name, id or team contains this (blocked deployments
    /// only; at most 200 characters).
    #[serde(default)]
    pub search: Option<String>,
    #[serde(default)]
    pub sort: DeploymentSort,
}

/// How a list of deployments is ordered. Sorting by team or policy is
/// offered for blocked deployments, the bounded set leadership drills into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentSort {
    #[default]
    Newest,
    /// Longest-waiting first.
    Oldest,
    /// By team, then oldest first.
    Team,
    /// By the first policy blocking it, then oldest first.
    Policy,
}

impl DeploymentSort {
    pub const ALL: [DeploymentSort; 4] = [
        DeploymentSort::Oldest,
        DeploymentSort::Team,
        DeploymentSort::Policy,
        DeploymentSort::Newest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentSort::Newest => "newest",
            DeploymentSort::Oldest => "oldest",
            DeploymentSort::Team => "team",
            DeploymentSort::Policy => "policy",
        }
    }

    /// How the order reads in a header.
    pub fn words(self) -> &'static str {
        match self {
            DeploymentSort::Newest => "newest first",
            DeploymentSort::Oldest => "longest blocked first",
            DeploymentSort::Team => "by team",
            DeploymentSort::Policy => "by policy",
        }
    }
}

impl std::str::FromStr for DeploymentSort {
    type Err = String;
    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        DeploymentSort::ALL
            .into_iter()
            .find(|sort| sort.as_str() == text)
            .ok_or_else(|| format!("unknown sort {text:?} (newest, oldest, team or policy)"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeploymentPage {
    pub items: Vec<DeploymentRequest>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NamedCount {
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WeekCount {
    /// The Monday the week starts on.
    pub week_start: NaiveDate,
    pub blocked: u64,
}

/// The blocked-deployments dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub generated_at: DateTime<Utc>,
    pub blocked_now: u64,
    pub blocked_this_week: u64,
    pub blocked_last_week: u64,
    /// Median age of the deployments blocked now, in hours.
    pub median_hours_blocked: Option<f64>,
    pub pending_approvals: u64,
    /// Approved share of decided workflows (approved / (approved + rejected)).
    pub approval_rate: Option<f64>,
    pub blocked_by_policy: Vec<NamedCount>,
    pub blocked_by_team: Vec<NamedCount>,
    /// Deployments blocked at request, per week, oldest first (13 weeks).
    pub weekly_blocked: Vec<WeekCount>,
    /// Requests and outcomes per week, oldest first (the same 13 weeks).
    #[serde(default)]
    pub weekly: Vec<crate::domain::report::Week>,
    /// Agents whose required bias audit needs (re-)running.
    #[serde(default)]
    pub audits: AuditsDue,
    /// Waiting steps past the due time their policy's SLA gives, by team.
    #[serde(default)]
    pub overdue_by_team: Vec<NamedCount>,
    /// How long steps decided in the trend's weeks waited for their
    /// decision: every role first, then each role that decided any.
    #[serde(default)]
    pub decision_times: Vec<DecisionTimes>,
    /// Per framework the active set adopts: how many agents it applies to
    /// and how many have a duty in effect and unmet, at `generated_at`.
    #[serde(default)]
    pub obligations: Vec<FrameworkCoverage>,
    /// The coverage is being judged again after a policy set was approved
    /// (`obligations` is empty until it is done).
    #[serde(default)]
    pub obligations_counting: bool,
    /// Exceptions in force at `generated_at`, and of those how many end
    /// within 14 days.
    #[serde(default)]
    pub exceptions_active: u64,
    #[serde(default)]
    pub exceptions_expiring: u64,
    /// Agents whose approval is due for recertification now, and those
    /// due within 30 days.
    #[serde(default)]
    pub recertifications_due: u64,
    #[serde(default)]
    pub recertifications_due_soon: u64,
    /// Incidents not closed, those owing a report past its deadline, and
    /// the agent versions incidents hold suspended.
    #[serde(default)]
    pub incidents_open: u64,
    #[serde(default)]
    pub incidents_overdue: u64,
    #[serde(default)]
    pub suspended_versions: u64,
}

/// An agent whose record's approval is due for recertification by a
/// date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecertificationDue {
    /// The agent as its record stands.
    pub agent: crate::domain::Agent,
    /// Since when the record stands (allowed, or its last approval).
    pub since: DateTime<Utc>,
    /// When it is (or was) due.
    pub due: DateTime<Utc>,
}

/// Approvals due, most overdue first (at most 500), and how many there are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecertificationPage {
    pub due: Vec<RecertificationDue>,
    pub total: u64,
}

/// How far agents meet one framework's duties, from the kept coverage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FrameworkCoverage {
    pub framework: String,
    pub name: String,
    /// Agents with a duty of it that applies (in effect or not yet).
    pub agents: u64,
    /// Of those, agents with a duty in effect and not met.
    pub unmet: u64,
}

/// How long decided steps waited, read from the kept histogram (each
/// percentile is the end of its bucket: within an eighth of the exact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DecisionTimes {
    /// None: every role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<crate::domain::Role>,
    pub decided: u64,
    pub p50_hours: Option<f64>,
    pub p90_hours: Option<f64>,
}

/// Agents by what their required bias audit needs, as `gavel audit due`
/// lists them (an expiry within 30 days counts as due).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditsDue {
    pub failing: u64,
    pub expired: u64,
    pub missing: u64,
    /// Lacking a table for an attribute (or intersection) a policy names.
    pub uncovered: u64,
    pub due_soon: u64,
}

impl AuditsDue {
    pub fn total(&self) -> u64 {
        self.failing + self.expired + self.missing + self.uncovered + self.due_soon
    }
}

/// Where a policy set version is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicySetState {
    /// Waiting for a second policy admin.
    Proposed,
    /// The one version deployments are evaluated under.
    Active,
    /// Active once, replaced by a later version.
    Superseded,
    Rejected,
}

impl PolicySetState {
    pub const ALL: [PolicySetState; 4] = [
        PolicySetState::Proposed,
        PolicySetState::Active,
        PolicySetState::Superseded,
        PolicySetState::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PolicySetState::Proposed => "proposed",
            PolicySetState::Active => "active",
            PolicySetState::Superseded => "superseded",
            PolicySetState::Rejected => "rejected",
        }
    }
}

crate::domain::name::display_as_str!(PolicySetState);

/// One version of the organisation's policy set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicySetVersion {
    pub version: i64,
    pub state: PolicySetState,
    pub description: String,
    /// SHA-256 of the TOML, hex.
    pub source_sha256: String,
    /// The version active when this one was proposed (its plan is against it).
    pub based_on: Option<i64>,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub comment: Option<String>,
}

impl PolicySetVersion {
    /// When it was decided, and "approved by X: "comment"" (or rejected),
    /// safe to print; `None` while it waits.
    pub fn decision(&self) -> Option<(DateTime<Utc>, String)> {
        let (by, at) = (self.decided_by.as_deref()?, self.decided_at?);
        let verb = match self.state {
            PolicySetState::Rejected => "rejected",
            _ => "approved",
        };
        let comment = self
            .comment
            .as_deref()
            .map(|comment| format!(": \"{}\"", crate::text::sanitize(comment)))
            .unwrap_or_default();
        Some((
            at,
            format!("{verb} by {}{comment}", crate::text::sanitize(by)),
        ))
    }
}

/// A version with its text and the plan recorded when it was proposed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicySetDetail {
    #[serde(flatten)]
    pub version: PolicySetVersion,
    /// The TOML, byte for byte as proposed.
    pub source: String,
    /// `{ "diff": ..., "impact": ... }` against `based_on` (empty for the
    /// first version).
    #[schema(value_type = Object)]
    pub plan: serde_json::Value,
}

/// How a case's answer was read.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CaseOutcomeKind {
    Positive,
    Negative,
    /// No rule read the answer (or it could not be read): counted and
    /// reported, never taken as negative.
    Unknown,
}

impl CaseOutcomeKind {
    pub const ALL: [CaseOutcomeKind; 3] = [
        CaseOutcomeKind::Positive,
        CaseOutcomeKind::Negative,
        CaseOutcomeKind::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseOutcomeKind::Positive => "positive",
            CaseOutcomeKind::Negative => "negative",
            CaseOutcomeKind::Unknown => "unknown",
        }
    }
}

crate::domain::name::display_as_str!(CaseOutcomeKind);

/// How the agent under audit is spoken to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum AgentProtocol {
    /// `POST {endpoint}/chat/completions`, as OpenAI clients do.
    OpenaiChat {
        model: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system_prompt: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        temperature: Option<f64>,
        /// The user message for cases given as fields (`{{name}}` is the
        /// case's field `name`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt_template: Option<String>,
    },
    /// `POST {endpoint}` with the body template (`{{prompt}}` and
    /// `{{field}}` replaced in its strings); the answer is the value at
    /// `answer_pointer` (RFC 6901) in the JSON response.
    JsonHttp {
        #[schema(value_type = Object)]
        body_template: serde_json::Value,
        answer_pointer: String,
    },
}

/// Everything a run was made with, kept with it so `--resume` needs nothing
/// else. No secret: the API key is named by its environment variable.
/// (Unknown fields cannot be refused here: serde cannot with a flattened
/// protocol.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunSettings {
    #[serde(flatten)]
    pub agent: AgentProtocol,
    /// Scheme, host, port and path: never credentials or a query.
    pub endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// The case file as given (its SHA-256 is the run's `cases_sha256`).
    pub case_file: String,
    /// The protected attribute the audit groups by (the first of
    /// `attributes` for an audit of several).
    pub attribute: String,
    /// For an audit of several attributes: all of them, each with its
    /// table, and their intersection's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
    /// The classifier file's text.
    pub classifier: String,
    #[serde(deserialize_with = "crate::domain::bias::whole")]
    pub concurrency: u32,
    #[serde(deserialize_with = "crate::domain::bias::whole")]
    pub timeout_ms: u64,
    #[serde(deserialize_with = "crate::domain::bias::whole")]
    pub max_attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<f64>,
    /// Scoring: each answer's score (the classifier reads a number) is
    /// compared with the median of every score of the run, as the DCWP
    /// scoring rate asks; selection (the default): the classifier's outcome.
    #[serde(
        default,
        skip_serializing_if = "crate::domain::bias::RateMode::is_selection"
    )]
    pub mode: crate::domain::bias::RateMode,
}

/// What starting a run records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditRunStart {
    pub agent_id: String,
    pub agent_version: String,
    pub settings: RunSettings,
    pub cases_sha256: String,
    #[serde(deserialize_with = "crate::domain::bias::whole")]
    pub case_count: u64,
}

/// Outcomes so far, over every case of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunCounts {
    pub done: u64,
    pub positive: u64,
    pub negative: u64,
    pub unknown: u64,
    /// Counterfactual pairs with a known outcome on both sides, and those
    /// whose outcome flips within the pair.
    pub pairs: u64,
    pub flipped_pairs: u64,
}

/// A run of the agent over a case file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRun {
    pub run_id: String,
    pub agent_id: String,
    pub agent_version: String,
    pub settings: RunSettings,
    pub cases_sha256: String,
    /// SHA-256 of the classifier text.
    pub classifier_sha256: String,
    pub case_count: u64,
    /// Who ran it: the signed-in user, never a field of the request.
    pub started_by: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The audit it became.
    pub audit_id: Option<String>,
    /// SHA-256 over every case's id, outcome and answer hash, in id order,
    /// fixed when the run finished.
    pub evidence_sha256: Option<String>,
    pub counts: RunCounts,
}

/// One case's evidence: what was asked, what came back, how it was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseOutcome {
    pub case_id: String,
    pub attributes: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair_id: Option<String>,
    /// The prompt, or the fields as JSON.
    pub input: String,
    /// The answer's text, cut at `RESPONSE_KEPT_CHARS` characters.
    pub response: String,
    /// SHA-256 of the whole answer text.
    pub response_sha256: String,
    #[serde(deserialize_with = "crate::domain::bias::whole")]
    pub response_bytes: u64,
    pub outcome: CaseOutcomeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Why the classifier decided so.
    pub reason: String,
    #[serde(deserialize_with = "crate::domain::bias::whole")]
    pub latency_ms: u64,
    /// Stamped by the store; ignored when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<DateTime<Utc>>,
}

/// The category of an attribute a case does not carry (in an audit of
/// several attributes it counts as unknown in that attribute's table).
pub const UNKNOWN_CATEGORY: &str = "unknown";

/// Whether a case's attributes (or a filter by them) stay within what a
/// case may carry: at most 16, names up to 64 bytes, categories up to 200.
pub fn case_attributes_fit(attributes: &std::collections::BTreeMap<String, String>) -> bool {
    attributes.len() <= 16
        && attributes
            .iter()
            .all(|(name, value)| name.len() <= 64 && value.len() <= 200)
}

/// What `case_attributes_fit` allows, in words.
pub const CASE_ATTRIBUTE_LIMITS: &str =
    "at most 16 attributes, names up to 64 bytes, categories up to 200";

/// Answers kept per case, in characters.
pub const RESPONSE_KEPT_CHARS: usize = 2_000;
/// Outcomes per request.
pub const MAX_OUTCOME_BATCH: usize = 1_000;

/// What recording a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordedOutcomes {
    /// New outcomes (a case already recorded is not counted twice).
    pub recorded: u64,
    /// Cases with an outcome now.
    pub done: u64,
}

/// Which cases of a run to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseQuery {
    /// The category of the run's attribute.
    pub group: Option<String>,
    /// Cases holding each of these categories (attribute, category): a
    /// category of an audit's table, an intersection's included. A case
    /// without one of the attributes is of the category `unknown` in it.
    #[serde(default)]
    pub categories: Vec<(String, String)>,
    pub outcome: Option<CaseOutcomeKind>,
    /// The last case id of the previous page.
    pub after: Option<String>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CasePage {
    pub cases: Vec<CaseOutcome>,
    /// Pass as `after` for the next page.
    pub next: Option<String>,
}

/// One thing in a person's inbox: an item that entered their queue, a
/// review assigned to them, a decision on their request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InboxItem {
    pub event_id: i64,
    #[serde(rename = "type")]
    pub kind: crate::backend::EventKind,
    pub at: DateTime<Utc>,
    pub summary: String,
    /// The workflow it is about, to open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    pub read: bool,
    /// The policy set version a proposal is about, to open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_set_version: Option<i64>,
    /// The exception it is about, to open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception_id: Option<String>,
    /// The incident it is about, to open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    /// The action it asked for was taken since, by anyone: what became of
    /// it ("done: step 1 was decided; now at step 2").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled: Option<String>,
}

/// A deployment with everything a reviewer weighs beside one workflow of
/// it: its other workflows and where each stands, and what it changes
/// against the version running now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeploymentView {
    pub deployment: crate::domain::DeploymentRequest,
    /// Every workflow the request opened, in order.
    pub workflows: Vec<crate::domain::Workflow>,
    /// The request whose version runs now (allowed or approved before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<crate::domain::DeploymentRequest>,
    /// Field by field, the running version against the one requested
    /// (empty when nothing runs yet, or nothing changed).
    pub changes: Vec<crate::domain::manifest::FieldChange>,
}

/// Which part of an agent's record a pack holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EvidenceQuery {
    pub agent_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
}

/// The result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct VerifyReport {
    pub events: u64,
    pub head: String,
    pub broken: Option<crate::domain::trail::ChainBreak>,
    /// The stored workflows, deployments, reviews and policy set versions
    /// replayed from their events (only when the chain holds).
    #[serde(default)]
    pub replay: Option<ReplayReport>,
    /// The Merkle log's root over every event, recomputed from the events
    /// (what a signed checkpoint of this size must name).
    #[serde(default)]
    pub log_root: Option<String>,
    /// Kept figures that differ from a recount (each names what it kept and
    /// what the recount gives); empty when every figure holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub figures_differ: Vec<String>,
}

/// What replay found.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct ReplayReport {
    pub workflows: u64,
    pub deployments: u64,
    pub reviews: u64,
    /// Bias audits (who recorded each, of what, from which source).
    #[serde(default)]
    pub audits: u64,
    /// Policy set versions (state, proposer, decider, and their text's hash).
    #[serde(default)]
    pub policy_sets: u64,
    /// Intakes (status, answers, who filled them) and confirmations (each
    /// whole, and who made it).
    #[serde(default)]
    pub intakes: u64,
    #[serde(default)]
    pub confirmations: u64,
    /// Exceptions (each step's decider by the rules that took it, and the
    /// whole record).
    #[serde(default)]
    pub exceptions: u64,
    /// Incidents (each step by the rules that took it: triage, report,
    /// suspension, each lifting step, closure; and the whole record).
    #[serde(default)]
    pub incidents: u64,
    /// Workflows whose opening event did not name the chain (from before
    /// events carried it): their status and version are checked, not their
    /// steps.
    pub workflows_without_steps: u64,
    /// The first entity whose stored state differs from its events.
    pub mismatch: Option<Mismatch>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Mismatch {
    pub entity_type: String,
    pub entity_id: String,
    pub reason: String,
}
