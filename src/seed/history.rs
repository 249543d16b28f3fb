//! One deployment request through the real policy engine and workflow state
//! machine: its workflows, the decisions made on them, and the rows and
//! trail events they leave.

use chrono::{DateTime, Duration, Utc};
use rand::RngExt;
use rand::seq::IndexedRandom;
use rusqlite::Connection;

use super::names::*;
use crate::backend::Result;
use crate::backend::local::writes::{self, entry, format_id};
use crate::domain::decision::{Decider, DecisionRequest};
use crate::domain::deployment::DeploymentRequest;
use crate::domain::manifest::Manifest;
use crate::domain::policy::evaluation::{DeploymentStatus, Facts, evaluate};
use crate::domain::{Agent, Role, StepStatus, Verdict, Workflow, WorkflowStatus};

use super::generator::{AgentLife, Generator};
use crate::domain::decision::ReviewFacts;

impl Generator {
    /// Writes one request; false when it would pass the workflow target.
    pub(super) fn request(
        &mut self,
        conn: &Connection,
        life: &mut AgentLife,
        at: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let remaining = self.options.workflows.saturating_sub(self.report.workflows);
        if remaining == 0 {
            return Ok(false);
        }
        if self.needs_audit(&life.agent) && self.rng.random_bool(0.85) {
            let audited_at = at - Duration::hours(self.rng.random_range(2..96));
            self.record_audit(conn, life, audited_at)?;
        }
        // The owner requests, or a colleague of their team holding a role.
        let colleague = self
            .people
            .requesters
            .choose(&mut self.rng)
            .cloned()
            .unwrap_or_default();
        let requester = match self.people.teams.get(&colleague) {
            Some((team, true)) if *team == life.agent.team => colleague,
            _ => life.agent.owner.clone(),
        };
        let manifest = Manifest::for_agent(life.agent.clone(), life.tools.clone());
        let audit = life.audits_by_version.get(&life.agent.version);
        let evaluation = evaluate(
            &manifest,
            &self.set,
            &Facts {
                latest_audit: audit,
                latest_audit_of_agent: life.latest_audit(),
                approved_tools: &self.approved_tools,
                reference_agents: &[],
                intake: None,
                exceptions: &[],
                now: at,
            },
        );
        if evaluation.workflows.len() as u64 > remaining {
            return Ok(false);
        }
        let deployment_id = format_id("dep", self.next_deployment);
        self.next_deployment += 1;

        // Each workflow's history, decided up front so rows are written once.
        let window_end = next.unwrap_or(self.anchor());
        let is_current = next.is_none();
        let mut workflows = Vec::new();
        for planned in &evaluation.workflows {
            let mut workflow = Workflow::open(
                format_id("wf", self.next_workflow),
                deployment_id.clone(),
                life.agent.agent_id.clone(),
                planned.policy_id.clone(),
                requester.clone(),
                &planned.chain,
                at,
            );
            workflow.policy_set_version = Some(self.set_version);
            self.next_workflow += 1;
            workflows.push(workflow);
        }
        let rejected_one =
            !workflows.is_empty() && self.rng.random_bool(if is_current { 0.06 } else { 0.12 });
        let rejected_index = if rejected_one {
            self.rng.random_range(0..workflows.len())
        } else {
            usize::MAX
        };
        let mut histories = Vec::new();
        for (i, workflow) in workflows.iter().enumerate() {
            let stop = if i == rejected_index {
                Stop::RejectAt(self.rng.random_range(0..workflow.steps.len()))
            } else if is_current && self.rng.random_bool(0.7) {
                Stop::PendingAt(self.rng.random_range(0..workflow.steps.len()))
            } else {
                Stop::Complete
            };
            histories.push(self.decide_history(workflow, stop, at, window_end));
        }
        // A rejection withdraws the siblings still open at that moment.
        let rejection = histories.iter().find_map(|history| {
            (history.workflow.status == WorkflowStatus::Rejected).then_some(history.closed_at)
        });
        if let Some(rejected_at) = rejection {
            for history in &mut histories {
                if history.workflow.status != WorkflowStatus::Rejected {
                    history.cut_at(rejected_at);
                }
            }
        }

        let status = match evaluation.status {
            DeploymentStatus::Blocked if !is_current => DeploymentStatus::Withdrawn,
            DeploymentStatus::PendingApproval if rejection.is_some() => DeploymentStatus::Rejected,
            DeploymentStatus::PendingApproval
                if histories
                    .iter()
                    .all(|h| h.workflow.status == WorkflowStatus::Approved) =>
            {
                DeploymentStatus::Approved
            }
            other => other,
        };
        let request = DeploymentRequest {
            deployment_id: deployment_id.clone(),
            agent_id: life.agent.agent_id.clone(),
            agent_name: life.agent.name.clone(),
            team: life.agent.team.clone(),
            agent_version: life.agent.version.clone(),
            requested_by: requester.clone(),
            requested_at: at,
            status: evaluation.status,
            triggered_policies: evaluation.triggered_policies.clone(),
            blocking_reasons: evaluation.blocking_reasons.clone(),
            remediation: evaluation.remediation.clone(),
            running_version: life.running_version.clone(),
            workflow_ids: workflows.iter().map(|w| w.workflow_id.clone()).collect(),
            agent: Some(evaluation.agent.clone()),
            external_tools: life.tools.clone(),
            supersedes_on_approval: false,
            policy_set_version: Some(self.set_version),
            artifacts: vec![image_of(&life.agent)],
            manifest_digest: None,
        };
        writes::insert_deployment(&crate::db::Connection::sqlite(conn), &request)?;
        if status != evaluation.status {
            writes::update_deployment_status(
                &crate::db::Connection::sqlite(conn),
                &deployment_id,
                status,
            )?;
        }
        self.report.deployments += 1;
        self.append(
            conn,
            entry(
                at,
                &requester,
                "deployment",
                &deployment_id,
                "deployment_requested",
                (None, None),
                writes::requested_details(&request, &[], &[]),
            ),
        )?;
        for history in histories {
            self.write_history(conn, &life.agent, history)?;
        }
        if status != evaluation.status {
            let changed_at = match status {
                DeploymentStatus::Withdrawn => window_end,
                _ => rejection.unwrap_or(window_end),
            };
            let why = match status {
                DeploymentStatus::Withdrawn => format!(
                    "superseded by a request for a newer version on {}",
                    changed_at.format("%Y-%m-%d")
                ),
                DeploymentStatus::Rejected => "an approval workflow was rejected".to_owned(),
                _ => "every approval workflow approved".to_owned(),
            };
            self.append(
                conn,
                entry(
                    changed_at,
                    &requester,
                    "deployment",
                    &deployment_id,
                    "status_changed",
                    (None, None),
                    serde_json::json!({ "from": evaluation.status, "to": status, "why": why }),
                ),
            )?;
        }
        if status.is_live() {
            life.running_version = Some(life.agent.version.clone());
        }
        Ok(true)
    }

    /// Walks a workflow through the real state machine up to `stop`.
    pub(super) fn decide_history(
        &mut self,
        workflow: &Workflow,
        stop: Stop,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> History {
        let steps = workflow.steps.len();
        let decisions = match stop {
            Stop::Complete => steps,
            Stop::RejectAt(step) => step + 1,
            Stop::PendingAt(step) => step,
        };
        let window = (until - from).num_minutes().max(steps as i64 + 2);
        // Decision times spread over the window, leaving the last stretch for
        // the step still waiting.
        let mut offsets: Vec<i64> = (0..decisions)
            .map(|_| self.rng.random_range(1..window))
            .collect();
        offsets.sort_unstable();
        let mut current = workflow.clone();
        let mut events = Vec::new();
        let mut review_submitted_at = None;
        for (i, offset) in offsets.into_iter().enumerate() {
            let Some(step) = current.current_step().cloned() else {
                break;
            };
            let at = from + Duration::minutes(offset);
            let excluded: Vec<&str> = std::iter::once(current.requested_by.as_str())
                .chain(
                    current
                        .steps
                        .iter()
                        .filter_map(|s| s.approver_email.as_deref()),
                )
                .collect();
            let email = self.pick(step.role, &excluded);
            let reject = matches!(stop, Stop::RejectAt(n) if n == i);
            let comment = if reject {
                Some(
                    REJECTION_COMMENTS
                        .choose(&mut self.rng)
                        .copied()
                        .unwrap_or("Rejected."),
                )
            } else if self.rng.random_bool(0.4) {
                APPROVAL_COMMENTS.choose(&mut self.rng).copied()
            } else {
                None
            };
            if step.role == Role::EthicsReviewer {
                review_submitted_at = Some(at - Duration::minutes(self.rng.random_range(5..600)));
            }
            let roles = [step.role];
            let request = DecisionRequest {
                step_id: step.step_id,
                verdict: if reject {
                    Verdict::Reject
                } else {
                    Verdict::Approve
                },
                comment,
                expected_version: current.version,
                // The ethics step's decider is its review's author.
                review: (step.role == Role::EthicsReviewer).then_some(ReviewFacts {
                    reviewer: &email,
                    submitted: true,
                }),
                decided_at: at,
                received_at: at,
            };
            match current.decide(&Decider::person(&email, &roles), &request) {
                Ok(next) => {
                    events.push((current.version, step.step_id, at));
                    current = next;
                }
                // The generator only makes legal moves; if one is refused the
                // workflow simply stays where it is.
                Err(_) => break,
            }
        }
        let closed_at = events.last().map_or(from, |event| event.2);
        History {
            workflow: current,
            events,
            closed_at,
            withdrawn_at: None,
            review_submitted_at,
        }
    }

    pub(super) fn write_history(
        &mut self,
        conn: &Connection,
        agent: &Agent,
        history: History,
    ) -> Result<()> {
        let workflow = &history.workflow;
        let closed_at = history.withdrawn_at.unwrap_or(history.closed_at);
        let review = self.write_review(conn, &history)?;
        writes::insert_workflow(
            &crate::db::Connection::sqlite(conn),
            workflow,
            agent,
            closed_at,
        )?;
        self.report.workflows += 1;
        self.since_commit += 1;
        if workflow.status == WorkflowStatus::InProgress {
            self.report.in_progress += 1;
        }
        self.append(
            conn,
            writes::opened_entry(
                &Workflow {
                    version: 1,
                    ..workflow.clone()
                },
                &workflow.requested_by,
            ),
        )?;
        if let Some(review) = &review {
            self.review_events(conn, workflow, review)?;
        }
        for &(before, step_id, at) in &history.events {
            let Some(step) = workflow.steps.iter().find(|s| s.step_id == step_id) else {
                continue;
            };
            let approver = step.approver_email.clone().unwrap_or_default();
            let action = if step.status == StepStatus::Rejected {
                "step_rejected"
            } else {
                "step_approved"
            };
            self.append(
                conn,
                entry(at, &approver, "workflow", &workflow.workflow_id, action, (Some(before), Some(before + 1)),
                    serde_json::json!({ "step_id": step_id, "role": step.role, "comment": step.comment })),
            )?;
        }
        if let Some(at) = history.withdrawn_at {
            self.append(
                conn,
                entry(
                    at,
                    &workflow.requested_by,
                    "workflow",
                    &workflow.workflow_id,
                    "workflow_withdrawn",
                    (Some(workflow.version - 1), Some(workflow.version)),
                    serde_json::json!({ "why": "a sibling workflow was rejected" }),
                ),
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Stop {
    Complete,
    RejectAt(usize),
    PendingAt(usize),
}

pub(super) struct History {
    pub(super) workflow: Workflow,
    /// (version before, step id, time) of each decision.
    pub(super) events: Vec<(i64, u32, DateTime<Utc>)>,
    pub(super) closed_at: DateTime<Utc>,
    pub(super) withdrawn_at: Option<DateTime<Utc>>,
    pub(super) review_submitted_at: Option<DateTime<Utc>>,
}

impl History {
    /// Undoes decisions made after `at` and withdraws the workflow then, as
    /// the store does when a sibling is rejected.
    pub(super) fn cut_at(&mut self, at: DateTime<Utc>) {
        let kept = self.events.iter().take_while(|event| event.2 <= at).count();
        if self.workflow.status == WorkflowStatus::Approved && kept == self.events.len() {
            return;
        }
        for event in &self.events[kept..] {
            if let Some(step) = self
                .workflow
                .steps
                .iter_mut()
                .find(|s| s.step_id == event.1)
            {
                step.status = StepStatus::Pending;
                step.approver_email = None;
                step.comment = None;
                step.decision_at = None;
            }
        }
        self.events.truncate(kept);
        self.workflow.status = WorkflowStatus::InProgress;
        self.workflow.version = 1 + kept as i64;
        if let Some(withdrawn) = self.workflow.withdraw() {
            self.workflow = withdrawn;
            self.withdrawn_at = Some(at);
        }
    }
}

/// The container image a generated agent version ships, by a digest of its
/// own (the admission webhook and attestations name it).
fn image_of(agent: &crate::domain::Agent) -> crate::domain::manifest::Artifact {
    let team: String = agent
        .team
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    crate::domain::manifest::Artifact {
        name: format!("registry.northwind.example/{team}/{}", agent.agent_id),
        digest: format!(
            "sha256:{}",
            crate::domain::digest::sha256_hex(format!("{}@{}", agent.agent_id, agent.version))
        ),
    }
}
