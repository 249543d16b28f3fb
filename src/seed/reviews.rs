//! The ethics reviews of the seeded workflows: who reviews, and answers that
//! read like a person's.

use chrono::Duration;
use rand::RngExt;
use rand::seq::IndexedRandom;
use rusqlite::Connection;

use super::history::History;
use super::names::*;
use crate::backend::Result;
use crate::backend::local::writes::{self, entry, format_id};
use crate::domain::review::Answers;
use crate::domain::{EthicsReview, ReviewStatus, Role, StepStatus, Workflow};

use super::generator::Generator;
use super::options::*;

impl Generator {
    /// The ethics review that goes with a workflow's ethics step, if any,
    /// written before its workflow: inserting the workflow then reads the
    /// reviewer, where a review written after would read the workflow back
    /// to mark it. Its events follow the workflow's (`review_events`).
    pub(super) fn write_review(
        &mut self,
        conn: &Connection,
        history: &History,
    ) -> Result<Option<EthicsReview>> {
        let workflow = &history.workflow;
        let Some(ethics) = workflow
            .steps
            .iter()
            .find(|s| s.role == Role::EthicsReviewer)
        else {
            return Ok(None);
        };
        let current = workflow.current_step().map(|s| s.step_id);
        let (status, reviewer) = match (ethics.status, current) {
            (StepStatus::Approved | StepStatus::Rejected, _) => (
                ReviewStatus::Submitted,
                ethics.approver_email.clone().unwrap_or_default(),
            ),
            (StepStatus::Pending, Some(step)) if step == ethics.step_id => {
                let status = match self.rng.random_range(0..100) {
                    0..40 => ReviewStatus::Assigned,
                    40..75 => ReviewStatus::Draft,
                    _ => ReviewStatus::Submitted,
                };
                match self.reviewer_for(workflow) {
                    Some(reviewer) => (status, reviewer),
                    None => return Ok(None),
                }
            }
            (StepStatus::Pending, Some(_)) if self.rng.random_bool(0.3) => {
                match self.reviewer_for(workflow) {
                    Some(reviewer) => (ReviewStatus::Assigned, reviewer),
                    None => return Ok(None),
                }
            }
            _ => return Ok(None),
        };
        let assigned_at = workflow.created_at + Duration::minutes(self.rng.random_range(5..240));
        let submitted_at = match status {
            ReviewStatus::Submitted => Some(
                history
                    .review_submitted_at
                    .unwrap_or(assigned_at + Duration::hours(20))
                    .max(assigned_at),
            ),
            _ => None,
        };
        let recommendation = if ethics.status == StepStatus::Rejected {
            "reject"
        } else if self.rng.random_bool(0.3) {
            "approve_with_conditions"
        } else {
            "approve"
        };
        let answers = match status {
            ReviewStatus::Assigned => Answers::new(),
            ReviewStatus::Draft => self.answers(recommendation, false),
            ReviewStatus::Submitted => self.answers(recommendation, true),
        };
        let review = EthicsReview {
            review_id: format_id("rev", self.next_review),
            workflow_id: workflow.workflow_id.clone(),
            agent_id: workflow.agent_id.clone(),
            reviewer: reviewer.clone(),
            template_id: "ethics_default_v1".into(),
            status,
            form_state: (status == ReviewStatus::Draft)
                .then(|| serde_json::json!({ "field": 4, "cursor": 0 })),
            answers,
            assigned_at,
            updated_at: submitted_at.unwrap_or(assigned_at),
            submitted_at,
            version: match status {
                ReviewStatus::Assigned => 1,
                ReviewStatus::Draft => 2,
                ReviewStatus::Submitted => 3,
            },
            reassign_since: None,
        };
        self.next_review += 1;
        writes::insert_review(&crate::db::Connection::sqlite(conn), &review)?;
        self.report.reviews += 1;
        Ok(Some(review))
    }

    /// The trail of a review written with its workflow: assigned, started,
    /// submitted.
    pub(super) fn review_events(
        &mut self,
        conn: &Connection,
        workflow: &Workflow,
        review: &EthicsReview,
    ) -> Result<()> {
        let (reviewer, status) = (&review.reviewer, review.status);
        let (assigned_at, submitted_at) = (review.assigned_at, review.submitted_at);
        let assigner = self.pick(Role::ComplianceOfficer, &[workflow.requested_by.as_str()]);
        self.append(
            conn,
            entry(
                assigned_at,
                &assigner,
                "review",
                &review.review_id,
                "review_assigned",
                (None, Some(1)),
                serde_json::json!({ "workflow_id": workflow.workflow_id, "reviewer": reviewer }),
            ),
        )?;
        if status != ReviewStatus::Assigned {
            self.append(
                conn,
                entry(
                    assigned_at + Duration::minutes(30),
                    reviewer,
                    "review",
                    &review.review_id,
                    "review_started",
                    (Some(1), Some(2)),
                    serde_json::json!({}),
                ),
            )?;
        }
        if let Some(at) = submitted_at {
            self.append(
                conn,
                entry(
                    at,
                    reviewer,
                    "review",
                    &review.review_id,
                    "review_submitted",
                    (Some(2), Some(3)),
                    serde_json::json!({ "answers_sha256": crate::domain::replay::answers_sha256(&review.answers) }),
                ),
            )?;
        }
        Ok(())
    }

    /// Someone who may review the workflow: neither its requester nor
    /// anyone who decided one of its steps.
    pub(super) fn reviewer_for(&mut self, workflow: &Workflow) -> Option<String> {
        let may = |email: &str| workflow.check_reviewer(email).is_ok();
        if self.rng.random_bool(0.25) && may(DEMO_USER) {
            return Some(DEMO_USER.to_owned());
        }
        for _ in 0..16 {
            if let Some(reviewer) = self.people.reviewers.choose(&mut self.rng)
                && may(reviewer)
            {
                return Some(reviewer.clone());
            }
        }
        may(DEMO_USER).then(|| DEMO_USER.to_owned())
    }

    pub(super) fn answers(&mut self, recommendation: &str, complete: bool) -> Answers {
        let rng = &mut self.rng;
        let mut answers = Answers::new();
        let value = serde_json::Value::from;
        answers.insert(
            "use_case_appropriateness".into(),
            value(if recommendation == "reject" {
                "inappropriate"
            } else {
                "appropriate_with_safeguards"
            }),
        );
        answers.insert(
            "training_data_ethically_sourced".into(),
            serde_json::Value::Bool(recommendation != "reject" || rng.random_bool(0.5)),
        );
        answers.insert(
            "affected_populations".into(),
            serde_json::json!(["job_applicants", "employees"]),
        );
        answers.insert(
            "risks_and_mitigations".into(),
            value(RISK_NOTES.choose(rng).copied().unwrap_or_default()),
        );
        if !complete {
            return answers;
        }
        answers.insert(
            "values_alignment".into(),
            serde_json::Value::from(if recommendation == "reject" {
                2
            } else {
                rng.random_range(3..=5)
            }),
        );
        answers.insert("recommendation".into(), value(recommendation));
        if recommendation != "approve" {
            answers.insert(
                "rationale".into(),
                value("The mitigations above are necessary and, with them, sufficient."),
            );
        }
        if recommendation == "approve_with_conditions" {
            answers.insert(
                "conditions".into(),
                value(CONDITIONS.choose(rng).copied().unwrap_or_default()),
            );
        }
        answers
    }
}
