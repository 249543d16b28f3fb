//! The contract over HTTP: each call as a request to `gavel serve`.

use super::super::queue::{Direction, QueueFilter, QueuePage, QueueQuery, QueueSort};
use super::super::types::{
    AgentSummary, AuditRun, AuditRunStart, CaseOutcome, CasePage, CaseQuery, Dashboard, Decision,
    DeploymentPage, DeploymentQuery, DeploymentView, NamedCount, RecordedOutcomes, ReviewSummary,
    ToolRecord, ToolStatus, User,
};
use super::super::wire::{
    AssignBody, CountBody, DecisionBody, DraftBody, SubmitBody, ToolDecisionBody, WithdrawBody,
};
use super::super::{BackendError, GovernanceBackend, Result};
use super::*;
use crate::backend::VerifyReport;
use crate::backend::wire::{OutcomesBody, PolicySetBody, PolicySetDecisionBody};
use crate::backend::{PolicySetDetail, PolicySetVersion, StandingPage, StandingQuery};
use crate::domain::bias::AuditSubmission;
use crate::domain::delegation::{Delegation, NewDelegation};
use crate::domain::exception::{Exception, ExceptionDecision, ExceptionQuery, NewException};
use crate::domain::incident::{Incident, IncidentChange, IncidentQuery, NewIncident};
use crate::domain::report::{NewSchedule, ReportQuery, Schedule, SignedReport};
use crate::domain::{
    Agent, Answers, BiasAudit, DeploymentRequest, EthicsReview, Evaluation, Manifest, Policy,
    ReviewStatus, ReviewTemplate, Role, TrailEvent, Workflow,
};
use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};

#[async_trait]
impl GovernanceBackend for HttpBackend {
    fn location(&self) -> String {
        self.base.to_string()
    }

    async fn me(&self) -> Result<User> {
        self.get(&["v1", "me"], &[]).await
    }

    async fn queue(&self, query: &QueueQuery) -> Result<QueuePage> {
        // An empty role list means "nobody's queue": nothing to ask for.
        if query.filter.roles.as_ref().is_some_and(Vec::is_empty) {
            return Ok(QueuePage {
                items: Vec::new(),
                more_before: false,
                more_after: false,
            });
        }
        let mut params = HttpBackend::filter_query(&query.filter);
        params.push((
            "sort",
            match query.sort {
                QueueSort::Age => "age",
                QueueSort::Risk => "risk",
            }
            .into(),
        ));
        params.push((
            "direction",
            match query.direction {
                Direction::Forward => "forward",
                Direction::Backward => "backward",
            }
            .into(),
        ));
        params.push(("limit", query.limit().to_string()));
        if let Some(cursor) = &query.cursor {
            params.push(("cursor", cursor.encode()));
        }
        self.get(&["v1", "queue"], &params).await
    }

    async fn queue_count(&self, filter: &QueueFilter) -> Result<u64> {
        if filter.roles.as_ref().is_some_and(Vec::is_empty) {
            return Ok(0);
        }
        let body: CountBody = self
            .get(
                &["v1", "queue", "count"],
                &HttpBackend::filter_query(filter),
            )
            .await?;
        Ok(body.count)
    }

    async fn workflow(&self, workflow_id: &str) -> Result<Workflow> {
        self.get(&["v1", "workflows", workflow_id], &[]).await
    }

    async fn decide(&self, decision: &Decision) -> Result<Workflow> {
        let mut headers = HeaderMap::new();
        let if_match = HeaderValue::from_str(&format!("\"{}\"", decision.expected_version))
            .map_err(|_| BackendError::Invalid("bad version".into()))?;
        headers.insert(reqwest::header::IF_MATCH, if_match);
        let key = HeaderValue::from_str(&decision.idempotency_key).map_err(|_| {
            BackendError::Invalid("the idempotency key holds characters a header cannot".into())
        })?;
        headers.insert("idempotency-key", key);
        let body = DecisionBody {
            verdict: decision.verdict,
            comment: decision.comment.clone(),
            decision_at: decision.decision_at,
            on_behalf_of: decision.on_behalf_of.clone(),
        };
        let step = decision.step_id.to_string();
        // The same key on every retry: the server applies it once.
        self.write(
            Method::POST,
            &[
                "v1",
                "workflows",
                &decision.workflow_id,
                "steps",
                &step,
                "decision",
            ],
            &body,
            headers,
            true,
        )
        .await
    }

    async fn my_reviews(&self, status: Option<ReviewStatus>) -> Result<Vec<ReviewSummary>> {
        let query: Vec<(&str, String)> = status
            .map(|s| ("status", s.as_str().to_owned()))
            .into_iter()
            .collect();
        self.get(&["v1", "reviews"], &query).await
    }

    async fn review(&self, review_id: &str) -> Result<EthicsReview> {
        self.get(&["v1", "reviews", review_id], &[]).await
    }

    async fn review_for_workflow(&self, workflow_id: &str) -> Result<Option<EthicsReview>> {
        self.get(&["v1", "workflows", workflow_id, "review"], &[])
            .await
    }

    async fn assign_review(&self, workflow_id: &str, reviewer: &str) -> Result<EthicsReview> {
        let body = AssignBody {
            reviewer: reviewer.to_owned(),
        };
        self.write(
            Method::POST,
            &["v1", "workflows", workflow_id, "review"],
            &body,
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn save_review_draft(
        &self,
        review_id: &str,
        answers: &Answers,
        form_state: Option<&serde_json::Value>,
    ) -> Result<EthicsReview> {
        let body = DraftBody {
            answers: answers.clone(),
            form_state: form_state.cloned(),
        };
        self.write(
            Method::PUT,
            &["v1", "reviews", review_id, "draft"],
            &body,
            HeaderMap::new(),
            true,
        )
        .await
    }

    async fn submit_review(&self, review_id: &str, answers: &Answers) -> Result<EthicsReview> {
        let body = SubmitBody {
            answers: answers.clone(),
        };
        self.write(
            Method::POST,
            &["v1", "reviews", review_id, "submit"],
            &body,
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn review_template(&self, template_id: &str) -> Result<ReviewTemplate> {
        self.get(&["v1", "review-templates", template_id], &[])
            .await
    }

    async fn agent(&self, agent_id: &str) -> Result<Agent> {
        self.get(&["v1", "agents", agent_id], &[]).await
    }

    async fn search_agents(&self, text: &str, limit: u32) -> Result<Vec<AgentSummary>> {
        self.get(
            &["v1", "agents"],
            &[("search", text.to_owned()), ("limit", limit.to_string())],
        )
        .await
    }

    async fn audits(&self, agent_id: &str) -> Result<Vec<BiasAudit>> {
        self.get(&["v1", "agents", agent_id, "audits"], &[]).await
    }

    async fn audit_standings(&self, query: &StandingQuery) -> Result<StandingPage> {
        // The server reads whole hours up to u32::MAX; a longer window
        // covers every expiry either way.
        let hours = query.due_within.num_hours().clamp(0, i64::from(u32::MAX));
        let mut pairs = vec![
            ("within_hours", hours.to_string()),
            ("limit", query.limit().to_string()),
        ];
        if !query.kinds.is_empty() {
            let kinds: Vec<&str> = query.kinds().iter().map(|kind| kind.as_str()).collect();
            pairs.push(("attention", kinds.join(",")));
        }
        if let Some(search) = query.search() {
            pairs.push(("search", search.to_owned()));
        }
        if let Some(after) = &query.after {
            pairs.push(("after", after.encode()));
        }
        self.get(&["v1", "audits", "standings"], &pairs).await
    }

    async fn record_audit(&self, submission: &AuditSubmission) -> Result<BiasAudit> {
        self.write(
            Method::POST,
            &["v1", "audits"],
            submission,
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn confirm_audit_independence(
        &self,
        request: &crate::domain::bias::IndependenceConfirmation,
    ) -> Result<BiasAudit> {
        self.write(
            Method::POST,
            &["v1", "audits", &request.audit_id, "independence"],
            request,
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn check_deployment(&self, manifest: &Manifest) -> Result<Evaluation> {
        self.write(
            Method::POST,
            &["v1", "deployments", "check"],
            manifest,
            HeaderMap::new(),
            true,
        )
        .await
    }

    async fn request_deployment(&self, manifest: &Manifest) -> Result<DeploymentRequest> {
        self.write(
            Method::POST,
            &["v1", "deployments"],
            manifest,
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn deployment(&self, deployment_id: &str) -> Result<DeploymentRequest> {
        self.get(&["v1", "deployments", deployment_id], &[]).await
    }

    async fn deployment_view(&self, deployment_id: &str) -> Result<DeploymentView> {
        self.get(&["v1", "deployments", deployment_id, "view"], &[])
            .await
    }

    async fn evidence_pack(&self, query: &crate::backend::EvidenceQuery) -> Result<Vec<u8>> {
        self.fetch_evidence_pack(query).await
    }

    async fn attestation(
        &self,
        agent_id: &str,
        version: &str,
    ) -> Result<crate::domain::attestation::Attested> {
        self.attestation_of(agent_id, version).await
    }

    async fn attestation_key(&self) -> Result<crate::domain::attestation::dsse::KeyDocument> {
        self.get(&["v1", "attestations", "key"], &[]).await
    }

    async fn deployments(&self, query: &DeploymentQuery) -> Result<DeploymentPage> {
        let mut params = vec![("limit", query.limit.to_string())];
        if let Some(status) = query.status {
            params.push(("status", status.as_str().to_owned()));
        }
        if let Some(cursor) = &query.cursor {
            params.push(("cursor", cursor.clone()));
        }
        for (name, value) in [
            ("agent", &query.agent_id),
            ("team", &query.team),
            ("policy", &query.policy),
            ("search", &query.search),
        ] {
            if let Some(value) = value {
                params.push((name, value.clone()));
            }
        }
        if query.sort != crate::backend::DeploymentSort::Newest {
            params.push(("sort", query.sort.as_str().to_owned()));
        }
        self.get(&["v1", "deployments"], &params).await
    }

    async fn dashboard(&self) -> Result<Dashboard> {
        self.get(&["v1", "dashboard"], &[]).await
    }

    async fn board_report(&self, query: &ReportQuery) -> Result<SignedReport> {
        let mut pairs = vec![
            ("from", query.from.to_string()),
            ("to", query.to.to_string()),
        ];
        pairs.extend(query.team.clone().map(|team| ("team", team)));
        self.get(&["v1", "reports", "board"], &pairs).await
    }

    async fn schedule_report(&self, asked: &NewSchedule) -> Result<Schedule> {
        let path = ["v1", "reports", "schedules"];
        self.write(Method::POST, &path, asked, HeaderMap::new(), false)
            .await
    }

    async fn report_schedules(&self) -> Result<Vec<Schedule>> {
        self.get(&["v1", "reports", "schedules"], &[]).await
    }

    async fn stop_report_schedule(&self, schedule_id: &str) -> Result<Schedule> {
        let path = ["v1", "reports", "schedules", schedule_id, "stop"];
        let body = serde_json::json!({});
        self.write(Method::POST, &path, &body, HeaderMap::new(), true)
            .await
    }

    async fn policies(&self) -> Result<Vec<Policy>> {
        self.get(&["v1", "policies"], &[]).await
    }

    async fn policy_reach(&self) -> Result<Vec<NamedCount>> {
        self.get(&["v1", "policies", "reach"], &[]).await
    }

    async fn trail(&self, entity_type: &str, entity_id: &str) -> Result<Vec<TrailEvent>> {
        self.get(&["v1", "trail", entity_type, entity_id], &[])
            .await
    }

    async fn verify_trail(&self) -> Result<VerifyReport> {
        self.get(&["v1", "audits", "verify"], &[]).await
    }

    async fn users(&self, role: Option<Role>) -> Result<Vec<User>> {
        let query: Vec<(&str, String)> = role
            .map(|role| ("role", role.as_str().to_owned()))
            .into_iter()
            .collect();
        self.get(&["v1", "users"], &query).await
    }

    async fn tools(&self) -> Result<Vec<ToolRecord>> {
        self.get(&["v1", "tools"], &[]).await
    }

    async fn inbox(&self) -> Result<Vec<crate::backend::InboxItem>> {
        self.get(&["v1", "inbox"], &[]).await
    }

    async fn mark_read(&self, event_ids: &[i64]) -> Result<u64> {
        let body = crate::backend::wire::InboxReadBody {
            event_ids: event_ids.to_vec(),
        };
        // Marking read twice reads the same.
        let answer: serde_json::Value = self
            .write(
                Method::POST,
                &["v1", "inbox", "read"],
                &body,
                HeaderMap::new(),
                true,
            )
            .await?;
        Ok(answer["read"].as_u64().unwrap_or(0))
    }

    async fn delegations(&self, ended: bool) -> Result<Vec<Delegation>> {
        let query = if ended {
            vec![("ended", "true".to_owned())]
        } else {
            Vec::new()
        };
        self.get(&["v1", "delegations"], &query).await
    }

    async fn obligations(
        &self,
        agent_id: &str,
        version: Option<&str>,
    ) -> Result<crate::domain::obligations::Posture> {
        let query: Vec<(&str, String)> = version
            .map(|version| ("version", version.to_owned()))
            .into_iter()
            .collect();
        self.get(&["v1", "agents", agent_id, "obligations"], &query)
            .await
    }

    async fn postures(
        &self,
        query: &crate::domain::obligations::PostureQuery,
    ) -> Result<crate::domain::obligations::PosturePage> {
        let mut params = vec![("limit", query.limit.to_string())];
        if let Some(after) = &query.after {
            params.push(("after", after.clone()));
        }
        if query.unmet {
            params.push(("unmet", "true".to_owned()));
        }
        self.get(&["v1", "obligations"], &params).await
    }

    async fn intake(
        &self,
        agent_id: &str,
        version: &str,
    ) -> Result<Option<crate::domain::obligations::Intake>> {
        // `null` when none was saved.
        self.get(
            &["v1", "agents", agent_id, "intake"],
            &[("version", version.to_owned())],
        )
        .await
    }

    async fn save_intake(
        &self,
        save: &crate::domain::obligations::IntakeSave,
    ) -> Result<crate::domain::obligations::Intake> {
        self.write(
            Method::PUT,
            &["v1", "agents", &save.agent_id, "intake"],
            save,
            HeaderMap::new(),
            true,
        )
        .await
    }

    async fn decide_intake_change(
        &self,
        decision: &crate::domain::obligations::IntakeDecision,
    ) -> Result<crate::domain::obligations::Intake> {
        self.write(
            Method::POST,
            &["v1", "agents", &decision.agent_id, "intake", "decision"],
            decision,
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn recertifications_due(
        &self,
        within_days: u32,
    ) -> Result<crate::backend::RecertificationPage> {
        self.get(
            &["v1", "recertifications"],
            &[("within", within_days.to_string())],
        )
        .await
    }

    async fn exceptions(&self, query: &ExceptionQuery) -> Result<Vec<Exception>> {
        let mut params = Vec::new();
        if let Some(agent) = &query.agent_id {
            params.push(("agent", agent.clone()));
        }
        if let Some(state) = query.state {
            params.push(("state", state.as_str().to_owned()));
        }
        if query.awaiting_me {
            params.push(("awaiting_me", "true".to_owned()));
        }
        self.get(&["v1", "exceptions"], &params).await
    }

    async fn exception(&self, exception_id: &str) -> Result<Exception> {
        self.get(&["v1", "exceptions", exception_id], &[]).await
    }

    async fn request_exception(&self, request: &NewException) -> Result<Exception> {
        self.write(
            Method::POST,
            &["v1", "exceptions"],
            request,
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn decide_exception(&self, decision: &ExceptionDecision) -> Result<Exception> {
        self.write(
            Method::POST,
            &["v1", "exceptions", &decision.exception_id, "decision"],
            decision,
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn revoke_exception(&self, exception_id: &str, reason: &str) -> Result<Exception> {
        self.write(
            Method::POST,
            &["v1", "exceptions", exception_id, "revoke"],
            &serde_json::json!({ "reason": reason }),
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn incidents(&self, query: &IncidentQuery) -> Result<Vec<Incident>> {
        let mut params = Vec::new();
        if let Some(agent) = &query.agent_id {
            params.push(("agent", agent.clone()));
        }
        if let Some(state) = query.state {
            params.push(("state", state.as_str().to_owned()));
        }
        if query.awaiting_me {
            params.push(("awaiting_me", "true".to_owned()));
        }
        self.get(&["v1", "incidents"], &params).await
    }

    async fn incident(&self, incident_id: &str) -> Result<Incident> {
        self.get(&["v1", "incidents", incident_id], &[]).await
    }

    async fn report_incident(&self, report: &NewIncident) -> Result<Incident> {
        self.write(
            Method::POST,
            &["v1", "incidents"],
            report,
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn change_incident(&self, change: &IncidentChange) -> Result<Incident> {
        self.write(
            Method::POST,
            &["v1", "incidents", &change.incident_id, "actions"],
            change,
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn confirm_obligation(
        &self,
        request: &crate::domain::obligations::NewConfirmation,
    ) -> Result<crate::domain::obligations::Confirmation> {
        self.write(
            Method::POST,
            &["v1", "obligations", "confirmations"],
            request,
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn delegate(&self, delegation: &NewDelegation) -> Result<Delegation> {
        self.write(
            Method::POST,
            &["v1", "delegations"],
            delegation,
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn end_delegation(&self, delegation_id: Option<&str>) -> Result<Vec<Delegation>> {
        let body = crate::backend::wire::EndDelegationBody {
            delegation_id: delegation_id.map(str::to_owned),
        };
        self.write(
            Method::POST,
            &["v1", "delegations", "end"],
            &body,
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn decide_tool(
        &self,
        name: &str,
        status: ToolStatus,
        comment: &str,
    ) -> Result<ToolRecord> {
        let body = ToolDecisionBody {
            status,
            comment: comment.to_owned(),
        };
        // Deciding a tool the same way twice records the same state.
        self.write(
            Method::PUT,
            &["v1", "tools", name],
            &body,
            HeaderMap::new(),
            true,
        )
        .await
    }

    async fn policy_sets(&self) -> Result<Vec<PolicySetVersion>> {
        self.get(&["v1", "policy-sets"], &[]).await
    }

    async fn policy_set(&self, version: Option<i64>) -> Result<PolicySetDetail> {
        let which = version.map_or_else(|| "active".to_owned(), |v| v.to_string());
        self.get(&["v1", "policy-sets", &which], &[]).await
    }

    async fn plan_policy_set(&self, source: &str) -> Result<crate::domain::policy::plan::Plan> {
        let body = PolicySetBody {
            source: source.to_owned(),
        };
        // Planning records nothing: safe to retry.
        self.write(
            Method::POST,
            &["v1", "policy-sets", "plan"],
            &body,
            HeaderMap::new(),
            true,
        )
        .await
    }

    async fn propose_policy_set(&self, source: &str) -> Result<PolicySetDetail> {
        let body = PolicySetBody {
            source: source.to_owned(),
        };
        self.write(
            Method::POST,
            &["v1", "policy-sets"],
            &body,
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn decide_policy_set(
        &self,
        version: i64,
        approve: bool,
        comment: Option<&str>,
    ) -> Result<PolicySetDetail> {
        let body = PolicySetDecisionBody {
            comment: comment.map(str::to_owned),
        };
        let verb = if approve { "approve" } else { "reject" };
        self.write(
            Method::POST,
            &["v1", "policy-sets", &version.to_string(), verb],
            &body,
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn start_audit_run(&self, start: &AuditRunStart) -> Result<AuditRun> {
        self.write(
            Method::POST,
            &["v1", "audit-runs"],
            start,
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn audit_run(&self, run_id: &str) -> Result<AuditRun> {
        self.get(&["v1", "audit-runs", run_id], &[]).await
    }

    async fn audit_runs(&self, agent_id: Option<&str>) -> Result<Vec<AuditRun>> {
        let query: Vec<(&str, String)> = agent_id
            .map(|agent| ("agent_id", agent.to_owned()))
            .into_iter()
            .collect();
        self.get(&["v1", "audit-runs"], &query).await
    }

    async fn record_case_outcomes(
        &self,
        run_id: &str,
        outcomes: &[CaseOutcome],
    ) -> Result<RecordedOutcomes> {
        // A case is recorded once whatever the attempts: safe to repeat.
        self.write(
            Method::POST,
            &["v1", "audit-runs", run_id, "outcomes"],
            &OutcomesBody {
                outcomes: outcomes.to_vec(),
            },
            HeaderMap::new(),
            true,
        )
        .await
    }

    async fn audit_run_cases(&self, run_id: &str, query: &CaseQuery) -> Result<CasePage> {
        let mut pairs = vec![("limit", query.limit.to_string())];
        if let Some(group) = &query.group {
            pairs.push(("group", group.clone()));
        }
        if let Some(outcome) = query.outcome {
            pairs.push(("outcome", outcome.as_str().to_owned()));
        }
        if !query.categories.is_empty() {
            let categories: std::collections::BTreeMap<&str, &str> = query
                .categories
                .iter()
                .map(|(attribute, category)| (attribute.as_str(), category.as_str()))
                .collect();
            let text = serde_json::to_string(&categories)
                .map_err(|err| BackendError::Invalid(format!("case categories: {err}")))?;
            pairs.push(("categories", text));
        }
        if let Some(after) = &query.after {
            pairs.push(("after", after.clone()));
        }
        self.get(&["v1", "audit-runs", run_id, "cases"], &pairs)
            .await
    }

    async fn finish_audit_run(&self, run_id: &str) -> Result<BiasAudit> {
        self.write(
            Method::POST,
            &["v1", "audit-runs", run_id, "finish"],
            &serde_json::json!({}),
            HeaderMap::new(),
            false,
        )
        .await
    }

    async fn withdraw(&self, workflow_id: &str, reason: Option<&str>) -> Result<Workflow> {
        let body = WithdrawBody {
            reason: reason.map(str::to_owned),
        };
        self.write(
            Method::POST,
            &["v1", "workflows", workflow_id, "withdraw"],
            &body,
            HeaderMap::new(),
            false,
        )
        .await
    }
}
