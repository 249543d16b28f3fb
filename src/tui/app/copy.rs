//! `y` and `Y`: the selected item's id, or the `gavel` command that shows
//! it, to the clipboard. The run loop writes it as OSC 52 (`clipboard`),
//! which reaches the local clipboard over SSH, and inside tmux with
//! `set-clipboard on`.

use super::{App, Level};
use crate::tui::screens::policies::View;
use crate::tui::screens::review_form::FormSubject;
use crate::tui::tab::Tab;

/// What `y` and `Y` copy on the screen in view.
struct Copyable {
    /// "workflow", "review", "agent"...
    what: &'static str,
    id: String,
    command: String,
}

impl App {
    /// Copies the selected item's id, or (`command`) the command that
    /// shows it, and says which.
    pub(super) fn copy(&mut self, command: bool) {
        let Some(copyable) = self.copyable() else {
            self.set_status(Level::Info, "Nothing is selected to copy here.");
            return;
        };
        let (text, said) = if command {
            (copyable.command.clone(), format!("`{}`", copyable.command))
        } else {
            (
                copyable.id.clone(),
                format!("{} id {}", copyable.what, copyable.id),
            )
        };
        self.clipboard = Some(text);
        self.set_status(Level::Info, format!("Copied {said} to the clipboard."));
    }

    fn copyable(&self) -> Option<Copyable> {
        let workflow = |id: &str| Copyable {
            what: "workflow",
            id: id.to_owned(),
            command: format!("gavel show {id}"),
        };
        let agent = |id: &str| Copyable {
            what: "agent",
            id: id.to_owned(),
            command: format!("gavel audit show {id}"),
        };
        Some(match self.tab {
            Tab::Queue => match &self.detail {
                Some(screen) => workflow(&screen.workflow_id),
                None => workflow(&self.queue.selected_item()?.workflow_id),
            },
            Tab::Reviews => {
                let review = match self.reviews.form.as_ref().map(|form| &form.subject) {
                    Some(FormSubject::Intake(intake)) => {
                        return Some(Copyable {
                            what: "intake",
                            id: format!("{}@{}", intake.agent_id, intake.agent_version),
                            command: format!(
                                "gavel intake show {} --version {}",
                                intake.agent_id, intake.agent_version
                            ),
                        });
                    }
                    Some(FormSubject::Review(review)) => review.review_id.clone(),
                    None => self
                        .reviews
                        .items
                        .get(self.reviews.selected)?
                        .review_id
                        .clone(),
                };
                Copyable {
                    what: "review",
                    command: format!("gavel review export {review}"),
                    id: review,
                }
            }
            Tab::Audits => agent(&self.audits.agents.get(self.audits.selected)?.agent_id),
            Tab::Blocked => {
                let deployment = self.blocked.selected_item()?;
                Copyable {
                    what: "deployment",
                    id: deployment.deployment_id.clone(),
                    command: format!("gavel audit show {}", deployment.agent_id),
                }
            }
            Tab::Policies => match self.policies.view {
                View::Policies => Copyable {
                    what: "policy",
                    id: self
                        .policies
                        .policies
                        .get(self.policies.selected)?
                        .policy_id
                        .clone(),
                    command: "gavel policy show".to_owned(),
                },
                View::Versions => {
                    let version = self
                        .policies
                        .versions
                        .versions
                        .get(self.policies.versions.selected)?
                        .version;
                    Copyable {
                        what: "policy set version",
                        id: version.to_string(),
                        command: format!("gavel policy show {version}"),
                    }
                }
            },
        })
    }
}
