//! The contract on the embedded store: who acts, and each call, delegating to `reads` and `writes`.

use super::super::queue::{QueueFilter, QueuePage, QueueQuery};
use super::super::types::{
    AgentSummary, Dashboard, Decision, DeploymentPage, DeploymentQuery, DeploymentView,
    ReviewSummary, ToolRecord, ToolStatus, User,
};
use super::super::{BackendError, GovernanceBackend, Result};
use super::*;
use crate::backend::{
    AuditRun, AuditRunStart, CaseOutcome, CasePage, CaseQuery, PolicySetDetail, PolicySetVersion,
    RecordedOutcomes, StandingPage, StandingQuery,
};
use crate::domain::bias::AuditSubmission;
use crate::domain::delegation::{Delegation, NewDelegation};
use crate::domain::exception::{Exception, ExceptionDecision, ExceptionQuery, NewException};
use crate::domain::incident::{Incident, IncidentChange, IncidentQuery, NewIncident};
use crate::domain::{
    Agent, Answers, BiasAudit, DeploymentRequest, EthicsReview, Evaluation, Manifest, Policy,
    ReviewStatus, ReviewTemplate, Role, TrailEvent, Workflow,
};
use async_trait::async_trait;
use std::sync::Arc;

/// How long approving a policy set waits for its obligation coverage
/// before it is left to fill on its own.
const COVERAGE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The furthest ahead a recertification list looks.
const MAX_WITHIN_DAYS: u32 = 366;

#[async_trait]
impl GovernanceBackend for LocalBackend {
    async fn change_mark(&self) -> Result<Option<u64>> {
        let store = Arc::clone(&self.store);
        super::super::blocking(move || store.change_mark().map(Some)).await
    }

    fn location(&self) -> String {
        format!("local {}", self.store.location())
    }

    async fn me(&self) -> Result<User> {
        self.actor().await
    }

    async fn queue(&self, query: &QueueQuery) -> Result<QueuePage> {
        let reader = self.reader().await?;
        let query = query.clone();
        self.read(move |conn| reads::queue(conn, &query, reader.as_ref()))
            .await
    }

    async fn queue_count(&self, filter: &QueueFilter) -> Result<u64> {
        let reader = self.reader().await?;
        let filter = filter.clone();
        self.read(move |conn| reads::queue_count(conn, &filter, reader.as_ref()))
            .await
    }

    async fn workflow(&self, workflow_id: &str) -> Result<Workflow> {
        let id = workflow_id.to_owned();
        self.read(move |conn| reads::workflow(conn, &id)).await
    }

    async fn decide(&self, decision: &Decision) -> Result<Workflow> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let decision = decision.clone();
        self.write(move |tx| writes::decide(tx, &user, &decision, clock.now()))
            .await
    }

    async fn my_reviews(&self, status: Option<ReviewStatus>) -> Result<Vec<ReviewSummary>> {
        let email = self.acting_email()?;
        self.read(move |conn| reads::reviews_of(conn, &email, status))
            .await
    }

    async fn review(&self, review_id: &str) -> Result<EthicsReview> {
        let reader = self.reader().await?;
        let id = review_id.to_owned();
        self.read(move |conn| {
            Ok(reads::visible_to(
                reads::review(conn, &id)?,
                reader.as_ref(),
            ))
        })
        .await
    }

    async fn review_for_workflow(&self, workflow_id: &str) -> Result<Option<EthicsReview>> {
        let reader = self.reader().await?;
        let id = workflow_id.to_owned();
        self.read(move |conn| {
            Ok(reads::review_for_workflow(conn, &id)?
                .map(|review| reads::visible_to(review, reader.as_ref())))
        })
        .await
    }

    async fn assign_review(&self, workflow_id: &str, reviewer: &str) -> Result<EthicsReview> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let (workflow_id, reviewer) = (workflow_id.to_owned(), reviewer.to_owned());
        self.write(move |tx| writes::assign_review(tx, &user, &workflow_id, &reviewer, clock.now()))
            .await
    }

    async fn save_review_draft(
        &self,
        review_id: &str,
        answers: &Answers,
        form_state: Option<&serde_json::Value>,
    ) -> Result<EthicsReview> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let (id, answers, form_state) =
            (review_id.to_owned(), answers.clone(), form_state.cloned());
        self.write(move |tx| {
            writes::save_review(
                tx,
                &user,
                &id,
                &answers,
                form_state.as_ref(),
                false,
                clock.now(),
            )
        })
        .await
    }

    async fn submit_review(&self, review_id: &str, answers: &Answers) -> Result<EthicsReview> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let (id, answers) = (review_id.to_owned(), answers.clone());
        self.write(move |tx| writes::save_review(tx, &user, &id, &answers, None, true, clock.now()))
            .await
    }

    async fn review_template(&self, template_id: &str) -> Result<ReviewTemplate> {
        let id = template_id.to_owned();
        self.read(move |conn| reads::review_template(conn, &id))
            .await
    }

    async fn agent(&self, agent_id: &str) -> Result<Agent> {
        let id = agent_id.to_owned();
        self.read(move |conn| reads::agent(conn, &id)).await
    }

    async fn search_agents(&self, text: &str, limit: u32) -> Result<Vec<AgentSummary>> {
        let text = text.to_owned();
        self.read(move |conn| reads::search_agents(conn, &text, limit))
            .await
    }

    async fn audits(&self, agent_id: &str) -> Result<Vec<BiasAudit>> {
        let id = agent_id.to_owned();
        self.read(move |conn| reads::audits(conn, &id)).await
    }

    async fn audit_standings(&self, query: &StandingQuery) -> Result<StandingPage> {
        let clock = self.store.clock();
        let query = query.clone();
        self.read(move |conn| reads::standings_page(conn, clock.now(), &query))
            .await
    }

    async fn record_audit(&self, submission: &AuditSubmission) -> Result<BiasAudit> {
        let clock = self.store.clock();
        let actor = self.actor().await?;
        let submission = submission.clone();
        self.write(move |tx| writes::record_audit(tx, &actor, &submission, clock.now()))
            .await
    }

    async fn confirm_audit_independence(
        &self,
        request: &crate::domain::bias::IndependenceConfirmation,
    ) -> Result<BiasAudit> {
        let clock = self.store.clock();
        let actor = self.actor().await?;
        let request = request.clone();
        self.write(move |tx| writes::confirm_audit_independence(tx, &actor, &request, clock.now()))
            .await
    }

    async fn check_deployment(&self, manifest: &Manifest) -> Result<Evaluation> {
        let agent = &manifest.agent;
        let recent = self
            .store
            .version_use
            .recent(&agent.agent_id, &agent.version);
        let now = self.store.clock().now();
        let checked = manifest.clone();
        let evaluation = self
            .read(move |conn| reads::check(conn, &checked, now, recent))
            .await?;
        // A check that lets the agent's record deploy is a use of it; one
        // that answers otherwise (dormant, suspended) is not.
        if evaluation.lets_its_record_deploy() {
            self.note_use(&agent.agent_id, &agent.version, now).await;
        }
        Ok(evaluation)
    }

    async fn request_deployment(&self, manifest: &Manifest) -> Result<DeploymentRequest> {
        let clock = self.store.clock();
        let actor = self.actor().await?;
        let manifest = manifest.clone();
        self.write(move |tx| writes::request_deployment(tx, &actor, &manifest, clock.now()))
            .await
    }

    async fn deployment(&self, deployment_id: &str) -> Result<DeploymentRequest> {
        let id = deployment_id.to_owned();
        self.read(move |conn| reads::deployment(conn, &id)).await
    }

    async fn deployment_view(&self, deployment_id: &str) -> Result<DeploymentView> {
        let id = deployment_id.to_owned();
        self.read(move |conn| reads::deployment_view(conn, &id))
            .await
    }

    async fn evidence_pack(&self, query: &crate::backend::EvidenceQuery) -> Result<Vec<u8>> {
        let clock = self.store.clock();
        let key = self.signing_key("sign evidence")?;
        let actor = self.actor().await?.email;
        let store = Arc::clone(&self.store);
        let query = query.clone();
        super::super::blocking(move || {
            let files = store.evidence_pack(&actor, &key, &query, clock.now())?;
            crate::evidence::pack::zip(&files).map_err(|err| BackendError::Storage(err.to_string()))
        })
        .await
    }

    async fn attestation(
        &self,
        agent_id: &str,
        version: &str,
    ) -> Result<crate::domain::attestation::Attested> {
        let key = self.signing_key("sign attestations")?;
        self.actor().await?;
        let (agent_id, version) = (agent_id.to_owned(), version.to_owned());
        let now = self.store.clock().now();
        let recent = self.store.version_use.recent(&agent_id, &version);
        let attest = {
            let (key, agent_id, version) = (Arc::clone(&key), agent_id.clone(), version.clone());
            move |conn: &crate::db::Connection| {
                attestations::attest(conn, &key, &agent_id, &version, now, recent)
            }
        };
        let mut answer = self.read(attest.clone()).await?;
        if let attestations::Attestation::NeedsCheckpoint = answer {
            let signing = Arc::clone(&key);
            self.write(move |tx| logkey::sign_checkpoint(tx, &signing, now))
                .await?;
            answer = self.read(attest).await?;
        }
        // Not a use of the version: people read attestations too (the
        // console, auditors); checks and admission reviews record uses.
        match answer {
            attestations::Attestation::Answered { attested } => Ok(attested),
            attestations::Attestation::NeedsCheckpoint => Err(BackendError::Storage(
                "no checkpoint covers the approval's trail event".into(),
            )),
        }
    }

    async fn attestation_key(&self) -> Result<crate::domain::attestation::dsse::KeyDocument> {
        let key = self.signing_key("sign attestations")?;
        self.actor().await?;
        let public =
            crate::domain::attestation::dsse::PublicKey::of(&key.attestation.verifying_key());
        Ok(public.document(&key.verifier_key))
    }

    async fn deployments(&self, query: &DeploymentQuery) -> Result<DeploymentPage> {
        let query = query.clone();
        self.read(move |conn| reads::deployments(conn, &query))
            .await
    }

    async fn board_report(
        &self,
        query: &crate::domain::report::ReportQuery,
    ) -> Result<crate::domain::report::SignedReport> {
        let clock = self.store.clock();
        let key = self.signing_key("sign reports")?;
        let actor = self.actor().await?.email;
        let store = Arc::clone(&self.store);
        let query = query.clone();
        super::super::blocking(move || store.board_report(&actor, &key, &query, clock.now())).await
    }

    async fn schedule_report(
        &self,
        asked: &crate::domain::report::NewSchedule,
    ) -> Result<crate::domain::report::Schedule> {
        let now = self.store.clock().now();
        let actor = self.actor().await?;
        let asked = asked.clone();
        self.write(move |tx| writes::schedule_report(tx, &actor, &asked, now))
            .await
    }

    async fn report_schedules(&self) -> Result<Vec<crate::domain::report::Schedule>> {
        let actor = self.actor().await?;
        self.read(move |conn| {
            writes::check_report_reader(conn, &actor)?;
            writes::report_schedules(conn)
        })
        .await
    }

    async fn stop_report_schedule(
        &self,
        schedule_id: &str,
    ) -> Result<crate::domain::report::Schedule> {
        let now = self.store.clock().now();
        let actor = self.actor().await?;
        let id = schedule_id.to_owned();
        self.write(move |tx| writes::stop_report_schedule(tx, &actor, &id, now))
            .await
    }

    async fn dashboard(&self) -> Result<Dashboard> {
        let clock = self.store.clock();
        self.read(move |conn| reads::dashboard(conn, clock.now()))
            .await
    }

    async fn policies(&self) -> Result<Vec<Policy>> {
        self.read(reads::policies).await
    }

    async fn policy_reach(&self) -> Result<Vec<super::super::types::NamedCount>> {
        self.read(reads::policy_reach).await
    }

    async fn verify_trail(&self) -> Result<crate::backend::VerifyReport> {
        let now = self.store.clock().now();
        self.read(move |conn| trail::verify(conn, now)).await
    }

    async fn users(&self, role: Option<Role>) -> Result<Vec<User>> {
        self.actor().await?;
        self.read(move |conn| reads::users(conn, role)).await
    }

    async fn tools(&self) -> Result<Vec<ToolRecord>> {
        self.read(reads::tools).await
    }

    async fn inbox(&self) -> Result<Vec<crate::backend::InboxItem>> {
        let email = self.actor().await?.email;
        self.read(move |conn| super::inbox::inbox(conn, &email))
            .await
    }

    async fn mark_read(&self, event_ids: &[i64]) -> Result<u64> {
        let clock = self.store.clock();
        let email = self.actor().await?.email;
        let event_ids = event_ids.to_vec();
        self.write(move |tx| super::inbox::mark_read(tx, &email, &event_ids, clock.now()))
            .await
    }

    async fn delegations(&self, ended: bool) -> Result<Vec<Delegation>> {
        let clock = self.store.clock();
        let email = self.actor().await?.email;
        self.read(move |conn| reads::delegations(conn, &email, clock.now(), ended))
            .await
    }

    async fn delegate(&self, delegation: &NewDelegation) -> Result<Delegation> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let delegation = delegation.clone();
        self.write(move |tx| writes::delegate(tx, &user, &delegation, clock.now()))
            .await
    }

    async fn end_delegation(&self, delegation_id: Option<&str>) -> Result<Vec<Delegation>> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let id = delegation_id.map(str::to_owned);
        self.write(move |tx| writes::end_delegation(tx, &user, id.as_deref(), clock.now()))
            .await
    }

    async fn obligations(
        &self,
        agent_id: &str,
        version: Option<&str>,
    ) -> Result<crate::domain::obligations::Posture> {
        let clock = self.store.clock();
        self.actor().await?;
        let (agent_id, version) = (agent_id.to_owned(), version.map(str::to_owned));
        self.read(move |conn| {
            let (_, set) = reads::active_set(conn)?;
            reads::obligations_posture(conn, &set, &agent_id, version.as_deref(), clock.now())
        })
        .await
    }

    async fn postures(
        &self,
        query: &crate::domain::obligations::PostureQuery,
    ) -> Result<crate::domain::obligations::PosturePage> {
        let clock = self.store.clock();
        self.actor().await?;
        let query = query.clone();
        self.read(move |conn| {
            let (_, set) = reads::active_set(conn)?;
            reads::postures(conn, &set, &query, clock.now())
        })
        .await
    }

    async fn intake(
        &self,
        agent_id: &str,
        version: &str,
    ) -> Result<Option<crate::domain::obligations::Intake>> {
        let user = self.actor().await?;
        let (agent_id, version) = (agent_id.to_owned(), version.to_owned());
        self.read(move |conn| {
            let mut intake = reads::intake(conn, &agent_id, &version)?;
            // A draft's answers are for those who may fill it, as a
            // review's draft is its reviewer's.
            if let Some(draft) = intake
                .as_mut()
                .filter(|intake| intake.status == crate::domain::obligations::IntakeStatus::Draft)
                && writes::may_fill(conn, &user, &reads::agent(conn, &agent_id)?).is_err()
            {
                draft.answers.clear();
            }
            Ok(intake)
        })
        .await
    }

    async fn save_intake(
        &self,
        save: &crate::domain::obligations::IntakeSave,
    ) -> Result<crate::domain::obligations::Intake> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let save = save.clone();
        self.write(move |tx| writes::save_intake(tx, &user, &save, clock.now()))
            .await
    }

    async fn decide_intake_change(
        &self,
        decision: &crate::domain::obligations::IntakeDecision,
    ) -> Result<crate::domain::obligations::Intake> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let decision = decision.clone();
        self.write(move |tx| writes::decide_intake_change(tx, &user, &decision, clock.now()))
            .await
    }

    async fn confirm_obligation(
        &self,
        request: &crate::domain::obligations::NewConfirmation,
    ) -> Result<crate::domain::obligations::Confirmation> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let request = request.clone();
        self.write(move |tx| writes::confirm_obligation(tx, &user, &request, clock.now()))
            .await
    }

    async fn recertifications_due(
        &self,
        within_days: u32,
    ) -> Result<crate::backend::RecertificationPage> {
        let clock = self.store.clock();
        self.actor().await?;
        let within = chrono::TimeDelta::days(i64::from(within_days.min(MAX_WITHIN_DAYS)));
        self.read(move |conn| {
            let (_, set) = reads::active_set(conn)?;
            reads::recertifications_due(conn, &set, clock.now(), within)
        })
        .await
    }

    async fn exceptions(&self, query: &ExceptionQuery) -> Result<Vec<Exception>> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let query = query.clone();
        self.read(move |conn| {
            let now = clock.now();
            Ok(reads::exceptions(conn, &query, &user.roles, now)?
                .into_iter()
                .map(|exception| exception.read_at(now))
                .collect())
        })
        .await
    }

    async fn exception(&self, exception_id: &str) -> Result<Exception> {
        let clock = self.store.clock();
        self.actor().await?;
        let exception_id = exception_id.to_owned();
        self.read(move |conn| Ok(reads::exception(conn, &exception_id)?.read_at(clock.now())))
            .await
    }

    async fn request_exception(&self, request: &NewException) -> Result<Exception> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let request = request.clone();
        self.write(move |tx| {
            let now = clock.now();
            Ok(writes::request_exception(tx, &user, &request, now)?.read_at(now))
        })
        .await
    }

    async fn decide_exception(&self, decision: &ExceptionDecision) -> Result<Exception> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let decision = decision.clone();
        self.write(move |tx| {
            let now = clock.now();
            Ok(writes::decide_exception(tx, &user, &decision, now)?.read_at(now))
        })
        .await
    }

    async fn revoke_exception(&self, exception_id: &str, reason: &str) -> Result<Exception> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let (exception_id, reason) = (exception_id.to_owned(), reason.to_owned());
        self.write(move |tx| {
            let now = clock.now();
            Ok(writes::revoke_exception(tx, &user, &exception_id, &reason, now)?.read_at(now))
        })
        .await
    }

    async fn incidents(&self, query: &IncidentQuery) -> Result<Vec<Incident>> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let query = query.clone();
        self.read(move |conn| {
            let now = clock.now();
            Ok(reads::incidents(conn, &query, &user.roles, now)?
                .into_iter()
                .map(|incident| incident.read_at(now))
                .collect())
        })
        .await
    }

    async fn incident(&self, incident_id: &str) -> Result<Incident> {
        let clock = self.store.clock();
        self.actor().await?;
        let incident_id = incident_id.to_owned();
        self.read(move |conn| Ok(reads::incident(conn, &incident_id)?.read_at(clock.now())))
            .await
    }

    async fn report_incident(&self, report: &NewIncident) -> Result<Incident> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let report = report.clone();
        self.write(move |tx| {
            let now = clock.now();
            Ok(writes::report_incident(tx, &user, &report, now)?.read_at(now))
        })
        .await
    }

    async fn change_incident(&self, change: &IncidentChange) -> Result<Incident> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let change = change.clone();
        self.write(move |tx| {
            let now = clock.now();
            Ok(writes::change_incident(tx, &user, &change, now)?.read_at(now))
        })
        .await
    }

    async fn decide_tool(
        &self,
        name: &str,
        status: ToolStatus,
        comment: &str,
    ) -> Result<ToolRecord> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let (name, comment) = (name.to_owned(), comment.to_owned());
        self.write(move |tx| writes::decide_tool(tx, &user, &name, status, &comment, clock.now()))
            .await
    }

    async fn policy_sets(&self) -> Result<Vec<PolicySetVersion>> {
        self.read(reads::policy_sets).await
    }

    async fn policy_set(&self, version: Option<i64>) -> Result<PolicySetDetail> {
        self.read(move |conn| {
            let version = match version {
                Some(version) => version,
                None => reads::active_policy_set(conn)?,
            };
            reads::policy_set_detail(conn, version)
        })
        .await
    }

    async fn plan_policy_set(&self, source: &str) -> Result<crate::domain::policy::plan::Plan> {
        // On a server, planning is for policy admins: it runs every
        // condition over every agent on record. On the embedded store it is
        // open to whoever holds the file.
        if let Some(user) = &self.authenticated {
            writes::require_policy_admin(user, "planning a policy set")?;
        }
        let set = checked_set(source).await?;
        let clock = self.store.clock();
        self.read(move |conn| {
            let (diff, impact) = reads::plan(conn, &set, clock.now())?;
            Ok(crate::domain::policy::plan::Plan { diff, impact })
        })
        .await
    }

    async fn propose_policy_set(&self, source: &str) -> Result<PolicySetDetail> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        writes::require_policy_admin(&user, "proposing a policy set")?;
        let set = checked_set(source).await?;
        let proposal = self
            .read({
                let clock = Arc::clone(&clock);
                move |conn| writes::plan_proposal(conn, set, clock.now())
            })
            .await?;
        let source = source.to_owned();
        self.write(move |tx| writes::record_proposal(tx, &user, &source, &proposal, clock.now()))
            .await
    }

    async fn decide_policy_set(
        &self,
        version: i64,
        approve: bool,
        comment: Option<&str>,
    ) -> Result<PolicySetDetail> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let comment = comment.map(str::to_owned);
        let decided = self
            .write(move |tx| {
                writes::decide_policy_set(
                    tx,
                    &user,
                    version,
                    approve,
                    comment.as_deref(),
                    clock.now(),
                )
            })
            .await?;
        if approve {
            // The obligation coverage fills again a slice at a time: here
            // while it is quick, then on its own, the figures reading as
            // being counted until it is done.
            let store = Arc::clone(&self.store);
            let done =
                super::super::blocking(move || store.fill_coverage_for(COVERAGE_WAIT)).await?;
            if !done {
                let store = Arc::clone(&self.store);
                tokio::task::spawn_blocking(move || {
                    if let Err(err) = store.fill_coverage_for(std::time::Duration::MAX) {
                        tracing::error!("filling the obligation coverage: {err}");
                    }
                });
            }
        }
        Ok(decided)
    }

    async fn start_audit_run(&self, start: &AuditRunStart) -> Result<AuditRun> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let start = start.clone();
        self.write(move |tx| writes::start_audit_run(tx, &user, &start, clock.now()))
            .await
    }

    async fn audit_run(&self, run_id: &str) -> Result<AuditRun> {
        let run_id = run_id.to_owned();
        self.read(move |conn| reads::audit_runs::run(conn, &run_id))
            .await
    }

    async fn audit_runs(&self, agent_id: Option<&str>) -> Result<Vec<AuditRun>> {
        let agent_id = agent_id.map(str::to_owned);
        self.read(move |conn| reads::audit_runs::runs(conn, agent_id.as_deref()))
            .await
    }

    async fn record_case_outcomes(
        &self,
        run_id: &str,
        outcomes: &[CaseOutcome],
    ) -> Result<RecordedOutcomes> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let (run_id, outcomes) = (run_id.to_owned(), outcomes.to_vec());
        self.write(move |tx| {
            writes::record_case_outcomes(tx, &user, &run_id, &outcomes, clock.now())
        })
        .await
    }

    async fn audit_run_cases(&self, run_id: &str, query: &CaseQuery) -> Result<CasePage> {
        let user = self.actor().await?;
        let (run_id, query) = (run_id.to_owned(), query.clone());
        self.read(move |conn| {
            reads::audit_runs::check_may_read_cases(conn, &user, &run_id)?;
            reads::audit_runs::cases(conn, &run_id, &query)
        })
        .await
    }

    async fn finish_audit_run(&self, run_id: &str) -> Result<BiasAudit> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let run_id = run_id.to_owned();
        self.write(move |tx| writes::finish_audit_run(tx, &user, &run_id, clock.now()))
            .await
    }

    async fn withdraw(&self, workflow_id: &str, reason: Option<&str>) -> Result<Workflow> {
        let clock = self.store.clock();
        let user = self.actor().await?;
        let (id, reason) = (workflow_id.to_owned(), reason.map(str::to_owned));
        self.write(move |tx| {
            writes::withdraw_request(tx, &user, &id, reason.as_deref(), clock.now())
        })
        .await
    }

    async fn trail(&self, entity_type: &str, entity_id: &str) -> Result<Vec<TrailEvent>> {
        let (kind, id) = (entity_type.to_owned(), entity_id.to_owned());
        self.read(move |conn| trail::for_entity(conn, &kind, &id))
            .await
    }
}
