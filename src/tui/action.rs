//! Everything a key can ask the console to do. Keymaps name these in
//! snake_case; the help overlay, the footer and the palette list them.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    Help,
    Palette,
    NextTab,
    PreviousTab,
    Suspend,
    Redraw,
    Down,
    Up,
    PageDown,
    PageUp,
    /// Scrolls a detail pane beside a list (the list keeps its keys).
    ScrollDown,
    ScrollUp,
    First,
    Last,
    Open,
    Back,
    Approve,
    Reject,
    Search,
    FilterTeam,
    /// The Audits tab's agent list: what needs attention, then one kind.
    FilterAttention,
    ToggleSort,
    ToggleMine,
    CycleRole,
    CycleRisk,
    CycleStatus,
    ClearFilters,
    TogglePreview,
    ToggleVersions,
    OpenEvidence,
    NextGroup,
    PreviousGroup,
    Refresh,
    TabQueue,
    TabReviews,
    TabAudits,
    TabBlocked,
    TabPolicies,
    NextField,
    PreviousField,
    Older,
    Newer,
    OpenAudits,
    OpenReview,
    /// The agent's obligations: which apply, what meets them, what is
    /// missing.
    OpenObligations,
    /// The agent version's intake: the questions that classify it.
    OpenIntake,
    Withdraw,
    AssignReviewer,
    /// Saves the evidence pack of the agent in view.
    ExportEvidence,
    /// Saves the board report over a period (the Blocked tab).
    SaveReport,
    SyncNow,
    Conflicts,
    /// What concerns me: my turn, my requests.
    Inbox,
    /// Who decides for me while I am away, and for whom I decide.
    Delegations,
    NewDelegation,
    EndDelegation,
    /// Time-bound exceptions to a policy: open ones, those awaiting me.
    Exceptions,
    /// Asks for an exception for the agent version in view.
    RequestException,
    /// Ends the selected exception now.
    RevokeException,
    /// Approvals due for recertification.
    Recertifications,
    /// Incidents with agent versions: open ones, suspensions, deadlines.
    Incidents,
    ReportIncident,
    TriageIncident,
    /// Suspends the selected incident's agent version.
    SuspendVersion,
    /// Records the report an incident owed as made.
    ConfirmReport,
    /// Asks to lift the selected incident's suspension.
    RequestLift,
    CloseIncident,
    /// In the decide dialog: decide for someone who delegated to me.
    OnBehalf,
    Discard,
    Redecide,
    Confirm,
    Cancel,
    /// Copies the selected item's id to the clipboard (OSC 52).
    CopyId,
    /// Copies the command that shows the selected item.
    CopyCommand,
    /// Writes the list in view to a CSV or JSON file.
    ExportList,
    /// Opens the text being written in `$VISUAL` / `$EDITOR`.
    EditInEditor,
    /// The next / previous place holding what `/` looks for.
    FindNext,
    FindPrevious,
    /// Unbinds a key in a user keymap.
    None,
}

impl Action {
    /// Actions the palette offers, with what they do.
    pub const DESCRIBED: [(Action, &'static str); 74] = [
        (Action::Quit, "quit Gavel"),
        (Action::Help, "show the keys of this screen"),
        (Action::Palette, "run any action by name"),
        (Action::NextTab, "go to the next tab"),
        (Action::PreviousTab, "go to the previous tab"),
        (Action::Suspend, "suspend to the shell (fg to return)"),
        (Action::Redraw, "redraw the screen"),
        (Action::Down, "move down"),
        (Action::Up, "move up"),
        (Action::PageDown, "move down a page"),
        (Action::PageUp, "move up a page"),
        (Action::ScrollDown, "scroll the detail pane down"),
        (Action::ScrollUp, "scroll the detail pane up"),
        (Action::First, "jump to the first item"),
        (Action::Last, "jump to the last item"),
        (Action::Open, "open the selected workflow"),
        (Action::Back, "go back to the queue"),
        (Action::Approve, "approve the current step"),
        (Action::Reject, "reject the current step (needs a comment)"),
        (Action::Search, "search agents, teams or a workflow id"),
        (Action::FilterTeam, "show one team only"),
        (
            Action::FilterAttention,
            "show agents whose audits need attention, then each kind in turn",
        ),
        (Action::ToggleSort, "sort by age or by risk"),
        (
            Action::ToggleMine,
            "switch between my queue and every workflow",
        ),
        (Action::CycleRole, "show one of my roles at a time"),
        (Action::CycleRisk, "filter by risk tier"),
        (Action::CycleStatus, "filter by workflow status"),
        (Action::ClearFilters, "clear every filter"),
        (Action::TogglePreview, "show or hide the preview pane"),
        (
            Action::OpenEvidence,
            "step through the case evidence of the audit's run",
        ),
        (Action::NextGroup, "show the next group's cases"),
        (Action::PreviousGroup, "show the previous group's cases"),
        (
            Action::ToggleVersions,
            "switch between the active policies and the policy set's versions",
        ),
        (Action::Refresh, "reload from the backend"),
        (Action::TabQueue, "go to the approvals queue"),
        (Action::TabReviews, "go to my ethics reviews"),
        (Action::TabAudits, "go to the bias audits"),
        (
            Action::TabBlocked,
            "go to the blocked-deployments dashboard",
        ),
        (Action::TabPolicies, "go to the policies"),
        (Action::NextField, "next field of the form"),
        (Action::PreviousField, "previous field of the form"),
        (Action::Older, "show the previous (older) audit"),
        (Action::Newer, "show the next (newer) audit"),
        (Action::OpenAudits, "show this agent's bias audits"),
        (Action::OpenReview, "open this workflow's ethics review"),
        (
            Action::OpenObligations,
            "show this agent's obligations: which apply, what meets them, what is missing",
        ),
        (
            Action::OpenIntake,
            "answer this agent version's intake: the questions that decide which duties apply",
        ),
        (
            Action::Withdraw,
            "withdraw this request (yours, or as a compliance officer with a reason)",
        ),
        (
            Action::AssignReviewer,
            "assign or reassign the ethics reviewer (compliance officers)",
        ),
        (
            Action::ExportEvidence,
            "save the agent's evidence pack (compliance officers)",
        ),
        (
            Action::SaveReport,
            "save the board report over a period, signed (compliance officers)",
        ),
        (Action::SyncNow, "sync with the server now"),
        (
            Action::Conflicts,
            "show changes the server did not take (conflicts)",
        ),
        (
            Action::Inbox,
            "show my inbox: what asks me to act, news of my requests",
        ),
        (
            Action::Delegations,
            "delegations: who decides for me while I am away, for whom I decide",
        ),
        (
            Action::Exceptions,
            "exceptions: policies set aside for an agent version until a date, and the steps awaiting me",
        ),
        (
            Action::RequestException,
            "ask for an exception to a policy for the agent version in view",
        ),
        (
            Action::RevokeException,
            "revoke the selected exception (who asked, or a compliance officer)",
        ),
        (
            Action::Recertifications,
            "approvals due for recertification, most overdue first",
        ),
        (
            Action::Incidents,
            "incidents: open ones, their deadlines, the versions they suspend",
        ),
        (
            Action::ReportIncident,
            "report an incident with the agent version in view (anyone)",
        ),
        (
            Action::TriageIncident,
            "triage the selected incident: confirm or change its severity (compliance officers)",
        ),
        (
            Action::SuspendVersion,
            "suspend the selected incident's agent version (compliance officers)",
        ),
        (
            Action::ConfirmReport,
            "record the report the selected incident owed as made today (compliance officers)",
        ),
        (
            Action::RequestLift,
            "ask the policy set's chain to lift the selected incident's suspension",
        ),
        (
            Action::CloseIncident,
            "close the selected incident with its cause and corrective action (compliance officers)",
        ),
        (Action::Discard, "discard your refused change"),
        (Action::Redecide, "decide again on the server's state"),
        (
            Action::CopyId,
            "copy the selected item's id to the clipboard",
        ),
        (
            Action::CopyCommand,
            "copy the gavel command that shows the selected item",
        ),
        (
            Action::ExportList,
            "save this list, as filtered, to a CSV or JSON file",
        ),
        (
            Action::EditInEditor,
            "write this answer or comment in $VISUAL or $EDITOR",
        ),
        (
            Action::FindNext,
            "go to the next line holding what / looks for",
        ),
        (
            Action::FindPrevious,
            "go to the previous line holding what / looks for",
        ),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::Palette => "palette",
            Action::NextTab => "next_tab",
            Action::PreviousTab => "previous_tab",
            Action::Suspend => "suspend",
            Action::Redraw => "redraw",
            Action::Down => "down",
            Action::Up => "up",
            Action::PageDown => "page_down",
            Action::PageUp => "page_up",
            Action::ScrollDown => "scroll_down",
            Action::ScrollUp => "scroll_up",
            Action::First => "first",
            Action::Last => "last",
            Action::Open => "open",
            Action::Back => "back",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Search => "search",
            Action::FilterTeam => "filter_team",
            Action::FilterAttention => "filter_attention",
            Action::ToggleSort => "toggle_sort",
            Action::ToggleMine => "toggle_mine",
            Action::CycleRole => "cycle_role",
            Action::CycleRisk => "cycle_risk",
            Action::CycleStatus => "cycle_status",
            Action::ClearFilters => "clear_filters",
            Action::TogglePreview => "toggle_preview",
            Action::ToggleVersions => "toggle_versions",
            Action::OpenEvidence => "open_evidence",
            Action::NextGroup => "next_group",
            Action::PreviousGroup => "previous_group",
            Action::Refresh => "refresh",
            Action::TabQueue => "tab_queue",
            Action::TabReviews => "tab_reviews",
            Action::TabAudits => "tab_audits",
            Action::TabBlocked => "tab_blocked",
            Action::TabPolicies => "tab_policies",
            Action::NextField => "next_field",
            Action::PreviousField => "previous_field",
            Action::Older => "older",
            Action::Newer => "newer",
            Action::OpenAudits => "open_audits",
            Action::OpenReview => "open_review",
            Action::OpenObligations => "open_obligations",
            Action::OpenIntake => "open_intake",
            Action::Withdraw => "withdraw",
            Action::AssignReviewer => "assign_reviewer",
            Action::ExportEvidence => "export_evidence",
            Action::SaveReport => "save_report",
            Action::SyncNow => "sync_now",
            Action::Conflicts => "conflicts",
            Action::Inbox => "inbox",
            Action::Delegations => "delegations",
            Action::NewDelegation => "new_delegation",
            Action::EndDelegation => "end_delegation",
            Action::Exceptions => "exceptions",
            Action::RequestException => "request_exception",
            Action::RevokeException => "revoke_exception",
            Action::Recertifications => "recertifications",
            Action::Incidents => "incidents",
            Action::ReportIncident => "report_incident",
            Action::TriageIncident => "triage_incident",
            Action::SuspendVersion => "suspend_version",
            Action::ConfirmReport => "confirm_report",
            Action::RequestLift => "request_lift",
            Action::CloseIncident => "close_incident",
            Action::OnBehalf => "on_behalf",
            Action::Discard => "discard",
            Action::Redecide => "redecide",
            Action::Confirm => "confirm",
            Action::Cancel => "cancel",
            Action::CopyId => "copy_id",
            Action::CopyCommand => "copy_command",
            Action::ExportList => "export_list",
            Action::EditInEditor => "edit_in_editor",
            Action::FindNext => "find_next",
            Action::FindPrevious => "find_previous",
            Action::None => "none",
        }
    }

    /// What the action does on one screen, where that differs from
    /// everywhere else.
    pub fn description_in(self, mode: crate::tui::mode::Mode) -> &'static str {
        use crate::tui::mode::Mode;
        match (mode, self) {
            (Mode::Policies, Action::Search) => {
                "find a policy (or, in the versions, a version) by any of its text"
            }
            (Mode::Policies, Action::FindNext) => "the next policy or version holding it (round)",
            (Mode::Policies, Action::FindPrevious) => "the previous one holding it",
            (Mode::Policies, Action::Approve) => "approve the selected policy set proposal",
            (Mode::Policies, Action::Reject) => {
                "reject the selected policy set proposal (needs a comment)"
            }
            (Mode::Reviews, Action::Open) => "open the selected review's form",
            (Mode::Exceptions, Action::Approve) => {
                "approve the selected exception's next step (a again confirms)"
            }
            (Mode::Exceptions, Action::Reject) => {
                "reject the selected exception's next step (needs a comment)"
            }
            (Mode::Exceptions, Action::CycleStatus) => "show open, awaiting me, ended, or all",
            (Mode::Exceptions, Action::ClearFilters) => "show every agent's exceptions",
            (Mode::Incidents, Action::Approve) => {
                "sign the selected incident's lifting step (a again confirms)"
            }
            (Mode::Incidents, Action::Reject) => {
                "refuse the selected incident's lifting (needs a comment)"
            }
            (Mode::Incidents, Action::CycleStatus) => {
                "show open, suspending, overdue, awaiting me, closed, or all"
            }
            (Mode::Incidents, Action::ClearFilters) => "show every agent's incidents",
            (Mode::Recertifications, Action::CycleStatus) => {
                "show those due now, or also those due within 30 days"
            }
            (Mode::Reviews, Action::Back) => {
                "close a read-only review; else back to the step view it came from"
            }
            (Mode::Queue, Action::NextGroup) => "show the next saved view (a sub-tab)",
            (Mode::Queue, Action::PreviousGroup) => "show the previous saved view",
            (Mode::Workflow, Action::NextGroup) => {
                "open this request's next workflow (esc comes back)"
            }
            (Mode::Workflow, Action::PreviousGroup) => {
                "open this request's previous workflow (esc comes back)"
            }
            (Mode::Workflow, Action::Back) => "back along the links followed; else to the queue",
            (Mode::Audits, Action::Back) => {
                "close the evidence; else back to the step view it came from"
            }
            (Mode::Form, Action::Back) => "leave the form (the draft is already saved)",
            (Mode::Form, Action::Confirm) => {
                "check every answer and show the summary (then ctrl-s again submits)"
            }
            (Mode::Summary, Action::Confirm) => "submit the review (it cannot change afterwards)",
            (Mode::Summary, Action::Cancel) => "keep editing",
            (Mode::Summary, Action::Down | Action::Up) => "scroll the summary",
            (Mode::Blocked, Action::NextField) => {
                "move to the charts (by policy, by team) and back"
            }
            (Mode::Blocked, Action::PreviousField) => "move back through the charts to the list",
            (Mode::Blocked, Action::Open) => {
                "on a bar: list what it counts; on a deployment: its workflows, or the agent's blocked requests"
            }
            (Mode::Blocked, Action::ToggleSort) => {
                "sort: longest blocked first, by team, by policy, newest first"
            }
            (Mode::Blocked, Action::ClearFilters) => {
                "clear the drill-down (list every blocked one)"
            }
            (Mode::Blocked, Action::Search) => "blocked deployments of an agent (name, id or team)",
            (Mode::Audits, Action::NextGroup) => {
                "show the audit's next table (attribute or intersection); in evidence, the next group's cases"
            }
            (Mode::Audits, Action::PreviousGroup) => {
                "show the audit's previous table; in evidence, the previous group's cases"
            }
            _ => self.description(),
        }
    }

    pub fn description(self) -> &'static str {
        Action::DESCRIBED
            .iter()
            .find(|(action, _)| *action == self)
            .map_or(
                match self {
                    Action::Confirm => "confirm",
                    Action::Cancel => "cancel",
                    _ => "",
                },
                |(_, text)| text,
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_keymap_spelling() {
        for (action, _) in Action::DESCRIBED {
            let parsed: Action =
                serde_json::from_value(serde_json::Value::from(action.name())).unwrap();
            assert_eq!(parsed, action);
        }
    }
}
