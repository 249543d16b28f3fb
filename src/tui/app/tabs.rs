//! The tabs beyond the queue: switching, their actions and their answers,
//! and the links between them.

use super::{App, Overlay};
use crate::domain::Verdict;
use crate::tui::action::Action;
use crate::tui::command::{Command, Message};
use crate::tui::mode::Mode;
use crate::tui::screens::blocked::Focus;
use crate::tui::screens::review_form::{AnswerForm, FormKey, FormSubject};
use crate::tui::screens::workflow::WorkflowScreen;
use crate::tui::tab::Tab;
use crate::tui::widgets::chrome::Level;
use crate::tui::widgets::overlay::{Prompt, PromptKind};

impl App {
    pub(super) fn switch_tab(&mut self, tab: Tab) -> Vec<Command> {
        self.tab = tab;
        let requests = &mut self.requests;
        match tab {
            Tab::Reviews if !self.reviews.loaded => vec![self.reviews.load(requests)],
            Tab::Audits if !self.audits.agents_loaded => self.audits.load(requests),
            Tab::Blocked if !self.blocked.loaded => vec![self.blocked.load(requests)],
            Tab::Policies if !self.policies.loaded => self.policies.load(requests),
            _ => Vec::new(),
        }
    }

    pub(super) fn on_tab_action(&mut self, action: Action) -> Vec<Command> {
        // Back from the audits or the review a link led to returns along
        // the path (`history`), once nothing in the tab is left to close.
        let at_top = match self.tab {
            Tab::Audits => self.audits.evidence.is_none(),
            Tab::Reviews => self.reviews.form.is_none(),
            _ => false,
        };
        if action == Action::Back
            && at_top
            && let Some(commands) = self.go_back()
        {
            return commands;
        }
        let requests = &mut self.requests;
        match self.tab {
            Tab::Reviews if self.reviews.form.is_none() && action == Action::Search => {
                self.overlay = Some(Overlay::Prompt(Prompt {
                    kind: PromptKind::FindInReviews,
                    text: self.reviews.find.clone().unwrap_or_default(),
                }));
                Vec::new()
            }
            Tab::Reviews
                if self.reviews.form.is_none()
                    && matches!(action, Action::FindNext | Action::FindPrevious) =>
            {
                self.find_in_reviews(action == Action::FindNext, false);
                Vec::new()
            }
            Tab::Reviews => self.on_review_action(action),
            Tab::Policies if action == Action::Search => {
                self.overlay = Some(Overlay::Prompt(Prompt {
                    kind: PromptKind::FindInPolicies,
                    text: self.policies.find.clone().unwrap_or_default(),
                }));
                Vec::new()
            }
            Tab::Policies if matches!(action, Action::FindNext | Action::FindPrevious) => {
                self.find_in_policies(action == Action::FindNext, false)
            }
            Tab::Audits if action == Action::Search => {
                self.overlay = Some(Overlay::Prompt(Prompt {
                    kind: PromptKind::Agent,
                    text: self.audits.search.clone(),
                }));
                Vec::new()
            }
            Tab::Audits => self.audits.on_action(action, requests),
            Tab::Blocked if action == Action::Open && self.blocked.focus == Focus::List => {
                self.open_deployment()
            }
            Tab::Blocked if action == Action::Search => {
                self.overlay = Some(Overlay::Prompt(Prompt {
                    kind: PromptKind::BlockedSearch,
                    text: self.blocked.filter.search.clone().unwrap_or_default(),
                }));
                Vec::new()
            }
            Tab::Blocked => self.blocked.on_action(action, requests),
            Tab::Policies if matches!(action, Action::Approve | Action::Reject) => {
                self.open_policy_decide(action)
            }
            Tab::Policies => self.policies.on_action(action, requests),
            Tab::Queue => Vec::new(),
        }
    }

    fn on_review_action(&mut self, action: Action) -> Vec<Command> {
        let now = self.now;
        let Some(form) = &mut self.reviews.form else {
            return self.reviews.on_action(action, &mut self.requests);
        };
        if form.summary {
            // The summary scrolls; nothing reaches the form behind it.
            match action {
                Action::Confirm if !form.submitting => return vec![form.submit()],
                Action::Cancel if !form.submitting => form.summary = false,
                Action::Down => form.scroll_summary(1),
                Action::Up => form.scroll_summary(-1),
                Action::PageDown => form.scroll_summary(10),
                Action::PageUp => form.scroll_summary(-10),
                Action::First => form.scroll_summary(i32::MIN),
                Action::Last => form.scroll_summary(i32::MAX),
                _ => {}
            }
            return Vec::new();
        }
        match action {
            Action::NextField | Action::Down => form.next_field(),
            Action::PreviousField | Action::Up => form.previous_field(),
            Action::Confirm if !form.editable => {
                let why = match &form.subject {
                    FormSubject::Review(_) => {
                        "this review cannot be changed: it is submitted, not yours, or the console is read-only"
                    }
                    FormSubject::Intake(_) => {
                        "this intake cannot be changed here: a change of it waits for a decision, or the console is read-only"
                    }
                };
                self.set_status(Level::Error, why);
            }
            Action::Confirm => {
                if form.check_for_submit() {
                    form.summary = true;
                    form.summary_scroll = 0;
                    // An earlier attempt's problems are gone.
                    self.status = None;
                } else {
                    let first = form
                        .issues
                        .first()
                        .map(|issue| issue.message.clone())
                        .unwrap_or_default();
                    let count = form.issues.len();
                    self.set_status(
                        Level::Error,
                        format!("{count} problem(s) before this can be submitted; first: {first}"),
                    );
                }
            }
            Action::Back if form.holds_unkept_changes() && !form.discard_armed => {
                form.discard_armed = true;
                self.set_status(
                    Level::Error,
                    "Not submitted: ctrl-s submits your changes, esc again drops them.",
                );
            }
            Action::Back => {
                // Leaving saves at once: nothing typed waits for the timer.
                let save = form.due_save(now, true);
                let intake = matches!(form.subject, FormSubject::Intake(_));
                self.reviews.form = None;
                let mut commands: Vec<Command> = save.into_iter().collect();
                // An intake is not in the list: back goes where it was
                // opened from.
                match self.go_back().filter(|_| intake) {
                    Some(back) => commands.extend(back),
                    None => commands.push(self.reviews.load(&mut self.requests)),
                }
                return commands;
            }
            _ => {}
        }
        Vec::new()
    }

    /// `/`, `n`, `N` on the Reviews list: selects the next (or previous)
    /// review holding the text looked for, and says which of how many.
    pub(super) fn find_in_reviews(&mut self, forward: bool, from_here: bool) {
        let found = self.reviews.find_next(forward, from_here);
        let find = self.reviews.find.clone();
        self.say_found(find.as_deref(), found, ("review", "reviews"));
    }

    /// `/`, `n`, `N` on the Policies tab, in the list in view.
    pub(super) fn find_in_policies(&mut self, forward: bool, from_here: bool) -> Vec<Command> {
        if !self.policies.loaded {
            self.set_status(
                Level::Info,
                "The policies are still loading: look again once they show.",
            );
            return Vec::new();
        }
        let (found, commands) = self
            .policies
            .find_next(forward, from_here, &mut self.requests);
        let find = self.policies.find.clone();
        let kind = match self.policies.view {
            crate::tui::screens::policies::View::Policies => ("policy", "policies"),
            crate::tui::screens::policies::View::Versions => ("version", "versions"),
        };
        self.say_found(find.as_deref(), found, kind);
        commands
    }

    /// Which match of how many a find reached, on the status line.
    fn say_found(
        &mut self,
        find: Option<&str>,
        found: Option<(usize, usize)>,
        (one, many): (&str, &str),
    ) {
        let Some(find) = find else {
            self.set_status(Level::Info, "/ asks for the text to find first.");
            return;
        };
        let find = crate::text::sanitize(find);
        let text = match found {
            Some((number, of)) => format!("{number} of {of} {many} holding “{find}”"),
            None => format!("No {one} here holds “{find}”."),
        };
        self.set_status(Level::Info, text);
    }

    /// From the step view to the agent's audits or the workflow's review.
    pub(super) fn follow_link(&mut self, action: Action) -> Vec<Command> {
        let Some(detail) = self
            .detail
            .as_ref()
            .and_then(|screen| screen.detail.as_ref())
        else {
            return Vec::new();
        };
        match action {
            Action::OpenAudits => {
                let agent_id = detail.workflow.agent_id.clone();
                self.remember_place();
                self.tab = Tab::Audits;
                self.audits.audits_agent = None;
                self.audits.search(agent_id, &mut self.requests)
            }
            Action::OpenReview => match &detail.review {
                // A draft's answers are its reviewer's: others learn who
                // holds it and its state, as the step view says.
                Some(review)
                    if review.status != crate::domain::ReviewStatus::Submitted
                        && !self.me.as_ref().is_some_and(|me| me.is(&review.reviewer)) =>
                {
                    let text = format!(
                        "the ethics review is {}'s ({}); its answers show once it is submitted",
                        crate::text::sanitize(&review.reviewer),
                        review.status
                    );
                    self.set_status(Level::Info, text);
                    Vec::new()
                }
                Some(review) => {
                    let id = review.review_id.clone();
                    self.remember_place();
                    self.tab = Tab::Reviews;
                    let mut commands = self.switch_tab(Tab::Reviews);
                    commands.push(self.reviews.open(id, &mut self.requests));
                    commands
                }
                None => {
                    self.set_status(
                        Level::Info,
                        "this workflow's ethics review is not assigned yet (A assigns it)",
                    );
                    Vec::new()
                }
            },
            _ => Vec::new(),
        }
    }

    /// From a blocked deployment to its workflows (or the agent's open ones).
    fn open_deployment(&mut self) -> Vec<Command> {
        let Some(item) = self.blocked.selected_item().cloned() else {
            return Vec::new();
        };
        if let Some(first) = item.workflow_ids.first() {
            self.remember_place();
            self.tab = Tab::Queue;
            let (screen, command) =
                WorkflowScreen::open(first.clone(), item.agent_name.clone(), &mut self.requests);
            self.detail = Some(screen);
            return vec![command];
        }
        // A blocked request opened no workflow: drill down to the agent's
        // blocked requests instead (the queue's filters stay the user's).
        let filter = crate::tui::command::BlockedFilter {
            agent_id: Some(item.agent_id.clone()),
            ..self.blocked.filter.clone()
        };
        self.set_status(
            Level::Info,
            format!(
                "{} opened no workflow (it is blocked): these are {}'s blocked requests (c clears)",
                item.deployment_id,
                crate::text::sanitize(&item.agent_name)
            ),
        );
        self.blocked.drill(filter, &mut self.requests)
    }

    pub(super) fn on_tab_message(&mut self, message: Message) -> Vec<Command> {
        match message {
            Message::Reviews { request, result } => self.reviews.on_list(request, result),
            Message::ReviewOpened { request, result } if request == self.reviews.open_request => {
                match result {
                    Ok(opened) => {
                        let form =
                            AnswerForm::open(*opened, &self.my_email(), self.config.read_only);
                        return self.place_form(form);
                    }
                    Err(error) => {
                        self.set_status(Level::Error, format!("cannot open the review: {error}"))
                    }
                }
            }
            Message::DraftSaved {
                review_id,
                seq,
                result,
            } => {
                if let Err(error) = &result {
                    self.set_status(
                        Level::Error,
                        format!("draft not saved (will retry): {error}"),
                    );
                }
                let key = FormKey::Review(review_id);
                if let Some(form) = self.reviews.form_for(&key) {
                    form.on_saved(seq, result.map(FormSubject::Review));
                }
            }
            Message::Submitted { review_id, result } => {
                return self.on_submitted(review_id, result);
            }
            Message::IntakeOpened { request, result } => {
                return self.on_intake_opened(request, result);
            }
            Message::IntakeSaved {
                agent_id,
                agent_version,
                seq,
                result,
            } => {
                let key = FormKey::Intake {
                    agent_id,
                    agent_version,
                };
                return self.on_intake_saved(key, seq, result);
            }
            Message::Standings {
                request,
                append,
                result,
            } => {
                return self
                    .audits
                    .on_standings(request, append, result, &mut self.requests);
            }
            Message::Audits {
                request,
                agent_id,
                result,
            } => {
                self.audits.on_audits(request, agent_id, result);
                return self.audits.load_run(&mut self.requests);
            }
            Message::AuditRun { request, result } => self.audits.on_run(request, result),
            Message::Cases {
                request,
                append,
                result,
            } => self.audits.on_cases(request, append, result),
            Message::Blocked {
                request,
                append,
                result,
            } => self.blocked.on_loaded(request, append, result),
            Message::Policies { request, result } => self.policies.on_loaded(request, result),
            Message::PolicySets { request, result } => {
                return self
                    .policies
                    .on_versions(request, result, &mut self.requests);
            }
            Message::PolicySet { request, result } => {
                self.policies.on_version_detail(request, result)
            }
            Message::PolicySetDecided {
                version,
                approve,
                result,
            } => return self.on_policy_set_decided(version, approve, result),
            _ => {}
        }
        Vec::new()
    }

    fn on_submitted(
        &mut self,
        review_id: String,
        result: Result<crate::domain::EthicsReview, String>,
    ) -> Vec<Command> {
        let key = FormKey::Review(review_id.clone());
        let me = self.my_email();
        let read_only = self.config.read_only;
        let Some(form) = self.reviews.form_for(&key) else {
            return Vec::new();
        };
        form.on_submitted(result.clone().map(FormSubject::Review), &me, read_only);
        match result {
            Ok(review) => {
                let workflow_id = review.workflow_id.clone();
                self.set_status(Level::Info, format!("Submitted {review_id}; the ethics review step of {workflow_id} can now be approved."));
                let mut commands = vec![self.reviews.load(&mut self.requests)];
                commands.extend(self.queue.refresh(&mut self.requests));
                commands
            }
            Err(error) => {
                self.set_status(Level::Error, format!("not submitted: {error}"));
                Vec::new()
            }
        }
    }
}

impl App {
    /// Opens the decide dialog on the selected proposed policy set version,
    /// or says why it cannot be decided here.
    fn open_policy_decide(&mut self, action: Action) -> Vec<Command> {
        use crate::tui::screens::policies::View;
        use crate::tui::screens::policy_versions::{Decidable, waits_for};
        use crate::tui::widgets::decide::{DecideDialog, Subject};
        let versions = &self.policies.versions;
        let selected = versions
            .selected_version()
            .filter(|_| self.policies.view == View::Versions);
        let Some(version) = selected else {
            let key = self
                .config
                .keymap
                .hint(Mode::Policies, Action::ToggleVersions)
                .unwrap_or_default();
            self.set_status(
                Level::Info,
                format!("policy sets are decided in the versions view: press {key}, then select a proposed version"),
            );
            return Vec::new();
        };
        match waits_for(version, self.policies.viewer.as_ref()) {
            None => {
                let text = format!(
                    "version {} is {}: only a proposed version is decided",
                    version.version, version.state
                );
                self.set_status(Level::Info, text);
                Vec::new()
            }
            Some(Decidable::No(why)) => {
                self.set_status(Level::Error, format!("version {}: {why}", version.version));
                Vec::new()
            }
            Some(Decidable::Yes) => {
                let verdict = if action == Action::Approve {
                    Verdict::Approve
                } else {
                    Verdict::Reject
                };
                let subject = Subject::PolicySet {
                    version: version.clone(),
                    active: versions.active().map(|active| active.version),
                    impact: versions.selected_impact(),
                };
                self.overlay = Some(Overlay::Decide(Box::new(DecideDialog::new(
                    subject, verdict,
                ))));
                Vec::new()
            }
        }
    }

    fn on_policy_set_decided(
        &mut self,
        version: i64,
        approve: bool,
        result: Result<Box<crate::backend::PolicySetDetail>, String>,
    ) -> Vec<Command> {
        let dialog_matches = matches!(
            &self.overlay,
            Some(Overlay::Decide(dialog)) if matches!(&dialog.subject,
                crate::tui::widgets::decide::Subject::PolicySet { version: shown, .. } if shown.version == version)
        );
        match result {
            Ok(decided) => {
                if dialog_matches {
                    self.overlay = None;
                }
                let text = if approve {
                    format!(
                        "Approved policy set version {}: it is now the active set; deployment checks run under it.",
                        decided.version.version
                    )
                } else {
                    format!(
                        "Rejected policy set version {}; the active set is unchanged.",
                        decided.version.version
                    )
                };
                self.set_status(Level::Info, text);
            }
            Err(error) => {
                self.set_status(Level::Error, format!("not decided: {error}"));
                if dialog_matches && let Some(Overlay::Decide(dialog)) = &mut self.overlay {
                    dialog.submitting = false;
                    dialog.error = Some(error);
                }
            }
        }
        // Either way the versions may have moved (approved, or decided by
        // someone else first): show them as they are.
        self.policies.load(&mut self.requests)
    }
}
