//! Keys on overlays: dialogs, the inbox, the conflicts list.

use super::super::action::Action;
use super::super::command::Command;
use super::super::mode::Mode;
use super::super::screens::workflow::WorkflowScreen;
use super::super::tab::Tab;
use super::super::widgets::chrome::Level;
use super::super::widgets::decide::Submission;
use super::super::widgets::inbox::InboxOverlay;
use super::super::widgets::overlay::PromptKind;
use super::*;
use crate::domain::Verdict;

impl App {
    pub(super) fn on_overlay_action(&mut self, action: Action) -> Vec<Command> {
        let Some(overlay) = self.overlay.take() else {
            return Vec::new();
        };
        match (overlay, action) {
            (Overlay::Decide(mut dialog), Action::Confirm) => {
                if dialog.submitting {
                    self.overlay = Some(Overlay::Decide(dialog));
                    return Vec::new();
                }
                // A workflow that changed under the dialog is decided only
                // once the user has seen it as it is now.
                if let Some(seen) = dialog.changed.take() {
                    dialog.error = Some(format!(
                        "it changed since you saw version {seen}: confirm again to decide it as shown now"
                    ));
                    self.overlay = Some(Overlay::Decide(dialog));
                    return Vec::new();
                }
                match dialog.submission() {
                    Ok(submission) => {
                        dialog.submitting = true;
                        dialog.error = None;
                        self.overlay = Some(Overlay::Decide(dialog));
                        vec![match submission {
                            Submission::Workflow(decision) => Command::Decide { decision },
                            Submission::PolicySet {
                                version,
                                approve,
                                comment,
                            } => Command::DecidePolicySet {
                                version,
                                approve,
                                comment,
                            },
                        }]
                    }
                    Err(problem) => {
                        dialog.error = Some(problem);
                        self.overlay = Some(Overlay::Decide(dialog));
                        Vec::new()
                    }
                }
            }
            (Overlay::Decide(dialog), _) if dialog.submitting => {
                // The answer is on its way; closing now would hide it.
                self.overlay = Some(Overlay::Decide(dialog));
                Vec::new()
            }
            (Overlay::Choose(chooser), action) => self.on_chooser_action(chooser, action),
            (Overlay::Inbox(inbox), action) => self.on_inbox_action(inbox, action),
            (Overlay::Delegations(overlay), action) => self.on_delegations_action(overlay, action),
            (Overlay::Obligations(overlay), action) => self.on_obligations_action(overlay, action),
            (Overlay::Exceptions(overlay), action) => self.on_exceptions_action(overlay, action),
            (Overlay::Incidents(overlay), action) => self.on_incidents_action(overlay, action),
            (
                Overlay::Prompt(Prompt {
                    kind: PromptKind::Incident(field),
                    text,
                }),
                action @ (Action::Confirm | Action::Cancel),
            ) => {
                let text = text.trim().to_owned();
                let value = (!text.is_empty()).then_some(text);
                self.on_incident_prompt(field, value, action == Action::Cancel)
            }
            (Overlay::Recertifications(overlay), action) => {
                self.on_recertifications_action(overlay, action)
            }
            (Overlay::Prompt(prompt), action @ (Action::Confirm | Action::Cancel))
                if super::exceptions::is_exception_prompt(prompt.kind) =>
            {
                let text = prompt.text.trim().to_owned();
                let value = (!text.is_empty()).then_some(text);
                self.on_exception_prompt(prompt.kind, value, action == Action::Cancel)
            }
            (Overlay::Decide(mut dialog), Action::OnBehalf) => {
                dialog.cycle_on_behalf();
                self.overlay = Some(Overlay::Decide(dialog));
                Vec::new()
            }
            (Overlay::Prompt(prompt), Action::Confirm) => {
                let text = prompt.text.trim().to_owned();
                let value = (!text.is_empty()).then_some(text);
                match prompt.kind {
                    PromptKind::Search => self.queue.choice.search = value,
                    PromptKind::Team => match value {
                        // Matched as search matches: any case, part of it.
                        Some(text) => return vec![Command::ResolveTeam { text }],
                        None => self.queue.choice.team = None,
                    },
                    PromptKind::Agent => return Vec::new(),
                    PromptKind::WithdrawReason => return self.confirm_withdraw(value),
                    PromptKind::DelegateUntil => return self.delegate_until(value),
                    PromptKind::EvidenceFile => return self.confirm_export(value),
                    PromptKind::ReportPeriod => return self.report_period(value),
                    PromptKind::ReportFile => return self.confirm_report(value),
                    PromptKind::ListFile => return self.confirm_list_export(value),
                    PromptKind::FindInPolicies => {
                        self.policies.find = value;
                        return self.find_in_policies(true, true);
                    }
                    PromptKind::FindInReviews => {
                        self.reviews.find = value;
                        self.find_in_reviews(true, true);
                        return Vec::new();
                    }
                    PromptKind::FindInStep => {
                        if let Some(screen) = self.detail.as_mut() {
                            screen.find = value;
                        }
                        self.find_in_step(true, true);
                        return Vec::new();
                    }
                    // Answered above, with the exceptions overlay behind.
                    PromptKind::RejectException
                    | PromptKind::RevokeException
                    | PromptKind::ExceptionPolicy
                    | PromptKind::ExceptionUntil
                    | PromptKind::ExceptionReason
                    | PromptKind::ExceptionTicket
                    | PromptKind::Incident(_) => return Vec::new(),
                    PromptKind::BlockedSearch => {
                        let filter = crate::tui::command::BlockedFilter {
                            search: value,
                            ..self.blocked.filter.clone()
                        };
                        return self.blocked.drill(filter, &mut self.requests);
                    }
                }
                self.queue.reload(&mut self.requests)
            }
            (Overlay::Palette(palette), Action::Confirm) => palette
                .chosen()
                .map(|chosen| self.on_action(chosen))
                .unwrap_or_default(),
            (Overlay::Palette(mut palette), Action::Down) => {
                palette.selected =
                    (palette.selected + 1).min(palette.matches().len().saturating_sub(1));
                self.overlay = Some(Overlay::Palette(palette));
                Vec::new()
            }
            (Overlay::Palette(mut palette), Action::Up) => {
                palette.selected = palette.selected.saturating_sub(1);
                self.overlay = Some(Overlay::Palette(palette));
                Vec::new()
            }
            (
                Overlay::Help(mut help),
                Action::Down | Action::Up | Action::PageDown | Action::PageUp,
            ) => {
                let page = (self.size.1.saturating_sub(8) as isize).max(1);
                help.scroll_by(match action {
                    Action::Down => 1,
                    Action::Up => -1,
                    Action::PageDown => page,
                    _ => -page,
                });
                self.overlay = Some(Overlay::Help(help));
                Vec::new()
            }
            (overlay @ Overlay::Prompt(_), Action::Down | Action::Up) => {
                self.overlay = Some(overlay);
                Vec::new()
            }
            // Cancel, or confirm on help: close.
            _ => Vec::new(),
        }
    }

    pub(super) fn key_for(&self, action: Action) -> String {
        self.config
            .keymap
            .hint(Mode::Global, action)
            .unwrap_or_else(|| action.name().into())
    }

    /// The inbox: move, open the chosen workflow (marking it read), close.
    pub(super) fn on_inbox_action(
        &mut self,
        mut inbox: InboxOverlay,
        action: Action,
    ) -> Vec<Command> {
        match action {
            Action::Down | Action::Up => {
                inbox.move_by(if action == Action::Down { 1 } else { -1 });
                self.overlay = Some(Overlay::Inbox(inbox));
                Vec::new()
            }
            Action::Confirm => {
                let Some(item) = inbox.chosen().cloned() else {
                    return Vec::new();
                };
                let mut commands = Vec::new();
                if !item.read {
                    self.unread = self.unread.saturating_sub(1);
                    commands.push(Command::MarkRead {
                        event_ids: vec![item.event_id],
                    });
                }
                if let Some(exception_id) = item.exception_id {
                    commands.extend(self.open_exception(exception_id));
                    return commands;
                }
                if let Some(incident_id) = item.incident_id {
                    commands.extend(self.open_incident(incident_id));
                    return commands;
                }
                if let Some(version) = item.policy_set_version {
                    self.tab = Tab::Policies;
                    commands.extend(self.policies.open_version(version, &mut self.requests));
                    return commands;
                }
                match item.workflow_id {
                    Some(workflow_id) => {
                        self.remember_place();
                        self.tab = Tab::Queue;
                        let (screen, command) =
                            WorkflowScreen::open(workflow_id, String::new(), &mut self.requests);
                        self.detail = Some(screen);
                        commands.push(command);
                    }
                    None => {
                        if let Some(items) = &mut inbox.items
                            && let Some(chosen) = items.get_mut(inbox.selected)
                        {
                            chosen.read = true;
                        }
                        self.overlay = Some(Overlay::Inbox(inbox));
                    }
                }
                commands
            }
            _ => Vec::new(),
        }
    }

    pub(super) fn on_conflicts_action(&mut self, action: Action) -> Vec<Command> {
        let Some(Overlay::Conflicts(dialog)) = &mut self.overlay else {
            return Vec::new();
        };
        let items = self
            .sync
            .as_ref()
            .map(|sync| sync.items.as_slice())
            .unwrap_or_default();
        match action {
            Action::Down => dialog.move_by(items, 1),
            Action::Up => dialog.move_by(items, -1),
            Action::Cancel | Action::Quit => self.overlay = None,
            Action::Discard => {
                if let Some(item) = dialog.selected_item(items) {
                    return vec![Command::DiscardChange { id: item.id }];
                }
            }
            Action::Redecide => {
                let Some(item) = dialog.selected_item(items) else {
                    return Vec::new();
                };
                let verdict = if item.change.starts_with("reject") {
                    Verdict::Reject
                } else {
                    Verdict::Approve
                };
                if !item.entity.starts_with("workflow ") {
                    self.set_status(
                        Level::Error,
                        "only decisions can be made again; discard this change instead",
                    );
                    return Vec::new();
                }
                let (workflow_id, id) = (item.entity_id().to_owned(), item.id);
                self.redeciding = Some((workflow_id.clone(), id));
                self.overlay = None;
                self.tab = Tab::Queue;
                self.detail = None;
                return self.open_decide_on(workflow_id.clone(), workflow_id, verdict, None);
            }
            _ => {}
        }
        Vec::new()
    }
}
