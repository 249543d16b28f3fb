//! What screens ask of the backend (`Command`) and what comes back
//! (`Message`). The worker runs commands off the UI loop; `execute` is the
//! one place a command turns into backend calls, shared by the worker and
//! the test harness.

use crate::backend::cache::syncer::Syncer;
use crate::backend::{
    AuditRun, CasePage, Decision, GovernanceBackend, NamedCount, PolicySetDetail, PolicySetVersion,
    QueueFilter, QueuePage, QueueQuery, ReviewSummary, StandingPage, StandingQuery, User,
};
use crate::domain::{Answers, BiasAudit, EthicsReview, Policy, Workflow};

/// Identifies one request, so answers to superseded requests are dropped.
pub type RequestId = u64;

/// Hands out request ids.
#[derive(Debug, Default)]
pub struct Requests(RequestId);

impl Requests {
    pub fn issue(&mut self) -> RequestId {
        self.0 += 1;
        self.0
    }
}

/// Where a loaded queue page goes in the screen's window of rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Replace the window and select this row.
    Replace(Select),
    Append,
    Prepend,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Select {
    First,
    Last,
    /// The row with this workflow id, else the row at this index.
    Keep {
        workflow_id: Option<String>,
        index: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    LoadMe,
    LoadQueue {
        request: RequestId,
        query: QueueQuery,
        placement: Placement,
    },
    CountQueue {
        request: RequestId,
        filter: QueueFilter,
    },
    /// Writes what the console remembers between runs.
    Remember {
        memory: crate::tui::memory::ConsoleMemory,
        path: std::path::PathBuf,
    },
    /// Each saved view's count, for the queue's sub-tabs.
    CountQueueViews {
        request: RequestId,
        filters: Vec<QueueFilter>,
    },
    LoadWorkflow {
        workflow_id: String,
    },
    /// Who holds a workflow's ethics review, for the decide dialog's check.
    LoadReviewOf {
        workflow_id: String,
    },
    LoadDetail {
        request: RequestId,
        workflow_id: String,
    },
    Decide {
        decision: Decision,
    },
    LoadReviews {
        request: RequestId,
    },
    OpenReview {
        request: RequestId,
        review_id: String,
    },
    SaveDraft {
        review_id: String,
        answers: Answers,
        form_state: serde_json::Value,
        seq: u64,
    },
    SubmitReview {
        review_id: String,
        answers: Answers,
    },
    /// A page of agents' standings with their required audits (`append`:
    /// the page after those shown).
    LoadStandings {
        request: RequestId,
        query: StandingQuery,
        append: bool,
    },
    LoadAudits {
        request: RequestId,
        agent_id: String,
    },
    LoadBlocked {
        request: RequestId,
        cursor: Option<String>,
        /// The drill-down: which blocked deployments, in what order.
        filter: BlockedFilter,
    },
    LoadPolicies {
        request: RequestId,
    },
    /// The audit run an audit came from.
    LoadAuditRun {
        request: RequestId,
        run_id: String,
    },
    /// A page of a run's case evidence (one group's when named).
    LoadCases {
        request: RequestId,
        run_id: String,
        query: crate::backend::CaseQuery,
    },
    /// Every version of the policy set, newest first.
    LoadPolicySets {
        request: RequestId,
    },
    /// One version with its text and recorded plan.
    LoadPolicySet {
        request: RequestId,
        version: i64,
    },
    /// Approves (making it active) or rejects a proposed version.
    DecidePolicySet {
        version: i64,
        approve: bool,
        comment: Option<String>,
    },
    /// A sync pass now, outside the loop's schedule.
    SyncNow,
    /// Gives up a change the server refused.
    DiscardChange {
        id: i64,
    },
    /// Withdraws the request a workflow belongs to.
    Withdraw {
        workflow_id: String,
        reason: Option<String>,
    },
    /// The people who may review a workflow's ethics.
    LoadReviewers {
        workflow_id: String,
    },
    AssignReview {
        workflow_id: String,
        reviewer: String,
    },
    /// The people one may delegate one's steps to.
    LoadDelegates,
    /// The teams whose name contains what was typed (any case).
    ResolveTeam {
        text: String,
    },
    /// What concerns me, newest first.
    LoadInbox,
    MarkRead {
        event_ids: Vec<i64>,
    },
    /// The delegations I gave or received, not yet ended.
    LoadDelegations,
    /// An agent's obligations posture (its current version).
    LoadObligations {
        agent_id: String,
    },
    /// An agent version's intake with the active set's questions (its
    /// current version when none is named).
    OpenIntake {
        request: RequestId,
        agent_id: String,
        version: Option<String>,
    },
    /// Saves an intake: a draft (`seq`, as drafts of reviews are counted)
    /// or, with no `seq`, the submission its `save` says.
    SaveIntake {
        save: crate::domain::obligations::IntakeSave,
        seq: Option<u64>,
    },
    Delegate {
        delegation: crate::domain::delegation::NewDelegation,
    },
    /// The exceptions overlay's reads and changes.
    Exceptions(ExceptionCommand),
    Incidents(IncidentCommand),
    EndDelegation {
        delegation_id: String,
    },
    /// Saves an agent's evidence pack to a file that does not exist yet.
    ExportEvidence {
        query: crate::backend::EvidenceQuery,
        path: std::path::PathBuf,
    },
    SaveReport {
        query: crate::domain::report::ReportQuery,
        path: std::path::PathBuf,
    },
    /// Writes the list in view, as filtered and ordered, to a file.
    ExportList {
        list: ListToExport,
        path: std::path::PathBuf,
    },
}

impl Command {
    /// Commands with the same key replace each other: only the latest runs.
    /// Decisions have none: a write is never dropped.
    pub fn collapse_key(&self) -> Option<&'static str> {
        match self {
            Command::LoadMe => Some("me"),
            Command::LoadQueue { .. } => Some("queue"),
            Command::CountQueue { .. } => Some("count"),
            Command::CountQueueViews { .. } => Some("count_views"),
            Command::Remember { .. } => Some("remember"),
            Command::LoadWorkflow { .. } => Some("preview"),
            Command::LoadReviewOf { .. } => Some("review_of"),
            Command::LoadDetail { .. } => Some("detail"),
            Command::Decide { .. } => None,
            Command::LoadReviews { .. } => Some("reviews"),
            Command::OpenReview { .. } => Some("review"),
            // Drafts replace each other: only the newest text matters.
            Command::SaveDraft { .. } => Some("draft"),
            Command::SubmitReview { .. } => None,
            Command::LoadStandings { .. } => Some("agents"),
            Command::LoadAudits { .. } => Some("audits"),
            Command::LoadBlocked { .. } => Some("blocked"),
            Command::LoadPolicies { .. } => Some("policies"),
            Command::LoadPolicySets { .. } => Some("policy_sets"),
            Command::LoadAuditRun { .. } => Some("audit_run"),
            Command::LoadCases { .. } => Some("cases"),
            Command::LoadPolicySet { .. } => Some("policy_set"),
            Command::DecidePolicySet { .. } => None,
            Command::SyncNow => Some("sync"),
            Command::DiscardChange { .. } => None,
            Command::Withdraw { .. } | Command::AssignReview { .. } => None,
            Command::LoadReviewers { .. } => Some("reviewers"),
            Command::LoadDelegates => Some("delegates"),
            Command::ResolveTeam { .. } => Some("team"),
            Command::LoadInbox => Some("inbox"),
            Command::LoadDelegations => Some("delegations"),
            Command::LoadObligations { .. } => Some("obligations"),
            Command::OpenIntake { .. } => Some("intake"),
            Command::SaveIntake { seq: Some(_), .. } => Some("intake_draft"),
            Command::SaveIntake { seq: None, .. } => None,
            Command::Delegate { .. } | Command::EndDelegation { .. } => None,
            Command::Exceptions(command) => command.coalesce_key(),
            Command::Incidents(command) => command.coalesce_key(),
            Command::MarkRead { .. } => None,
            Command::ExportEvidence { .. }
            | Command::SaveReport { .. }
            | Command::ExportList { .. } => None,
        }
    }
}

/// Answers, with errors already in words for the user.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Me(Result<User, String>),
    /// Everyone, to choose a delegate among.
    Delegates(Result<Vec<User>, String>),
    /// The teams a typed team name matches.
    TeamResolved {
        text: String,
        result: Result<Vec<String>, String>,
    },
    /// Someone else committed a change: reload what is on screen.
    StoreChanged,
    Queue {
        request: RequestId,
        placement: Placement,
        result: Result<QueuePage, String>,
    },
    Count {
        request: RequestId,
        result: Result<u64, String>,
    },
    ViewCounts {
        request: RequestId,
        counts: Vec<Result<u64, String>>,
    },
    Remembered(Result<(), String>),
    Workflow {
        workflow_id: String,
        result: Result<Workflow, String>,
    },
    ReviewOf {
        workflow_id: String,
        result: Result<Option<EthicsReview>, String>,
    },
    Detail {
        request: RequestId,
        result: Result<Box<WorkflowDetail>, String>,
    },
    Decided {
        decision: Decision,
        result: Result<Workflow, String>,
    },
    Reviews {
        request: RequestId,
        result: Result<Vec<ReviewSummary>, String>,
    },
    ReviewOpened {
        request: RequestId,
        result: Result<Box<OpenedReview>, String>,
    },
    DraftSaved {
        review_id: String,
        seq: u64,
        result: Result<EthicsReview, String>,
    },
    Submitted {
        review_id: String,
        result: Result<EthicsReview, String>,
    },
    Standings {
        request: RequestId,
        append: bool,
        result: Result<StandingPage, String>,
    },
    Audits {
        request: RequestId,
        agent_id: String,
        result: Result<Vec<BiasAudit>, String>,
    },
    Blocked {
        request: RequestId,
        append: bool,
        result: Result<Box<BlockedView>, String>,
    },
    Policies {
        request: RequestId,
        result: Result<(Vec<Policy>, Vec<NamedCount>), String>,
    },
    AuditRun {
        request: RequestId,
        result: Result<Box<AuditRun>, String>,
    },
    Cases {
        request: RequestId,
        append: bool,
        result: Result<CasePage, String>,
    },
    PolicySets {
        request: RequestId,
        result: Result<Vec<PolicySetVersion>, String>,
    },
    PolicySet {
        request: RequestId,
        result: Result<Box<ShownVersion>, String>,
    },
    PolicySetDecided {
        version: i64,
        approve: bool,
        result: Result<Box<PolicySetDetail>, String>,
    },
    /// What a sync command did, in words.
    Synced(Result<String, String>),
    Withdrawn {
        workflow_id: String,
        result: Result<Workflow, String>,
    },
    Reviewers {
        workflow_id: String,
        result: Result<Vec<User>, String>,
    },
    Assigned {
        workflow_id: String,
        result: Result<EthicsReview, String>,
    },
    Inbox(Result<Vec<crate::backend::InboxItem>, String>),
    Delegations(Result<Vec<crate::domain::delegation::Delegation>, String>),
    Obligations {
        agent_id: String,
        result: Result<crate::domain::obligations::Posture, String>,
        /// The incidents and exceptions standing for the version, in words.
        beside: Vec<String>,
    },
    IntakeOpened {
        request: RequestId,
        result: Result<Box<OpenedIntake>, String>,
    },
    /// A draft (`seq`) or a submission of an intake came back.
    IntakeSaved {
        agent_id: String,
        agent_version: String,
        seq: Option<u64>,
        result: Result<crate::domain::obligations::Intake, String>,
    },
    /// A delegation made or ended (then the list is loaded again).
    DelegationChanged(Result<String, String>),
    Exceptions(ExceptionMessage),
    Incidents(IncidentMessage),
    MarkedRead(Result<u64, String>),
    EvidenceExported {
        path: std::path::PathBuf,
        result: Result<ExportedPack, String>,
    },
    ReportSaved {
        path: std::path::PathBuf,
        result: Result<String, String>,
    },
    ListExported {
        path: std::path::PathBuf,
        result: Result<ExportedList, String>,
    },
}

mod exceptions;
mod incidents;
pub mod list_export;
pub mod obligations;
mod views;
pub use exceptions::{ExceptionCommand, ExceptionMessage};
pub use incidents::{IncidentCommand, IncidentMessage};
pub use list_export::{ExportedList, ListToExport};
pub use views::{
    BlockedFilter, BlockedView, ExportedPack, OpenedIntake, OpenedReview, ShownVersion,
    WorkflowDetail,
};
use views::{detail, export_evidence, open_intake, open_review};

/// Runs one command against a backend.
pub async fn execute(
    backend: &dyn GovernanceBackend,
    syncer: Option<&Syncer>,
    command: Command,
) -> Message {
    let words = |err: crate::backend::BackendError| err.to_string();
    match command {
        Command::LoadMe => Message::Me(backend.me().await.map_err(words)),
        Command::LoadInbox => Message::Inbox(backend.inbox().await.map_err(words)),
        Command::LoadDelegations => {
            Message::Delegations(backend.delegations(false).await.map_err(words))
        }
        Command::OpenIntake {
            request,
            agent_id,
            version,
        } => Message::IntakeOpened {
            request,
            result: open_intake(backend, &agent_id, version)
                .await
                .map(Box::new)
                .map_err(words),
        },
        Command::SaveIntake { save, seq } => {
            let result = backend.save_intake(&save).await.map_err(words);
            Message::IntakeSaved {
                agent_id: save.agent_id,
                agent_version: save.agent_version,
                seq,
                result,
            }
        }
        Command::LoadObligations { agent_id } => {
            let result = backend.obligations(&agent_id, None).await.map_err(words);
            // Beside the duties: what stands after approval (none when
            // they cannot be read, the posture is shown all the same).
            let beside = match &result {
                Ok(posture) => obligations::beside(backend, posture).await,
                Err(_) => Vec::new(),
            };
            Message::Obligations {
                result,
                agent_id,
                beside,
            }
        }
        Command::Exceptions(command) => {
            Message::Exceptions(exceptions::run(backend, command).await)
        }
        Command::Incidents(command) => Message::Incidents(incidents::run(backend, command).await),
        Command::Delegate { delegation } => Message::DelegationChanged(
            backend
                .delegate(&delegation)
                .await
                .map(|made| {
                    format!(
                        "{} decides for you until {} ({})",
                        made.delegate,
                        made.until().format("%Y-%m-%d %H:%M UTC"),
                        made.delegation_id
                    )
                })
                .map_err(words),
        ),
        Command::EndDelegation { delegation_id } => Message::DelegationChanged(
            backend
                .end_delegation(Some(&delegation_id))
                .await
                .map(|_| format!("{delegation_id} ended"))
                .map_err(words),
        ),
        Command::ExportEvidence { query, path } => Message::EvidenceExported {
            result: export_evidence(backend, &query, &path).await,
            path,
        },
        Command::SaveReport { query, path } => Message::ReportSaved {
            result: views::save_report(backend, &query, &path).await,
            path,
        },
        Command::ExportList { list, path } => Message::ListExported {
            result: list_export::export_list(backend, list, &path).await,
            path,
        },
        Command::MarkRead { event_ids } => {
            Message::MarkedRead(backend.mark_read(&event_ids).await.map_err(words))
        }
        Command::LoadQueue {
            request,
            query,
            placement,
        } => Message::Queue {
            request,
            placement,
            result: backend.queue(&query).await.map_err(words),
        },
        Command::CountQueue { request, filter } => Message::Count {
            request,
            result: backend.queue_count(&filter).await.map_err(words),
        },
        Command::Remember { memory, path } => {
            let saved = tokio::task::spawn_blocking(move || memory.save(&path))
                .await
                .map_err(|err| err.to_string())
                .and_then(|saved| saved.map_err(|err| err.to_string()));
            Message::Remembered(saved)
        }
        Command::CountQueueViews { request, filters } => {
            let mut counts = Vec::with_capacity(filters.len());
            for filter in &filters {
                counts.push(backend.queue_count(filter).await.map_err(words));
            }
            Message::ViewCounts { request, counts }
        }
        Command::LoadWorkflow { workflow_id } => {
            let result = backend.workflow(&workflow_id).await.map_err(words);
            Message::Workflow {
                workflow_id,
                result,
            }
        }
        Command::LoadReviewOf { workflow_id } => {
            let result = backend
                .review_for_workflow(&workflow_id)
                .await
                .map_err(words);
            Message::ReviewOf {
                workflow_id,
                result,
            }
        }
        Command::LoadDetail {
            request,
            workflow_id,
        } => Message::Detail {
            request,
            result: detail(backend, &workflow_id)
                .await
                .map(Box::new)
                .map_err(words),
        },
        Command::Decide { decision } => {
            let result = backend.decide(&decision).await.map_err(words);
            Message::Decided { decision, result }
        }
        Command::LoadReviews { request } => Message::Reviews {
            request,
            result: backend.my_reviews(None).await.map_err(words),
        },
        Command::OpenReview { request, review_id } => Message::ReviewOpened {
            request,
            result: open_review(backend, &review_id)
                .await
                .map(Box::new)
                .map_err(words),
        },
        Command::SaveDraft {
            review_id,
            answers,
            form_state,
            seq,
        } => {
            let result = backend
                .save_review_draft(&review_id, &answers, Some(&form_state))
                .await
                .map_err(words);
            Message::DraftSaved {
                review_id,
                seq,
                result,
            }
        }
        Command::SubmitReview { review_id, answers } => {
            let result = backend
                .submit_review(&review_id, &answers)
                .await
                .map_err(words);
            Message::Submitted { review_id, result }
        }
        Command::LoadStandings {
            request,
            query,
            append,
        } => Message::Standings {
            request,
            append,
            result: backend.audit_standings(&query).await.map_err(words),
        },
        Command::LoadAudits { request, agent_id } => {
            let result = backend.audits(&agent_id).await.map_err(words);
            Message::Audits {
                request,
                agent_id,
                result,
            }
        }
        Command::LoadBlocked {
            request,
            cursor,
            filter,
        } => {
            let append = cursor.is_some();
            let query = filter.query(cursor, 200);
            let result = async {
                let dashboard = if append {
                    None
                } else {
                    Some(backend.dashboard().await?)
                };
                let page = backend.deployments(&query).await?;
                Ok(Box::new(BlockedView { dashboard, page }))
            }
            .await
            .map_err(words);
            Message::Blocked {
                request,
                append,
                result,
            }
        }
        Command::Withdraw {
            workflow_id,
            reason,
        } => Message::Withdrawn {
            result: backend
                .withdraw(&workflow_id, reason.as_deref())
                .await
                .map_err(words),
            workflow_id,
        },
        Command::LoadDelegates => Message::Delegates(backend.users(None).await.map_err(words)),
        Command::ResolveTeam { text } => {
            let needle = text.to_lowercase();
            let result = backend
                .search_agents(&text, 500)
                .await
                .map(|agents| {
                    let mut teams: Vec<String> = agents
                        .into_iter()
                        .map(|agent| agent.team)
                        .filter(|team| team.to_lowercase().contains(&needle))
                        .collect();
                    teams.sort();
                    teams.dedup();
                    teams
                })
                .map_err(words);
            Message::TeamResolved { text, result }
        }
        Command::LoadReviewers { workflow_id } => Message::Reviewers {
            result: backend
                .users(Some(crate::domain::Role::EthicsReviewer))
                .await
                .map_err(words),
            workflow_id,
        },
        Command::AssignReview {
            workflow_id,
            reviewer,
        } => Message::Assigned {
            result: backend
                .assign_review(&workflow_id, &reviewer)
                .await
                .map_err(words),
            workflow_id,
        },
        Command::SyncNow => Message::Synced(match syncer {
            Some(syncer) => syncer
                .pass()
                .await
                .map(|report| {
                    format!(
                        "Synced: {} sent, {} received, {} conflict(s).",
                        report.pushed, report.pulled_changes, report.conflicts
                    )
                })
                .map_err(|err| {
                    // The few words the status line also says, not the
                    // whole story, so the line keeps its other parts.
                    if syncer.signed_out() {
                        syncer.signed_out_words()
                    } else {
                        words(err)
                    }
                }),
            None => Ok("Nothing to sync: this store is not a server's cache.".into()),
        }),
        Command::DiscardChange { id } => Message::Synced(match syncer {
            Some(syncer) => syncer
                .discard(id)
                .await
                .map(|()| {
                    syncer.wake();
                    "Your change was discarded; the server's state stands.".to_owned()
                })
                .map_err(words),
            None => Err("this store has no outbox".into()),
        }),
        Command::LoadPolicies { request } => {
            let result = async { Ok((backend.policies().await?, backend.policy_reach().await?)) }
                .await
                .map_err(words);
            Message::Policies { request, result }
        }
        Command::LoadAuditRun { request, run_id } => Message::AuditRun {
            request,
            result: backend
                .audit_run(&run_id)
                .await
                .map(Box::new)
                .map_err(words),
        },
        Command::LoadCases {
            request,
            run_id,
            query,
        } => Message::Cases {
            request,
            append: query.after.is_some(),
            result: backend
                .audit_run_cases(&run_id, &query)
                .await
                .map_err(words),
        },
        Command::LoadPolicySets { request } => Message::PolicySets {
            request,
            result: backend.policy_sets().await.map_err(words),
        },
        Command::LoadPolicySet { request, version } => Message::PolicySet {
            request,
            result: async {
                let detail = backend.policy_set(Some(version)).await?;
                // What it was planned against, for the text diff.
                let base_source = match detail.version.based_on {
                    Some(base) if base != version => {
                        Some(backend.policy_set(Some(base)).await?.source)
                    }
                    _ => None,
                };
                Ok(Box::new(ShownVersion {
                    detail,
                    base_source,
                }))
            }
            .await
            .map_err(words),
        },
        Command::DecidePolicySet {
            version,
            approve,
            comment,
        } => Message::PolicySetDecided {
            version,
            approve,
            result: backend
                .decide_policy_set(version, approve, comment.as_deref())
                .await
                .map(Box::new)
                .map_err(words),
        },
    }
}
