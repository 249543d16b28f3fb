//! The offline cache of a `gavel serve`: a local mirror the console reads
//! from, and an outbox of the changes made against it.
//!
//! Layer 4, a part (docs/architecture.md): may import the other parts (`local`
//! as its mirror, `http` as its server), the contract, the rules and the
//! ground.
//!
//! `CachedBackend` answers reads from the mirror, so the console opens at
//! once with the last known state and keeps working while the server is
//! away. Decisions and review edits are checked by the same domain rules
//! as on the server, applied to the mirror and queued in the outbox in one
//! transaction; the `Syncer` sends them, exactly once, when it can. Changes
//! that only the server can make (requests, audits, assignments) go to it
//! directly and say so when it is away.

mod acting;
pub mod file;
pub mod outbox;
pub mod syncer;

use crate::backend::{
    AuditRun, AuditRunStart, CaseOutcome, CasePage, CaseQuery, PolicySetDetail, PolicySetVersion,
    RecordedOutcomes, StandingPage, StandingQuery,
};
use crate::domain::exception::{Exception, ExceptionDecision, ExceptionQuery, NewException};
use crate::domain::incident::{Incident, IncidentChange, IncidentQuery, NewIncident};
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;

use self::outbox::Change;
use self::syncer::Syncer;
use super::http::HttpBackend;
use super::local::feed::ChangedEntities;
use super::local::{LocalBackend, LocalStore, mirror, reads_user, writes};
use super::queue::{QueueFilter, QueuePage, QueueQuery};
use super::types::{
    AgentSummary, Dashboard, Decision, DeploymentPage, DeploymentQuery, DeploymentView, NamedCount,
    ReviewSummary, ToolRecord, ToolStatus, User,
};
use super::{BackendError, GovernanceBackend, Result, blocking};
use crate::domain::bias::AuditSubmission;
use crate::domain::delegation::{Delegation, NewDelegation};
use crate::domain::{
    Agent, Answers, BiasAudit, DeploymentRequest, EthicsReview, Evaluation, Manifest, Policy,
    ReviewStatus, ReviewTemplate, Role, TrailEvent, Workflow,
};

pub struct CachedBackend {
    local: LocalBackend,
    remote: Arc<HttpBackend>,
    syncer: Arc<Syncer>,
    notice: Option<String>,
}

/// Says that something needs the server when it cannot be reached.
fn needs_server(what: &str, err: BackendError) -> BackendError {
    match err {
        BackendError::Unavailable(why) => BackendError::Unavailable(format!(
            "{what} needs the server, which cannot be reached now ({why})"
        )),
        other => other,
    }
}

#[async_trait]
impl GovernanceBackend for CachedBackend {
    fn location(&self) -> String {
        self.remote.location()
    }

    async fn me(&self) -> Result<User> {
        self.actor().await
    }

    async fn queue(&self, query: &QueueQuery) -> Result<QueuePage> {
        self.local.queue(query).await
    }

    async fn queue_count(&self, filter: &QueueFilter) -> Result<u64> {
        self.local.queue_count(filter).await
    }

    async fn workflow(&self, workflow_id: &str) -> Result<Workflow> {
        self.local.workflow(workflow_id).await
    }

    async fn decide(&self, decision: &Decision) -> Result<Workflow> {
        let mut queued = decision.clone();
        // The server may receive it much later: it keeps the time the
        // person decided beside its own.
        let now = Utc::now();
        queued.decision_at.get_or_insert(now);
        self.queue_change(
            move |tx, user| {
                let workflow = writes::decide(tx, user, &queued, now)?;
                let version = Some(queued.expected_version);
                Ok((workflow, Change::Decision(queued), version))
            },
            decision.idempotency_key.clone(),
        )
        .await
    }

    async fn my_reviews(&self, status: Option<ReviewStatus>) -> Result<Vec<ReviewSummary>> {
        self.local.my_reviews(status).await
    }

    async fn review(&self, review_id: &str) -> Result<EthicsReview> {
        self.local.review(review_id).await
    }

    async fn review_for_workflow(&self, workflow_id: &str) -> Result<Option<EthicsReview>> {
        self.local.review_for_workflow(workflow_id).await
    }

    async fn assign_review(&self, workflow_id: &str, reviewer: &str) -> Result<EthicsReview> {
        let review = self
            .remote
            .assign_review(workflow_id, reviewer)
            .await
            .map_err(|err| needs_server("assigning a review", err))?;
        self.keep(ChangedEntities {
            reviews: vec![review.clone()],
            ..ChangedEntities::default()
        })
        .await?;
        Ok(review)
    }

    async fn save_review_draft(
        &self,
        review_id: &str,
        answers: &Answers,
        form_state: Option<&serde_json::Value>,
    ) -> Result<EthicsReview> {
        let (id, answers, form_state) =
            (review_id.to_owned(), answers.clone(), form_state.cloned());
        self.queue_change(
            move |tx, user| {
                let before = super::local::reads_review(tx, &id)?.version;
                let review = writes::save_review(
                    tx,
                    user,
                    &id,
                    &answers,
                    form_state.as_ref(),
                    false,
                    Utc::now(),
                )?;
                let change = Change::ReviewDraft {
                    review_id: id,
                    answers,
                    form_state,
                };
                Ok((review, change, Some(before)))
            },
            Decision::new_key(),
        )
        .await
    }

    async fn submit_review(&self, review_id: &str, answers: &Answers) -> Result<EthicsReview> {
        let (id, answers) = (review_id.to_owned(), answers.clone());
        self.queue_change(
            move |tx, user| {
                let before = super::local::reads_review(tx, &id)?.version;
                let review = writes::save_review(tx, user, &id, &answers, None, true, Utc::now())?;
                let change = Change::ReviewSubmit {
                    review_id: id,
                    answers,
                };
                Ok((review, change, Some(before)))
            },
            Decision::new_key(),
        )
        .await
    }

    async fn review_template(&self, template_id: &str) -> Result<ReviewTemplate> {
        self.local.review_template(template_id).await
    }

    async fn agent(&self, agent_id: &str) -> Result<Agent> {
        self.local.agent(agent_id).await
    }

    async fn search_agents(&self, text: &str, limit: u32) -> Result<Vec<AgentSummary>> {
        self.local.search_agents(text, limit).await
    }

    async fn audits(&self, agent_id: &str) -> Result<Vec<BiasAudit>> {
        self.local.audits(agent_id).await
    }

    async fn audit_standings(&self, query: &StandingQuery) -> Result<StandingPage> {
        self.local.audit_standings(query).await
    }

    async fn record_audit(&self, submission: &AuditSubmission) -> Result<BiasAudit> {
        let audit = self
            .remote
            .record_audit(submission)
            .await
            .map_err(|err| needs_server("recording an audit", err))?;
        self.keep(ChangedEntities {
            audits: vec![audit.clone()],
            ..ChangedEntities::default()
        })
        .await?;
        Ok(audit)
    }

    async fn confirm_audit_independence(
        &self,
        request: &crate::domain::bias::IndependenceConfirmation,
    ) -> Result<BiasAudit> {
        let audit = self
            .remote
            .confirm_audit_independence(request)
            .await
            .map_err(|err| needs_server("confirming an auditor's independence", err))?;
        self.keep(ChangedEntities {
            audits: vec![audit.clone()],
            ..ChangedEntities::default()
        })
        .await?;
        Ok(audit)
    }

    async fn check_deployment(&self, manifest: &Manifest) -> Result<Evaluation> {
        // Tool approvals and earlier requests are the server's record; the
        // cached policies answer only while it is away, and say so.
        match self.remote.check_deployment(manifest).await {
            Err(BackendError::Unavailable(why)) => {
                let mut evaluation = self.local.check_deployment(manifest).await?;
                evaluation.warnings.push(format!(
                    "evaluated offline against the cached policies ({why}); tool approvals made since the last sync, exceptions and suspensions are not known"
                ));
                Ok(evaluation)
            }
            answer => answer,
        }
    }

    async fn request_deployment(&self, manifest: &Manifest) -> Result<DeploymentRequest> {
        let request = self
            .remote
            .request_deployment(manifest)
            .await
            .map_err(|err| needs_server("requesting a deployment", err))?;
        // Its workflows arrive with the next pull.
        self.syncer.wake();
        Ok(request)
    }

    async fn deployment(&self, deployment_id: &str) -> Result<DeploymentRequest> {
        self.local.deployment(deployment_id).await
    }

    async fn board_report(
        &self,
        query: &crate::domain::report::ReportQuery,
    ) -> Result<crate::domain::report::SignedReport> {
        self.remote
            .board_report(query)
            .await
            .map_err(|err| needs_server("making the board report", err))
    }

    async fn schedule_report(
        &self,
        asked: &crate::domain::report::NewSchedule,
    ) -> Result<crate::domain::report::Schedule> {
        self.remote
            .schedule_report(asked)
            .await
            .map_err(|err| needs_server("scheduling the board report", err))
    }

    async fn report_schedules(&self) -> Result<Vec<crate::domain::report::Schedule>> {
        self.remote
            .report_schedules()
            .await
            .map_err(|err| needs_server("listing report schedules", err))
    }

    async fn stop_report_schedule(
        &self,
        schedule_id: &str,
    ) -> Result<crate::domain::report::Schedule> {
        self.remote
            .stop_report_schedule(schedule_id)
            .await
            .map_err(|err| needs_server("stopping a report schedule", err))
    }

    async fn evidence_pack(&self, query: &crate::backend::EvidenceQuery) -> Result<Vec<u8>> {
        self.remote
            .evidence_pack(query)
            .await
            .map_err(|err| needs_server("exporting evidence", err))
    }

    async fn attestation(
        &self,
        agent_id: &str,
        version: &str,
    ) -> Result<crate::domain::attestation::Attested> {
        let attested = self.remote.attestation(agent_id, version).await;
        attested.map_err(|err| needs_server("an attestation", err))
    }

    async fn attestation_key(&self) -> Result<crate::domain::attestation::dsse::KeyDocument> {
        let key = self.remote.attestation_key().await;
        key.map_err(|err| needs_server("the attestation key", err))
    }

    async fn deployment_view(&self, deployment_id: &str) -> Result<DeploymentView> {
        self.local.deployment_view(deployment_id).await
    }

    async fn deployments(&self, query: &DeploymentQuery) -> Result<DeploymentPage> {
        self.local.deployments(query).await
    }

    async fn dashboard(&self) -> Result<Dashboard> {
        let mut dashboard = self.local.dashboard().await?;
        // The mirror holds no intakes or confirmations: obligation coverage
        // is the server's, or not shown while it is away.
        // Nor exceptions or incidents: their counts are the server's too.
        if let Ok(remote) = self.remote.dashboard().await {
            dashboard.obligations = remote.obligations;
            dashboard.obligations_counting = remote.obligations_counting;
            dashboard.exceptions_active = remote.exceptions_active;
            dashboard.exceptions_expiring = remote.exceptions_expiring;
            dashboard.recertifications_due = remote.recertifications_due;
            dashboard.recertifications_due_soon = remote.recertifications_due_soon;
            dashboard.incidents_open = remote.incidents_open;
            dashboard.incidents_overdue = remote.incidents_overdue;
            dashboard.suspended_versions = remote.suspended_versions;
        } else {
            dashboard.obligations = Vec::new();
            dashboard.obligations_counting = false;
        }
        Ok(dashboard)
    }

    async fn policies(&self) -> Result<Vec<Policy>> {
        self.local.policies().await
    }

    async fn policy_reach(&self) -> Result<Vec<NamedCount>> {
        self.local.policy_reach().await
    }

    async fn trail(&self, entity_type: &str, entity_id: &str) -> Result<Vec<TrailEvent>> {
        // The trail is the server's record; the cache does not copy it.
        self.remote
            .trail(entity_type, entity_id)
            .await
            .map_err(|err| needs_server("reading the audit trail", err))
    }

    async fn verify_trail(&self) -> Result<crate::backend::VerifyReport> {
        self.remote
            .verify_trail()
            .await
            .map_err(|err| needs_server("verifying the audit trail", err))
    }

    async fn users(&self, role: Option<Role>) -> Result<Vec<User>> {
        self.remote
            .users(role)
            .await
            .map_err(|err| needs_server("listing people", err))
    }

    async fn inbox(&self) -> Result<Vec<crate::backend::InboxItem>> {
        // The sync loop keeps the copy; reading it works offline.
        self.local.inbox().await
    }

    async fn mark_read(&self, event_ids: &[i64]) -> Result<u64> {
        let marked = self.local.mark_read(event_ids).await?;
        // Best now; the next sync pass carries it when the server is away.
        let _ = self.remote.mark_read(event_ids).await;
        Ok(marked)
    }

    async fn delegations(&self, ended: bool) -> Result<Vec<Delegation>> {
        match self.remote.delegations(ended).await {
            Ok(delegations) => Ok(delegations),
            // Away from the server: the copy the last sync kept.
            Err(BackendError::Unavailable(_)) => self.local.delegations(ended).await,
            Err(err) => Err(err),
        }
    }

    // The cache keeps no intakes or confirmations: obligations are the
    // server's to judge.
    async fn obligations(
        &self,
        agent_id: &str,
        version: Option<&str>,
    ) -> Result<crate::domain::obligations::Posture> {
        self.remote
            .obligations(agent_id, version)
            .await
            .map_err(|err| needs_server("reading obligations", err))
    }

    async fn postures(
        &self,
        query: &crate::domain::obligations::PostureQuery,
    ) -> Result<crate::domain::obligations::PosturePage> {
        self.remote
            .postures(query)
            .await
            .map_err(|err| needs_server("reading obligations", err))
    }

    async fn intake(
        &self,
        agent_id: &str,
        version: &str,
    ) -> Result<Option<crate::domain::obligations::Intake>> {
        self.remote
            .intake(agent_id, version)
            .await
            .map_err(|err| needs_server("reading an intake", err))
    }

    async fn save_intake(
        &self,
        save: &crate::domain::obligations::IntakeSave,
    ) -> Result<crate::domain::obligations::Intake> {
        self.remote
            .save_intake(save)
            .await
            .map_err(|err| needs_server("saving an intake", err))
    }

    async fn decide_intake_change(
        &self,
        decision: &crate::domain::obligations::IntakeDecision,
    ) -> Result<crate::domain::obligations::Intake> {
        self.remote
            .decide_intake_change(decision)
            .await
            .map_err(|err| needs_server("deciding an intake change", err))
    }

    async fn confirm_obligation(
        &self,
        request: &crate::domain::obligations::NewConfirmation,
    ) -> Result<crate::domain::obligations::Confirmation> {
        self.remote
            .confirm_obligation(request)
            .await
            .map_err(|err| needs_server("confirming an obligation", err))
    }

    async fn recertifications_due(
        &self,
        within_days: u32,
    ) -> Result<crate::backend::RecertificationPage> {
        self.remote
            .recertifications_due(within_days)
            .await
            .map_err(|err| needs_server("reading recertifications", err))
    }

    async fn exceptions(&self, query: &ExceptionQuery) -> Result<Vec<Exception>> {
        self.remote
            .exceptions(query)
            .await
            .map_err(|err| needs_server("reading exceptions", err))
    }

    async fn exception(&self, exception_id: &str) -> Result<Exception> {
        self.remote
            .exception(exception_id)
            .await
            .map_err(|err| needs_server("reading an exception", err))
    }

    async fn request_exception(&self, request: &NewException) -> Result<Exception> {
        self.remote
            .request_exception(request)
            .await
            .map_err(|err| needs_server("asking for an exception", err))
    }

    async fn decide_exception(&self, decision: &ExceptionDecision) -> Result<Exception> {
        self.remote
            .decide_exception(decision)
            .await
            .map_err(|err| needs_server("deciding an exception", err))
    }

    async fn revoke_exception(&self, exception_id: &str, reason: &str) -> Result<Exception> {
        self.remote
            .revoke_exception(exception_id, reason)
            .await
            .map_err(|err| needs_server("revoking an exception", err))
    }

    async fn incidents(&self, query: &IncidentQuery) -> Result<Vec<Incident>> {
        self.remote
            .incidents(query)
            .await
            .map_err(|err| needs_server("reading incidents", err))
    }

    async fn incident(&self, incident_id: &str) -> Result<Incident> {
        self.remote
            .incident(incident_id)
            .await
            .map_err(|err| needs_server("reading an incident", err))
    }

    async fn report_incident(&self, report: &NewIncident) -> Result<Incident> {
        self.remote
            .report_incident(report)
            .await
            .map_err(|err| needs_server("reporting an incident", err))
    }

    async fn change_incident(&self, change: &IncidentChange) -> Result<Incident> {
        self.remote
            .change_incident(change)
            .await
            .map_err(|err| needs_server(change.action.doing(), err))
    }

    async fn delegate(&self, delegation: &NewDelegation) -> Result<Delegation> {
        let made = self
            .remote
            .delegate(delegation)
            .await
            .map_err(|err| needs_server("delegating", err))?;
        self.keep_delegations().await?;
        Ok(made)
    }

    async fn end_delegation(&self, delegation_id: Option<&str>) -> Result<Vec<Delegation>> {
        let ended = self
            .remote
            .end_delegation(delegation_id)
            .await
            .map_err(|err| needs_server("ending a delegation", err))?;
        self.keep_delegations().await?;
        Ok(ended)
    }

    async fn tools(&self) -> Result<Vec<ToolRecord>> {
        self.remote
            .tools()
            .await
            .map_err(|err| needs_server("listing tool approvals", err))
    }

    async fn decide_tool(
        &self,
        name: &str,
        status: ToolStatus,
        comment: &str,
    ) -> Result<ToolRecord> {
        self.remote
            .decide_tool(name, status, comment)
            .await
            .map_err(|err| needs_server("deciding on a tool", err))
    }

    async fn policy_sets(&self) -> Result<Vec<PolicySetVersion>> {
        self.remote
            .policy_sets()
            .await
            .map_err(|err| needs_server("listing policy sets", err))
    }

    async fn policy_set(&self, version: Option<i64>) -> Result<PolicySetDetail> {
        self.remote
            .policy_set(version)
            .await
            .map_err(|err| needs_server("reading a policy set", err))
    }

    async fn plan_policy_set(&self, source: &str) -> Result<crate::domain::policy::plan::Plan> {
        self.remote
            .plan_policy_set(source)
            .await
            .map_err(|err| needs_server("planning a policy set", err))
    }

    async fn propose_policy_set(&self, source: &str) -> Result<PolicySetDetail> {
        self.remote
            .propose_policy_set(source)
            .await
            .map_err(|err| needs_server("proposing a policy set", err))
    }

    async fn decide_policy_set(
        &self,
        version: i64,
        approve: bool,
        comment: Option<&str>,
    ) -> Result<PolicySetDetail> {
        self.remote
            .decide_policy_set(version, approve, comment)
            .await
            .map_err(|err| needs_server("deciding a policy set", err))
    }

    // Audit runs live on the server: the runner posts its outcomes there and
    // a resume reads them back, so nothing of a run is kept offline.
    async fn start_audit_run(&self, start: &AuditRunStart) -> Result<AuditRun> {
        self.remote
            .start_audit_run(start)
            .await
            .map_err(|err| needs_server("starting an audit run", err))
    }

    async fn audit_run(&self, run_id: &str) -> Result<AuditRun> {
        self.remote
            .audit_run(run_id)
            .await
            .map_err(|err| needs_server("reading an audit run", err))
    }

    async fn audit_runs(&self, agent_id: Option<&str>) -> Result<Vec<AuditRun>> {
        self.remote
            .audit_runs(agent_id)
            .await
            .map_err(|err| needs_server("listing audit runs", err))
    }

    async fn record_case_outcomes(
        &self,
        run_id: &str,
        outcomes: &[CaseOutcome],
    ) -> Result<RecordedOutcomes> {
        self.remote
            .record_case_outcomes(run_id, outcomes)
            .await
            .map_err(|err| needs_server("recording case outcomes", err))
    }

    async fn audit_run_cases(&self, run_id: &str, query: &CaseQuery) -> Result<CasePage> {
        self.remote
            .audit_run_cases(run_id, query)
            .await
            .map_err(|err| needs_server("reading an audit run's cases", err))
    }

    async fn finish_audit_run(&self, run_id: &str) -> Result<BiasAudit> {
        self.remote
            .finish_audit_run(run_id)
            .await
            .map_err(|err| needs_server("finishing an audit run", err))
    }

    async fn withdraw(&self, workflow_id: &str, reason: Option<&str>) -> Result<Workflow> {
        let workflow = self
            .remote
            .withdraw(workflow_id, reason)
            .await
            .map_err(|err| needs_server("withdrawing a request", err))?;
        // The deployment and its sibling workflows arrive with the next pull.
        self.keep(ChangedEntities {
            workflows: vec![workflow.clone()],
            ..ChangedEntities::default()
        })
        .await?;
        Ok(workflow)
    }
}
