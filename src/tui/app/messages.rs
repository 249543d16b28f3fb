//! Answers from the worker and the sync loop, and the decide dialog they open and close.

use super::super::action::Action;
use super::super::command::{Command, Message};
use super::super::mode::Mode;
use super::super::widgets::chrome::Level;
use super::super::widgets::conflicts::needing_attention;
use super::super::widgets::decide::{DecideDialog, Subject};
use super::*;
use crate::backend::sync::status::SyncStatus;
use crate::domain::{Verdict, Workflow};

impl App {
    /// The sync loop reported; reloads what it changed.
    pub fn on_sync(&mut self, status: SyncStatus) -> Vec<Command> {
        let previous = self.sync.replace(status);
        let status = self
            .sync
            .as_ref()
            .map_or_else(SyncStatus::default, Clone::clone);
        self.unconfirmed = status.unconfirmed();
        self.refused = status.refused();
        let conflicts = needing_attention(&status.items).len();
        let had = previous
            .as_ref()
            .map_or(0, |previous| needing_attention(&previous.items).len());
        if conflicts > had {
            let key = self
                .config
                .keymap
                .hint(Mode::Global, Action::Conflicts)
                .unwrap_or_else(|| "C".into());
            self.set_status(
                Level::Error,
                match conflicts {
                    1 => format!("The server refused a change: press {key}."),
                    n => format!("The server refused {n} changes: press {key}."),
                },
            );
        }
        if let Some(Overlay::Conflicts(dialog)) = &mut self.overlay {
            dialog.move_by(&status.items, 0);
        }
        let was_offline = previous
            .as_ref()
            .is_some_and(|previous| previous.online == Some(false));
        if was_offline && status.online == Some(true) && conflicts <= had {
            self.set_status(
                Level::Info,
                "Back online: changes made offline are being sent.",
            );
        }
        let changed = previous.is_none_or(|previous| previous.generation != status.generation);
        if !changed {
            return Vec::new();
        }
        self.on_store_changed()
    }

    /// The teams a typed name matches: one (or one named exactly, in any
    /// case) filters the queue; several are listed to choose from.
    fn on_team_resolved(
        &mut self,
        text: &str,
        result: Result<Vec<String>, String>,
    ) -> Vec<Command> {
        let teams = match result {
            Ok(teams) => teams,
            Err(error) => {
                self.set_status(Level::Error, format!("team: {error}"));
                return Vec::new();
            }
        };
        let exact = teams
            .iter()
            .find(|team| team.eq_ignore_ascii_case(text.trim()));
        let chosen = match (exact, teams.as_slice()) {
            (Some(team), _) => team.clone(),
            (None, [only]) => only.clone(),
            (None, []) => {
                self.set_status(
                    Level::Error,
                    format!(
                        "no team's name contains \"{}\"",
                        crate::text::sanitize(text)
                    ),
                );
                return Vec::new();
            }
            (None, several) => {
                let shown: Vec<String> = several
                    .iter()
                    .take(6)
                    .map(|team| crate::text::sanitize(team).into_owned())
                    .collect();
                self.set_status(
                    Level::Info,
                    format!(
                        "\"{}\" matches {} teams: {}; type more of the name",
                        crate::text::sanitize(text),
                        several.len(),
                        shown.join(", ")
                    ),
                );
                return Vec::new();
            }
        };
        self.queue.choice.team = Some(chosen);
        self.queue.reload(&mut self.requests)
    }

    /// Someone else changed the record (a sync brought rows, or another
    /// connection committed): reload what is on screen without losing the
    /// user's place, mark queue rows that changed, and re-read what an open
    /// decide dialog is about to act on.
    pub(super) fn on_store_changed(&mut self) -> Vec<Command> {
        self.previews.clear();
        let mut commands = self.queue.refresh_watching(&mut self.requests, self.now);
        commands.push(Command::LoadInbox);
        if let Some(detail) = &mut self.detail {
            commands.push(detail.reload(&mut self.requests));
        }
        match self.tab {
            Tab::Blocked if self.blocked.loaded => {
                commands.push(self.blocked.load(&mut self.requests));
            }
            Tab::Reviews => commands.push(self.reviews.load(&mut self.requests)),
            _ => {}
        }
        commands.extend(self.preview_selected());
        if let Some(Overlay::Decide(dialog)) = &self.overlay
            && !dialog.submitting
            && let Some(workflow_id) = dialog.workflow_id()
        {
            commands.extend(DecideDialog::loads(workflow_id));
        }
        commands
    }

    pub(super) fn open_decide(&mut self, verdict: Verdict) -> Vec<Command> {
        let (workflow_id, agent_name) = match &self.detail {
            Some(detail) => (detail.workflow_id.clone(), detail.agent_name.clone()),
            None => match self.queue.selected_item() {
                Some(item) => (item.workflow_id.clone(), item.agent_name.clone()),
                None => return Vec::new(),
            },
        };
        let known = match &self.detail {
            Some(detail) => detail.detail.as_ref().map(|detail| detail.workflow.clone()),
            None => self.previews.get(&workflow_id).cloned(),
        };
        self.open_decide_on(workflow_id, agent_name, verdict, known)
    }

    pub(super) fn open_decide_on(
        &mut self,
        workflow_id: String,
        agent_name: String,
        verdict: Verdict,
        known: Option<Workflow>,
    ) -> Vec<Command> {
        let commands = DecideDialog::loads(&workflow_id);
        let mut dialog = DecideDialog::new(
            Subject::Workflow {
                workflow_id,
                agent_name,
                workflow: known,
            },
            verdict,
        );
        dialog.delegators = self.delegators();
        dialog.reader = self.me.clone();
        self.overlay = Some(Overlay::Decide(Box::new(dialog)));
        // Always re-read: the dialog must show what will really happen.
        commands
    }

    pub fn on_message(&mut self, message: Message) -> Vec<Command> {
        match message {
            Message::StoreChanged => self.on_store_changed(),
            Message::Delegates(result) => self.on_delegates(result),
            Message::TeamResolved { text, result } => self.on_team_resolved(&text, result),
            Message::Me(Ok(user)) => {
                self.queue.roles = user.roles.clone();
                self.policies.viewer = Some(crate::tui::screens::policy_versions::Viewer {
                    email: user.email.clone(),
                    policy_admin: user.roles.contains(&crate::domain::Role::PolicyAdmin),
                });
                self.me = Some(user);
                let mut commands = self.queue.start(&mut self.requests);
                commands.push(Command::LoadInbox);
                commands.push(Command::LoadDelegations);
                // The configured start tab, unless a key already left the queue.
                if self.tab == Tab::Queue {
                    commands.extend(self.switch_tab(self.config.start_tab));
                }
                commands
            }
            Message::Delegations(result) => self.on_delegations(result),
            Message::Obligations {
                agent_id,
                result,
                beside,
            } => self.on_obligations(agent_id, result, beside),
            Message::DelegationChanged(result) => self.on_delegation_changed(result),
            Message::Exceptions(message) => self.on_exceptions_message(message),
            Message::Incidents(message) => self.on_incidents_message(message),
            Message::Inbox(result) => {
                if let Ok(items) = &result {
                    self.unread = items.iter().filter(|item| !item.read).count();
                }
                if let Some(Overlay::Inbox(inbox)) = &mut self.overlay {
                    match result {
                        Ok(items) => {
                            inbox.items = Some(items);
                            inbox.error = None;
                            inbox.move_by(0);
                        }
                        Err(error) => inbox.error = Some(error),
                    }
                }
                Vec::new()
            }
            Message::MarkedRead(result) => {
                if let Err(error) = result {
                    self.set_status(Level::Error, format!("inbox: {error}"));
                }
                Vec::new()
            }
            Message::Me(Err(error)) => {
                self.set_status(Level::Error, format!("cannot tell who you are: {error}"));
                self.queue.error = Some(error);
                Vec::new()
            }
            Message::Queue {
                request,
                placement,
                result,
            } => {
                if let Err(error) = &result {
                    self.set_status(Level::Error, format!("queue: {error}"));
                }
                let mut commands =
                    self.queue
                        .on_page(request, placement, result, &mut self.requests);
                commands.extend(self.preview_selected());
                commands
            }
            Message::Count { request, result } => {
                self.queue.on_count(request, result);
                Vec::new()
            }
            Message::Remembered(result) => {
                if let Err(error) = result {
                    self.set_status(
                        Level::Error,
                        format!("cannot remember the queue view: {error}"),
                    );
                }
                Vec::new()
            }
            Message::ViewCounts { request, counts } => {
                self.queue.views.on_counts(request, counts, self.now);
                Vec::new()
            }
            Message::Workflow {
                workflow_id,
                result,
            } => {
                match result {
                    Ok(workflow) => {
                        if let Some(Overlay::Decide(dialog)) = &mut self.overlay
                            && !dialog.submitting
                            && let Subject::Workflow {
                                workflow_id: deciding,
                                workflow: shown,
                                ..
                            } = &mut dialog.subject
                            && *deciding == workflow_id
                        {
                            if let Some(before) = shown.as_ref()
                                && before.version != workflow.version
                            {
                                dialog.changed = Some(before.version);
                            }
                            *shown = Some(workflow.clone());
                        }
                        if self.previews.len() >= PREVIEW_CACHE {
                            self.previews.clear();
                        }
                        self.previews.insert(workflow_id, workflow);
                    }
                    Err(error) => {
                        if let Some(Overlay::Decide(dialog)) = &mut self.overlay
                            && dialog.workflow_id() == Some(workflow_id.as_str())
                        {
                            dialog.error = Some(error.clone());
                        }
                        self.set_status(Level::Error, format!("{workflow_id}: {error}"));
                    }
                }
                Vec::new()
            }
            Message::ReviewOf {
                workflow_id,
                result,
            } => {
                if let Some(Overlay::Decide(dialog)) = &mut self.overlay
                    && dialog.workflow_id() == Some(workflow_id.as_str())
                {
                    match result {
                        Ok(review) => dialog.review = Some(review),
                        // The backend checks the rules anyway.
                        Err(error) => {
                            self.set_status(Level::Error, format!("its ethics review: {error}"));
                        }
                    }
                }
                Vec::new()
            }
            Message::Detail { request, result } => {
                if let Some(detail) = &mut self.detail {
                    detail.on_detail(request, result);
                }
                Vec::new()
            }
            Message::Decided { decision, result } => self.on_decided(decision, result),
            Message::Synced(result) => {
                match result {
                    Ok(text) => self.set_status(Level::Info, text),
                    Err(error) => self.set_status(Level::Error, format!("sync: {error}")),
                }
                Vec::new()
            }
            Message::ReportSaved { path, result } => {
                match result {
                    Ok(saved) => self.set_status(Level::Info, saved),
                    Err(error) => self.set_status(
                        Level::Error,
                        format!("Cannot save the report: {error} ({})", path.display()),
                    ),
                }
                Vec::new()
            }
            Message::EvidenceExported { path, result } => {
                self.on_exported(path, result);
                Vec::new()
            }
            Message::ListExported { path, result } => {
                self.on_list_exported(path, result);
                Vec::new()
            }
            message @ (Message::Withdrawn { .. }
            | Message::Reviewers { .. }
            | Message::Assigned { .. }) => self.on_manage_message(message),
            other => self.on_tab_message(other),
        }
    }

    pub(super) fn on_decided(
        &mut self,
        decision: crate::backend::Decision,
        result: Result<Workflow, String>,
    ) -> Vec<Command> {
        let dialog_matches = matches!(&self.overlay, Some(Overlay::Decide(dialog)) if dialog.idempotency_key == decision.idempotency_key);
        match result {
            Ok(workflow) => {
                let mut replaced = Vec::new();
                if let Some((workflow_id, id)) = self.redeciding.take() {
                    if workflow_id == decision.workflow_id {
                        replaced.push(Command::DiscardChange { id });
                    } else {
                        self.redeciding = Some((workflow_id, id));
                    }
                }
                let verb = match decision.verdict {
                    Verdict::Approve => "Approved",
                    Verdict::Reject => "Rejected",
                };
                let step = workflow
                    .steps
                    .iter()
                    .find(|step| step.step_id == decision.step_id);
                let next = match workflow.current_step() {
                    Some(step) => format!("now waiting on {}", step.role.with_article()),
                    None => format!(
                        "the workflow is {}",
                        workflow.status.as_str().replace('_', " ")
                    ),
                };
                // With an offline cache the decision is saved here and
                // sent by the sync loop; say so rather than imply the server has it.
                let where_ = if self.sync.is_some() {
                    " Saved; pending sync."
                } else {
                    ""
                };
                self.set_status(
                    Level::Info,
                    format!(
                        "{verb} step {} ({}) of {}; {next}.{where_}",
                        decision.step_id,
                        step.map_or("?".into(), |s| s.role.label()),
                        workflow.workflow_id
                    ),
                );
                if dialog_matches {
                    self.overlay = None;
                }
                self.previews
                    .insert(workflow.workflow_id.clone(), workflow.clone());
                self.detail = None;
                self.queue.remove(&workflow.workflow_id);
                let mut commands = self.queue.refresh(&mut self.requests);
                commands.extend(self.preview_selected());
                commands.extend(replaced);
                commands
            }
            Err(error) => {
                self.set_status(Level::Error, format!("not decided: {error}"));
                if let Some(Overlay::Decide(dialog)) = &mut self.overlay
                    && dialog_matches
                {
                    dialog.submitting = false;
                    dialog.error = Some(error);
                    // A new attempt after a refusal is a new decision.
                    dialog.idempotency_key = crate::backend::Decision::new_key();
                }
                // The workflow may have moved on: show its real state.
                let mut commands = vec![Command::LoadWorkflow {
                    workflow_id: decision.workflow_id.clone(),
                }];
                if let Some(detail) = &mut self.detail {
                    commands.push(detail.reload(&mut self.requests));
                }
                commands
            }
        }
    }
}
