//! The footer's hints: per mode, the actions worth showing, in order of
//! importance (the keymap says which key each is on).

use super::action::Action;
use super::mode::Mode;

const QUEUE_HINTS: [Action; 10] = [
    Action::Open,
    Action::Approve,
    Action::Reject,
    Action::Search,
    Action::ToggleMine,
    Action::ToggleSort,
    Action::CycleRisk,
    Action::Help,
    Action::Palette,
    Action::Quit,
];
const WORKFLOW_HINTS: [Action; 8] = [
    Action::Back,
    Action::Approve,
    Action::Reject,
    Action::OpenAudits,
    Action::OpenReview,
    Action::OpenObligations,
    Action::Help,
    Action::Quit,
];
const OVERLAY_HINTS: [Action; 2] = [Action::Confirm, Action::Cancel];

const REVIEWS_HINTS: [Action; 5] = [
    Action::Open,
    Action::Refresh,
    Action::NextTab,
    Action::Help,
    Action::Quit,
];
const FORM_HINTS: [Action; 5] = [
    Action::NextField,
    Action::PreviousField,
    Action::Confirm,
    Action::Help,
    Action::Back,
];
const AUDITS_HINTS: [Action; 8] = [
    Action::Search,
    Action::FilterAttention,
    Action::Older,
    Action::Newer,
    Action::OpenEvidence,
    Action::OpenObligations,
    Action::Help,
    Action::Quit,
];
const POLICIES_HINTS: [Action; 6] = [
    Action::ToggleVersions,
    Action::Approve,
    Action::Reject,
    Action::Refresh,
    Action::Help,
    Action::Quit,
];
const BLOCKED_HINTS: [Action; 8] = [
    Action::Open,
    Action::NextField,
    Action::ToggleSort,
    Action::Search,
    Action::ClearFilters,
    Action::OpenObligations,
    Action::Help,
    Action::Quit,
];

const EXCEPTIONS_HINTS: [Action; 7] = [
    Action::Approve,
    Action::Reject,
    Action::RevokeException,
    Action::RequestException,
    Action::CycleStatus,
    Action::Help,
    Action::Cancel,
];

const INCIDENTS_HINTS: [Action; 10] = [
    Action::ReportIncident,
    Action::TriageIncident,
    Action::SuspendVersion,
    Action::ConfirmReport,
    Action::RequestLift,
    Action::Approve,
    Action::CloseIncident,
    Action::CycleStatus,
    Action::Help,
    Action::Cancel,
];

const RECERTIFICATIONS_HINTS: [Action; 3] = [Action::CycleStatus, Action::Help, Action::Cancel];

/// The hints of a mode; dialogs and overlays confirm or cancel.
pub fn for_mode(mode: Mode) -> &'static [Action] {
    match mode {
        Mode::Workflow => &WORKFLOW_HINTS,
        Mode::Queue | Mode::Global => &QUEUE_HINTS,
        Mode::Reviews => &REVIEWS_HINTS,
        Mode::Form => &FORM_HINTS,
        Mode::Audits => &AUDITS_HINTS,
        Mode::Blocked => &BLOCKED_HINTS,
        Mode::Policies => &POLICIES_HINTS,
        Mode::Exceptions => &EXCEPTIONS_HINTS,
        Mode::Recertifications => &RECERTIFICATIONS_HINTS,
        Mode::Incidents => &INCIDENTS_HINTS,
        _ => &OVERLAY_HINTS,
    }
}
