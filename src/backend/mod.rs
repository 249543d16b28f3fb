//! The governance backend: one async trait, several stores behind it.
//!
//! Layer 3, the contract (docs/architecture.md): the trait, its error and the
//! records (`types`, `queue`, `wire`, `events`) import only the rules and the
//! ground. The parts beside them (`local`, `http`, `cache`, `sync`, `witness`)
//! are layer 4 and may import the contract.
//!
//! Nothing here knows about terminals. The TUI, the CLI and the server all
//! talk to a `dyn GovernanceBackend`.

pub mod cache;
pub mod events;
pub mod http;
pub mod local;
pub mod queue;
mod standings;
pub mod sync;
mod types;
pub mod wire;
pub mod witness;

use async_trait::async_trait;
use thiserror::Error;

use crate::domain::bias::AuditSubmission;
use crate::domain::decision::DecisionError;
use crate::domain::delegation::{Delegation, NewDelegation};
use crate::domain::review::ValidationIssue;
use crate::domain::{
    Agent, Answers, BiasAudit, DeploymentRequest, EthicsReview, Evaluation, Manifest, Policy,
    ReviewStatus, ReviewTemplate, Role, TrailEvent, Workflow,
};

pub use events::{Event, EventKind};
pub use queue::{
    Direction, NotActionable, QueueCursor, QueueFilter, QueueItem, QueuePage, QueueQuery,
    QueueScope, QueueSort,
};
pub use standings::{StandingCursor, StandingPage, StandingQuery};
pub use types::{
    AgentProtocol, AgentSummary, AuditRun, AuditRunStart, AuditsDue, CASE_ATTRIBUTE_LIMITS,
    CaseOutcome, CaseOutcomeKind, CasePage, CaseQuery, Dashboard, Decision, DecisionTimes,
    DeploymentPage, DeploymentQuery, DeploymentSort, DeploymentView, EvidenceQuery,
    FrameworkCoverage, Identity, InboxItem, MAX_OUTCOME_BATCH, Mismatch, NamedCount,
    PolicySetDetail, PolicySetState, PolicySetVersion, RESPONSE_KEPT_CHARS, RecertificationDue,
    RecertificationPage, RecordedOutcomes, ReplayReport, ReviewSummary, RunCounts, RunSettings,
    ToolRecord, ToolStatus, UNKNOWN_CATEGORY, User, VerifyReport, WeekCount, case_attributes_fit,
};

pub type Result<T, E = BackendError> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum BackendError {
    #[error("{entity} {id:?} not found")]
    NotFound { entity: &'static str, id: String },
    /// A domain rule refused a decision; the rule says which.
    #[error("{0}")]
    Refused(#[from] DecisionError),
    /// A review could not be saved or submitted as given.
    #[error("the review has problems: {}", .0.iter().map(|issue| format!("{}: {}", issue.question_id, issue.message)).collect::<Vec<_>>().join("; "))]
    InvalidReview(Vec<ValidationIssue>),
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// The same decision (idempotency key) is still being processed: try
    /// again later with the same key.
    #[error("still in flight: {0}")]
    InFlight(String),
    #[error("idempotency key {0:?} was already used for a different request")]
    IdempotencyMismatch(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("storage error: {0}")]
    Storage(String),
    #[error("backend unavailable: {0}")]
    Unavailable(String),
}

impl BackendError {
    pub fn not_found(entity: &'static str, id: impl Into<String>) -> BackendError {
        BackendError::NotFound {
            entity,
            id: id.into(),
        }
    }
}

/// Runs blocking work (SQLite, files) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| BackendError::Storage(format!("store task failed: {err}")))?
}

/// Everything the console, the CLI and the server ask of a store.
#[async_trait]
pub trait GovernanceBackend: Send + Sync {
    /// Where the data lives, for the status line ("local /path", a URL).
    fn location(&self) -> String;

    /// The acting user and their roles.
    async fn me(&self) -> Result<User>;

    /// A mark that moves whenever what this backend reads changes under
    /// its caller (another person's decision, a sync), so open screens can
    /// reload without a key; `None` when the backend cannot tell cheaply
    /// (a server's offline cache says so through its sync loop instead).
    async fn change_mark(&self) -> Result<Option<u64>> {
        Ok(None)
    }

    /// One page of the approvals queue.
    async fn queue(&self, query: &QueueQuery) -> Result<QueuePage>;
    /// How many items match a queue filter.
    async fn queue_count(&self, filter: &QueueFilter) -> Result<u64>;

    async fn workflow(&self, workflow_id: &str) -> Result<Workflow>;
    /// Decides the current step; replays with the same idempotency key return
    /// the first answer.
    async fn decide(&self, decision: &Decision) -> Result<Workflow>;

    /// The acting user's reviews, newest assignment first.
    async fn my_reviews(&self, status: Option<ReviewStatus>) -> Result<Vec<ReviewSummary>>;
    async fn review(&self, review_id: &str) -> Result<EthicsReview>;
    async fn review_for_workflow(&self, workflow_id: &str) -> Result<Option<EthicsReview>>;
    async fn assign_review(&self, workflow_id: &str, reviewer: &str) -> Result<EthicsReview>;
    /// Saves answers as a draft (only what could never be submitted is refused).
    async fn save_review_draft(
        &self,
        review_id: &str,
        answers: &Answers,
        form_state: Option<&serde_json::Value>,
    ) -> Result<EthicsReview>;
    /// Submits a review; it is immutable afterwards.
    async fn submit_review(&self, review_id: &str, answers: &Answers) -> Result<EthicsReview>;
    async fn review_template(&self, template_id: &str) -> Result<ReviewTemplate>;

    async fn agent(&self, agent_id: &str) -> Result<Agent>;
    /// Agents whose name, id or team contains `text`, by name.
    async fn search_agents(&self, text: &str, limit: u32) -> Result<Vec<AgentSummary>>;
    /// An agent's bias audits, latest first.
    async fn audits(&self, agent_id: &str) -> Result<Vec<BiasAudit>>;
    async fn record_audit(&self, submission: &AuditSubmission) -> Result<BiasAudit>;
    /// A compliance officer confirms an imported audit's auditor is
    /// independent, naming them (not the audit's recorder).
    async fn confirm_audit_independence(
        &self,
        request: &crate::domain::bias::IndependenceConfirmation,
    ) -> Result<BiasAudit>;
    /// A page of agents' standings with the audits their policies require,
    /// most urgent first; an expiry within `query.due_within` counts as due.
    async fn audit_standings(&self, query: &StandingQuery) -> Result<StandingPage>;

    /// What the policies would say, without recording anything.
    async fn check_deployment(&self, manifest: &Manifest) -> Result<Evaluation>;
    /// Records a request and opens its workflows.
    async fn request_deployment(&self, manifest: &Manifest) -> Result<DeploymentRequest>;
    async fn deployment(&self, deployment_id: &str) -> Result<DeploymentRequest>;
    async fn deployments(&self, query: &DeploymentQuery) -> Result<DeploymentPage>;
    /// A deployment with its workflows and what it changes against the
    /// version running now.
    async fn deployment_view(&self, deployment_id: &str) -> Result<DeploymentView>;
    /// An agent's evidence pack, as zip bytes (compliance officers).
    async fn evidence_pack(&self, query: &EvidenceQuery) -> Result<Vec<u8>>;
    /// The signed attestation of an agent version that stands, or the
    /// signed revocation of one that no longer does (anyone signed in).
    async fn attestation(
        &self,
        agent_id: &str,
        version: &str,
    ) -> Result<crate::domain::attestation::Attested>;
    /// The key attestations are signed with, and the log's verifier key.
    async fn attestation_key(&self) -> Result<crate::domain::attestation::dsse::KeyDocument>;
    /// The blocked-deployments figures for leadership.
    async fn dashboard(&self) -> Result<Dashboard>;
    /// The board report over a period, signed under the log's key (those
    /// the set lets read reports: compliance officers by default).
    async fn board_report(
        &self,
        query: &crate::domain::report::ReportQuery,
    ) -> Result<crate::domain::report::SignedReport>;
    /// Sends the board report to users every week, month or quarter (those
    /// who may read reports).
    async fn schedule_report(
        &self,
        asked: &crate::domain::report::NewSchedule,
    ) -> Result<crate::domain::report::Schedule>;
    async fn report_schedules(&self) -> Result<Vec<crate::domain::report::Schedule>>;
    async fn stop_report_schedule(
        &self,
        schedule_id: &str,
    ) -> Result<crate::domain::report::Schedule>;

    async fn policies(&self) -> Result<Vec<Policy>>;
    /// For each policy, how many known agents (as they are now) it triggers on.
    async fn policy_reach(&self) -> Result<Vec<NamedCount>>;
    /// The audit trail of one entity, oldest first.
    async fn trail(&self, entity_type: &str, entity_id: &str) -> Result<Vec<TrailEvent>>;
    /// Checks the hash chain of the whole audit trail.
    async fn verify_trail(&self) -> Result<VerifyReport>;

    /// The people who may act; with `role`, only those holding it (to
    /// choose an ethics reviewer, for instance).
    async fn users(&self, role: Option<Role>) -> Result<Vec<User>>;
    /// External tools with an approval decision on record.
    async fn tools(&self) -> Result<Vec<ToolRecord>>;
    /// What concerns the caller, newest first (at most `INBOX_LIMIT`).
    async fn inbox(&self) -> Result<Vec<InboxItem>>;
    /// Marks the caller's inbox items read (read stays read): how many
    /// were marked now (ids of items not theirs, or already read, count
    /// none).
    async fn mark_read(&self, event_ids: &[i64]) -> Result<u64>;
    /// The delegations the caller gave or received, not yet ended (with
    /// `ended`, those that have too).
    async fn delegations(&self, ended: bool) -> Result<Vec<Delegation>>;
    /// Lets someone already holding the role decide the caller's steps, and
    /// receive their notifications, for a time.
    async fn delegate(&self, delegation: &NewDelegation) -> Result<Delegation>;
    /// Ends one of the caller's delegations now, or all they gave (`None`).
    async fn end_delegation(&self, delegation_id: Option<&str>) -> Result<Vec<Delegation>>;
    /// Each obligation of the active set, judged for an agent version (its
    /// current one by default) at the store's clock.
    async fn obligations(
        &self,
        agent_id: &str,
        version: Option<&str>,
    ) -> Result<crate::domain::obligations::Posture>;
    /// Agents' postures (their current versions) a page at a time.
    async fn postures(
        &self,
        query: &crate::domain::obligations::PostureQuery,
    ) -> Result<crate::domain::obligations::PosturePage>;
    /// The intake of an agent version, if one was saved.
    async fn intake(
        &self,
        agent_id: &str,
        version: &str,
    ) -> Result<Option<crate::domain::obligations::Intake>>;
    /// Saves or submits an agent version's intake (its owner, a requester
    /// of it, or a compliance officer).
    async fn save_intake(
        &self,
        save: &crate::domain::obligations::IntakeSave,
    ) -> Result<crate::domain::obligations::Intake>;
    /// Approves or rejects a pending intake change (a role that decides
    /// classification changes; not the person who proposed it).
    async fn decide_intake_change(
        &self,
        decision: &crate::domain::obligations::IntakeDecision,
    ) -> Result<crate::domain::obligations::Intake>;
    /// Records that what an obligation names is in place (by a role its
    /// confirmation evidence names).
    async fn confirm_obligation(
        &self,
        request: &crate::domain::obligations::NewConfirmation,
    ) -> Result<crate::domain::obligations::Confirmation>;
    /// Exceptions matching a query at the store's clock, newest first.
    async fn exceptions(
        &self,
        query: &crate::domain::exception::ExceptionQuery,
    ) -> Result<Vec<crate::domain::exception::Exception>>;
    async fn exception(&self, exception_id: &str) -> Result<crate::domain::exception::Exception>;
    /// Asks for a time-bound exception to one policy for one agent
    /// version (any person; the active set's chain approves it).
    async fn request_exception(
        &self,
        request: &crate::domain::exception::NewException,
    ) -> Result<crate::domain::exception::Exception>;
    /// Approves or rejects an exception's next step (its role, not the
    /// person who asked, nor one who approved an earlier step).
    async fn decide_exception(
        &self,
        decision: &crate::domain::exception::ExceptionDecision,
    ) -> Result<crate::domain::exception::Exception>;
    /// Ends a pending or active exception now (the person who asked, or a
    /// compliance officer), saying why.
    async fn revoke_exception(
        &self,
        exception_id: &str,
        reason: &str,
    ) -> Result<crate::domain::exception::Exception>;
    /// Incidents matching a query at the store's clock, newest first
    /// (any signed-in person).
    async fn incidents(
        &self,
        query: &crate::domain::incident::IncidentQuery,
    ) -> Result<Vec<crate::domain::incident::Incident>>;
    async fn incident(&self, incident_id: &str) -> Result<crate::domain::incident::Incident>;
    /// Reports an incident with an agent version (any person); the set's
    /// rule for its severity may suspend the version at once.
    async fn report_incident(
        &self,
        report: &crate::domain::incident::NewIncident,
    ) -> Result<crate::domain::incident::Incident>;
    /// Triages, suspends, confirms the report of, asks to lift, signs a
    /// lifting of, or closes an incident, as the signed-in person.
    async fn change_incident(
        &self,
        change: &crate::domain::incident::IncidentChange,
    ) -> Result<crate::domain::incident::Incident>;
    /// Agents whose approval is due for recertification within
    /// `within_days` (0: due now), most overdue first.
    async fn recertifications_due(&self, within_days: u32) -> Result<RecertificationPage>;
    /// Approves or rejects an external tool (data stewards and compliance
    /// officers).
    async fn decide_tool(
        &self,
        name: &str,
        status: ToolStatus,
        comment: &str,
    ) -> Result<ToolRecord>;
    /// Withdraws the request a workflow belongs to: by its requester, or by
    /// a compliance officer with a reason.
    async fn withdraw(&self, workflow_id: &str, reason: Option<&str>) -> Result<Workflow>;

    /// Every policy set version, newest first.
    async fn policy_sets(&self) -> Result<Vec<PolicySetVersion>>;
    /// One version with its text and plan; the active one when `None`.
    async fn policy_set(&self, version: Option<i64>) -> Result<PolicySetDetail>;
    /// What a set would change against the active one; records nothing.
    async fn plan_policy_set(&self, source: &str) -> Result<crate::domain::policy::plan::Plan>;
    /// Records a set as a new proposed version (policy admins).
    async fn propose_policy_set(&self, source: &str) -> Result<PolicySetDetail>;
    /// Approves (making it active) or rejects a proposed version: a policy
    /// admin who did not propose it; a rejection needs a comment.
    async fn decide_policy_set(
        &self,
        version: i64,
        approve: bool,
        comment: Option<&str>,
    ) -> Result<PolicySetDetail>;

    /// Starts a run of the agent over a case file (who may record audits);
    /// the caller is its `started_by`.
    async fn start_audit_run(&self, start: &AuditRunStart) -> Result<AuditRun>;
    async fn audit_run(&self, run_id: &str) -> Result<AuditRun>;
    /// Runs, newest first; one agent's when named.
    async fn audit_runs(&self, agent_id: Option<&str>) -> Result<Vec<AuditRun>>;
    /// Records case outcomes of a run (by the person who started it); a
    /// case already recorded keeps its first outcome.
    async fn record_case_outcomes(
        &self,
        run_id: &str,
        outcomes: &[CaseOutcome],
    ) -> Result<RecordedOutcomes>;
    /// A page of a run's cases, by case id.
    async fn audit_run_cases(&self, run_id: &str, query: &CaseQuery) -> Result<CasePage>;
    /// Once every case has an outcome: the counts per group become the
    /// audit of the agent version, through the same gate as `record_audit`.
    async fn finish_audit_run(&self, run_id: &str) -> Result<BiasAudit>;
}
