//! Commands on the approvals queue and its workflows.

use chrono::Utc;

use super::args::QueueArgs;
use super::exit;
use super::exit::{Failure, Outcome};
use super::output;
use super::output::print_json;
use crate::backend::{
    Decision, GovernanceBackend, QueueCursor, QueueFilter, QueueQuery, QueueScope,
};
use crate::domain::Verdict;

pub async fn queue(backend: &dyn GovernanceBackend, args: &QueueArgs) -> Outcome {
    let me = backend.me().await?;
    let filter = QueueFilter {
        scope: if args.all {
            QueueScope::Everything
        } else {
            QueueScope::Actionable
        },
        roles: args.role.map(|role| vec![role]),
        risk: args.risk,
        team: args.team.clone(),
        search: args.search.clone(),
        ..QueueFilter::default()
    };
    let cursor = args
        .cursor
        .as_deref()
        .map(QueueCursor::decode)
        .transpose()
        .map_err(Failure::BadInput)?;
    let query = QueueQuery {
        cursor,
        ..QueueQuery::first(filter.clone(), args.sort, args.limit)
    };
    let page = backend.queue(&query).await?;
    if args.json {
        print_json(&page.items)?;
        return Ok(exit::OK);
    }
    let total = backend.queue_count(&filter).await?;
    print!("{}", output::queue(&me, &page, total, Utc::now()));
    if page.more_after
        && let Some(next) = page.last_cursor(args.sort)
    {
        println!("more: gavel queue --cursor {}", next.encode());
    }
    Ok(exit::OK)
}

pub async fn show(backend: &dyn GovernanceBackend, workflow_id: &str, json: bool) -> Outcome {
    let workflow = backend.workflow(workflow_id).await?;
    if json {
        print_json(&workflow)?;
        return Ok(exit::OK);
    }
    let agent = backend.agent(&workflow.agent_id).await.ok();
    let policy = backend
        .policies()
        .await?
        .into_iter()
        .find(|policy| policy.policy_id == workflow.triggered_by_policy);
    let trail = backend.trail("workflow", workflow_id).await?;
    let review = backend.review_for_workflow(workflow_id).await?;
    print!(
        "{}",
        output::workflow(
            &workflow,
            agent.as_ref(),
            policy.as_ref(),
            review.as_ref(),
            &trail
        )
    );
    Ok(exit::OK)
}

pub async fn decide(
    backend: &dyn GovernanceBackend,
    workflow_id: &str,
    verdict: Verdict,
    comment: Option<String>,
    on_behalf_of: Option<String>,
    json: bool,
) -> Outcome {
    let workflow = backend.workflow(workflow_id).await?;
    // The same command again after its answer was lost: if this person's
    // decision is on record, say so instead of refusing a second one.
    let me = backend.me().await?;
    if let Some(recorded) = workflow.recorded_decision(&me.email, verdict, on_behalf_of.as_deref())
    {
        if json {
            print_json(&workflow)?;
        } else {
            println!(
                "already recorded: {} (at {})",
                output::decided(&workflow, recorded.step_id, verdict),
                recorded
                    .decision_at
                    .map_or_else(|| "an earlier time".to_owned(), |at| at.to_rfc3339())
            );
        }
        return Ok(exit::OK);
    }
    let Some(step) = workflow.current_step() else {
        return Err(Failure::Refused(format!(
            "workflow {workflow_id} is already {}: nothing to decide",
            workflow.status
        )));
    };
    let decision = Decision {
        workflow_id: workflow_id.to_owned(),
        step_id: step.step_id,
        verdict,
        comment,
        expected_version: workflow.version,
        idempotency_key: Decision::new_key(),
        decision_at: None,
        on_behalf_of,
    };
    let decided = match backend.decide(&decision).await {
        Ok(decided) => decided,
        // The request went out and no answer came back: the server may
        // have recorded it. Saying "failed" could make someone decide again.
        Err(crate::backend::BackendError::Unavailable(why)) => {
            return Err(Failure::Other(color_eyre::eyre::eyre!(
                "the outcome is unknown: no answer came back ({why}), and the server may have recorded the decision. Check with `gavel show {workflow_id}`, or run the same command again: it says so if the decision was recorded (\"already recorded\", or refused because you already decided a step)"
            )));
        }
        // Refused: if this person decided an earlier step (an answer
        // lost, say), the refusal says that decision is on record.
        Err(err @ crate::backend::BackendError::Refused(_)) => {
            let earlier = workflow.steps.iter().find(|step| step.involves(&me.email));
            return Err(match (Failure::from(err), earlier) {
                (Failure::Refused(why), Some(step)) => Failure::Refused(format!(
                    "{why}\nyour decision of step {} ({}) is on record: `gavel show {workflow_id}`",
                    step.step_id,
                    step.role.label()
                )),
                (failure, _) => failure,
            });
        }
        Err(err) => return Err(err.into()),
    };
    if json {
        print_json(&decided)?;
    } else {
        println!("{}", output::decided(&decided, step.step_id, verdict));
    }
    Ok(exit::OK)
}

/// Withdraws the request a workflow belongs to.
pub async fn withdraw(
    backend: &dyn GovernanceBackend,
    workflow_id: &str,
    reason: Option<&str>,
    json: bool,
) -> Outcome {
    let withdrawn = backend.withdraw(workflow_id, reason).await?;
    if json {
        print_json(&withdrawn)?;
    } else {
        println!(
            "withdrew {} ({}): every open workflow of it is closed",
            output::safe(&withdrawn.deployment_id),
            output::safe(&withdrawn.workflow_id)
        );
    }
    Ok(exit::OK)
}

/// Assigns (or reassigns) a workflow's ethics review.
pub async fn assign_review(
    backend: &dyn GovernanceBackend,
    workflow_id: &str,
    reviewer: &str,
    json: bool,
) -> Outcome {
    let review = backend.assign_review(workflow_id, reviewer).await?;
    if json {
        print_json(&review)?;
    } else {
        println!(
            "review {} of {} is assigned to {}",
            output::safe(&review.review_id),
            output::safe(&review.workflow_id),
            output::safe(&review.reviewer)
        );
    }
    Ok(exit::OK)
}
