//! A decision on a step: who may make it (roles, separation of duties,
//! delegation, the review's author), when it may claim to be made, and the
//! workflow it leaves.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::domain::role::Role;
use crate::domain::workflow::{Approval, Step, StepStatus, Verdict, Workflow, WorkflowStatus};

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
    #[error(
        "wrong role: step {step_id} needs {} and you hold none of that role",
        required.with_article()
    )]
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
}
