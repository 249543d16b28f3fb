//! The console's state and how it changes: keys and backend answers in,
//! commands for the worker out. Drawing reads the state and changes nothing.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Constraint, Layout, Rect};

use super::action::Action;
use super::command::Command;
use super::keymap::Keymap;
use super::mode::Mode;
use super::screens::audits::AuditsScreen;
use super::screens::blocked::BlockedScreen;
use super::screens::policies::PoliciesScreen;
use super::screens::queue::{QueueScreen, Requests};
use super::screens::queue_view::{self};
use super::screens::queue_views::QueueViews;
use super::screens::reviews::ReviewsScreen;
use super::screens::workflow::WorkflowScreen;
use super::tab::Tab;
use super::theme::Theme;
use super::widgets::chooser::PersonChooser;
use super::widgets::chrome::Level;
use super::widgets::conflicts::ConflictsDialog;
use super::widgets::decide::DecideDialog;
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
    /// The tab the console opens on, once it knows who is signed in.
    pub start_tab: Tab,
    /// The queue's saved views (sub-tabs).
    pub views: Vec<crate::config::SavedView>,
    /// The view and sort the queue was left on last time.
    pub memory: crate::tui::memory::ConsoleMemory,
    /// Where to remember them (none: not remembered).
    pub memory_file: Option<std::path::PathBuf>,
}

pub enum Overlay {
    Help(HelpOverlay),
    Palette(Palette),
    Prompt(Prompt),
    Decide(Box<DecideDialog>),
    Conflicts(ConflictsDialog),
    Choose(PersonChooser),
    Inbox(InboxOverlay),
    Delegations(DelegationsOverlay),
    Obligations(crate::tui::widgets::obligations::ObligationsOverlay),
    Exceptions(crate::tui::widgets::exceptions::ExceptionsOverlay),
    Recertifications(crate::tui::widgets::recertifications::RecertificationsOverlay),
    Incidents(crate::tui::widgets::incidents::IncidentsOverlay),
}

mod copy;
mod delegations;
mod draw;
mod edit;
mod editor;
mod exceptions;
mod history;
mod incidents;
mod intake;
mod obligations;
mod place;
pub use edit::{EditTarget, ExternalEdit};
mod export;
mod list_export;
mod manage;
mod messages;
mod overlays;
mod report;
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
    /// Text for the clipboard, which the run loop writes (OSC 52).
    pub clipboard: Option<String>,
    /// A text to write in the user's editor, which the run loop opens.
    pub external_edit: Option<ExternalEdit>,
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
    /// The places links led from, for back (`history`).
    history: Vec<place::Place>,
    /// Whom a delegation being made goes to (between its two prompts).
    delegating_to: Option<String>,
    /// What the prompts over the exceptions overlay are filling in.
    exception_flow: Option<crate::tui::widgets::exceptions::ExceptionFlow>,
    /// What the prompts over the incidents overlay are filling in.
    incident_flow: Option<crate::tui::widgets::incidents::IncidentFlow>,
    /// Whose evidence pack is being saved (while its file is named).
    exporting: Option<crate::backend::EvidenceQuery>,
    /// The board report being saved (while its period and file are named).
    reporting: Option<crate::domain::report::ReportQuery>,
    /// The list being saved (while its file is named).
    listing: Option<crate::tui::command::ListToExport>,
    /// The last left click (screen row, when), to tell a double click.
    last_click: Option<(u16, DateTime<Utc>)>,
}

/// Two clicks on one row this close together open it.
const DOUBLE_CLICK: chrono::TimeDelta = chrono::TimeDelta::milliseconds(400);

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
            clipboard: None,
            external_edit: None,
            sync: None,
            unconfirmed: BTreeSet::new(),
            refused: BTreeSet::new(),
            redeciding: None,
            unread: 0,
            delegations: Vec::new(),
            history: Vec::new(),
            delegating_to: None,
            exception_flow: None,
            incident_flow: None,
            exporting: None,
            reporting: None,
            listing: None,
            last_click: None,
        };
        let mut app = app;
        app.queue.views = QueueViews::new(&app.config.views);
        app.queue
            .open_on(app.config.memory.view.as_deref(), app.config.memory.sort);
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
            Some(Overlay::Help(_) | Overlay::Palette(_) | Overlay::Choose(_)) => Mode::Overlay,
            Some(Overlay::Inbox(_)) => Mode::Inbox,
            Some(Overlay::Conflicts(_)) => Mode::Sync,
            Some(Overlay::Delegations(_)) => Mode::Delegations,
            Some(Overlay::Obligations(_)) => Mode::Obligations,
            Some(Overlay::Exceptions(_)) => Mode::Exceptions,
            Some(Overlay::Recertifications(_)) => Mode::Recertifications,
            Some(Overlay::Incidents(_)) => Mode::Incidents,
            None => self.screen_mode(),
        }
    }

    /// The screen mode under any overlay.
    fn screen_mode(&self) -> Mode {
        match self.tab {
            Tab::Queue if self.detail.is_some() => Mode::Workflow,
            Tab::Queue => Mode::Queue,
            Tab::Reviews => match &self.reviews.form {
                Some(form) if form.summary => Mode::Summary,
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
                .is_some_and(|form| form.draft_due() || form.submitting)
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
                    | Overlay::Delegations(_)
                    | Overlay::Obligations(_)
                    | Overlay::Exceptions(_)
                    | Overlay::Recertifications(_)
                    | Overlay::Incidents(_),
                ),
                None,
            ) => Vec::new(),
            (None, None) => {
                let now = self.now;
                // The submit summary takes every key it is shown for.
                if let (Tab::Reviews, Some(form)) = (self.tab, &mut self.reviews.form)
                    && !form.summary
                {
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

    /// A click selects; a second on the same row within `DOUBLE_CLICK`
    /// opens what it selected, as `enter` would.
    pub fn on_mouse(&mut self, event: MouseEvent) -> Vec<Command> {
        if self.overlay.is_some() {
            return Vec::new();
        }
        let clicked = event.kind == MouseEventKind::Down(MouseButton::Left);
        let double = clicked
            && self.last_click.is_some_and(|(row, at)| {
                row == event.row && self.now.signed_duration_since(at) <= DOUBLE_CLICK
            });
        if clicked {
            self.last_click = (!double).then_some((event.row, self.now));
        }
        let mut commands = self.on_mouse_event(event);
        // Where a click selects a row (not the tab bar), and not once the
        // click opened something.
        let selects = match self.tab {
            Tab::Queue => self.detail.is_none(),
            Tab::Reviews => self.reviews.form.is_none(),
            Tab::Blocked => true,
            Tab::Audits | Tab::Policies => false,
        };
        if double && selects && event.row > 0 && self.overlay.is_none() {
            commands.extend(self.on_action(Action::Open));
        }
        commands
    }

    fn on_mouse_event(&mut self, event: MouseEvent) -> Vec<Command> {
        match event.kind {
            MouseEventKind::ScrollDown => {
                (0..3).flat_map(|_| self.on_action(Action::Down)).collect()
            }
            MouseEventKind::ScrollUp => (0..3).flat_map(|_| self.on_action(Action::Up)).collect(),
            MouseEventKind::Down(MouseButton::Left)
                if event.row == 0
                    && let Some(index) = crate::tui::widgets::chrome::tab_at(event.column) =>
            {
                let tabs = [
                    Action::TabQueue,
                    Action::TabReviews,
                    Action::TabAudits,
                    Action::TabBlocked,
                    Action::TabPolicies,
                ];
                self.on_action(tabs[index])
            }
            MouseEventKind::Down(MouseButton::Left) if self.tab == Tab::Blocked => {
                let (_, main, _, _) = frame_areas(Rect::new(0, 0, self.size.0, self.size.1));
                self.blocked
                    .click(main, event.column, event.row, &mut self.requests)
            }
            MouseEventKind::Down(MouseButton::Left) if self.tab == Tab::Audits => {
                let (_, main, _, _) = frame_areas(Rect::new(0, 0, self.size.0, self.size.1));
                self.audits
                    .click(main, (event.column, event.row), &mut self.requests)
            }
            MouseEventKind::Down(MouseButton::Left) if self.tab == Tab::Policies => {
                let (_, main, _, _) = frame_areas(Rect::new(0, 0, self.size.0, self.size.1));
                self.policies
                    .click(main, (event.column, event.row), &mut self.requests)
            }
            MouseEventKind::Down(MouseButton::Left) if self.tab == Tab::Reviews => {
                let (_, main, _, _) = frame_areas(Rect::new(0, 0, self.size.0, self.size.1));
                self.reviews.click(main, event.column, event.row);
                Vec::new()
            }
            MouseEventKind::Down(MouseButton::Left)
                if self.tab == Tab::Queue && self.detail.is_none() =>
            {
                let (_, main, _, _) = frame_areas(Rect::new(0, 0, self.size.0, self.size.1));
                if queue_view::views_line(main).is_some_and(|line| line.y == event.row) {
                    return self.click_view(event.column);
                }
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
                self.overlay = Some(Overlay::Help(HelpOverlay::new(self.screen_mode())));
                Vec::new()
            }
            Action::Palette => {
                let palette = Palette::new(&self.config.keymap, self.screen_mode());
                self.overlay = Some(Overlay::Palette(palette));
                Vec::new()
            }
            Action::CopyId | Action::CopyCommand => {
                self.copy(action == Action::CopyCommand);
                Vec::new()
            }
            Action::EditInEditor => {
                self.edit_in_editor();
                Vec::new()
            }
            _ if matches!(self.overlay, Some(Overlay::Conflicts(_))) => {
                self.on_conflicts_action(action)
            }
            Action::OpenIntake => self.open_intake(),
            // The obligations overlay takes its keys (g, G, home, end too)
            // until it closes.
            _ if matches!(
                self.overlay,
                Some(
                    Overlay::Obligations(_)
                        | Overlay::Exceptions(_)
                        | Overlay::Recertifications(_)
                        | Overlay::Incidents(_)
                )
            ) =>
            {
                self.on_overlay_action(action)
            }
            Action::Confirm
            | Action::Cancel
            | Action::Down
            | Action::Up
            | Action::PageDown
            | Action::PageUp
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
            Action::Exceptions => self.open_exceptions(),
            Action::Recertifications => self.open_recertifications(),
            Action::Incidents => self.open_incidents(),
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
            Action::SaveReport => self.start_report(),
            Action::ExportList => self.start_list_export(),
            Action::OpenObligations => self.open_obligations(),
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
                    Action::Search => (PromptKind::Search, self.queue.choice.search.clone()),
                    _ => (PromptKind::Team, self.queue.choice.team.clone()),
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
            // Back along the path links took, else from the step view to
            // the queue.
            Action::Back => self.go_back().unwrap_or_else(|| {
                self.detail = None;
                Vec::new()
            }),
            Action::NextGroup | Action::PreviousGroup if self.detail.is_some() => {
                self.open_sibling(action == Action::NextGroup)
            }
            Action::Search if self.detail.is_some() => {
                let text = self
                    .detail
                    .as_ref()
                    .and_then(|screen| screen.find.clone())
                    .unwrap_or_default();
                self.overlay = Some(Overlay::Prompt(Prompt {
                    kind: PromptKind::FindInStep,
                    text,
                }));
                Vec::new()
            }
            Action::FindNext | Action::FindPrevious if self.detail.is_some() => {
                self.find_in_step(action == Action::FindNext, false);
                Vec::new()
            }
            Action::Older | Action::Newer | Action::NextField | Action::PreviousField => Vec::new(),
            _ => match &mut self.detail {
                Some(detail) => {
                    let page = self.size.1.saturating_sub(4);
                    detail.on_action(action, page, &mut self.requests)
                }
                None => {
                    let before = self.remembered();
                    let mut commands = self.queue.on_action(action, &mut self.requests);
                    commands.extend(self.preview_selected());
                    commands.extend(self.remember_if_changed(before));
                    commands
                }
            },
        }
    }
}

impl App {
    /// The queue's view and sort, as remembered between runs.
    fn remembered(&self) -> crate::tui::memory::ConsoleMemory {
        crate::tui::memory::ConsoleMemory {
            view: self.queue.views.current().map(|view| view.name.clone()),
            sort: Some(self.queue.choice.sort),
        }
    }

    /// Writes the queue's view and sort when they differ from `before`.
    fn remember_if_changed(&self, before: crate::tui::memory::ConsoleMemory) -> Option<Command> {
        let now = self.remembered();
        let path = self.config.memory_file.clone()?;
        (now != before).then_some(Command::Remember { memory: now, path })
    }

    /// A click on the queue's saved views switches to the one under it.
    fn click_view(&mut self, column: u16) -> Vec<Command> {
        let Some(index) = self.queue.views.at_column(queue_view::VIEWS_FROM, column) else {
            return Vec::new();
        };
        let before = self.remembered();
        let mut commands = self.queue.switch_view(index, &mut self.requests);
        commands.extend(self.remember_if_changed(before));
        commands
    }

    /// `/`, `n`, `N` in the step view: scrolls to the next (or previous)
    /// line holding the text looked for, and says which of how many.
    pub(crate) fn find_in_step(&mut self, forward: bool, from_top: bool) {
        let (theme, now) = (self.config.theme.clone(), self.now);
        let Some(screen) = self.detail.as_mut() else {
            return;
        };
        let Some(find) = screen.find.clone() else {
            self.set_status(Level::Info, "/ asks for the text to find first.");
            return;
        };
        let message = match screen.find_next(forward, from_top, &theme, now) {
            Some(found) => (
                Level::Info,
                format!(
                    "{} of {}: {}",
                    found.number,
                    found.of,
                    crate::text::sanitize(&found.line)
                ),
            ),
            None => (
                Level::Info,
                format!("No line here holds “{}”.", crate::text::sanitize(&find)),
            ),
        };
        self.set_status(message.0, message.1);
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
