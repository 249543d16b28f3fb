//! Exceptions from the console: `e` lists them (the agent in view's, when
//! there is one), `a`/`r` decide the selected one's next step, `v` revokes
//! it, `n` asks for one for the version in view (four prompts: policy,
//! until, why, ticket). The backend checks every rule; the console asks
//! and says what it answered.

use chrono::{NaiveDate, NaiveTime, TimeDelta};

use super::{App, Level, Overlay};
use crate::domain::exception::{ExceptionDecision, ExceptionQuery, NewException};
use crate::tui::action::Action;
use crate::tui::command::{Command, ExceptionCommand, ExceptionMessage};
use crate::tui::tab::Tab;
use crate::tui::widgets::exceptions::{AgentInView, ExceptionFlow, ExceptionsOverlay, Shown};
use crate::tui::widgets::overlay::{Prompt, PromptKind};
use crate::tui::widgets::recertifications::RecertificationsOverlay;

fn load(overlay: &ExceptionsOverlay) -> Command {
    Command::Exceptions(ExceptionCommand::Load(ExceptionQuery {
        agent_id: overlay.agent.as_ref().map(|agent| agent.agent_id.clone()),
        state: None,
        awaiting_me: overlay.shown == Shown::AwaitingMe,
    }))
}

impl App {
    /// The request on screen: the step view's, or the selected blocked
    /// one. From a list, none: a key there means "every agent's".
    pub(super) fn deployment_in_view(&self) -> Option<&crate::domain::DeploymentRequest> {
        let step_view = self
            .detail
            .as_ref()
            .and_then(|screen| screen.detail.as_ref())
            .and_then(|detail| detail.deployment.as_ref());
        match (self.tab, step_view) {
            (Tab::Queue, Some(view)) => Some(&view.deployment),
            (Tab::Blocked, _) => self.blocked.selected_item(),
            _ => None,
        }
    }

    /// The agent on screen for exceptions, with its version and what
    /// blocks it.
    fn agent_for_exceptions(&self) -> Option<AgentInView> {
        self.deployment_in_view().map(|deployment| AgentInView {
            agent_id: deployment.agent_id.clone(),
            version: Some(deployment.agent_version.clone()),
            blocking_policy: deployment
                .triggered_policies
                .iter()
                .find(|policy| policy.blocking)
                .map(|policy| policy.policy_id.clone()),
        })
    }

    pub(super) fn open_exceptions(&mut self) -> Vec<Command> {
        let overlay = ExceptionsOverlay::new(self.agent_for_exceptions());
        let command = load(&overlay);
        self.overlay = Some(Overlay::Exceptions(overlay));
        vec![command]
    }

    /// Every exception, with `exception_id` selected (from the inbox).
    pub(super) fn open_exception(&mut self, exception_id: String) -> Vec<Command> {
        let overlay = ExceptionsOverlay {
            shown: Shown::All,
            focus: Some(exception_id),
            ..ExceptionsOverlay::default()
        };
        let command = load(&overlay);
        self.overlay = Some(Overlay::Exceptions(overlay));
        vec![command]
    }

    /// The approvals due for recertification (due now; `w` adds those due
    /// within 30 days).
    pub(super) fn open_recertifications(&mut self) -> Vec<Command> {
        self.overlay = Some(Overlay::Recertifications(RecertificationsOverlay::default()));
        vec![Command::Exceptions(ExceptionCommand::Recertifications(0))]
    }

    pub(super) fn on_recertifications_action(
        &mut self,
        mut overlay: RecertificationsOverlay,
        action: Action,
    ) -> Vec<Command> {
        let mut commands = Vec::new();
        match action {
            Action::Down | Action::Up => {
                overlay.move_by(if action == Action::Down { 1 } else { -1 });
            }
            Action::CycleStatus | Action::Refresh => {
                if action == Action::CycleStatus {
                    overlay.within_30_days = !overlay.within_30_days;
                }
                overlay.page = None;
                overlay.selected = 0;
                commands.push(Command::Exceptions(ExceptionCommand::Recertifications(
                    overlay.within_days(),
                )));
            }
            Action::Cancel => return Vec::new(),
            _ => {}
        }
        self.overlay = Some(Overlay::Recertifications(overlay));
        commands
    }

    pub(super) fn on_exceptions_message(&mut self, message: ExceptionMessage) -> Vec<Command> {
        let now = self.now;
        match message {
            ExceptionMessage::Recertifications(result) => {
                if let Some(Overlay::Recertifications(overlay)) = &mut self.overlay {
                    match result {
                        Ok(page) => {
                            overlay.page = Some(page);
                            overlay.error = None;
                            overlay.move_by(0);
                        }
                        Err(error) => overlay.error = Some(error),
                    }
                }
                Vec::new()
            }
            ExceptionMessage::Loaded(result) => {
                if let Some(Overlay::Exceptions(overlay)) = &mut self.overlay {
                    match result {
                        Ok(items) => {
                            overlay.items = Some(items);
                            overlay.take_focus(now);
                            overlay.move_by(0, now);
                        }
                        Err(error) => {
                            overlay.items.get_or_insert_with(Vec::new);
                            overlay.error = Some(error);
                        }
                    }
                }
                Vec::new()
            }
            ExceptionMessage::Changed(result) => {
                let error = match result {
                    Ok(done) => {
                        self.set_status(Level::Info, done);
                        None
                    }
                    Err(error) => {
                        self.set_status(Level::Error, format!("exception: {error}"));
                        Some(error)
                    }
                };
                if let Some(Overlay::Exceptions(overlay)) = &mut self.overlay {
                    overlay.error = error;
                }
                match &self.overlay {
                    Some(Overlay::Exceptions(overlay)) => vec![load(overlay)],
                    _ => Vec::new(),
                }
            }
        }
    }

    fn refuse_read_only(&mut self, mut overlay: ExceptionsOverlay) -> Vec<Command> {
        overlay.error = Some("read-only: deciding is disabled (started with --read-only)".into());
        self.overlay = Some(Overlay::Exceptions(overlay));
        Vec::new()
    }

    fn prompt(&mut self, flow: ExceptionFlow, kind: PromptKind, text: String) -> Vec<Command> {
        self.exception_flow = Some(flow);
        self.overlay = Some(Overlay::Prompt(Prompt { kind, text }));
        Vec::new()
    }

    pub(super) fn on_exceptions_action(
        &mut self,
        mut overlay: ExceptionsOverlay,
        action: Action,
    ) -> Vec<Command> {
        let now = self.now;
        if action != Action::Approve {
            overlay.confirm_approve = None;
        }
        let deciding = matches!(
            action,
            Action::Approve | Action::Reject | Action::RevokeException | Action::RequestException
        );
        if deciding && self.config.read_only {
            return self.refuse_read_only(overlay);
        }
        let chosen = overlay
            .chosen(now)
            .map(|exception| (exception.exception_id.clone(), exception.version));
        match action {
            Action::Down | Action::Up => {
                overlay.move_by(if action == Action::Down { 1 } else { -1 }, now);
            }
            Action::CycleStatus | Action::ClearFilters | Action::Refresh => {
                match action {
                    Action::CycleStatus => overlay.shown = overlay.shown.next(),
                    Action::ClearFilters => overlay.agent = None,
                    _ => {}
                }
                overlay.selected = 0;
                overlay.items = None;
                let command = load(&overlay);
                self.overlay = Some(Overlay::Exceptions(overlay));
                return vec![command];
            }
            Action::Approve => match chosen {
                Some((id, version)) if overlay.confirm_approve.as_deref() == Some(&id) => {
                    overlay.confirm_approve = None;
                    self.overlay = Some(Overlay::Exceptions(overlay));
                    return vec![Command::Exceptions(ExceptionCommand::Decide(
                        ExceptionDecision {
                            exception_id: id,
                            approve: true,
                            comment: None,
                            version: Some(version),
                        },
                    ))];
                }
                Some((id, _)) => overlay.confirm_approve = Some(id),
                None => overlay.error = Some("select an exception first".into()),
            },
            Action::Reject | Action::RevokeException => {
                let Some(target) = chosen else {
                    overlay.error = Some("select an exception first".into());
                    self.overlay = Some(Overlay::Exceptions(overlay));
                    return Vec::new();
                };
                let kind = if action == Action::Reject {
                    PromptKind::RejectException
                } else {
                    PromptKind::RevokeException
                };
                let flow = ExceptionFlow {
                    target: Some(target),
                    ..ExceptionFlow::over(overlay)
                };
                return self.prompt(flow, kind, String::new());
            }
            Action::RequestException => {
                let offered = overlay
                    .agent
                    .as_ref()
                    .filter(|agent| agent.version.is_some())
                    .map(|agent| agent.blocking_policy.clone().unwrap_or_default());
                let Some(policy) = offered else {
                    overlay.error = Some(
                        "press e on a blocked request or a step view to ask for an exception for its version (or use `gavel exception request`)".into(),
                    );
                    self.overlay = Some(Overlay::Exceptions(overlay));
                    return Vec::new();
                };
                return self.prompt(
                    ExceptionFlow::over(overlay),
                    PromptKind::ExceptionPolicy,
                    policy,
                );
            }
            Action::Cancel => return Vec::new(),
            _ => {}
        }
        self.overlay = Some(Overlay::Exceptions(overlay));
        Vec::new()
    }

    /// A prompt over the exceptions overlay was answered (`None`: left
    /// empty) or, with `cancelled`, dismissed: back to the overlay.
    pub(super) fn on_exception_prompt(
        &mut self,
        kind: PromptKind,
        value: Option<String>,
        cancelled: bool,
    ) -> Vec<Command> {
        let Some(mut flow) = self.exception_flow.take() else {
            return Vec::new();
        };
        if cancelled {
            self.overlay = Some(Overlay::Exceptions(flow.overlay));
            return Vec::new();
        }
        let mut back = |flow: ExceptionFlow, error: Option<&str>| {
            let mut overlay = flow.overlay;
            overlay.error = error.map(str::to_owned);
            self.overlay = Some(Overlay::Exceptions(overlay));
        };
        match kind {
            PromptKind::RejectException | PromptKind::RevokeException => {
                let (Some((exception_id, version)), Some(text)) = (flow.target.clone(), value)
                else {
                    back(flow, Some("say why: nothing was changed"));
                    return Vec::new();
                };
                back(flow, None);
                let command = if kind == PromptKind::RejectException {
                    ExceptionCommand::Decide(ExceptionDecision {
                        exception_id,
                        approve: false,
                        comment: Some(text),
                        version: Some(version),
                    })
                } else {
                    ExceptionCommand::Revoke {
                        exception_id,
                        reason: text,
                    }
                };
                vec![Command::Exceptions(command)]
            }
            PromptKind::ExceptionPolicy => match value {
                Some(policy) => {
                    flow.policy = Some(policy);
                    self.prompt(flow, PromptKind::ExceptionUntil, String::new())
                }
                None => {
                    back(flow, Some("name the policy to set aside"));
                    Vec::new()
                }
            },
            PromptKind::ExceptionUntil => {
                let day = value
                    .as_deref()
                    .and_then(|text| NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok());
                match day {
                    Some(day) => {
                        // Through that day: until the midnight after it.
                        flow.until =
                            Some(day.and_time(NaiveTime::MIN).and_utc() + TimeDelta::days(1));
                        self.prompt(flow, PromptKind::ExceptionReason, String::new())
                    }
                    None => {
                        back(flow, Some("the end is a date like 2027-01-31"));
                        Vec::new()
                    }
                }
            }
            PromptKind::ExceptionReason => match value {
                Some(reason) => {
                    flow.reason = Some(reason);
                    self.prompt(flow, PromptKind::ExceptionTicket, String::new())
                }
                None => {
                    back(
                        flow,
                        Some("an exception says why the policy cannot be met yet"),
                    );
                    Vec::new()
                }
            },
            PromptKind::ExceptionTicket => {
                let agent = flow.overlay.agent.clone();
                let request = match (agent, flow.policy.clone(), flow.until, flow.reason.clone()) {
                    (Some(agent), Some(policy_id), Some(until), Some(reason)) => {
                        agent.version.map(|agent_version| NewException {
                            agent_id: agent.agent_id,
                            agent_version,
                            policy_id,
                            until,
                            reason,
                            ticket: value,
                            controls: None,
                        })
                    }
                    _ => None,
                };
                back(flow, None);
                request
                    .map(|request| vec![Command::Exceptions(ExceptionCommand::Request(request))])
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }
}

/// Whether a prompt belongs to the exceptions overlay.
pub(super) fn is_exception_prompt(kind: PromptKind) -> bool {
    matches!(
        kind,
        PromptKind::RejectException
            | PromptKind::RevokeException
            | PromptKind::ExceptionPolicy
            | PromptKind::ExceptionUntil
            | PromptKind::ExceptionReason
            | PromptKind::ExceptionTicket
    )
}
