//! What a set's intake and obligations rules add to a deployment's
//! evaluation: a version without its submitted intake is blocked (when the
//! set requires one), and obligations in effect and unmet block it or ask
//! for a sign-off, as `[obligations] gate` says.

use chrono::{DateTime, Utc};

use super::{Record, posture};
use crate::domain::policy::evaluation::{Evaluation, PlannedWorkflow, TriggeredPolicy};
use crate::domain::policy::frameworks::{GateAction, IntakeSection};
use crate::domain::policy::policies::PolicyAction;
use crate::domain::policy::set::PolicySet;

/// The pseudo-policies these rules trigger, as deployments name them.
pub const INTAKE_RULE: &str = "intake_required";
pub const OBLIGATIONS_RULE: &str = "obligations_unmet";

/// Adds the intake and obligations rules to `evaluation` of the agent in
/// `record` (whose `pending_roles` are the sign-offs the evaluation's
/// workflows will seek).
pub fn judge_request(
    set: &PolicySet,
    evaluation: &mut Evaluation,
    record: &Record<'_>,
    now: DateTime<Utc>,
) {
    let agent = record.agent;
    let submitted = record
        .intake
        .is_some_and(|intake| intake.answers_for(agent).is_some());
    if set
        .file
        .intake
        .as_ref()
        .is_some_and(|intake| intake.required)
        && !submitted
    {
        evaluation.add(
            TriggeredPolicy {
                policy_id: INTAKE_RULE.into(),
                name: "An intake is answered for each agent version".into(),
                action: PolicyAction::Block,
                reason: format!(
                    "{} version {} has no submitted intake, which the policy set requires",
                    agent.agent_id, agent.version
                ),
                remediation: format!(
                    "answer the intake: {}, then request again",
                    IntakeSection::fill_command(&agent.agent_id, &agent.version)
                ),
                blocking: true,
            },
            None,
        );
    }
    let gate = &set.file.obligations;
    if gate.gate == GateAction::Off {
        return;
    }
    let judged = posture(set, record, now);
    let (ids, unmet): (Vec<&str>, Vec<String>) = judged
        .obligations
        .iter()
        .filter_map(|obligation| match &obligation.state {
            super::State::Unmet { missing } => Some((
                obligation.obligation.as_str(),
                format!("{} ({})", obligation.obligation, missing.join("; ")),
            )),
            _ => None,
        })
        .unzip();
    if ids.is_empty() {
        return;
    }
    let reason = format!(
        "{} obligation{} in effect {} unmet: {}",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" },
        if ids.len() == 1 { "is" } else { "are" },
        ids.join(", ")
    );
    let name = "Obligations in effect are met".to_owned();
    match gate.gate {
        GateAction::Off => {}
        GateAction::Block => evaluation.add(
            TriggeredPolicy {
                policy_id: OBLIGATIONS_RULE.into(),
                name,
                action: PolicyAction::Block,
                reason,
                remediation: format!(
                    "meet them (`gavel obligations --agent {} --unmet` says how), then request again: {}",
                    agent.agent_id,
                    unmet.join(" | ")
                ),
                blocking: true,
            },
            None,
        ),
        GateAction::RequireApproval => {
            let chain = gate.approval_chain.clone();
            let roles: Vec<String> = chain.iter().map(|role| role.label().into_owned()).collect();
            evaluation.add(
                TriggeredPolicy {
                    policy_id: OBLIGATIONS_RULE.into(),
                    name,
                    action: PolicyAction::RequireApproval,
                    reason,
                    remediation: format!(
                        "needs sign-off: {} (unmet: {})",
                        roles.join(" -> "),
                        unmet.join(" | ")
                    ),
                    blocking: false,
                },
                Some(PlannedWorkflow {
                    policy_id: OBLIGATIONS_RULE.into(),
                    chain,
                }),
            );
        }
    }
}
