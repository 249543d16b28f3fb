//! Where the console is when a key arrives: the mode its bindings are
//! read in.

use serde::Deserialize;

/// A set of bindings: the global ones, one per screen, and those of the
/// dialogs and prompts that take text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Global,
    Queue,
    Workflow,
    Reviews,
    Form,
    Audits,
    Blocked,
    Policies,
    Dialog,
    /// A review's answers shown before it is submitted: it scrolls, and
    /// takes every key while it is shown.
    Summary,
    /// The inbox: a list, so `j` and `k` move.
    Inbox,
    Prompt,
    Overlay,
    Sync,
    Delegations,
    /// An agent's obligations: a list that scrolls.
    Obligations,
    /// Exceptions to policies: a list with the selected one's steps.
    Exceptions,
    /// Approvals due for recertification: a list.
    Recertifications,
    /// Incidents: a list with the selected one's handling.
    Incidents,
}

impl Mode {
    pub(crate) const ALL: [Mode; 12] = [
        Mode::Global,
        Mode::Queue,
        Mode::Workflow,
        Mode::Dialog,
        Mode::Prompt,
        Mode::Overlay,
        Mode::Sync,
        Mode::Delegations,
        Mode::Obligations,
        Mode::Exceptions,
        Mode::Recertifications,
        Mode::Incidents,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Global => "global",
            Mode::Queue => "queue",
            Mode::Workflow => "workflow",
            Mode::Reviews => "reviews",
            Mode::Form => "form",
            Mode::Audits => "audits",
            Mode::Blocked => "blocked",
            Mode::Policies => "policies",
            Mode::Dialog => "dialog",
            Mode::Summary => "summary",
            Mode::Inbox => "inbox",
            Mode::Prompt => "prompt",
            Mode::Overlay => "overlay",
            Mode::Sync => "sync",
            Mode::Delegations => "delegations",
            Mode::Obligations => "obligations",
            Mode::Exceptions => "exceptions",
            Mode::Recertifications => "recertifications",
            Mode::Incidents => "incidents",
        }
    }

    /// Modes where plain keys type text, or that take every key while
    /// shown, so global bindings stay out.
    pub fn takes_text(self) -> bool {
        matches!(
            self,
            Mode::Form | Mode::Dialog | Mode::Summary | Mode::Inbox | Mode::Prompt | Mode::Overlay
        )
    }
}
