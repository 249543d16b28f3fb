//! What a form's answers belong to. An ethics review keeps drafts until it
//! is submitted, once. An agent version's intake keeps drafts until it is
//! first submitted; afterwards it changes only by submitting again, and a
//! change that would lower what the agent is held to waits for sign-off.
//! The form engine is the same; what it saves, submits and says differs.

use serde_json::Value;

use crate::domain::obligations::{Intake, IntakeSave, IntakeStatus};
use crate::domain::{Answers, EthicsReview, ReviewStatus};
use crate::tui::command::Command;

#[derive(Debug, Clone)]
pub enum FormSubject {
    Review(EthicsReview),
    Intake(IntakeSubject),
}

/// An agent version's intake, and what the store holds of it (none: never
/// saved).
#[derive(Debug, Clone)]
pub struct IntakeSubject {
    pub agent_id: String,
    pub agent_version: String,
    pub saved: Option<Intake>,
}

/// Which form a saved draft, a submission or an edited text belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormKey {
    Review(String),
    Intake {
        agent_id: String,
        agent_version: String,
    },
}

impl FormSubject {
    pub fn key(&self) -> FormKey {
        match self {
            FormSubject::Review(review) => FormKey::Review(review.review_id.clone()),
            FormSubject::Intake(intake) => FormKey::Intake {
                agent_id: intake.agent_id.clone(),
                agent_version: intake.agent_version.clone(),
            },
        }
    }

    /// What the form is, in words ("review", "intake").
    pub fn noun(&self) -> &'static str {
        match self {
            FormSubject::Review(_) => "review",
            FormSubject::Intake(_) => "intake",
        }
    }

    /// Whether the person may change it here (the store decides again).
    /// A review is its reviewer's until submitted; an intake may be
    /// answered again unless a change of it waits for a decision.
    pub fn may_edit(&self, me: &str, read_only: bool) -> bool {
        !read_only
            && match self {
                FormSubject::Review(review) => {
                    review.status != ReviewStatus::Submitted
                        && review.reviewer.eq_ignore_ascii_case(me)
                }
                FormSubject::Intake(intake) => intake.pending().is_none(),
            }
    }

    pub fn is_submitted(&self) -> bool {
        match self {
            FormSubject::Review(review) => review.status == ReviewStatus::Submitted,
            FormSubject::Intake(intake) => intake.is_submitted(),
        }
    }

    /// Whether a change is saved as a draft as it is typed. A submitted
    /// intake is not: its changes stay here until submitted again.
    pub fn keeps_drafts(&self) -> bool {
        match self {
            FormSubject::Review(_) => true,
            FormSubject::Intake(intake) => !intake.is_submitted(),
        }
    }

    /// Where the last draft left the person (reviews remember it).
    pub fn form_state(&self) -> Option<&Value> {
        match self {
            FormSubject::Review(review) => review.form_state.as_ref(),
            FormSubject::Intake(_) => None,
        }
    }

    /// The answers the form shows: as the store holds them, or, for an
    /// intake whose change waits for a decision, the change (what is being
    /// decided), so the form reads the same however it was reached.
    pub fn stored_answers(&self) -> Option<&Answers> {
        match self {
            FormSubject::Review(review) => Some(&review.answers),
            FormSubject::Intake(intake) => intake.saved.as_ref().map(|saved| {
                saved
                    .pending
                    .as_ref()
                    .map_or(&saved.answers, |pending| &pending.answers)
            }),
        }
    }

    /// The save of a draft.
    pub fn draft(&self, answers: Answers, form_state: Value, seq: u64) -> Command {
        match self {
            FormSubject::Review(review) => Command::SaveDraft {
                review_id: review.review_id.clone(),
                answers,
                form_state,
                seq,
            },
            FormSubject::Intake(intake) => Command::SaveIntake {
                save: intake.save(answers, false),
                seq: Some(seq),
            },
        }
    }

    /// The submission.
    pub fn submit(&self, answers: Answers) -> Command {
        match self {
            FormSubject::Review(review) => Command::SubmitReview {
                review_id: review.review_id.clone(),
                answers,
            },
            FormSubject::Intake(intake) => Command::SaveIntake {
                save: intake.save(answers, true),
                seq: None,
            },
        }
    }
}

impl IntakeSubject {
    fn is_submitted(&self) -> bool {
        self.saved
            .as_ref()
            .is_some_and(|saved| saved.status == IntakeStatus::Submitted)
    }

    /// A change of it that waits for a classification-change decision.
    pub fn pending(&self) -> Option<&crate::domain::obligations::PendingIntakeChange> {
        self.saved.as_ref().and_then(|saved| saved.pending.as_ref())
    }

    fn save(&self, answers: Answers, submit: bool) -> IntakeSave {
        IntakeSave {
            agent_id: self.agent_id.clone(),
            agent_version: self.agent_version.clone(),
            answers,
            submit,
        }
    }
}
