//! What the form's header says of where its answers stand: saved as a
//! draft, submitted, waiting for sync, or kept only here.

use super::{AnswerForm, FormSubject};
use crate::domain::ReviewStatus;
use crate::text::sanitize;
use crate::tui::theme::Role;

impl AnswerForm {
    /// What the answers belong to, after the agent's name: a review's
    /// workflow, an intake's agent version.
    pub(super) fn context(&self) -> String {
        match &self.subject {
            FormSubject::Review(review) => review.workflow_id.clone(),
            FormSubject::Intake(intake) => {
                format!("{}@{}", intake.agent_id, intake.agent_version)
            }
        }
    }

    /// What the summary before submitting asks.
    pub(super) fn summary_title(&self) -> String {
        match &self.subject {
            FormSubject::Review(_) => {
                " Submit this review? It cannot be changed afterwards ".to_owned()
            }
            FormSubject::Intake(intake) if self.subject.is_submitted() => format!(
                " Submit this intake again? New answers classify {}@{} ",
                sanitize(&intake.agent_id),
                sanitize(&intake.agent_version)
            ),
            FormSubject::Intake(intake) => format!(
                " Submit this intake? Its answers classify {}@{} ",
                sanitize(&intake.agent_id),
                sanitize(&intake.agent_version)
            ),
        }
    }

    /// What submitting again does, said under the answers.
    pub(super) fn summary_note(&self) -> Option<&'static str> {
        (matches!(self.subject, FormSubject::Intake(_)) && self.subject.is_submitted()).then_some(
            "Answers that would stop a duty or a policy from applying wait for a classification-change decision; until then the earlier answers stand.",
        )
    }

    /// `unconfirmed`: the saved state has not reached the server yet.
    pub(super) fn state(&self, unconfirmed: bool) -> (String, Role) {
        match &self.subject {
            FormSubject::Review(review) => self.review_state(review.status, unconfirmed),
            FormSubject::Intake(_) => self.intake_state(),
        }
    }

    fn review_state(&self, status: ReviewStatus, unconfirmed: bool) -> (String, Role) {
        match (status, self.editable, &self.save_error, self.has_unsaved()) {
            (ReviewStatus::Submitted, _, _, _) if unconfirmed => (
                "submitted here: read-only · ⟳ pending sync".to_owned(),
                Role::Info,
            ),
            (ReviewStatus::Submitted, _, _, _) => ("submitted: read-only".to_owned(), Role::Ok),
            (_, false, _, _) => ("read-only".to_owned(), Role::Muted),
            (_, true, Some(error), _) => (
                format!("draft NOT saved: {}", sanitize(error)),
                Role::Danger,
            ),
            (_, true, None, true) => ("saving draft…".to_owned(), Role::Info),
            (ReviewStatus::Assigned, true, None, false) => ("not started".to_owned(), Role::Muted),
            (_, true, None, false) if unconfirmed => {
                ("draft saved · ⟳ pending sync".to_owned(), Role::Info)
            }
            (_, true, None, false) => ("draft saved".to_owned(), Role::Muted),
        }
    }

    /// An intake needs the server (it is never queued offline), so there
    /// is no pending sync to tell.
    fn intake_state(&self) -> (String, Role) {
        let FormSubject::Intake(intake) = &self.subject else {
            return (String::new(), Role::Muted);
        };
        if let Some(pending) = intake.pending() {
            return (
                format!(
                    "these answers, proposed by {}, wait for a decision: read-only",
                    sanitize(&pending.proposed_by)
                ),
                Role::Warn,
            );
        }
        let submitted = self.subject.is_submitted();
        match (
            self.editable,
            &self.save_error,
            self.has_unsaved(),
            submitted,
        ) {
            (false, _, _, true) => ("submitted: read-only".to_owned(), Role::Ok),
            (false, _, _, false) => ("read-only".to_owned(), Role::Muted),
            (true, _, true, true) => (
                "changed here, not saved: submit again (ctrl-s) to change it".to_owned(),
                Role::Warn,
            ),
            (true, _, false, true) => ("submitted: it classifies the agent".to_owned(), Role::Ok),
            (true, Some(error), _, false) => (
                format!("draft NOT saved: {}", sanitize(error)),
                Role::Danger,
            ),
            (true, None, true, false) => ("saving draft…".to_owned(), Role::Info),
            (true, None, false, false) if intake.saved.is_none() => {
                ("not started".to_owned(), Role::Muted)
            }
            (true, None, false, false) => ("draft saved".to_owned(), Role::Muted),
        }
    }
}
