//! The console's state and how it changes: keys and backend answers in,
//! commands for the worker out. Drawing reads the state and changes nothing.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::action::Action;
use super::command::{Command, Message};
use super::keymap::Keymap;
use super::mode::Mode;
use super::screens::audits::AuditsScreen;
use super::screens::blocked::BlockedScreen;
use super::screens::policies::PoliciesScreen;
use super::screens::queue::{QueueScreen, Requests};
use super::screens::queue_view::{self, QueueContext};
use super::screens::reviews::ReviewsScreen;
use super::screens::workflow::WorkflowScreen;
use super::tab::Tab;
use super::theme::{Role, Theme};
use super::widgets::chooser::ReviewerChooser;
use super::widgets::chrome::{self, Level};
use super::widgets::conflicts::{ConflictsDialog, needing_attention};
use super::widgets::decide::{DecideDialog, Subject, Submission};
use super::widgets::delegations::DelegationsOverlay;
use super::widgets::inbox::InboxOverlay;
use super::widgets::overlay::{HelpOverlay, Palette, Prompt, PromptKind, edit_line};
use crate::backend::User;
use crate::backend::sync::status::SyncStatus;
use crate::domain::{Verdict, Workflow};

/// Smallest terminal the console draws in.
pub const MIN_WIDTH: u16 = 20;
pub const MIN_HEIGHT: u16 = 6;
const SPINNER: [char; 8] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧'];
const PREVIEW_CACHE: usize = 256;

pub struct AppConfig {
    pub theme: Theme,
    pub keymap: Keymap,
    pub sla_days: u32,
    /// Browse only: deciding actions are disabled.
    pub read_only: bool,
    /// Where the data lives, for the status line.
    pub location: String,
    /// How the backend keeps changes, when it has no sync loop ("saved
    /// locally", "online").
    pub sync_state: String,
    /// Said once at start (a damaged cache was set aside).
    pub notice: Option<String>,
    /// The server's log does not hold against what this client witnessed:
    /// shown on the status line for as long as the console runs.
    pub witness_warning: Option<String>,
}

pub enum Overlay {
    Help(HelpOverlay),
    Palette(Palette),
    Prompt(Prompt),
    Decide(Box<DecideDialog>),
    Conflicts(ConflictsDialog),
    Choose(ReviewerChooser),
    Inbox(InboxOverlay),
    Delegations(DelegationsOverlay),
}

mod delegations;
mod export;
mod manage;
mod tabs;

pub struct App {
    pub config: AppConfig,
    pub me: Option<User>,
    pub tab: Tab,
    pub queue: QueueScreen,
    pub reviews: ReviewsScreen,
    pub audits: AuditsScreen,
    pub blocked: BlockedScreen,
    pub policies: PoliciesScreen,
    pub detail: Option<WorkflowScreen>,
    pub overlay: Option<Overlay>,
    previews: HashMap<String, Workflow>,
    status: Option<(Level, String)>,
    requests: Requests,
    pub now: DateTime<Utc>,
    spinner: usize,
    size: (u16, u16),
    pub quit: bool,
    pub suspend: bool,
    pub redraw: bool,
    /// The sync loop's state, with an offline cache.
    pub sync: Option<SyncStatus>,
    /// Workflows and reviews with changes the server has not confirmed.
    pub unconfirmed: BTreeSet<String>,
    /// Workflows and reviews with a change the server refused.
    pub refused: BTreeSet<String>,
    /// A re-decision replacing a refused change: (workflow, outbox entry).
    redeciding: Option<(String, i64)>,
    /// Inbox items not yet read (shown on the status line).
    pub unread: usize,
    /// The delegations I gave or received, not yet ended.
    pub delegations: Vec<crate::domain::delegation::Delegation>,
    /// Whom a delegation being made goes to (between its two prompts).
    delegating_to: Option<String>,
    /// Whose evidence pack is being saved (while its file is named).
    exporting: Option<crate::backend::EvidenceQuery>,
}

impl App {
    /// A new console and the commands that fill it.
    pub fn new(config: AppConfig, now: DateTime<Utc>) -> (App, Vec<Command>) {
        let app = App {
            config,
            me: None,
            tab: Tab::Queue,
            queue: QueueScreen::default(),
            reviews: ReviewsScreen::default(),
            audits: AuditsScreen::default(),
            blocked: BlockedScreen::default(),
            policies: PoliciesScreen::default(),
            detail: None,
            overlay: None,
            previews: HashMap::new(),
            status: None,
            requests: Requests::default(),
            now,
            spinner: 0,
            size: (80, 24),
            quit: false,
            suspend: false,
            redraw: false,
            sync: None,
            unconfirmed: BTreeSet::new(),
            refused: BTreeSet::new(),
            redeciding: None,
            unread: 0,
            delegations: Vec::new(),
            delegating_to: None,
            exporting: None,
        };
        let mut app = app;
        if let Some(notice) = app.config.notice.take() {
            app.set_status(Level::Error, notice);
        }
        (app, vec![Command::LoadMe])
    }

    /// The mode keys are read in.
    pub fn mode(&self) -> Mode {
        match &self.overlay {
            Some(Overlay::Decide(_)) => Mode::Dialog,
            Some(Overlay::Prompt(_)) => Mode::Prompt,
            Some(
                Overlay::Help(_) | Overlay::Palette(_) | Overlay::Choose(_) | Overlay::Inbox(_),
            ) => Mode::Overlay,
            Some(Overlay::Conflicts(_)) => Mode::Sync,
            Some(Overlay::Delegations(_)) => Mode::Delegations,
            None => self.screen_mode(),
        }
    }

    /// The screen mode under any overlay.
    fn screen_mode(&self) -> Mode {
        match self.tab {
            Tab::Queue if self.detail.is_some() => Mode::Workflow,
            Tab::Queue => Mode::Queue,
            Tab::Reviews => match &self.reviews.form {
                Some(form) if form.summary => Mode::Dialog,
                Some(form) if form.editable => Mode::Form,
                // A submitted or read-only review: browse it with list keys.
                Some(_) => Mode::Reviews,
                None => Mode::Reviews,
            },
            Tab::Audits => Mode::Audits,
            Tab::Blocked => Mode::Blocked,
            Tab::Policies => Mode::Policies,
        }
    }

    /// Whether something is in flight (the spinner turns).
    pub fn is_busy(&self) -> bool {
        self.me.is_none()
            || self
                .sync
                .as_ref()
                .is_some_and(|sync| sync.full_sync.is_some())
            || self.queue.loading.is_some()
            || self
                .detail
                .as_ref()
                .is_some_and(|detail| detail.detail.is_none() && detail.error.is_none())
            || matches!(&self.overlay, Some(Overlay::Decide(dialog)) if dialog.submitting || dialog.is_loading())
            || self
                .reviews
                .form
                .as_ref()
                .is_some_and(|form| form.has_unsaved() || form.submitting)
    }

    /// Advances the spinner and saves drafts whose typing has paused.
    /// Returns whether the screen changed, and commands to run.
    pub fn tick(&mut self, now: DateTime<Utc>) -> (bool, Vec<Command>) {
        let minute_changed = now.timestamp() / 60 != self.now.timestamp() / 60;
        self.now = now;
        let saves: Vec<Command> = self
            .reviews
            .form
            .as_mut()
            .and_then(|form| form.due_save(now, false))
            .into_iter()
            .collect();
        if self.is_busy() {
            self.spinner = (self.spinner + 1) % SPINNER.len();
            return (true, saves);
        }
        (minute_changed || !saves.is_empty(), saves)
    }

    /// What must be written before quitting (an unsaved draft).
    pub fn flush(&mut self) -> Vec<Command> {
        let now = self.now;
        self.reviews
            .form
            .as_mut()
            .and_then(|form| form.due_save(now, true))
            .into_iter()
            .collect()
    }

    fn spinner(&self) -> char {
        SPINNER[self.spinner]
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.size = (width, height);
        let (_, main, _, _) = frame_areas(Rect::new(0, 0, width, height));
        let (_, list, _) = queue_view::split(&self.queue, main);
        self.queue.set_page_height(queue_view::page_height(list));
    }

    fn set_status(&mut self, level: Level, text: impl Into<String>) {
        self.status = Some((level, text.into()));
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        let mode = self.mode();
        let action = self.config.keymap.action(mode, &key);
        match (&mut self.overlay, action) {
            (Some(Overlay::Decide(dialog)), None) => {
                if !dialog.submitting {
                    dialog.comment.input(key);
                    dialog.error = None;
                }
                Vec::new()
            }
            (Some(Overlay::Prompt(prompt)), None) => {
                let changed = edit_line(&mut prompt.text, &key);
                if changed && prompt.kind == PromptKind::Agent {
                    let text = prompt.text.clone();
                    return self.audits.search(text, &mut self.requests);
                }
                Vec::new()
            }
            (Some(Overlay::Help(help)), None) => {
                edit_line(&mut help.filter, &key);
                Vec::new()
            }
            (Some(Overlay::Palette(palette)), None) => {
                if edit_line(&mut palette.input, &key) {
                    palette.selected = 0;
                }
                Vec::new()
            }
            (_, Some(action)) => self.on_action(action),
            (
                Some(
                    Overlay::Conflicts(_)
                    | Overlay::Choose(_)
                    | Overlay::Inbox(_)
                    | Overlay::Delegations(_),
                ),
                None,
            ) => Vec::new(),
            (None, None) => {
                let now = self.now;
                if let (Tab::Reviews, Some(form)) = (self.tab, &mut self.reviews.form) {
                    form.on_key(key, now);
                }
                Vec::new()
            }
        }
    }

    pub fn on_paste(&mut self, text: &str) -> Vec<Command> {
        match &mut self.overlay {
            Some(Overlay::Decide(dialog)) if !dialog.submitting => {
                dialog.comment.insert_str(text);
            }
            None if self.tab == Tab::Reviews => {
                let now = self.now;
                if let Some(form) = &mut self.reviews.form {
                    form.on_paste(text, now);
                }
            }
            Some(Overlay::Prompt(prompt)) => {
                prompt.text.extend(
                    text.chars()
                        .filter(|c| !c.is_control())
                        .take(200 - prompt.text.len().min(200)),
                );
            }
            _ => {}
        }
        Vec::new()
    }

    pub fn on_mouse(&mut self, event: MouseEvent) -> Vec<Command> {
        if self.overlay.is_some() {
            return Vec::new();
        }
        match event.kind {
            MouseEventKind::ScrollDown => {
                (0..3).flat_map(|_| self.on_action(Action::Down)).collect()
            }
            MouseEventKind::ScrollUp => (0..3).flat_map(|_| self.on_action(Action::Up)).collect(),
            MouseEventKind::Down(MouseButton::Left) if self.detail.is_none() => {
                let (_, main, _, _) = frame_areas(Rect::new(0, 0, self.size.0, self.size.1));
                let (_, list, _) = queue_view::split(&self.queue, main);
                // The first line of the list holds the column titles.
                let first_row = list.y + 1;
                if event.column >= list.x
                    && event.column < list.right()
                    && event.row >= first_row
                    && event.row < list.bottom()
                {
                    let commands = self
                        .queue
                        .click((event.row - first_row) as usize, &mut self.requests);
                    return commands
                        .into_iter()
                        .chain(self.preview_selected())
                        .collect();
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Loads the selected workflow for the preview, unless it is cached.
    fn preview_selected(&mut self) -> Vec<Command> {
        let Some(item) = self.queue.selected_item() else {
            return Vec::new();
        };
        let cached = self
            .previews
            .get(&item.workflow_id)
            .is_some_and(|workflow| workflow.version == item.version);
        if cached {
            return Vec::new();
        }
        vec![Command::LoadWorkflow {
            workflow_id: item.workflow_id.clone(),
        }]
    }

    pub fn on_action(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Quit => {
                self.quit = true;
                Vec::new()
            }
            Action::Suspend => {
                self.suspend = true;
                Vec::new()
            }
            Action::Redraw => {
                self.redraw = true;
                Vec::new()
            }
            Action::Help => {
                self.overlay = Some(Overlay::Help(HelpOverlay {
                    mode: self.screen_mode(),
                    filter: String::new(),
                }));
                Vec::new()
            }
            Action::Palette => {
                self.overlay = Some(Overlay::Palette(Palette {
                    input: String::new(),
                    selected: 0,
                }));
                Vec::new()
            }
            _ if matches!(self.overlay, Some(Overlay::Conflicts(_))) => {
                self.on_conflicts_action(action)
            }
            Action::Confirm | Action::Cancel | Action::Down | Action::Up
                if self.overlay.is_some() =>
            {
                self.on_overlay_action(action)
            }
            Action::NewDelegation | Action::EndDelegation | Action::OnBehalf
                if self.overlay.is_some() =>
            {
                self.on_overlay_action(action)
            }
            Action::SyncNow => match &self.sync {
                Some(_) => {
                    self.set_status(Level::Info, "Syncing…");
                    vec![Command::SyncNow]
                }
                None => {
                    self.set_status(
                        Level::Info,
                        "Nothing to sync: this console works on a local store.",
                    );
                    Vec::new()
                }
            },
            Action::Conflicts => {
                self.overlay = Some(Overlay::Conflicts(ConflictsDialog::default()));
                Vec::new()
            }
            Action::Inbox => {
                self.overlay = Some(Overlay::Inbox(InboxOverlay::default()));
                vec![Command::LoadInbox]
            }
            Action::Delegations => {
                self.overlay = Some(Overlay::Delegations(DelegationsOverlay::default()));
                vec![Command::LoadDelegations]
            }
            Action::None => Vec::new(),
            Action::NextTab => self.switch_tab(self.tab.next()),
            Action::PreviousTab => self.switch_tab(self.tab.previous()),
            Action::TabQueue => self.switch_tab(Tab::Queue),
            Action::TabReviews => self.switch_tab(Tab::Reviews),
            Action::TabAudits => self.switch_tab(Tab::Audits),
            Action::TabBlocked => self.switch_tab(Tab::Blocked),
            Action::TabPolicies => self.switch_tab(Tab::Policies),
            Action::Approve | Action::Reject | Action::Withdraw | Action::AssignReviewer
                if self.config.read_only =>
            {
                self.set_status(
                    Level::Error,
                    "read-only: deciding is disabled (started with --read-only)",
                );
                Vec::new()
            }
            Action::ExportEvidence => self.start_export(),
            _ if self.tab != Tab::Queue => self.on_tab_action(action),
            Action::OpenAudits | Action::OpenReview => self.follow_link(action),
            Action::Withdraw => self.start_withdraw(),
            Action::AssignReviewer => self.start_assign(),
            Action::Approve | Action::Reject => self.open_decide(if action == Action::Approve {
                Verdict::Approve
            } else {
                Verdict::Reject
            }),
            Action::Search | Action::FilterTeam if self.detail.is_none() => {
                let (kind, text) = match action {
                    Action::Search => (PromptKind::Search, self.queue.search.clone()),
                    _ => (PromptKind::Team, self.queue.team.clone()),
                };
                self.overlay = Some(Overlay::Prompt(Prompt {
                    kind,
                    text: text.unwrap_or_default(),
                }));
                Vec::new()
            }
            Action::Open if self.detail.is_none() => {
                let Some(item) = self.queue.selected_item() else {
                    return Vec::new();
                };
                let (screen, command) = WorkflowScreen::open(
                    item.workflow_id.clone(),
                    item.agent_name.clone(),
                    &mut self.requests,
                );
                self.detail = Some(screen);
                vec![command]
            }
            Action::Back => {
                self.detail = None;
                Vec::new()
            }
            Action::Older | Action::Newer | Action::NextField | Action::PreviousField => Vec::new(),
            _ => match &mut self.detail {
                Some(detail) => {
                    let page = self.size.1.saturating_sub(4);
                    detail.on_action(action, page, &mut self.requests)
                }
                None => {
                    let mut commands = self.queue.on_action(action, &mut self.requests);
                    commands.extend(self.preview_selected());
                    commands
                }
            },
        }
    }

    fn on_overlay_action(&mut self, action: Action) -> Vec<Command> {
        let Some(overlay) = self.overlay.take() else {
            return Vec::new();
        };
        match (overlay, action) {
            (Overlay::Decide(mut dialog), Action::Confirm) => {
                if dialog.submitting {
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
            (Overlay::Decide(mut dialog), Action::OnBehalf) => {
                dialog.cycle_on_behalf();
                self.overlay = Some(Overlay::Decide(dialog));
                Vec::new()
            }
            (Overlay::Prompt(prompt), Action::Confirm) => {
                let text = prompt.text.trim().to_owned();
                let value = (!text.is_empty()).then_some(text);
                match prompt.kind {
                    PromptKind::Search => self.queue.search = value,
                    PromptKind::Team => self.queue.team = value,
                    PromptKind::Agent => return Vec::new(),
                    PromptKind::WithdrawReason => return self.confirm_withdraw(value),
                    PromptKind::DelegateTo => return self.delegate_to(value),
                    PromptKind::DelegateUntil => return self.delegate_until(value),
                    PromptKind::EvidenceFile => return self.confirm_export(value),
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
            (overlay @ (Overlay::Help(_) | Overlay::Prompt(_)), Action::Down | Action::Up) => {
                self.overlay = Some(overlay);
                Vec::new()
            }
            // Cancel, or confirm on help: close.
            _ => Vec::new(),
        }
    }

    fn key_for(&self, action: Action) -> String {
        self.config
            .keymap
            .hint(Mode::Global, action)
            .unwrap_or_else(|| action.name().into())
    }

    /// The inbox: move, open the chosen workflow (marking it read), close.
    fn on_inbox_action(&mut self, mut inbox: InboxOverlay, action: Action) -> Vec<Command> {
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
                match item.workflow_id {
                    Some(workflow_id) => {
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

    fn on_conflicts_action(&mut self, action: Action) -> Vec<Command> {
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
        // New rows arrived: show them without losing the user's place.
        self.previews.clear();
        let mut commands = self.queue.refresh(&mut self.requests);
        commands.push(Command::LoadInbox);
        if let Some(detail) = &mut self.detail {
            commands.push(detail.reload(&mut self.requests));
        }
        commands.extend(self.preview_selected());
        commands
    }

    fn open_decide(&mut self, verdict: Verdict) -> Vec<Command> {
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

    fn open_decide_on(
        &mut self,
        workflow_id: String,
        agent_name: String,
        verdict: Verdict,
        known: Option<Workflow>,
    ) -> Vec<Command> {
        let command = Command::LoadWorkflow {
            workflow_id: workflow_id.clone(),
        };
        let mut dialog = DecideDialog::new(
            Subject::Workflow {
                workflow_id,
                agent_name,
                workflow: known,
            },
            verdict,
        );
        dialog.delegators = self.delegators();
        self.overlay = Some(Overlay::Decide(Box::new(dialog)));
        // Always re-read: the dialog must show what will really happen.
        vec![command]
    }

    pub fn on_message(&mut self, message: Message) -> Vec<Command> {
        match message {
            Message::Me(Ok(user)) => {
                self.queue.roles = user.roles.clone();
                self.policies.viewer = Some(crate::tui::screens::policy_versions::Viewer {
                    email: user.email.clone(),
                    policy_admin: user.roles.contains(&crate::domain::Role::PolicyAdmin),
                });
                self.me = Some(user);
                let mut commands = self.queue.reload(&mut self.requests);
                commands.push(Command::LoadInbox);
                commands.push(Command::LoadDelegations);
                commands
            }
            Message::Delegations(result) => self.on_delegations(result),
            Message::DelegationChanged(result) => self.on_delegation_changed(result),
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
            Message::EvidenceExported { path, result } => {
                self.on_exported(path, result);
                Vec::new()
            }
            message @ (Message::Withdrawn { .. }
            | Message::Reviewers { .. }
            | Message::Assigned { .. }) => self.on_manage_message(message),
            other => self.on_tab_message(other),
        }
    }

    fn on_decided(
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
                    Some(step) => format!("now waiting on a {}", step.role.label()),
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

    fn status_left(&self) -> String {
        let who = match &self.me {
            Some(user) => {
                let roles: Vec<_> = user.roles.iter().map(|role| role.label()).collect();
                format!("{} ({})", user.email, roles.join(", "))
            }
            None => "signing in…".to_owned(),
        };
        let state = match &self.sync {
            Some(sync) => sync.describe(self.now),
            None => self.config.sync_state.clone(),
        };
        // The sync state first: on a narrow terminal (or beside a message)
        // the end of the line is what gets cut. A witness warning goes
        // before everything: it is the one thing that must not be missed.
        let unread = match self.unread {
            0 => String::new(),
            n => format!(" · {n} unread ({})", self.key_for(Action::Inbox)),
        };
        let witness = self.config.witness_warning.as_ref().or(self
            .sync
            .as_ref()
            .and_then(|sync| sync.witness_warning.as_ref()));
        match witness {
            Some(warning) => format!(
                "⚠ LOG NOT VERIFIED: {} · {state}{unread} · {who} · {}",
                crate::text::sanitize(warning),
                self.config.location
            ),
            None => format!("{state}{unread} · {who} · {}", self.config.location),
        }
    }

    pub fn draw(&self, frame: &mut Frame) {
        let area = frame.area();
        let theme = &self.config.theme;
        frame.render_widget(Paragraph::new("").style(theme.style(Role::Base)), area);
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            let text = format!(
                "terminal too small: {}x{} (need {MIN_WIDTH}x{MIN_HEIGHT})",
                area.width, area.height
            );
            frame.render_widget(
                Paragraph::new(Line::styled(text, theme.style(Role::Warn)))
                    .wrap(ratatui::widgets::Wrap { trim: true }),
                area,
            );
            return;
        }
        let (tabs, main, footer, status) = frame_areas(area);
        chrome::tabs(frame, tabs, self.tab.index(), theme);
        match (self.tab, &self.detail) {
            (Tab::Reviews, _) => self.reviews.render(
                frame,
                main,
                theme,
                self.now,
                self.spinner(),
                &self.unconfirmed,
            ),
            (Tab::Audits, _) => self.audits.render(frame, main, theme, self.spinner()),
            (Tab::Blocked, _) => self
                .blocked
                .render(frame, main, theme, self.now, self.spinner()),
            (Tab::Policies, _) => {
                self.policies
                    .render(frame, main, &self.config.keymap, theme, self.spinner())
            }
            (Tab::Queue, Some(detail)) => {
                let unconfirmed = self.unconfirmed.contains(&detail.workflow_id);
                detail.render(frame, main, theme, self.now, self.spinner(), unconfirmed)
            }
            (Tab::Queue, None) => {
                let context = QueueContext {
                    theme,
                    now: self.now,
                    sla_days: self.config.sla_days,
                    spinner: self.spinner(),
                    preview: self
                        .queue
                        .selected_item()
                        .and_then(|item| self.previews.get(&item.workflow_id)),
                    unconfirmed: &self.unconfirmed,
                    refused: &self.refused,
                    first_sync: self
                        .sync
                        .as_ref()
                        .is_some_and(|sync| sync.full_sync.is_some()),
                };
                queue_view::render(&self.queue, frame, main, &context);
            }
        }
        let mode = self.mode();
        let hints = crate::tui::hints::for_mode(mode);
        chrome::footer(
            frame,
            footer,
            &self.config.keymap,
            mode,
            hints,
            self.config.read_only,
            theme,
        );
        chrome::status(
            frame,
            status,
            &self.status_left(),
            self.status
                .as_ref()
                .map(|(level, text)| (level, text.as_str())),
            theme,
        );
        match &self.overlay {
            Some(Overlay::Help(help)) => help.render(frame, main, &self.config.keymap, theme),
            Some(Overlay::Palette(palette)) => {
                palette.render(frame, main, &self.config.keymap, self.screen_mode(), theme)
            }
            Some(Overlay::Prompt(prompt)) => prompt.render(frame, footer, theme),
            Some(Overlay::Decide(dialog)) => dialog.render(frame, area, &self.config.keymap, theme),
            Some(Overlay::Choose(chooser)) => chooser.render(frame, main, theme),
            Some(Overlay::Inbox(inbox)) => inbox.render(frame, main, self.now, theme),
            Some(Overlay::Delegations(overlay)) => overlay.render(
                frame,
                main,
                &self.delegations,
                self.me.as_ref().map(|me| me.email.as_str()),
                self.now,
                theme,
            ),
            Some(Overlay::Conflicts(dialog)) => dialog.render(
                frame,
                main,
                self.sync
                    .as_ref()
                    .map(|sync| sync.items.as_slice())
                    .unwrap_or_default(),
                &self.config.keymap,
                theme,
            ),
            None => {}
        }
    }
}

/// Tabs, main area, footer and status line.
fn frame_areas(area: Rect) -> (Rect, Rect, Rect, Rect) {
    let [tabs, main, footer, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    (tabs, main, footer, status)
}
