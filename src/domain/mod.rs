//! The governance rules: pure Rust, no I/O, no terminal, no `db`.
//!
//! Layer 2 (docs/architecture.md): imports only the ground (`text`,
//! `paths`, `retry`, `files`, `net`) and crates. Within it, names and roles
//! sit at the bottom, the policy language (`policy/`) above them, then
//! workflows, reviews, bias audits and the trail, and `replay` on top.

pub mod admission;
pub mod after_approval;
pub mod agent;
pub mod attestation;
pub mod bias;
pub mod checkpoint;
pub mod decision;
pub mod delegation;
pub mod deployment;
pub mod digest;
pub mod exception;
pub mod figures;
pub mod incident;
pub mod log_proof;
pub mod manifest;
pub mod merkle;
pub mod name;
pub mod obligations;
pub mod policy;
pub mod replay;
pub mod report;
pub mod review;
pub mod role;
pub mod scim;
pub mod signed_json;
pub mod trail;
pub mod workflow;

pub use agent::{Agent, Category, DataClassification, RiskTier};
pub use bias::{AuditStats, AuditSubmission, BiasAudit, GroupCounts};
pub use deployment::DeploymentRequest;
pub use manifest::Manifest;
pub use policy::evaluation::{DeploymentStatus, Evaluation};
pub use policy::policies::{Policy, PolicyAction, PolicyScope};
pub use review::{Answers, EthicsReview, ReviewStatus, ReviewTemplate};
pub use role::Role;
pub use trail::{TrailEntry, TrailEvent};
pub use workflow::{Step, StepStatus, Verdict, Workflow, WorkflowStatus};
