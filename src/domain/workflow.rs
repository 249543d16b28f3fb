//! The approval workflow state machine.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::name::display_as_str;
use crate::domain::policy::policies::StepRules;
pub use crate::domain::policy::sla::{Alert, AlertKind, StepSla};
use crate::domain::role::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Approved,
    Rejected,
    Skipped,
}

impl StepStatus {
    pub const ALL: [StepStatus; 4] = [
        StepStatus::Pending,
        StepStatus::Approved,
        StepStatus::Rejected,
        StepStatus::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Approved => "approved",
            StepStatus::Rejected => "rejected",
            StepStatus::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowStatus {
    InProgress,
    Approved,
    Rejected,
    Withdrawn,
}

impl WorkflowStatus {
    pub const ALL: [WorkflowStatus; 4] = [
        WorkflowStatus::InProgress,
        WorkflowStatus::Approved,
        WorkflowStatus::Rejected,
        WorkflowStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowStatus::InProgress => "in_progress",
            WorkflowStatus::Approved => "approved",
            WorkflowStatus::Rejected => "rejected",
            WorkflowStatus::Withdrawn => "withdrawn",
        }
    }
}

display_as_str!(StepStatus, WorkflowStatus);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approve,
    Reject,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Reject => "reject",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Step {
    /// 1-based position in the chain; unique within the workflow.
    pub step_id: u32,
    pub role: Role,
    pub status: StepStatus,
    /// Who decided the step (empty until decided).
    pub approver_email: Option<String>,
    pub comment: Option<String>,
    /// When the person decided: for a decision made offline, the time they
    /// made it, not the time it reached the server.
    pub decision_at: Option<DateTime<Utc>>,
    /// When the server recorded the decision, if that differs from
    /// `decision_at`. SLAs, escalation and ordering count from this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<DateTime<Utc>>,
    /// Whom `approver_email` decided for, under their delegation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    /// How many different people of the role must approve (1: one).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub quorum: u32,
    /// The approvals of a quorum step, in order (the last one that
    /// completed it included); empty for a one-person step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<Approval>,
    /// When the step falls due and whom it escalates to, from the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<StepSla>,
    /// The reminders and the escalation sent while the step waited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<Alert>,
    /// The workflow version at which this step became the current one: a
    /// decision made on that version or later differs from the current one
    /// only by other approvals of this step or its reminders, so it is
    /// applied rather than refused as stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_from_version: Option<i64>,
}

fn one() -> u32 {
    1
}

fn is_one(count: &u32) -> bool {
    *count == 1
}

/// One person's approval of a quorum step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Approval {
    pub approver_email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub decision_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<DateTime<Utc>>,
}

impl Step {
    /// A pending step of one approver, with no SLA.
    pub fn waiting(step_id: u32, role: Role) -> Step {
        Step {
            step_id,
            role,
            status: StepStatus::Pending,
            approver_email: None,
            comment: None,
            decision_at: None,
            received_at: None,
            on_behalf_of: None,
            quorum: 1,
            approvals: Vec::new(),
            sla: None,
            alerts: Vec::new(),
            current_from_version: None,
        }
    }

    /// Everyone this step's decisions count as: deciders and the people
    /// they decided for.
    pub fn people(&self) -> impl Iterator<Item = &str> {
        let approvals = self.approvals.iter().flat_map(|approval| {
            std::iter::once(approval.approver_email.as_str())
                .chain(approval.on_behalf_of.as_deref())
        });
        self.approver_email
            .as_deref()
            .into_iter()
            .chain(self.on_behalf_of.as_deref())
            .chain(approvals)
    }

    /// Whether `email` decided this step, or was decided for.
    pub fn involves(&self, email: &str) -> bool {
        self.people()
            .any(|person| person.eq_ignore_ascii_case(email))
    }

    /// The latest alert sent for this step.
    pub fn alerted(&self) -> Option<AlertKind> {
        self.alerts.iter().map(|alert| alert.kind).max()
    }

    /// When the decision reached the record.
    pub fn received(&self) -> Option<DateTime<Utc>> {
        self.received_at.or(self.decision_at)
    }

    /// When the decision reached the record, if that was a minute or more
    /// after the person made it (offline): worth showing beside it.
    pub fn received_later(&self) -> Option<DateTime<Utc>> {
        let (decided, received) = (self.decision_at?, self.received_at?);
        (received - decided >= chrono::TimeDelta::minutes(1)).then_some(received)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Workflow {
    pub workflow_id: String,
    pub agent_id: String,
    pub deployment_id: String,
    pub triggered_by_policy: String,
    /// The deployment's requester, who may decide no step.
    pub requested_by: String,
    pub steps: Vec<Step>,
    pub status: WorkflowStatus,
    pub created_at: DateTime<Utc>,
    /// Bumped by every change; decisions name the version they were made on.
    pub version: i64,
    /// The policy set version the workflow was opened under: its chain
    /// stays the one that version gave, whatever later versions say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_set_version: Option<i64>,
}

impl Workflow {
    /// A new in-progress workflow walking `chain`.
    pub fn open(
        workflow_id: String,
        deployment_id: String,
        agent_id: String,
        triggered_by_policy: String,
        requested_by: String,
        chain: &[Role],
        created_at: DateTime<Utc>,
    ) -> Workflow {
        let steps = chain
            .iter()
            .zip(1..)
            .map(|(&role, step_id)| Step {
                current_from_version: (step_id == 1).then_some(1),
                ..Step::waiting(step_id, role)
            })
            .collect();
        Workflow {
            workflow_id,
            agent_id,
            deployment_id,
            triggered_by_policy,
            requested_by,
            steps,
            status: WorkflowStatus::InProgress,
            created_at,
            version: 1,
            policy_set_version: None,
        }
    }

    /// Gives the steps their quorum and SLA, in chain order (a workflow
    /// keeps those its policy set version gave it).
    pub fn with_rules(mut self, rules: &[StepRules]) -> Workflow {
        for (step, rules) in self.steps.iter_mut().zip(rules) {
            step.quorum = rules.quorum.max(1);
            step.sla = rules.sla.clone();
        }
        self
    }

    /// The first pending step of an in-progress workflow.
    pub fn current_step(&self) -> Option<&Step> {
        if self.status != WorkflowStatus::InProgress {
            return None;
        }
        self.steps
            .iter()
            .find(|step| step.status == StepStatus::Pending)
    }

    /// When the current step started waiting: the last decision, or creation.
    pub fn waiting_since(&self) -> DateTime<Utc> {
        self.steps
            .iter()
            .filter_map(Step::received)
            .max()
            .unwrap_or(self.created_at)
    }

    /// Everyone who decided a step, or was decided for, lowercased.
    pub fn people(&self) -> Vec<String> {
        let mut people: Vec<String> = self
            .steps
            .iter()
            .flat_map(Step::people)
            .map(str::to_lowercase)
            .collect();
        people.sort();
        people.dedup();
        people
    }

    /// Records an alert on the current step (a reminder, the due time, an
    /// escalation): the workflow after it, with its version bumped.
    pub fn alert(&self, alert: Alert) -> Option<Workflow> {
        let index = self
            .steps
            .iter()
            .position(|step| step.status == StepStatus::Pending)
            .filter(|_| self.status == WorkflowStatus::InProgress)?;
        let mut next = self.clone();
        next.steps[index].alerts.push(alert);
        next.version += 1;
        Some(next)
    }

    /// The alert the current step is due at `now`, if any: the most
    /// advanced one whose time has come and that was not sent yet (a
    /// reminder missed while nobody was watching is not sent late once
    /// the step is overdue).
    pub fn alert_due(&self, now: DateTime<Utc>) -> Option<AlertKind> {
        let step = self.current_step()?;
        step.sla
            .as_ref()?
            .alert_due(self.waiting_since(), step.alerted(), now)
    }

    /// When the current step's next alert comes due.
    pub fn next_alert_at(&self) -> Option<DateTime<Utc>> {
        let step = self.current_step()?;
        step.sla
            .as_ref()?
            .next_alert_at(self.waiting_since(), step.alerted())
    }

    /// Withdraws an in-progress workflow (its deployment was withdrawn).
    pub fn withdraw(&self) -> Option<Workflow> {
        if self.status != WorkflowStatus::InProgress {
            return None;
        }
        let mut next = self.clone();
        for step in &mut next.steps {
            if step.status == StepStatus::Pending {
                step.status = StepStatus::Skipped;
            }
        }
        next.status = WorkflowStatus::Withdrawn;
        next.version += 1;
        Some(next)
    }
}

#[cfg(test)]
mod tests;
