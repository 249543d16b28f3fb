//! The approval workflow state machine.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

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

/// How far a device's clock may run ahead of or behind the server's before
/// the time it claims for a decision is refused rather than brought into range.
pub const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// Why the time a decision claims cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "decision_at {claimed} is outside the time the decision could have been made: between {earliest} (the workflow's version) and {latest} (now)"
)]
pub struct DecisionTimeOutOfRange {
    pub claimed: DateTime<Utc>,
    pub earliest: DateTime<Utc>,
    pub latest: DateTime<Utc>,
}

/// The time to record for a decision claimed made at `claimed` on a workflow
/// version current since `version_time` and received at `received`: the
/// claim, if it lies between the two; brought to the nearer end if it lies
/// within `CLOCK_SKEW` outside (a device's clock a little off); refused
/// further out.
pub fn decision_time(
    claimed: Option<DateTime<Utc>>,
    version_time: DateTime<Utc>,
    received: DateTime<Utc>,
) -> Result<DateTime<Utc>, DecisionTimeOutOfRange> {
    let Some(claimed) = claimed else {
        return Ok(received);
    };
    // A version recorded "after" now (the server's clock stepped back)
    // leaves only now.
    let earliest = version_time.min(received);
    if claimed < earliest - CLOCK_SKEW || claimed > received + CLOCK_SKEW {
        return Err(DecisionTimeOutOfRange {
            claimed,
            earliest,
            latest: received,
        });
    }
    Ok(claimed.clamp(earliest, received))
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

/// A person, with the roles they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal<'a> {
    pub email: &'a str,
    pub roles: &'a [Role],
}

/// The person deciding, with the roles they hold, and whom they decide for
/// (a delegation the store found active).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decider<'a> {
    pub email: &'a str,
    pub roles: &'a [Role],
    pub on_behalf_of: Option<Principal<'a>>,
}

impl<'a> Decider<'a> {
    /// Someone deciding for themselves.
    pub fn person(email: &'a str, roles: &'a [Role]) -> Decider<'a> {
        Decider {
            email,
            roles,
            on_behalf_of: None,
        }
    }

    /// Everyone the decision counts as.
    fn people(&self) -> impl Iterator<Item = &'a str> {
        std::iter::once(self.email).chain(self.on_behalf_of.map(|principal| principal.email))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRequest<'a> {
    pub step_id: u32,
    pub verdict: Verdict,
    pub comment: Option<&'a str>,
    pub expected_version: i64,
    /// The workflow's ethics review, if one is assigned.
    pub review: Option<ReviewFacts<'a>>,
    /// When the person decided (see `decision_time`).
    pub decided_at: DateTime<Utc>,
    /// When the decision reached the record.
    pub received_at: DateTime<Utc>,
}

/// What the rules need of a workflow's ethics review: its author decides
/// the ethics step, and from its assignment counts as that step's decider
/// for separation of duties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewFacts<'a> {
    pub reviewer: &'a str,
    pub submitted: bool,
}

/// Why a decision was refused. Each rule has its own variant so servers can
/// map them to status codes and UIs can explain them.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum DecisionError {
    #[error(
        "stale version: you decided on version {expected} but the workflow is now at version {actual}; reload and decide again"
    )]
    StaleVersion { expected: i64, actual: i64 },
    #[error("workflow is already {status}: no step can be decided")]
    WorkflowClosed { status: WorkflowStatus },
    #[error("workflow has no step {step_id}")]
    UnknownStep { step_id: u32 },
    #[error("step {step_id} is not the current step (the current step is {current})")]
    StepNotCurrent { step_id: u32, current: u32 },
    #[error("wrong role: step {step_id} needs a {required} and you hold none of that role")]
    WrongRole { step_id: u32, required: Role },
    #[error(
        "separation of duties: {email} requested this deployment and may not decide its approvals, even holding the {required} role"
    )]
    SeparationOfDuties { email: String, required: Role },
    #[error("one person decides at most one step: {email} already decided step {step_id}")]
    AlreadyDecidedAStep { email: String, step_id: u32 },
    #[error("{email} already approved step {step_id}, which needs {quorum} different approvers")]
    AlreadyApproved {
        email: String,
        step_id: u32,
        quorum: u32,
    },
    #[error(
        "{email} does not hold the {required} role, so nobody may decide step {step_id} on their behalf"
    )]
    DelegatorLacksRole {
        email: String,
        step_id: u32,
        required: Role,
    },
    #[error(
        "{delegate} holds no delegation from {delegator} covering the {role} role at this time (delegations are not passed on)"
    )]
    NotDelegated {
        delegate: String,
        delegator: String,
        role: Role,
    },
    #[error(
        "{delegator}'s delegation to {delegate} ({role}) has ended: a decision for someone counts only while it runs when it arrives"
    )]
    DelegationEnded {
        delegate: String,
        delegator: String,
        role: Role,
    },
    #[error("only the author of its ethics review, {reviewer}, decides step {step_id}")]
    NotTheReviewer { reviewer: String, step_id: u32 },
    #[error(
        "one person decides at most one step: {email} holds the ethics review, which decides step {step_id}"
    )]
    AssignedTheReview { email: String, step_id: u32 },
    #[error("a rejection needs a comment saying why")]
    EmptyRejectionComment,
    #[error("the ethics review step needs a submitted ethics review before it can be approved")]
    EthicsReviewNotSubmitted,
    #[error("the comment is {len} bytes long; the most a decision comment may hold is {max} bytes")]
    CommentTooLong { len: usize, max: usize },
}

impl DecisionError {
    /// A stable machine-readable name for the rule that refused.
    pub fn rule(&self) -> &'static str {
        match self {
            DecisionError::StaleVersion { .. } => "stale_version",
            DecisionError::WorkflowClosed { .. } => "workflow_closed",
            DecisionError::UnknownStep { .. } => "unknown_step",
            DecisionError::StepNotCurrent { .. } => "step_not_current",
            DecisionError::WrongRole { .. } => "wrong_role",
            DecisionError::SeparationOfDuties { .. } => "separation_of_duties",
            DecisionError::AlreadyDecidedAStep { .. } => "already_decided_a_step",
            DecisionError::AlreadyApproved { .. } => "already_approved",
            DecisionError::DelegatorLacksRole { .. } => "delegator_lacks_role",
            DecisionError::NotDelegated { .. } => "not_delegated",
            DecisionError::DelegationEnded { .. } => "delegation_ended",
            DecisionError::NotTheReviewer { .. } => "not_the_reviewer",
            DecisionError::AssignedTheReview { .. } => "assigned_the_review",
            DecisionError::EmptyRejectionComment => "empty_rejection_comment",
            DecisionError::EthicsReviewNotSubmitted => "ethics_review_not_submitted",
            DecisionError::CommentTooLong { .. } => "comment_too_long",
        }
    }
}

/// The largest comment a decision may carry, in bytes.
pub const MAX_COMMENT_BYTES: usize = 8 * 1024;

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

    /// Whether a decision made on `expected` still applies: on the current
    /// version, or on one since the step became current (later versions
    /// then differ only by other approvals of the step, or its reminders).
    fn decided_on_current_step(&self, expected: i64, step_id: u32) -> bool {
        expected == self.version
            || self.current_step().is_some_and(|step| {
                step.step_id == step_id
                    && step
                        .current_from_version
                        .is_some_and(|from| from <= expected && expected < self.version)
            })
    }

    /// Checks every rule without changing anything.
    pub fn check_decision(
        &self,
        decider: &Decider<'_>,
        request: &DecisionRequest<'_>,
    ) -> Result<(), DecisionError> {
        if !self.decided_on_current_step(request.expected_version, request.step_id) {
            return Err(DecisionError::StaleVersion {
                expected: request.expected_version,
                actual: self.version,
            });
        }
        if self.status != WorkflowStatus::InProgress {
            return Err(DecisionError::WorkflowClosed {
                status: self.status,
            });
        }
        let step = self
            .steps
            .iter()
            .find(|step| step.step_id == request.step_id)
            .ok_or(DecisionError::UnknownStep {
                step_id: request.step_id,
            })?;
        let current = self.current_step().map_or(0, |step| step.step_id);
        if step.step_id != current {
            return Err(DecisionError::StepNotCurrent {
                step_id: step.step_id,
                current,
            });
        }
        if !decider.roles.contains(&step.role) {
            return Err(DecisionError::WrongRole {
                step_id: step.step_id,
                required: step.role,
            });
        }
        if let Some(principal) = decider.on_behalf_of
            && !principal.roles.contains(&step.role)
        {
            return Err(DecisionError::DelegatorLacksRole {
                email: principal.email.to_owned(),
                step_id: step.step_id,
                required: step.role,
            });
        }
        // A decision for someone counts as both people's, for every rule.
        for person in decider.people() {
            if person.eq_ignore_ascii_case(&self.requested_by) {
                return Err(DecisionError::SeparationOfDuties {
                    email: person.to_owned(),
                    required: step.role,
                });
            }
            if let Some(earlier) = self
                .steps
                .iter()
                .find(|other| other.step_id != step.step_id && other.involves(person))
            {
                return Err(DecisionError::AlreadyDecidedAStep {
                    email: person.to_owned(),
                    step_id: earlier.step_id,
                });
            }
            if step.involves(person) {
                return Err(DecisionError::AlreadyApproved {
                    email: person.to_owned(),
                    step_id: step.step_id,
                    quorum: step.quorum,
                });
            }
        }
        self.check_review_author(decider, step, request.review)?;
        let comment = request.comment.map(str::trim).unwrap_or_default();
        if comment.len() > MAX_COMMENT_BYTES {
            return Err(DecisionError::CommentTooLong {
                len: comment.len(),
                max: MAX_COMMENT_BYTES,
            });
        }
        if request.verdict == Verdict::Reject && !crate::text::has_visible_text(comment) {
            return Err(DecisionError::EmptyRejectionComment);
        }
        if request.verdict == Verdict::Approve
            && step.role == Role::EthicsReviewer
            && !request.review.is_some_and(|review| review.submitted)
        {
            return Err(DecisionError::EthicsReviewNotSubmitted);
        }
        Ok(())
    }

    /// The review's author decides the ethics step, and decides no other:
    /// from the moment a review is assigned, its reviewer counts as the
    /// ethics step's decider (for the decider and for whom they decide).
    fn check_review_author(
        &self,
        decider: &Decider<'_>,
        step: &Step,
        review: Option<ReviewFacts<'_>>,
    ) -> Result<(), DecisionError> {
        let Some(review) = review else {
            return Ok(());
        };
        let reviewer_decides = decider
            .people()
            .any(|person| person.eq_ignore_ascii_case(review.reviewer));
        if step.role == Role::EthicsReviewer {
            if !reviewer_decides {
                return Err(DecisionError::NotTheReviewer {
                    reviewer: review.reviewer.to_owned(),
                    step_id: step.step_id,
                });
            }
        } else if reviewer_decides && let Some(ethics) = self.ethics_step() {
            return Err(DecisionError::AssignedTheReview {
                email: review.reviewer.to_owned(),
                step_id: ethics.step_id,
            });
        }
        Ok(())
    }

    /// The step a command deciding this workflow now means, if `email`'s
    /// decision of `verdict` (for `on_behalf_of`) is already on it: the
    /// current step (a quorum step keeps waiting after one approval), or
    /// the step whose decision closed the workflow. A decision on an
    /// earlier step is not this one: deciding again is refused by the
    /// rules, not reported as done.
    pub fn recorded_decision(
        &self,
        email: &str,
        verdict: Verdict,
        on_behalf_of: Option<&str>,
    ) -> Option<&Step> {
        let same = |decider: &str, behalf: Option<&str>| {
            decider.eq_ignore_ascii_case(email)
                && match (behalf, on_behalf_of) {
                    (None, None) => true,
                    (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                    _ => false,
                }
        };
        let closing = || {
            self.steps
                .iter()
                .filter(|step| {
                    step.status != StepStatus::Pending && step.status != StepStatus::Skipped
                })
                .max_by_key(|step| step.step_id)
        };
        let step = self.current_step().or_else(closing)?;
        let wanted = match verdict {
            Verdict::Approve => StepStatus::Approved,
            Verdict::Reject => StepStatus::Rejected,
        };
        let decided = step.status == wanted
            && step
                .approver_email
                .as_deref()
                .is_some_and(|decider| same(decider, step.on_behalf_of.as_deref()));
        let approved_of_quorum = verdict == Verdict::Approve
            && step.status == StepStatus::Pending
            && step
                .approvals
                .iter()
                .any(|approval| same(&approval.approver_email, approval.on_behalf_of.as_deref()));
        (decided || approved_of_quorum).then_some(step)
    }

    /// The step an ethics review decides.
    pub fn ethics_step(&self) -> Option<&Step> {
        self.steps
            .iter()
            .find(|step| step.role == Role::EthicsReviewer)
    }

    /// Whether `email` may be given this workflow's ethics review: never
    /// the requester, nor anyone who decided a step (or was decided for,
    /// or approved one of a quorum), since the review decides the ethics
    /// step.
    pub fn check_reviewer(&self, email: &str) -> Result<(), DecisionError> {
        let ethics = self
            .ethics_step()
            .ok_or(DecisionError::UnknownStep { step_id: 0 })?;
        if email.eq_ignore_ascii_case(&self.requested_by) {
            return Err(DecisionError::SeparationOfDuties {
                email: email.to_owned(),
                required: ethics.role,
            });
        }
        if let Some(decided) = self
            .steps
            .iter()
            .find(|step| step.step_id != ethics.step_id && step.involves(email))
        {
            return Err(DecisionError::AlreadyDecidedAStep {
                email: email.to_owned(),
                step_id: decided.step_id,
            });
        }
        Ok(())
    }

    /// Applies a decision: the workflow after it, with its version bumped.
    /// On a quorum step an approval short of the quorum is recorded and
    /// the step goes on waiting; one rejection rejects it.
    pub fn decide(
        &self,
        decider: &Decider<'_>,
        request: &DecisionRequest<'_>,
    ) -> Result<Workflow, DecisionError> {
        self.check_decision(decider, request)?;
        let mut next = self.clone();
        next.version += 1;
        let comment = request
            .comment
            .map(str::trim)
            .filter(|comment| crate::text::has_visible_text(comment))
            .map(str::to_owned);
        let index = next
            .steps
            .iter()
            .position(|step| step.step_id == request.step_id)
            .ok_or(DecisionError::UnknownStep {
                step_id: request.step_id,
            })?;
        let on_behalf_of = decider
            .on_behalf_of
            .map(|principal| principal.email.to_owned());
        let received_at =
            (request.received_at != request.decided_at).then_some(request.received_at);
        let step = &mut next.steps[index];
        if request.verdict == Verdict::Approve && step.quorum > 1 {
            step.approvals.push(Approval {
                approver_email: decider.email.to_owned(),
                on_behalf_of: on_behalf_of.clone(),
                comment: comment.clone(),
                decision_at: request.decided_at,
                received_at,
            });
            if (step.approvals.len() as u32) < step.quorum {
                return Ok(next);
            }
        }
        step.approver_email = Some(decider.email.to_owned());
        step.on_behalf_of = on_behalf_of;
        step.comment = comment;
        step.decision_at = Some(request.decided_at);
        step.received_at = received_at;
        match request.verdict {
            Verdict::Approve => {
                step.status = StepStatus::Approved;
                let version = next.version;
                match next
                    .steps
                    .iter_mut()
                    .find(|step| step.status == StepStatus::Pending)
                {
                    Some(following) => following.current_from_version = Some(version),
                    None => next.status = WorkflowStatus::Approved,
                }
            }
            Verdict::Reject => {
                step.status = StepStatus::Rejected;
                for later in &mut next.steps[index + 1..] {
                    later.status = StepStatus::Skipped;
                }
                next.status = WorkflowStatus::Rejected;
            }
        }
        Ok(next)
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
mod tests {

    #[test]
    fn a_claimed_decision_time_lies_between_the_version_and_its_receipt() {
        let version = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
        let received = Utc.with_ymd_and_hms(2026, 11, 2, 17, 0, 0).unwrap();
        let minutes = chrono::TimeDelta::minutes;
        assert_eq!(decision_time(None, version, received), Ok(received));
        let lunch = version + chrono::TimeDelta::hours(3);
        assert_eq!(decision_time(Some(lunch), version, received), Ok(lunch));
        // A clock a little off is brought into range...
        assert_eq!(
            decision_time(Some(received + minutes(4)), version, received),
            Ok(received)
        );
        assert_eq!(
            decision_time(Some(version - minutes(4)), version, received),
            Ok(version)
        );
        // ...further off is refused.
        for claimed in [received + minutes(6), version - minutes(6)] {
            let refused = decision_time(Some(claimed), version, received).unwrap_err();
            assert_eq!(refused.claimed, claimed);
            assert!(refused.to_string().contains("decision_at"));
        }
    }

    #[test]
    fn the_next_step_waits_from_receipt_and_both_times_show_when_apart() {
        let wf = workflow(&[Role::TechnicalLead, Role::DataSteward]);
        let made = at(3);
        let received = made + chrono::TimeDelta::hours(2);
        let mut request = request(1, Verdict::Approve, 1);
        request.decided_at = made;
        request.received_at = received;
        let next = wf
            .decide(
                &Decider::person("lead@example.com", &[Role::TechnicalLead]),
                &request,
            )
            .unwrap();
        assert_eq!(next.steps[0].decision_at, Some(made));
        assert_eq!(next.steps[0].received_at, Some(received));
        assert_eq!(next.waiting_since(), received);
        assert_eq!(next.steps[0].received_later(), Some(received));
        let mut moments_apart = next.steps[0].clone();
        moments_apart.received_at = Some(made + chrono::TimeDelta::seconds(2));
        assert_eq!(moments_apart.received_later(), None);
    }

    use super::*;
    use chrono::TimeZone;

    const REQUESTER: &str = "req@example.com";

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, hour, 0, 0).unwrap()
    }

    fn workflow(chain: &[Role]) -> Workflow {
        Workflow::open(
            "wf-1".into(),
            "dep-1".into(),
            "agt-1".into(),
            "hr_bias_audit".into(),
            REQUESTER.into(),
            chain,
            at(0),
        )
    }

    fn bias_chain() -> Workflow {
        workflow(&[
            Role::MlEngineer,
            Role::EthicsReviewer,
            Role::ComplianceOfficer,
        ])
    }

    fn request(step_id: u32, verdict: Verdict, version: i64) -> DecisionRequest<'static> {
        DecisionRequest {
            step_id,
            verdict,
            comment: None,
            expected_version: version,
            review: Some(ReviewFacts {
                reviewer: "eth@example.com",
                submitted: true,
            }),
            decided_at: at(step_id + 1),
            received_at: at(step_id + 1),
        }
    }

    fn approve(wf: &Workflow, email: &str, role: Role) -> Result<Workflow, DecisionError> {
        let step = wf.current_step().map_or(1, |step| step.step_id);
        wf.decide(
            &Decider::person(email, &[role]),
            &request(step, Verdict::Approve, wf.version),
        )
    }

    #[test]
    fn a_new_workflow_waits_on_its_first_step() {
        let wf = bias_chain();
        assert_eq!(wf.status, WorkflowStatus::InProgress);
        assert_eq!(wf.current_step().unwrap().role, Role::MlEngineer);
        assert_eq!(wf.version, 1);
        assert_eq!(
            wf.steps.iter().map(|s| s.step_id).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    #[test]
    fn approvals_move_through_the_chain_and_the_last_approves() {
        let wf = bias_chain();
        let wf = approve(&wf, "ml@example.com", Role::MlEngineer).unwrap();
        assert_eq!(wf.current_step().unwrap().role, Role::EthicsReviewer);
        assert_eq!(wf.version, 2);
        assert_eq!(wf.waiting_since(), at(2));
        let wf = approve(&wf, "eth@example.com", Role::EthicsReviewer).unwrap();
        let wf = approve(&wf, "co@example.com", Role::ComplianceOfficer).unwrap();
        assert_eq!(wf.status, WorkflowStatus::Approved);
        assert_eq!(wf.current_step(), None);
        assert_eq!(wf.version, 4);
        assert_eq!(
            wf.steps[2].approver_email.as_deref(),
            Some("co@example.com")
        );
    }

    #[test]
    fn a_rejection_ends_the_workflow_and_skips_the_rest() {
        let wf = bias_chain();
        let decider = Decider::person("ml@example.com", &[Role::MlEngineer]);
        let mut reject = request(1, Verdict::Reject, 1);
        reject.comment = Some("  training data lacks consent  ");
        let wf = wf.decide(&decider, &reject).unwrap();
        assert_eq!(wf.status, WorkflowStatus::Rejected);
        assert_eq!(wf.steps[0].status, StepStatus::Rejected);
        assert_eq!(
            wf.steps[0].comment.as_deref(),
            Some("training data lacks consent")
        );
        assert!(
            wf.steps[1..]
                .iter()
                .all(|s| s.status == StepStatus::Skipped)
        );
    }

    #[test]
    fn the_wrong_role_is_refused() {
        let err = approve(&bias_chain(), "x@example.com", Role::DataSteward).unwrap_err();
        assert_eq!(
            err,
            DecisionError::WrongRole {
                step_id: 1,
                required: Role::MlEngineer
            }
        );
        assert_eq!(err.rule(), "wrong_role");
    }

    #[test]
    fn the_requester_may_not_decide_even_holding_the_role() {
        let err = approve(&bias_chain(), "REQ@example.com", Role::MlEngineer).unwrap_err();
        assert!(matches!(err, DecisionError::SeparationOfDuties { .. }));
        assert!(err.to_string().contains("separation of duties"));
    }

    #[test]
    fn one_person_decides_at_most_one_step() {
        let wf = workflow(&[Role::TechnicalLead, Role::DataSteward]);
        let both = [Role::TechnicalLead, Role::DataSteward];
        let decider = Decider::person("both@example.com", &both);
        let wf = wf
            .decide(&decider, &request(1, Verdict::Approve, 1))
            .unwrap();
        let err = wf
            .decide(&decider, &request(2, Verdict::Approve, 2))
            .unwrap_err();
        assert_eq!(
            err,
            DecisionError::AlreadyDecidedAStep {
                email: "both@example.com".into(),
                step_id: 1
            }
        );
    }

    #[test]
    fn a_rejection_needs_a_non_blank_comment() {
        let decider = Decider::person("ml@example.com", &[Role::MlEngineer]);
        let mut reject = request(1, Verdict::Reject, 1);
        assert_eq!(
            bias_chain().decide(&decider, &reject).unwrap_err(),
            DecisionError::EmptyRejectionComment
        );
        reject.comment = Some(" \n\t ");
        assert_eq!(
            bias_chain().decide(&decider, &reject).unwrap_err(),
            DecisionError::EmptyRejectionComment
        );
        // Zero-width and blank-rendering characters are not a reason.
        for invisible in [
            "\u{200B}\u{200B}",
            "\u{2060}\u{FEFF}",
            "\u{3164}",
            "\u{2800} \u{FFA0}",
            // Marks, variation selectors, private use, unassigned.
            "\u{FE0F}\u{034F}",
            "\u{E0100}",
            "\u{17B4}\u{17B5}",
            "\u{0301}\u{0301}\u{034F}",
            "\u{E000}",
            "\u{0378}",
        ] {
            reject.comment = Some(invisible);
            assert_eq!(
                bias_chain().decide(&decider, &reject).unwrap_err(),
                DecisionError::EmptyRejectionComment,
                "{invisible:?}"
            );
        }
    }

    #[test]
    fn the_ethics_step_needs_a_submitted_review_to_be_approved() {
        let wf = approve(&bias_chain(), "ml@example.com", Role::MlEngineer).unwrap();
        let decider = Decider::person("eth@example.com", &[Role::EthicsReviewer]);
        let drafted = Some(ReviewFacts {
            reviewer: "eth@example.com",
            submitted: false,
        });
        for review in [None, drafted] {
            let mut approve_ethics = request(2, Verdict::Approve, 2);
            approve_ethics.review = review;
            assert_eq!(
                wf.decide(&decider, &approve_ethics).unwrap_err(),
                DecisionError::EthicsReviewNotSubmitted
            );
            let mut reject = request(2, Verdict::Reject, 2);
            reject.review = review;
            reject.comment = Some("not reviewable as submitted");
            assert!(
                wf.decide(&decider, &reject).is_ok(),
                "rejecting needs no submitted review"
            );
        }
    }

    #[test]
    fn a_decision_is_recorded_only_on_the_step_a_command_would_decide() {
        let first = approve(&bias_chain(), "ml@example.com", Role::MlEngineer).unwrap();
        assert_eq!(
            first.recorded_decision("ml@example.com", Verdict::Approve, None),
            None,
            "step 1 is decided; a command now means step 2"
        );
        let done = approve(&first, "eth@example.com", Role::EthicsReviewer).unwrap();
        let done = approve(&done, "co@example.com", Role::ComplianceOfficer).unwrap();
        assert_eq!(done.status, WorkflowStatus::Approved);
        assert_eq!(
            done.recorded_decision("CO@example.com", Verdict::Approve, None)
                .map(|step| step.step_id),
            Some(3),
            "the decision that closed the workflow"
        );
        assert_eq!(
            done.recorded_decision("co@example.com", Verdict::Reject, None),
            None
        );
        assert_eq!(
            done.recorded_decision("co@example.com", Verdict::Approve, Some("x@example.com")),
            None,
            "made for nobody, not for x"
        );
        let quorum = quorum_step();
        let one = quorum
            .decide(
                &Decider::person("a@example.com", &[Role::TechnicalLead]),
                &request(1, Verdict::Approve, quorum.version),
            )
            .unwrap();
        assert_eq!(
            one.recorded_decision("a@example.com", Verdict::Approve, None)
                .map(|step| step.step_id),
            Some(1),
            "one approval of a quorum step still waiting"
        );
    }

    #[test]
    fn the_review_author_decides_the_ethics_step_and_no_other() {
        // Both people hold every reviewer role; the review is eth's.
        let roles = [
            Role::MlEngineer,
            Role::EthicsReviewer,
            Role::ComplianceOfficer,
        ];
        let eth = Decider::person("eth@example.com", &roles);
        let other = Decider::person("other@example.com", &roles);
        let wf = bias_chain();
        assert_eq!(
            wf.decide(&eth, &request(1, Verdict::Approve, 1))
                .unwrap_err(),
            DecisionError::AssignedTheReview {
                email: "eth@example.com".into(),
                step_id: 2
            },
            "the reviewer decides no step but the ethics step"
        );
        // Nor for someone else, under their delegation.
        let for_other = Decider {
            on_behalf_of: Some(Principal {
                email: "eth@example.com",
                roles: &roles,
            }),
            ..other.clone()
        };
        assert!(matches!(
            wf.decide(&for_other, &request(1, Verdict::Approve, 1)),
            Err(DecisionError::AssignedTheReview { .. })
        ));
        let wf = wf.decide(&other, &request(1, Verdict::Approve, 1)).unwrap();
        let third = Decider::person("third@example.com", &roles);
        for verdict in [Verdict::Approve, Verdict::Reject] {
            let mut decision = request(2, verdict, 2);
            decision.comment = Some("no");
            assert_eq!(
                wf.decide(&third, &decision).unwrap_err(),
                DecisionError::NotTheReviewer {
                    reviewer: "eth@example.com".into(),
                    step_id: 2
                },
                "{verdict:?} by someone other than the review's author"
            );
        }
        let wf = wf.decide(&eth, &request(2, Verdict::Approve, 2)).unwrap();
        assert_eq!(
            wf.steps[1].approver_email.as_deref(),
            Some("eth@example.com")
        );
        assert_eq!(
            wf.check_reviewer("other@example.com"),
            Err(DecisionError::AlreadyDecidedAStep {
                email: "other@example.com".into(),
                step_id: 1
            })
        );
        assert!(matches!(
            wf.check_reviewer(REQUESTER),
            Err(DecisionError::SeparationOfDuties { .. })
        ));
    }

    #[test]
    fn only_the_current_step_can_be_decided() {
        let decider = Decider::person("co@example.com", &[Role::ComplianceOfficer]);
        assert_eq!(
            bias_chain()
                .decide(&decider, &request(3, Verdict::Approve, 1))
                .unwrap_err(),
            DecisionError::StepNotCurrent {
                step_id: 3,
                current: 1
            }
        );
        assert_eq!(
            bias_chain()
                .decide(&decider, &request(9, Verdict::Approve, 1))
                .unwrap_err(),
            DecisionError::UnknownStep { step_id: 9 }
        );
    }

    #[test]
    fn a_closed_workflow_takes_no_decisions() {
        let wf = workflow(&[Role::TechnicalLead]);
        let wf = approve(&wf, "tl@example.com", Role::TechnicalLead).unwrap();
        let err = approve(&wf, "tl2@example.com", Role::TechnicalLead).unwrap_err();
        assert_eq!(
            err,
            DecisionError::WorkflowClosed {
                status: WorkflowStatus::Approved
            }
        );
    }

    #[test]
    fn a_stale_version_is_refused_before_anything_else() {
        let decider = Decider::person("ml@example.com", &[Role::MlEngineer]);
        let err = bias_chain()
            .decide(&decider, &request(1, Verdict::Approve, 7))
            .unwrap_err();
        assert_eq!(
            err,
            DecisionError::StaleVersion {
                expected: 7,
                actual: 1
            }
        );
    }

    #[test]
    fn withdrawing_skips_pending_steps_once() {
        let wf = approve(&bias_chain(), "ml@example.com", Role::MlEngineer).unwrap();
        let withdrawn = wf.withdraw().unwrap();
        assert_eq!(withdrawn.status, WorkflowStatus::Withdrawn);
        assert_eq!(withdrawn.steps[0].status, StepStatus::Approved);
        assert_eq!(withdrawn.steps[2].status, StepStatus::Skipped);
        assert_eq!(withdrawn.withdraw(), None);
    }

    #[test]
    fn an_oversized_comment_is_refused_not_cut() {
        let decider = Decider::person("ml@example.com", &[Role::MlEngineer]);
        let long = "é".repeat(MAX_COMMENT_BYTES);
        let mut reject = request(1, Verdict::Reject, 1);
        reject.comment = Some(&long);
        assert!(matches!(
            bias_chain().decide(&decider, &reject).unwrap_err(),
            DecisionError::CommentTooLong { .. }
        ));
    }

    #[test]
    fn refusals_serialise_with_their_rule() {
        let json = serde_json::to_value(DecisionError::EmptyRejectionComment).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "rule": "empty_rejection_comment" })
        );
    }

    fn quorum_step() -> Workflow {
        workflow(&[Role::TechnicalLead, Role::DataSteward]).with_rules(&[
            StepRules {
                quorum: 2,
                sla: None,
            },
            StepRules::default(),
        ])
    }

    #[test]
    fn a_quorum_step_waits_for_enough_different_approvers() {
        let wf = quorum_step();
        let first = approve(&wf, "a@example.com", Role::TechnicalLead).unwrap();
        let step = &first.steps[0];
        assert_eq!(step.status, StepStatus::Pending);
        assert_eq!(step.approvals.len(), 1);
        assert_eq!(first.current_step().unwrap().step_id, 1);
        assert_eq!(
            first.waiting_since(),
            wf.waiting_since(),
            "still the same wait"
        );
        assert_eq!(
            approve(&first, "A@example.com", Role::TechnicalLead).unwrap_err(),
            DecisionError::AlreadyApproved {
                email: "A@example.com".into(),
                step_id: 1,
                quorum: 2
            }
        );
        let second = approve(&first, "b@example.com", Role::TechnicalLead).unwrap();
        assert_eq!(second.steps[0].status, StepStatus::Approved);
        assert_eq!(second.steps[0].approvals.len(), 2);
        assert_eq!(second.current_step().unwrap().step_id, 2);
        assert_eq!(second.steps[1].current_from_version, Some(second.version));
        // Neither approver may decide the next step.
        let both = [Role::TechnicalLead, Role::DataSteward];
        let err = second
            .decide(
                &Decider::person("a@example.com", &both),
                &request(2, Verdict::Approve, second.version),
            )
            .unwrap_err();
        assert!(matches!(
            err,
            DecisionError::AlreadyDecidedAStep { step_id: 1, .. }
        ));
    }

    #[test]
    fn one_rejection_rejects_a_quorum_step() {
        let first = approve(&quorum_step(), "a@example.com", Role::TechnicalLead).unwrap();
        let mut reject = request(1, Verdict::Reject, first.version);
        reject.comment = Some("not safe");
        let rejected = first
            .decide(
                &Decider::person("b@example.com", &[Role::TechnicalLead]),
                &reject,
            )
            .unwrap();
        assert_eq!(rejected.status, WorkflowStatus::Rejected);
        assert_eq!(rejected.steps[0].approvals.len(), 1);
        assert_eq!(
            rejected.steps[0].approver_email.as_deref(),
            Some("b@example.com")
        );
    }

    #[test]
    fn an_approval_on_a_version_changed_only_by_other_approvals_of_its_step_applies() {
        let wf = quorum_step();
        let seen = wf.version;
        let first = approve(&wf, "a@example.com", Role::TechnicalLead).unwrap();
        // b decided on the version before a's approval.
        let second = first
            .decide(
                &Decider::person("b@example.com", &[Role::TechnicalLead]),
                &request(1, Verdict::Approve, seen),
            )
            .unwrap();
        assert_eq!(second.steps[0].status, StepStatus::Approved);
        // A decision on step 2 made before step 1 completed is stale.
        let third = workflow(&[Role::TechnicalLead, Role::DataSteward]);
        let moved = approve(&third, "a@example.com", Role::TechnicalLead).unwrap();
        assert!(matches!(
            moved
                .decide(
                    &Decider::person("s@example.com", &[Role::DataSteward]),
                    &request(2, Verdict::Approve, third.version),
                )
                .unwrap_err(),
            DecisionError::StaleVersion { .. }
        ));
    }

    #[test]
    fn a_decision_for_someone_counts_as_both_people() {
        let wf = workflow(&[Role::TechnicalLead, Role::DataSteward]);
        let lead = [Role::TechnicalLead];
        let both = [Role::TechnicalLead, Role::DataSteward];
        let for_ana = Decider {
            email: "sam@example.com",
            roles: &both,
            on_behalf_of: Some(Principal {
                email: "ana@example.com",
                roles: &both,
            }),
        };
        let decided = wf
            .decide(&for_ana, &request(1, Verdict::Approve, 1))
            .unwrap();
        assert_eq!(
            decided.steps[0].approver_email.as_deref(),
            Some("sam@example.com")
        );
        assert_eq!(
            decided.steps[0].on_behalf_of.as_deref(),
            Some("ana@example.com")
        );
        for (email, roles) in [("ana@example.com", &both), ("sam@example.com", &both)] {
            let err = decided
                .decide(
                    &Decider::person(email, roles),
                    &request(2, Verdict::Approve, decided.version),
                )
                .unwrap_err();
            assert!(
                matches!(err, DecisionError::AlreadyDecidedAStep { step_id: 1, .. }),
                "{email}: {err:?}"
            );
        }
        // Nobody decides for the requester, and the requester decides for nobody.
        let for_requester = Decider {
            email: "sam@example.com",
            roles: &lead,
            on_behalf_of: Some(Principal {
                email: REQUESTER,
                roles: &lead,
            }),
        };
        assert!(matches!(
            wf.decide(&for_requester, &request(1, Verdict::Approve, 1))
                .unwrap_err(),
            DecisionError::SeparationOfDuties { .. }
        ));
        let requester_for_ana = Decider {
            email: REQUESTER,
            roles: &lead,
            on_behalf_of: Some(Principal {
                email: "ana@example.com",
                roles: &lead,
            }),
        };
        assert!(matches!(
            wf.decide(&requester_for_ana, &request(1, Verdict::Approve, 1))
                .unwrap_err(),
            DecisionError::SeparationOfDuties { .. }
        ));
        // The person decided for must hold the role.
        let for_steward = Decider {
            email: "sam@example.com",
            roles: &lead,
            on_behalf_of: Some(Principal {
                email: "sue@example.com",
                roles: &[Role::DataSteward],
            }),
        };
        assert!(matches!(
            wf.decide(&for_steward, &request(1, Verdict::Approve, 1))
                .unwrap_err(),
            DecisionError::DelegatorLacksRole { .. }
        ));
    }

    #[test]
    fn alerts_bump_the_version_without_making_decisions_stale() {
        let rules = crate::domain::policy::sla::SlaRules::default();
        let wf = workflow(&[Role::TechnicalLead]).with_rules(&[StepRules {
            quorum: 1,
            sla: rules.step_sla(Some("24h"), None).unwrap(),
        }]);
        assert_eq!(wf.alert_due(at(11)), None);
        assert_eq!(wf.alert_due(at(12)), Some(AlertKind::Reminder));
        let reminded = wf
            .alert(Alert {
                kind: AlertKind::Reminder,
                at: at(12),
                to: None,
            })
            .unwrap();
        assert_eq!(reminded.version, wf.version + 1);
        assert_eq!(reminded.alert_due(at(13)), None);
        assert_eq!(
            reminded.next_alert_at(),
            Some(at(0) + chrono::TimeDelta::hours(24))
        );
        assert!(approve_on(&reminded, wf.version).is_ok());
    }

    fn approve_on(wf: &Workflow, version: i64) -> Result<Workflow, DecisionError> {
        wf.decide(
            &Decider::person("tl@example.com", &[Role::TechnicalLead]),
            &request(1, Verdict::Approve, version),
        )
    }
}
