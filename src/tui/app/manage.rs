//! From the step view: withdrawing a request, and assigning its ethics
//! reviewer. The backend enforces who may; the console asks, and says what
//! the backend answered.

use super::{App, Level, Overlay};
use crate::tui::action::Action;
use crate::tui::command::{Command, Message};
use crate::tui::widgets::chooser::{PersonChooser, Purpose};
use crate::tui::widgets::overlay::{Prompt, PromptKind};

impl App {
    /// `W`: asks for the reason, then withdraws.
    pub(super) fn start_withdraw(&mut self) -> Vec<Command> {
        if self.detail.is_some() {
            self.overlay = Some(Overlay::Prompt(Prompt {
                kind: PromptKind::WithdrawReason,
                text: String::new(),
            }));
        }
        Vec::new()
    }

    /// The reason was given (or left empty, which only a requester may).
    pub(super) fn confirm_withdraw(&mut self, reason: Option<String>) -> Vec<Command> {
        let Some(workflow_id) = self.detail.as_ref().map(|d| d.workflow_id.clone()) else {
            return Vec::new();
        };
        self.set_status(Level::Info, "Withdrawing…");
        vec![Command::Withdraw {
            workflow_id,
            reason,
        }]
    }

    /// `A`: loads who may review, then offers them.
    pub(super) fn start_assign(&mut self) -> Vec<Command> {
        let Some(workflow_id) = self.detail.as_ref().map(|d| d.workflow_id.clone()) else {
            return Vec::new();
        };
        self.set_status(Level::Info, "Loading ethics reviewers…");
        vec![Command::LoadReviewers { workflow_id }]
    }

    pub(super) fn on_chooser_action(
        &mut self,
        mut chooser: PersonChooser,
        action: Action,
    ) -> Vec<Command> {
        match action {
            Action::Down | Action::Up => {
                chooser.move_by(if action == Action::Down { 1 } else { -1 });
                self.overlay = Some(Overlay::Choose(chooser));
                Vec::new()
            }
            Action::Confirm => match (chooser.chosen(), &chooser.purpose) {
                (Some(user), Purpose::Review { workflow_id, .. }) => {
                    self.set_status(
                        Level::Info,
                        format!("Assigning the review to {}…", user.email),
                    );
                    vec![Command::AssignReview {
                        workflow_id: workflow_id.clone(),
                        reviewer: user.email.clone(),
                    }]
                }
                (Some(user), Purpose::Delegate) => self.delegate_to(Some(user.email.clone())),
                (None, Purpose::Delegate) => self.delegate_to(None),
                (None, Purpose::Review { .. }) => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// Answers to withdrawing and assigning.
    pub(super) fn on_manage_message(&mut self, message: Message) -> Vec<Command> {
        let (workflow_id, outcome) = match message {
            Message::Withdrawn {
                workflow_id,
                result,
            } => {
                let outcome = result.map(|workflow| {
                    format!(
                        "Withdrew {} ({}): its open workflows are closed.",
                        workflow.deployment_id, workflow.workflow_id
                    )
                });
                (workflow_id, outcome)
            }
            Message::Assigned {
                workflow_id,
                result,
            } => {
                let outcome = result
                    .map(|review| format!("The ethics review is assigned to {}.", review.reviewer));
                (workflow_id, outcome)
            }
            Message::Reviewers {
                workflow_id,
                result,
            } => {
                match result {
                    Ok(reviewers) => {
                        let current = self
                            .detail
                            .as_ref()
                            .and_then(|detail| detail.detail.as_ref())
                            .and_then(|detail| detail.review.as_ref())
                            .map(|review| review.reviewer.clone());
                        self.status = None;
                        self.overlay = Some(Overlay::Choose(PersonChooser::new(
                            Purpose::Review {
                                workflow_id,
                                current,
                            },
                            reviewers,
                        )));
                    }
                    Err(error) => self.set_status(Level::Error, format!("Cannot assign: {error}")),
                }
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        let mut commands = Vec::new();
        match outcome {
            Ok(text) => {
                self.set_status(Level::Info, text);
                if let Some(detail) = self
                    .detail
                    .as_mut()
                    .filter(|detail| detail.workflow_id == workflow_id)
                {
                    commands.push(detail.reload(&mut self.requests));
                }
                commands.extend(self.queue.reload(&mut self.requests));
            }
            Err(error) => self.set_status(Level::Error, error),
        }
        commands
    }
}
