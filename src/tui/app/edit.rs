//! A text out in the user's editor: what it is and where it goes back
//! (`editor` opens and takes it back; the run loop runs the editor).

/// Where an edited text goes back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditTarget {
    /// An answer of the open form (a review's or an intake's).
    Answer {
        form: crate::tui::screens::review_form::FormKey,
        field: usize,
    },
    /// The comment of the decide dialog with this idempotency key (one
    /// per dialog: a dialog opened since is another).
    Comment { dialog: String },
}

/// A text to write in the editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalEdit {
    pub target: EditTarget,
    pub text: String,
}
