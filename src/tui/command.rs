//! What screens ask of the backend (`Command`) and what comes back
//! (`Message`). The worker runs commands off the UI loop; `execute` is the
//! one place a command turns into backend calls, shared by the worker and
//! the test harness.

use crate::backend::{Decision, GovernanceBackend, QueueFilter, QueuePage, QueueQuery, User};
use crate::domain::{Agent, BiasAudit, EthicsReview, Policy, TrailEvent, Workflow};

/// Identifies one request, so answers to superseded requests are dropped.
pub type RequestId = u64;

/// Where a loaded queue page goes in the screen's window of rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Replace the window and select this row.
    Replace(Select),
    Append,
    Prepend,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Select {
    First,
    Last,
    /// The row with this workflow id, else the row at this index.
    Keep {
        workflow_id: Option<String>,
        index: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    LoadMe,
    LoadQueue {
        request: RequestId,
        query: QueueQuery,
        placement: Placement,
    },
    CountQueue {
        request: RequestId,
        filter: QueueFilter,
    },
    LoadWorkflow {
        workflow_id: String,
    },
    LoadDetail {
        request: RequestId,
        workflow_id: String,
    },
    Decide {
        decision: Decision,
    },
}

impl Command {
    /// Commands with the same key replace each other: only the latest runs.
    /// Decisions have none: a write is never dropped.
    pub fn collapse_key(&self) -> Option<&'static str> {
        match self {
            Command::LoadMe => Some("me"),
            Command::LoadQueue { .. } => Some("queue"),
            Command::CountQueue { .. } => Some("count"),
            Command::LoadWorkflow { .. } => Some("preview"),
            Command::LoadDetail { .. } => Some("detail"),
            Command::Decide { .. } => None,
        }
    }
}

/// Everything the step view shows about one workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowDetail {
    pub workflow: Workflow,
    pub agent: Option<Agent>,
    pub policy: Option<Policy>,
    pub trail: Vec<TrailEvent>,
    pub latest_audit: Option<BiasAudit>,
    pub review: Option<EthicsReview>,
}

/// Answers, with errors already in words for the user.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Me(Result<User, String>),
    Queue {
        request: RequestId,
        placement: Placement,
        result: Result<QueuePage, String>,
    },
    Count {
        request: RequestId,
        result: Result<u64, String>,
    },
    Workflow {
        workflow_id: String,
        result: Result<Workflow, String>,
    },
    Detail {
        request: RequestId,
        result: Result<Box<WorkflowDetail>, String>,
    },
    Decided {
        decision: Decision,
        result: Result<Workflow, String>,
    },
}

async fn detail(
    backend: &dyn GovernanceBackend,
    workflow_id: &str,
) -> crate::backend::Result<WorkflowDetail> {
    let workflow = backend.workflow(workflow_id).await?;
    let (agent, policies, trail, audits, review) = tokio::join!(
        backend.agent(&workflow.agent_id),
        backend.policies(),
        backend.trail("workflow", workflow_id),
        backend.audits(&workflow.agent_id),
        backend.review_for_workflow(workflow_id),
    );
    Ok(WorkflowDetail {
        agent: agent.ok(),
        policy: policies?
            .into_iter()
            .find(|policy| policy.policy_id == workflow.triggered_by_policy),
        trail: trail?,
        latest_audit: audits?.into_iter().next(),
        review: review?,
        workflow,
    })
}

/// Runs one command against a backend.
pub async fn execute(backend: &dyn GovernanceBackend, command: Command) -> Message {
    let words = |err: crate::backend::BackendError| err.to_string();
    match command {
        Command::LoadMe => Message::Me(backend.me().await.map_err(words)),
        Command::LoadQueue {
            request,
            query,
            placement,
        } => Message::Queue {
            request,
            placement,
            result: backend.queue(&query).await.map_err(words),
        },
        Command::CountQueue { request, filter } => Message::Count {
            request,
            result: backend.queue_count(&filter).await.map_err(words),
        },
        Command::LoadWorkflow { workflow_id } => {
            let result = backend.workflow(&workflow_id).await.map_err(words);
            Message::Workflow {
                workflow_id,
                result,
            }
        }
        Command::LoadDetail {
            request,
            workflow_id,
        } => Message::Detail {
            request,
            result: detail(backend, &workflow_id)
                .await
                .map(Box::new)
                .map_err(words),
        },
        Command::Decide { decision } => {
            let result = backend.decide(&decision).await.map_err(words);
            Message::Decided { decision, result }
        }
    }
}
