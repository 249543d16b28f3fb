//! An agent version's intake from the console: `I` where `O` is, and `i`
//! in the obligations overlay, open the active set's intake questions for
//! the agent in view in the form the ethics reviews use. Back returns to
//! where it was opened.

use super::{App, Level, Overlay};
use crate::domain::obligations::Intake;
use crate::tui::command::{Command, OpenedIntake, RequestId};
use crate::tui::screens::review_form::{AnswerForm, FormKey, FormSubject, IntakeSubject};
use crate::tui::tab::Tab;

impl App {
    pub(super) fn open_intake(&mut self) -> Vec<Command> {
        let target = match &self.overlay {
            Some(Overlay::Obligations(overlay)) => Some((
                overlay.agent_id.clone(),
                overlay
                    .posture
                    .as_ref()
                    .map(|posture| posture.agent_version.clone()),
            )),
            _ => self.agent_in_view(),
        };
        let Some((agent_id, version)) = target else {
            self.set_status(
                Level::Info,
                "Select an agent (a workflow, an audited agent or a blocked request) to answer its intake.",
            );
            return Vec::new();
        };
        self.overlay = None;
        self.reviews.open_request = self.requests.issue();
        vec![Command::OpenIntake {
            request: self.reviews.open_request,
            agent_id,
            version,
        }]
    }

    pub(super) fn on_intake_opened(
        &mut self,
        request: RequestId,
        result: Result<Box<OpenedIntake>, String>,
    ) -> Vec<Command> {
        if request != self.reviews.open_request {
            return Vec::new();
        }
        match result {
            Ok(opened) => {
                let form =
                    AnswerForm::open_intake(*opened, &self.my_email(), self.config.read_only);
                self.place_form(form)
            }
            Err(error) => {
                self.set_status(Level::Error, format!("cannot open the intake: {error}"));
                Vec::new()
            }
        }
    }

    /// Puts a form in the Reviews tab, where forms are filled, keeping
    /// what the one it replaces holds: its draft is saved first, and a
    /// form whose changes no draft keeps is not replaced.
    pub(super) fn place_form(&mut self, form: AnswerForm) -> Vec<Command> {
        let now = self.now;
        let mut commands = Vec::new();
        if let Some(open) = &mut self.reviews.form
            && open.subject.key() != form.subject.key()
        {
            if open.holds_unkept_changes() {
                let noun = open.subject.noun();
                self.set_status(
                    Level::Error,
                    format!(
                        "The {noun} open in Reviews has changes not submitted: submit it (ctrl-s) or leave it (esc) first."
                    ),
                );
                return commands;
            }
            commands.extend(open.due_save(now, true));
        }
        if self.tab != Tab::Reviews {
            self.remember_place();
        }
        self.reviews.form = Some(form);
        self.tab = Tab::Reviews;
        commands
    }

    pub(super) fn on_intake_saved(
        &mut self,
        key: FormKey,
        seq: Option<u64>,
        result: Result<Intake, String>,
    ) -> Vec<Command> {
        let FormKey::Intake {
            agent_id,
            agent_version,
        } = &key
        else {
            return Vec::new();
        };
        let subject = result.as_ref().map_err(Clone::clone).map(|intake| {
            FormSubject::Intake(IntakeSubject {
                agent_id: agent_id.clone(),
                agent_version: agent_version.clone(),
                saved: Some(intake.clone()),
            })
        });
        let (me, read_only) = (self.my_email(), self.config.read_only);
        let Some(form) = self.reviews.form_for(&key) else {
            if let (None, Err(error)) = (seq, &result) {
                self.set_status(Level::Error, format!("intake not submitted: {error}"));
            }
            return Vec::new();
        };
        let Some(seq) = seq else {
            form.on_submitted(subject, &me, read_only);
            let said = match &result {
                Ok(intake) => match &intake.pending {
                    Some(pending) => (
                        Level::Info,
                        format!(
                            "The change waits for a classification-change decision (it would stop {} from applying); the earlier answers stand until then.",
                            pending.stops.join(", ")
                        ),
                    ),
                    None => (
                        Level::Info,
                        format!(
                            "Submitted the intake of {agent_id}@{agent_version}: its answers classify the agent."
                        ),
                    ),
                },
                Err(error) => (Level::Error, format!("intake not submitted: {error}")),
            };
            self.set_status(said.0, said.1);
            return Vec::new();
        };
        form.on_saved(seq, subject);
        if let Err(error) = result {
            self.set_status(
                Level::Error,
                format!("draft not saved (will retry): {error}"),
            );
        }
        Vec::new()
    }

    pub(super) fn my_email(&self) -> String {
        self.me
            .as_ref()
            .map(|user| user.email.clone())
            .unwrap_or_default()
    }
}
