//! The governance rules: pure Rust, no I/O, no terminal.

pub mod agent;
pub mod bias;
pub mod cel_limits;
pub mod checkpoint;
pub mod condition;
pub mod delegation;
pub mod deployment;
pub mod digest;
pub mod merkle;
pub mod name;
pub mod plan;
pub mod policy;
pub mod policy_set;
pub mod replay;
pub mod review;
pub mod sla;
pub mod trail;
pub mod vocabulary;
pub mod workflow;

pub use agent::{Agent, Category, DataClassification, RiskTier};
pub use bias::{AuditStats, AuditSubmission, BiasAudit, GroupCounts};
pub use deployment::{DeploymentRequest, DeploymentStatus, Evaluation, Manifest};
pub use policy::{Policy, PolicyAction, PolicyScope};
pub use review::{Answers, EthicsReview, ReviewStatus, ReviewTemplate};
pub use trail::{TrailEntry, TrailEvent};
pub use workflow::{Role, Step, StepStatus, Verdict, Workflow, WorkflowStatus};

/// A text that is not one of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?} (expected one of: {expected})")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
    pub expected: String,
}

impl UnknownValue {
    pub fn new<'a>(
        kind: &'static str,
        value: &str,
        expected: impl Iterator<Item = &'a str>,
    ) -> UnknownValue {
        UnknownValue {
            kind,
            value: value.to_owned(),
            expected: expected.collect::<Vec<_>>().join(", "),
        }
    }
}
