//! Replaying an entity's trail events to the state they imply, and saying
//! where the stored state differs. The hash chain proves the events were
//! not rewritten; replay proves the rows agree with the events, so a status
//! set directly in the store (no event) is caught.

use serde::Deserialize;

use crate::domain::deployment::DeploymentRequest;

use crate::domain::policy::evaluation::DeploymentStatus;
use crate::domain::review::ReviewStatus;
use crate::domain::role::Role;
use crate::domain::workflow::{StepStatus, Workflow, WorkflowStatus};

/// One event as replay reads it.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub seq: i64,
    pub actor: &'a str,
    pub action: &'a str,
    pub after_version: Option<i64>,
    /// The event's details (JSON text).
    pub details: &'a str,
}

/// A replay that cannot go on: the events themselves make no sense.
pub type Problem = String;

/// An entity's state, rebuilt one event at a time.
pub trait Replay: Default {
    fn apply(&mut self, event: &Event<'_>) -> Result<(), Problem>;
}

/// Replays `events` (oldest first) from nothing.
pub fn replay<'a, R: Replay>(events: impl IntoIterator<Item = Event<'a>>) -> Result<R, Problem> {
    let mut state = R::default();
    for event in events {
        state.apply(&event)?;
    }
    Ok(state)
}

pub(crate) fn details<T: for<'de> Deserialize<'de>>(event: &Event<'_>) -> Result<T, Problem> {
    serde_json::from_str(event.details).map_err(|err| {
        format!(
            "event {} ({}) has details replay cannot read: {err}",
            event.seq, event.action
        )
    })
}

/// A step as the events leave it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ReplayedStep {
    role: Role,
    status: StepStatus,
    approver: Option<String>,
    /// Approvals of a quorum step, as `approver` or `approver for someone`.
    approvals: Vec<String>,
    on_behalf_of: Option<String>,
    alerts: Vec<crate::domain::policy::sla::AlertKind>,
}

/// A workflow as its events leave it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkflowReplay {
    opened: bool,
    /// `None` when the opening event did not name the chain (then only the
    /// status and the version are checked).
    steps: Option<Vec<ReplayedStep>>,
    status: Option<WorkflowStatus>,
    version: Option<i64>,
}

#[derive(Deserialize)]
struct Opened {
    #[serde(default)]
    chain: Option<Vec<Role>>,
}

#[derive(Deserialize)]
struct StepDecided {
    step_id: u32,
    /// How the step stands after it (quorum steps only).
    #[serde(default)]
    step_status: Option<StepStatus>,
    #[serde(default)]
    on_behalf_of: Option<String>,
}

#[derive(Deserialize)]
struct StepAlerted {
    step_id: u32,
}

/// How the trail and the step view name one approval.
fn signer(approver: &str, on_behalf_of: Option<&str>) -> String {
    match on_behalf_of {
        Some(delegator) => format!(
            "{} for {}",
            approver.to_lowercase(),
            delegator.to_lowercase()
        ),
        None => approver.to_lowercase(),
    }
}

impl Replay for WorkflowReplay {
    fn apply(&mut self, event: &Event<'_>) -> Result<(), Problem> {
        match event.action {
            "workflow_opened" => {
                let opened: Opened = details(event)?;
                self.opened = true;
                self.steps = opened.chain.map(|chain| {
                    chain
                        .into_iter()
                        .map(|role| ReplayedStep {
                            role,
                            status: StepStatus::Pending,
                            approver: None,
                            approvals: Vec::new(),
                            on_behalf_of: None,
                            alerts: Vec::new(),
                        })
                        .collect()
                });
                self.status = Some(WorkflowStatus::InProgress);
            }
            "step_approved" | "step_rejected" => {
                let decided: StepDecided = details(event)?;
                let approve = event.action == "step_approved";
                if let Some(steps) = &mut self.steps {
                    let index = (decided.step_id as usize)
                        .checked_sub(1)
                        .filter(|index| *index < steps.len())
                        .ok_or_else(|| {
                            format!(
                                "event {} decides step {}, which the workflow does not have",
                                event.seq, decided.step_id
                            )
                        })?;
                    let step = &mut steps[index];
                    let on_behalf_of = decided.on_behalf_of.as_deref();
                    if decided.step_status.is_some() && approve {
                        step.approvals.push(signer(event.actor, on_behalf_of));
                    }
                    if decided.step_status == Some(StepStatus::Pending) {
                        if let Some(version) = event.after_version {
                            self.version = Some(version);
                        }
                        return Ok(());
                    }
                    step.status = if approve {
                        StepStatus::Approved
                    } else {
                        StepStatus::Rejected
                    };
                    step.approver = Some(event.actor.to_lowercase());
                    step.on_behalf_of = on_behalf_of.map(str::to_lowercase);
                    if !approve {
                        for later in &mut steps[index + 1..] {
                            later.status = StepStatus::Skipped;
                        }
                    }
                    let all_approved = steps.iter().all(|s| s.status == StepStatus::Approved);
                    self.status = Some(match (approve, all_approved) {
                        (false, _) => WorkflowStatus::Rejected,
                        (true, true) => WorkflowStatus::Approved,
                        (true, false) => WorkflowStatus::InProgress,
                    });
                } else if !approve {
                    self.status = Some(WorkflowStatus::Rejected);
                }
            }
            "step_reminded" | "step_overdue" | "step_escalated" => {
                let alerted: StepAlerted = details(event)?;
                let kind = crate::domain::policy::sla::AlertKind::from_action(event.action)
                    .ok_or_else(|| format!("event {} is no alert", event.seq))?;
                if let Some(steps) = &mut self.steps {
                    let step = (alerted.step_id as usize)
                        .checked_sub(1)
                        .and_then(|index| steps.get_mut(index))
                        .ok_or_else(|| {
                            format!(
                                "event {} alerts step {}, which the workflow does not have",
                                event.seq, alerted.step_id
                            )
                        })?;
                    step.alerts.push(kind);
                }
            }
            "workflow_withdrawn" => {
                if let Some(steps) = &mut self.steps {
                    for step in steps.iter_mut() {
                        if step.status == StepStatus::Pending {
                            step.status = StepStatus::Skipped;
                        }
                    }
                }
                self.status = Some(WorkflowStatus::Withdrawn);
            }
            other => {
                return Err(format!(
                    "event {} has an action replay does not know for a workflow: {other}",
                    event.seq
                ));
            }
        }
        if event.after_version.is_some() {
            self.version = event.after_version;
        }
        Ok(())
    }
}

impl WorkflowReplay {
    /// Whether the opening event named the chain (steps are checked).
    pub fn checks_steps(&self) -> bool {
        self.steps.is_some()
    }

    /// How the stored workflow differs from the replayed one, in words.
    pub fn differs(&self, stored: &Workflow) -> Option<String> {
        if !self.opened {
            return Some("no workflow_opened event".into());
        }
        if self.status != Some(stored.status) {
            return Some(format!(
                "status {} stored, {} replayed",
                stored.status,
                self.status.map_or("nothing".into(), |s| s.to_string())
            ));
        }
        if self
            .version
            .is_some_and(|version| version != stored.version)
        {
            return Some(format!(
                "version {} stored, {} replayed",
                stored.version,
                self.version.unwrap_or_default()
            ));
        }
        let steps = self.steps.as_ref()?;
        if steps.len() != stored.steps.len() {
            return Some(format!(
                "{} steps stored, {} replayed",
                stored.steps.len(),
                steps.len()
            ));
        }
        for (replayed, step) in steps.iter().zip(&stored.steps) {
            let approvals: Vec<String> = step
                .approvals
                .iter()
                .map(|approval| signer(&approval.approver_email, approval.on_behalf_of.as_deref()))
                .collect();
            if replayed.approvals != approvals {
                return Some(format!(
                    "step {} stored with approvals [{}], replayed with [{}]",
                    step.step_id,
                    approvals.join(", "),
                    replayed.approvals.join(", ")
                ));
            }
            let on_behalf_of = step.on_behalf_of.as_deref().map(str::to_lowercase);
            if replayed.on_behalf_of != on_behalf_of {
                return Some(format!(
                    "step {} stored as decided for {}, replayed as for {}",
                    step.step_id,
                    on_behalf_of.as_deref().unwrap_or("nobody"),
                    replayed.on_behalf_of.as_deref().unwrap_or("nobody")
                ));
            }
            let alerts: Vec<_> = step.alerts.iter().map(|alert| alert.kind).collect();
            if replayed.alerts != alerts {
                return Some(format!(
                    "step {} stored with alerts {alerts:?}, replayed with {:?}",
                    step.step_id, replayed.alerts
                ));
            }
            let approver = step.approver_email.as_deref().map(str::to_lowercase);
            if replayed.role != step.role
                || replayed.status != step.status
                || replayed.approver != approver
            {
                return Some(format!(
                    "step {} stored as {} {} by {}, replayed as {} {} by {}",
                    step.step_id,
                    step.role,
                    step.status,
                    approver.as_deref().unwrap_or("nobody"),
                    replayed.role,
                    replayed.status,
                    replayed.approver.as_deref().unwrap_or("nobody"),
                ));
            }
        }
        None
    }
}

/// A deployment request as its events leave it: who filed what, under
/// which policies, and its status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeploymentReplay {
    status: Option<DeploymentStatus>,
    requested: Option<Requested>,
}

/// What the `deployment_requested` event pins. Events from before a field
/// was recorded lack it, and it is not compared.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct Requested {
    outcome: DeploymentStatus,
    #[serde(default)]
    agent_id: Option<String>,
    #[serde(default)]
    agent_version: Option<String>,
    #[serde(default)]
    requested_by: Option<String>,
    #[serde(default)]
    triggered_policies: Option<Vec<String>>,
    #[serde(default)]
    policy_set_version: Option<i64>,
    #[serde(default)]
    manifest_sha256: Option<String>,
}

#[derive(Deserialize)]
struct StatusChanged {
    to: DeploymentStatus,
}

impl Replay for DeploymentReplay {
    fn apply(&mut self, event: &Event<'_>) -> Result<(), Problem> {
        match event.action {
            "deployment_requested" if self.requested.is_some() => {
                return Err(format!(
                    "event {} requests a deployment already requested",
                    event.seq
                ));
            }
            "deployment_requested" => {
                let mut requested = details::<Requested>(event)?;
                // The requester is who the event says acted, whatever the
                // details claim.
                if requested
                    .requested_by
                    .as_deref()
                    .is_some_and(|named| !named.eq_ignore_ascii_case(event.actor))
                {
                    return Err(format!(
                        "event {} names {} as requester but was made by {}",
                        event.seq,
                        requested.requested_by.as_deref().unwrap_or_default(),
                        event.actor
                    ));
                }
                requested.requested_by = Some(event.actor.to_owned());
                self.status = Some(requested.outcome);
                self.requested = Some(requested);
            }
            "status_changed" if self.requested.is_none() => {
                return Err(format!(
                    "event {} changes the status of a deployment no deployment_requested event opened",
                    event.seq
                ));
            }
            "status_changed" => self.status = Some(details::<StatusChanged>(event)?.to),
            other => {
                return Err(format!(
                    "event {} has an action replay does not know for a deployment: {other}",
                    event.seq
                ));
            }
        }
        Ok(())
    }
}

impl DeploymentReplay {
    /// Where a stored request is not what its events say: every field the
    /// trail pins, then the status.
    pub fn differs(&self, stored: &DeploymentRequest) -> Option<String> {
        let (Some(requested), Some(status)) = (&self.requested, self.status) else {
            return Some("no deployment_requested event".into());
        };
        let differs = |field: &str, stored: &str, replayed: Option<&str>| {
            replayed
                .filter(|replayed| !replayed.eq_ignore_ascii_case(stored))
                .map(|replayed| format!("{field} {stored} stored, {replayed} replayed"))
        };
        let triggered: Vec<&str> = stored
            .triggered_policies
            .iter()
            .map(|policy| policy.policy_id.as_str())
            .collect();
        differs(
            "requested_by",
            &stored.requested_by,
            requested.requested_by.as_deref(),
        )
        .or_else(|| differs("agent_id", &stored.agent_id, requested.agent_id.as_deref()))
        .or_else(|| {
            differs(
                "agent_version",
                &stored.agent_version,
                requested.agent_version.as_deref(),
            )
        })
        .or_else(|| {
            requested
                .triggered_policies
                .as_ref()
                .filter(|replayed| {
                    replayed
                        .iter()
                        .map(String::as_str)
                        .ne(triggered.iter().copied())
                })
                .map(|replayed| {
                    format!(
                        "triggered policies [{}] stored, [{}] replayed",
                        triggered.join(", "),
                        replayed.join(", ")
                    )
                })
        })
        .or_else(|| {
            requested
                .policy_set_version
                .filter(|replayed| stored.policy_set_version != Some(*replayed))
                .map(|replayed| {
                    format!(
                        "policy set version {:?} stored, {replayed} replayed",
                        stored.policy_set_version
                    )
                })
        })
        .or_else(|| {
            requested
                .manifest_sha256
                .as_ref()
                .filter(|replayed| stored.manifest_sha256().as_ref() != Some(*replayed))
                .map(|_| "the agent as filed differs from the one the trail pinned".to_owned())
        })
        .or_else(|| {
            (status != stored.status)
                .then(|| format!("status {} stored, {status} replayed", stored.status))
        })
    }
}

/// What the trail pins of a submitted review's answers: SHA-256 of their
/// JSON.
pub fn answers_sha256(answers: &crate::domain::Answers) -> String {
    crate::domain::digest::sha256_hex(serde_json::to_string(answers).unwrap_or_default())
}

/// A review as its events leave it. Draft autosaves append no event, so
/// replay checks the status, the reviewer and the submitted answers' hash,
/// never the version the autosaves bump.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewReplay {
    status: Option<ReviewStatus>,
    reviewer: Option<String>,
    answers_sha256: Option<String>,
}

#[derive(Deserialize)]
struct Assigned {
    reviewer: String,
}

#[derive(Deserialize)]
struct Reassigned {
    to: String,
}

#[derive(Deserialize)]
struct Submitted {
    answers_sha256: String,
}

/// A review as stored, for comparison.
#[derive(Debug, Clone, Copy)]
pub struct StoredReview<'a> {
    pub status: ReviewStatus,
    pub reviewer: &'a str,
    /// SHA-256 of the stored answers' canonical JSON.
    pub answers_sha256: &'a str,
}

impl Replay for ReviewReplay {
    fn apply(&mut self, event: &Event<'_>) -> Result<(), Problem> {
        match event.action {
            "review_assigned" => {
                self.reviewer = Some(details::<Assigned>(event)?.reviewer.to_lowercase());
                self.status = Some(ReviewStatus::Assigned);
            }
            "review_reassigned" => {
                self.reviewer = Some(details::<Reassigned>(event)?.to.to_lowercase());
                self.status = Some(ReviewStatus::Assigned);
                self.answers_sha256 = None;
            }
            // The directory removed its reviewer: nothing of the review
            // changes but the flag, and the event must name its reviewer.
            "review_needs_reassignment" => {
                let named = details::<Assigned>(event)?.reviewer.to_lowercase();
                if self.reviewer.as_deref() != Some(named.as_str()) {
                    return Err(format!(
                        "event {} flags the review of {named}, but replay has it with {}",
                        event.seq,
                        self.reviewer.as_deref().unwrap_or("nobody")
                    ));
                }
            }
            "review_started" | "review_submitted" if self.reviewer.is_none() => {
                return Err(format!(
                    "event {} is about a review no review_assigned event opened",
                    event.seq
                ));
            }
            "review_started" => self.status = Some(ReviewStatus::Draft),
            "review_submitted" => {
                self.answers_sha256 = Some(details::<Submitted>(event)?.answers_sha256);
                self.status = Some(ReviewStatus::Submitted);
            }
            other => {
                return Err(format!(
                    "event {} has an action replay does not know for a review: {other}",
                    event.seq
                ));
            }
        }
        Ok(())
    }
}

impl ReviewReplay {
    pub fn differs(&self, stored: &StoredReview<'_>) -> Option<String> {
        let Some(status) = self.status else {
            return Some("no review_assigned event".into());
        };
        if status != stored.status {
            return Some(format!(
                "status {} stored, {status} replayed",
                stored.status
            ));
        }
        let reviewer = stored.reviewer.to_lowercase();
        if self.reviewer.as_deref() != Some(reviewer.as_str()) {
            return Some(format!(
                "reviewer {reviewer} stored, {} replayed",
                self.reviewer.as_deref().unwrap_or("nobody")
            ));
        }
        if status == ReviewStatus::Submitted
            && self.answers_sha256.as_deref() != Some(stored.answers_sha256)
        {
            return Some("the submitted answers differ from the ones the trail pinned".into());
        }
        None
    }
}

/// A policy set version as its events leave it: its lifecycle state, who
/// proposed and decided it, and the hash of the text proposed. The store's
/// first version is created with the store (by `system`, no proposal
/// event): it starts active.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySetReplay {
    state: Option<&'static str>,
    proposed: Option<(String, String)>,
    decided_by: Option<String>,
}

#[derive(Deserialize)]
struct SetProposed {
    sha256: String,
}

#[derive(Deserialize)]
struct SetApproved {
    sha256: String,
}

/// A policy set version as stored, for comparison.
#[derive(Debug, Clone, Copy)]
pub struct StoredPolicySet<'a> {
    pub version: i64,
    pub state: &'a str,
    pub proposed_by: &'a str,
    pub decided_by: Option<&'a str>,
    /// The hash column.
    pub source_sha256: &'a str,
    /// SHA-256 of the stored text, computed now.
    pub text_sha256: &'a str,
}

impl Replay for PolicySetReplay {
    fn apply(&mut self, event: &Event<'_>) -> Result<(), Problem> {
        let out_of_order = |state: Option<&str>| {
            format!(
                "event {} ({}) cannot follow a version in state {}",
                event.seq,
                event.action,
                state.unwrap_or("none")
            )
        };
        match (event.action, self.state) {
            ("policy_set_proposed", None) => {
                let proposed = details::<SetProposed>(event)?;
                self.proposed = Some((event.actor.to_lowercase(), proposed.sha256));
                self.state = Some("proposed");
            }
            ("policy_set_approved", Some("proposed")) => {
                let approved = details::<SetApproved>(event)?;
                if self.proposed.as_ref().map(|(_, sha)| sha) != Some(&approved.sha256) {
                    return Err(format!(
                        "event {} approves a text other than the one proposed",
                        event.seq
                    ));
                }
                self.decided_by = Some(event.actor.to_lowercase());
                self.state = Some("active");
            }
            ("policy_set_rejected", Some("proposed")) => {
                self.decided_by = Some(event.actor.to_lowercase());
                self.state = Some("rejected");
            }
            // `None`: the store's first version, active since creation.
            ("policy_set_superseded", Some("active") | None) => self.state = Some("superseded"),
            (
                "policy_set_proposed"
                | "policy_set_approved"
                | "policy_set_rejected"
                | "policy_set_superseded",
                state,
            ) => return Err(out_of_order(state)),
            (other, _) => {
                return Err(format!(
                    "event {} has an action replay does not know for a policy set: {other}",
                    event.seq
                ));
            }
        }
        Ok(())
    }
}

impl PolicySetReplay {
    pub fn differs(&self, stored: &StoredPolicySet<'_>) -> Option<String> {
        if stored.source_sha256 != stored.text_sha256 {
            return Some(format!(
                "its text hashes to {}, not the {} recorded with it",
                stored.text_sha256, stored.source_sha256
            ));
        }
        let state = match &self.proposed {
            Some((proposer, sha256)) => {
                if !stored.proposed_by.eq_ignore_ascii_case(proposer) {
                    return Some(format!(
                        "proposed by {} stored, by {proposer} replayed",
                        stored.proposed_by
                    ));
                }
                if sha256 != stored.source_sha256 {
                    return Some(format!(
                        "text {} stored, {sha256} proposed",
                        stored.source_sha256
                    ));
                }
                let decided = stored.decided_by.map(str::to_lowercase);
                if decided != self.decided_by {
                    return Some(format!(
                        "decided by {} stored, by {} replayed",
                        decided.as_deref().unwrap_or("nobody"),
                        self.decided_by.as_deref().unwrap_or("nobody")
                    ));
                }
                self.state.unwrap_or("proposed")
            }
            None if stored.version == 1 && stored.proposed_by == "system" => {
                self.state.unwrap_or("active")
            }
            None => return Some("no policy_set_proposed event".into()),
        };
        (state != stored.state).then(|| format!("state {} stored, {state} replayed", stored.state))
    }
}

#[cfg(test)]
mod tests;
