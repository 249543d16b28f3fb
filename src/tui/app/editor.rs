//! `f4` in the review form and the decide dialog: the answer or comment
//! being written, in the user's own editor (`$VISUAL`, else `$EDITOR`, as
//! git chooses). The app names the text and where it goes back; the run
//! loop suspends the terminal, runs the editor and hands the text back
//! (`on_edited`).

use super::edit::{EditTarget, ExternalEdit};
use super::{App, Level, Overlay};
use crate::tui::command::Command;
use crate::tui::tab::Tab;

impl App {
    /// `f4`: asks the run loop to open the focused text in the editor.
    pub(super) fn edit_in_editor(&mut self) {
        let edit = match (&self.overlay, self.tab) {
            (Some(Overlay::Decide(dialog)), _) => Some(ExternalEdit {
                target: EditTarget::Comment {
                    dialog: dialog.idempotency_key.clone(),
                },
                text: dialog.comment.lines().join("\n"),
            }),
            (None, Tab::Reviews) => self.reviews.form.as_ref().and_then(|form| {
                Some(ExternalEdit {
                    target: EditTarget::Answer {
                        form: form.subject.key(),
                        field: form.focus,
                    },
                    text: form.focused_text()?,
                })
            }),
            _ => None,
        };
        match edit {
            Some(edit) => self.external_edit = Some(edit),
            None => self.set_status(
                Level::Info,
                "f4 opens a text answer or a comment you are writing in your editor.",
            ),
        }
    }

    /// The editor closed: `result` is what the file held, or why nothing
    /// came back (the text is then as it was).
    pub fn on_edited(
        &mut self,
        target: EditTarget,
        result: Result<String, String>,
    ) -> Vec<Command> {
        let text = match result {
            // An editor ends the file with a newline the answer never had.
            Ok(text) => text.strip_suffix('\n').unwrap_or(&text).to_owned(),
            Err(error) => {
                self.set_status(Level::Error, format!("The editor did not finish: {error}"));
                return Vec::new();
            }
        };
        let now = self.now;
        let placed = match &target {
            EditTarget::Answer { form: key, field } => self
                .reviews
                .form_for(key)
                .is_some_and(|form| form.replace_text(*field, &text, now)),
            EditTarget::Comment { dialog: key } => match &mut self.overlay {
                Some(Overlay::Decide(dialog)) if dialog.idempotency_key == *key => {
                    dialog.replace_comment(&text);
                    true
                }
                _ => false,
            },
        };
        if placed {
            self.set_status(Level::Info, "Took the text back from the editor.");
        } else {
            self.set_status(
                Level::Error,
                "The form or dialog closed while the editor was open: the text was not used.",
            );
        }
        // A form's changed answer is saved as typing is (`tick`).
        Vec::new()
    }
}
