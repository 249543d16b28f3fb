//! The offline cache's backend against a real `gavel serve`, through the
//! same conformance suite as the embedded store and the HTTP client. Each
//! person has their own cache; every call first syncs it (so it sees what
//! others did) and every change is synced after (so others see it), which
//! is what the console's sync loop does, made deterministic.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::server::Server;
use gavel::auth::keeper::SessionKeeper;
use gavel::backend::VerifyReport;
use gavel::backend::cache::CachedBackend;
use gavel::backend::http::{Credentials, HttpBackend, Token};
use gavel::backend::local::LocalStore;
use gavel::backend::{
    AgentSummary, Dashboard, Decision, DeploymentPage, DeploymentQuery, GovernanceBackend,
    NamedCount, QueueFilter, QueuePage, QueueQuery, Result, ReviewSummary, ToolRecord, ToolStatus,
    User,
};
use gavel::domain::bias::AuditSubmission;
use gavel::domain::delegation::{Delegation, NewDelegation};
use gavel::domain::{
    Agent, Answers, BiasAudit, DeploymentRequest, EthicsReview, Evaluation, Manifest, Policy,
    ReviewStatus, ReviewTemplate, Role, TrailEvent, Workflow,
};

struct CachedFixture {
    store: Arc<LocalStore>,
    server: Server,
    tokens: Mutex<HashMap<String, String>>,
    /// With an identity provider: people sign in with it instead.
    provider: Option<common::oidc::Provider>,
    sign_ins: Mutex<HashMap<String, Arc<SessionKeeper>>>,
    caches: Mutex<HashMap<String, Arc<CachedBackend>>>,
    dir: tempfile::TempDir,
}

impl CachedFixture {
    fn new() -> CachedFixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("served.db");
        let store = LocalStore::open(&db).expect("store");
        let server = Server::start(&db);
        CachedFixture {
            store,
            server,
            tokens: Mutex::new(HashMap::new()),
            provider: None,
            sign_ins: Mutex::new(HashMap::new()),
            caches: Mutex::new(HashMap::new()),
            dir,
        }
    }

    /// A server whose people sign in with a real OpenID provider.
    fn signed_in() -> CachedFixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("served.db");
        let store = LocalStore::open(&db).expect("store");
        let (provider, server) = common::oidc::Provider::with_server(dir.path(), &db);
        CachedFixture {
            store,
            server,
            tokens: Mutex::new(HashMap::new()),
            provider: Some(provider),
            sign_ins: Mutex::new(HashMap::new()),
            caches: Mutex::new(HashMap::new()),
            dir,
        }
    }

    fn client(&self, email: &str) -> (HttpBackend, String) {
        if let Some(keeper) = self.sign_ins.lock().expect("sign-ins").get(email) {
            let credentials = Credentials::SignIn(Arc::clone(keeper));
            let fingerprint = credentials.fingerprint();
            return (
                HttpBackend::with_credentials(&self.server.url, credentials).expect("client"),
                fingerprint,
            );
        }
        let secret = self
            .tokens
            .lock()
            .expect("tokens")
            .get(email)
            .cloned()
            .unwrap_or_else(|| "gvl_not_a_real_token".into());
        let token = Token::new(secret);
        let fingerprint = token.fingerprint();
        (
            HttpBackend::new(&self.server.url, token).expect("client"),
            fingerprint,
        )
    }

    /// This person's cache, opened on first use (which needs the server).
    fn cache(&self, email: &str) -> Option<Arc<CachedBackend>> {
        if let Some(cache) = self.caches.lock().expect("caches").get(email) {
            return Some(Arc::clone(cache));
        }
        let (remote, fingerprint) = self.client(email);
        // One cache per credential: a person signed in again gets another.
        let dir = self.dir.path().join("caches").join(format!(
            "{email}-{}",
            &fingerprint[..12.min(fingerprint.len())]
        ));
        let opened = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(CachedBackend::open(
                remote,
                fingerprint,
                &dir,
                true,
            ))
        });
        let cache = Arc::new(opened.ok()?);
        self.caches
            .lock()
            .expect("caches")
            .insert(email.to_owned(), Arc::clone(&cache));
        Some(cache)
    }
}

impl common::conformance::Fixture for CachedFixture {
    fn shares_the_clock(&self) -> bool {
        // The server runs in its own process, on its own clock.
        false
    }

    fn store(&self) -> &Arc<LocalStore> {
        &self.store
    }

    fn backend_as(&self, email: &str) -> Box<dyn GovernanceBackend> {
        match self.cache(email) {
            Some(cache) => Box::new(Synced { cache }),
            // Nobody the server knows: no cache can be built, and the
            // server's own answer is what such a client gets.
            None => Box::new(self.client(email).0),
        }
    }

    fn add_user(&self, email: &str, roles: &[Role]) {
        let Some(provider) = &self.provider else {
            let token = self.store.add_user(email, email, roles).expect("add user");
            self.tokens
                .lock()
                .expect("tokens")
                .insert(email.to_owned(), token);
            return;
        };
        let keeper = common::oidc::block_on(provider.sign_in_new(&self.server.url, email, roles));
        self.sign_ins
            .lock()
            .expect("sign-ins")
            .insert(email.to_owned(), keeper);
    }

    fn change_user(&self, email: &str, roles: &[Role], team: Option<&str>) {
        let Some(provider) = &self.provider else {
            common::conformance::change_on_store(&self.store, email, roles, team);
            return;
        };
        let keeper =
            common::oidc::block_on(provider.sign_in_changed(&self.server.url, email, roles, team));
        // A new sign-in is a new credential: its own cache.
        self.caches.lock().expect("caches").remove(email);
        self.sign_ins
            .lock()
            .expect("sign-ins")
            .insert(email.to_owned(), keeper);
    }

    fn add_service(&self, email: &str, roles: &[Role]) {
        let token = common::conformance::service_on_store(&self.store, email, roles);
        self.tokens
            .lock()
            .expect("tokens")
            .insert(email.to_owned(), token);
    }
}

/// A cache whose sync loop runs around every call.
struct Synced {
    cache: Arc<CachedBackend>,
}

impl Synced {
    /// One sync pass; its failures (a refused token, say) show in what the
    /// cache answers next, as they do in the console.
    async fn sync(&self) {
        if let Some(syncer) = self.cache.syncer() {
            let _ = syncer.pass().await;
        }
    }

    async fn write<T>(&self, answer: impl std::future::Future<Output = T>) -> T {
        let answer = answer.await;
        self.sync().await;
        answer
    }
}

#[async_trait]
impl GovernanceBackend for Synced {
    fn location(&self) -> String {
        self.cache.location()
    }
    async fn me(&self) -> Result<User> {
        self.sync().await;
        self.cache.me().await
    }
    async fn queue(&self, query: &QueueQuery) -> Result<QueuePage> {
        self.sync().await;
        self.cache.queue(query).await
    }
    async fn queue_count(&self, filter: &QueueFilter) -> Result<u64> {
        self.sync().await;
        self.cache.queue_count(filter).await
    }
    async fn workflow(&self, workflow_id: &str) -> Result<Workflow> {
        self.sync().await;
        self.cache.workflow(workflow_id).await
    }
    async fn decide(&self, decision: &Decision) -> Result<Workflow> {
        self.sync().await;
        self.write(self.cache.decide(decision)).await
    }
    async fn my_reviews(&self, status: Option<ReviewStatus>) -> Result<Vec<ReviewSummary>> {
        self.sync().await;
        self.cache.my_reviews(status).await
    }
    async fn review(&self, review_id: &str) -> Result<EthicsReview> {
        self.sync().await;
        self.cache.review(review_id).await
    }
    async fn review_for_workflow(&self, workflow_id: &str) -> Result<Option<EthicsReview>> {
        self.sync().await;
        self.cache.review_for_workflow(workflow_id).await
    }
    async fn assign_review(&self, workflow_id: &str, reviewer: &str) -> Result<EthicsReview> {
        self.write(self.cache.assign_review(workflow_id, reviewer))
            .await
    }
    async fn save_review_draft(
        &self,
        review_id: &str,
        answers: &Answers,
        form_state: Option<&serde_json::Value>,
    ) -> Result<EthicsReview> {
        self.sync().await;
        self.write(self.cache.save_review_draft(review_id, answers, form_state))
            .await
    }
    async fn submit_review(&self, review_id: &str, answers: &Answers) -> Result<EthicsReview> {
        self.sync().await;
        self.write(self.cache.submit_review(review_id, answers))
            .await
    }
    async fn review_template(&self, template_id: &str) -> Result<ReviewTemplate> {
        self.cache.review_template(template_id).await
    }
    async fn agent(&self, agent_id: &str) -> Result<Agent> {
        self.sync().await;
        self.cache.agent(agent_id).await
    }
    async fn search_agents(&self, text: &str, limit: u32) -> Result<Vec<AgentSummary>> {
        self.sync().await;
        self.cache.search_agents(text, limit).await
    }
    async fn audits(&self, agent_id: &str) -> Result<Vec<BiasAudit>> {
        self.sync().await;
        self.cache.audits(agent_id).await
    }
    async fn record_audit(&self, submission: &AuditSubmission) -> Result<BiasAudit> {
        self.write(self.cache.record_audit(submission)).await
    }
    async fn confirm_audit_independence(
        &self,
        request: &gavel::domain::bias::IndependenceConfirmation,
    ) -> Result<BiasAudit> {
        self.write(self.cache.confirm_audit_independence(request))
            .await
    }
    async fn audit_standings(
        &self,
        query: &gavel::backend::StandingQuery,
    ) -> Result<gavel::backend::StandingPage> {
        self.sync().await;
        self.cache.audit_standings(query).await
    }
    async fn check_deployment(&self, manifest: &Manifest) -> Result<Evaluation> {
        self.cache.check_deployment(manifest).await
    }
    async fn request_deployment(&self, manifest: &Manifest) -> Result<DeploymentRequest> {
        self.write(self.cache.request_deployment(manifest)).await
    }
    async fn deployment(&self, deployment_id: &str) -> Result<DeploymentRequest> {
        self.sync().await;
        self.cache.deployment(deployment_id).await
    }
    async fn evidence_pack(&self, query: &gavel::backend::EvidenceQuery) -> Result<Vec<u8>> {
        self.cache.evidence_pack(query).await
    }
    async fn attestation(
        &self,
        agent_id: &str,
        version: &str,
    ) -> Result<gavel::domain::attestation::Attested> {
        self.cache.attestation(agent_id, version).await
    }
    async fn attestation_key(&self) -> Result<gavel::domain::attestation::dsse::KeyDocument> {
        self.cache.attestation_key().await
    }
    async fn deployment_view(&self, deployment_id: &str) -> Result<gavel::backend::DeploymentView> {
        self.sync().await;
        self.cache.deployment_view(deployment_id).await
    }
    async fn deployments(&self, query: &DeploymentQuery) -> Result<DeploymentPage> {
        self.sync().await;
        self.cache.deployments(query).await
    }
    async fn dashboard(&self) -> Result<Dashboard> {
        self.sync().await;
        self.cache.dashboard().await
    }
    async fn board_report(
        &self,
        query: &gavel::domain::report::ReportQuery,
    ) -> Result<gavel::domain::report::SignedReport> {
        self.cache.board_report(query).await
    }
    async fn schedule_report(
        &self,
        asked: &gavel::domain::report::NewSchedule,
    ) -> Result<gavel::domain::report::Schedule> {
        self.cache.schedule_report(asked).await
    }
    async fn report_schedules(&self) -> Result<Vec<gavel::domain::report::Schedule>> {
        self.cache.report_schedules().await
    }
    async fn stop_report_schedule(
        &self,
        schedule_id: &str,
    ) -> Result<gavel::domain::report::Schedule> {
        self.cache.stop_report_schedule(schedule_id).await
    }
    async fn policies(&self) -> Result<Vec<Policy>> {
        self.cache.policies().await
    }
    async fn policy_reach(&self) -> Result<Vec<NamedCount>> {
        self.cache.policy_reach().await
    }
    async fn trail(&self, entity_type: &str, entity_id: &str) -> Result<Vec<TrailEvent>> {
        self.cache.trail(entity_type, entity_id).await
    }
    async fn verify_trail(&self) -> Result<VerifyReport> {
        self.cache.verify_trail().await
    }
    async fn users(&self, role: Option<Role>) -> Result<Vec<User>> {
        self.cache.users(role).await
    }
    async fn tools(&self) -> Result<Vec<ToolRecord>> {
        self.cache.tools().await
    }
    async fn inbox(&self) -> Result<Vec<gavel::backend::InboxItem>> {
        self.sync().await;
        self.cache.inbox().await
    }
    async fn mark_read(&self, event_ids: &[i64]) -> Result<u64> {
        self.write(self.cache.mark_read(event_ids)).await
    }
    async fn delegations(&self, ended: bool) -> Result<Vec<Delegation>> {
        self.sync().await;
        self.cache.delegations(ended).await
    }
    async fn delegate(&self, delegation: &NewDelegation) -> Result<Delegation> {
        self.write(self.cache.delegate(delegation)).await
    }
    async fn end_delegation(&self, delegation_id: Option<&str>) -> Result<Vec<Delegation>> {
        self.write(self.cache.end_delegation(delegation_id)).await
    }
    async fn obligations(
        &self,
        agent_id: &str,
        version: Option<&str>,
    ) -> Result<gavel::domain::obligations::Posture> {
        self.sync().await;
        self.cache.obligations(agent_id, version).await
    }
    async fn postures(
        &self,
        query: &gavel::domain::obligations::PostureQuery,
    ) -> Result<gavel::domain::obligations::PosturePage> {
        self.cache.postures(query).await
    }
    async fn intake(
        &self,
        agent_id: &str,
        version: &str,
    ) -> Result<Option<gavel::domain::obligations::Intake>> {
        self.cache.intake(agent_id, version).await
    }
    async fn save_intake(
        &self,
        save: &gavel::domain::obligations::IntakeSave,
    ) -> Result<gavel::domain::obligations::Intake> {
        self.write(self.cache.save_intake(save)).await
    }
    async fn decide_intake_change(
        &self,
        decision: &gavel::domain::obligations::IntakeDecision,
    ) -> Result<gavel::domain::obligations::Intake> {
        self.write(self.cache.decide_intake_change(decision)).await
    }
    async fn confirm_obligation(
        &self,
        request: &gavel::domain::obligations::NewConfirmation,
    ) -> Result<gavel::domain::obligations::Confirmation> {
        self.write(self.cache.confirm_obligation(request)).await
    }
    async fn recertifications_due(
        &self,
        within_days: u32,
    ) -> Result<gavel::backend::RecertificationPage> {
        self.sync().await;
        self.cache.recertifications_due(within_days).await
    }
    async fn exceptions(
        &self,
        query: &gavel::domain::exception::ExceptionQuery,
    ) -> Result<Vec<gavel::domain::exception::Exception>> {
        self.sync().await;
        self.cache.exceptions(query).await
    }
    async fn exception(&self, exception_id: &str) -> Result<gavel::domain::exception::Exception> {
        self.sync().await;
        self.cache.exception(exception_id).await
    }
    async fn request_exception(
        &self,
        request: &gavel::domain::exception::NewException,
    ) -> Result<gavel::domain::exception::Exception> {
        self.write(self.cache.request_exception(request)).await
    }
    async fn decide_exception(
        &self,
        decision: &gavel::domain::exception::ExceptionDecision,
    ) -> Result<gavel::domain::exception::Exception> {
        self.write(self.cache.decide_exception(decision)).await
    }
    async fn revoke_exception(
        &self,
        exception_id: &str,
        reason: &str,
    ) -> Result<gavel::domain::exception::Exception> {
        self.write(self.cache.revoke_exception(exception_id, reason))
            .await
    }
    async fn incidents(
        &self,
        query: &gavel::domain::incident::IncidentQuery,
    ) -> Result<Vec<gavel::domain::incident::Incident>> {
        self.sync().await;
        self.cache.incidents(query).await
    }
    async fn incident(&self, incident_id: &str) -> Result<gavel::domain::incident::Incident> {
        self.sync().await;
        self.cache.incident(incident_id).await
    }
    async fn report_incident(
        &self,
        report: &gavel::domain::incident::NewIncident,
    ) -> Result<gavel::domain::incident::Incident> {
        self.write(self.cache.report_incident(report)).await
    }
    async fn change_incident(
        &self,
        change: &gavel::domain::incident::IncidentChange,
    ) -> Result<gavel::domain::incident::Incident> {
        self.write(self.cache.change_incident(change)).await
    }
    async fn decide_tool(
        &self,
        name: &str,
        status: ToolStatus,
        comment: &str,
    ) -> Result<ToolRecord> {
        self.write(self.cache.decide_tool(name, status, comment))
            .await
    }
    async fn withdraw(&self, workflow_id: &str, reason: Option<&str>) -> Result<Workflow> {
        self.write(self.cache.withdraw(workflow_id, reason)).await
    }
    async fn policy_sets(&self) -> Result<Vec<gavel::backend::PolicySetVersion>> {
        self.cache.policy_sets().await
    }
    async fn policy_set(&self, version: Option<i64>) -> Result<gavel::backend::PolicySetDetail> {
        self.cache.policy_set(version).await
    }
    async fn plan_policy_set(&self, source: &str) -> Result<gavel::domain::policy::plan::Plan> {
        self.cache.plan_policy_set(source).await
    }
    async fn propose_policy_set(&self, source: &str) -> Result<gavel::backend::PolicySetDetail> {
        self.write(self.cache.propose_policy_set(source)).await
    }
    async fn decide_policy_set(
        &self,
        version: i64,
        approve: bool,
        comment: Option<&str>,
    ) -> Result<gavel::backend::PolicySetDetail> {
        self.write(self.cache.decide_policy_set(version, approve, comment))
            .await
    }

    async fn start_audit_run(
        &self,
        start: &gavel::backend::AuditRunStart,
    ) -> Result<gavel::backend::AuditRun> {
        self.cache.start_audit_run(start).await
    }

    async fn audit_run(&self, run_id: &str) -> Result<gavel::backend::AuditRun> {
        self.cache.audit_run(run_id).await
    }

    async fn audit_runs(&self, agent_id: Option<&str>) -> Result<Vec<gavel::backend::AuditRun>> {
        self.cache.audit_runs(agent_id).await
    }

    async fn record_case_outcomes(
        &self,
        run_id: &str,
        outcomes: &[gavel::backend::CaseOutcome],
    ) -> Result<gavel::backend::RecordedOutcomes> {
        self.cache.record_case_outcomes(run_id, outcomes).await
    }

    async fn audit_run_cases(
        &self,
        run_id: &str,
        query: &gavel::backend::CaseQuery,
    ) -> Result<gavel::backend::CasePage> {
        self.cache.audit_run_cases(run_id, query).await
    }

    async fn finish_audit_run(&self, run_id: &str) -> Result<gavel::domain::BiasAudit> {
        self.cache.finish_audit_run(run_id).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_backend_conforms() {
    let fixture = CachedFixture::new();
    common::conformance::run(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_backend_conforms_with_people_signed_in_by_the_identity_provider() {
    let fixture = CachedFixture::signed_in();
    common::conformance::run(&fixture).await;
}
