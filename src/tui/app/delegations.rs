//! Delegations from the console: listing them, handing my steps to someone
//! while away (two prompts: whom, until when), ending one I gave, and
//! deciding for someone who delegated to me. The backend checks every
//! rule; the console asks and says what it answered.

use chrono::{NaiveDate, NaiveTime, TimeDelta};

use super::{App, Level, Overlay};
use crate::domain::delegation::{Delegation, NewDelegation};
use crate::tui::action::Action;
use crate::tui::command::Command;
use crate::tui::widgets::chooser::{PersonChooser, Purpose};
use crate::tui::widgets::delegations::DelegationsOverlay;
use crate::tui::widgets::overlay::{Prompt, PromptKind};

impl App {
    /// The people who delegated to me (the list holds those not ended;
    /// the backend checks the delegation covers the step when I decide).
    pub(super) fn delegators(&self) -> Vec<String> {
        let Some(me) = &self.me else {
            return Vec::new();
        };
        let mut delegators: Vec<String> = self
            .delegations
            .iter()
            .filter(|delegation| me.is(&delegation.delegate))
            .map(|delegation| delegation.delegator.clone())
            .collect();
        delegators.sort();
        delegators.dedup();
        delegators
    }

    pub(super) fn on_delegations(
        &mut self,
        result: Result<Vec<Delegation>, String>,
    ) -> Vec<Command> {
        match result {
            Ok(delegations) => {
                self.delegations = delegations;
                let count = self.delegations.len();
                if let Some(Overlay::Delegations(overlay)) = &mut self.overlay {
                    overlay.move_by(0, count);
                }
            }
            // An older server without delegations: the console goes on.
            Err(error) => {
                if let Some(Overlay::Delegations(overlay)) = &mut self.overlay {
                    overlay.error = Some(error);
                }
            }
        }
        Vec::new()
    }

    pub(super) fn on_delegation_changed(&mut self, result: Result<String, String>) -> Vec<Command> {
        match result {
            Ok(done) => {
                self.set_status(Level::Info, done);
                if let Some(Overlay::Delegations(overlay)) = &mut self.overlay {
                    overlay.error = None;
                }
            }
            Err(error) => {
                self.set_status(Level::Error, format!("delegation: {error}"));
                if let Some(Overlay::Delegations(overlay)) = &mut self.overlay {
                    overlay.error = Some(error);
                }
            }
        }
        vec![Command::LoadDelegations]
    }

    pub(super) fn on_delegations_action(
        &mut self,
        mut overlay: DelegationsOverlay,
        action: Action,
    ) -> Vec<Command> {
        let count = self.delegations.len();
        match action {
            Action::Down | Action::Up => {
                overlay.confirm_end = None;
                overlay.move_by(if action == Action::Down { 1 } else { -1 }, count);
                self.overlay = Some(Overlay::Delegations(overlay));
                Vec::new()
            }
            Action::NewDelegation => {
                self.overlay = Some(Overlay::Delegations(overlay));
                self.set_status(Level::Info, "Finding who holds your roles…");
                vec![Command::LoadDelegates]
            }
            Action::EndDelegation => {
                let mine = self.delegations.get(overlay.selected).filter(|delegation| {
                    self.me
                        .as_ref()
                        .is_some_and(|me| me.is(&delegation.delegator))
                });
                let command = match mine {
                    // Ending takes a second x: the first says what it ends.
                    Some(delegation)
                        if overlay.confirm_end.as_deref() == Some(&delegation.delegation_id) =>
                    {
                        overlay.confirm_end = None;
                        vec![Command::EndDelegation {
                            delegation_id: delegation.delegation_id.clone(),
                        }]
                    }
                    Some(delegation) => {
                        overlay.confirm_end = Some(delegation.delegation_id.clone());
                        Vec::new()
                    }
                    None => {
                        overlay.error = Some("only a delegation you gave can be ended here".into());
                        Vec::new()
                    }
                };
                self.overlay = Some(Overlay::Delegations(overlay));
                command
            }
            Action::Cancel => Vec::new(),
            _ => {
                self.overlay = Some(Overlay::Delegations(overlay));
                Vec::new()
            }
        }
    }

    /// Everyone arrived: choose among those holding one of my roles (a
    /// delegate must already hold the role; the backend checks it too).
    pub(super) fn on_delegates(
        &mut self,
        result: Result<Vec<crate::backend::User>, String>,
    ) -> Vec<Command> {
        let people = match result {
            Ok(people) => people,
            Err(error) => {
                self.set_status(Level::Error, format!("Cannot list people: {error}"));
                return Vec::new();
            }
        };
        let Some(me) = self.me.clone() else {
            return Vec::new();
        };
        let candidates: Vec<crate::backend::User> = people
            .into_iter()
            .filter(|person| !person.is(&me.email))
            .filter(|person| me.roles.iter().any(|role| person.holds(*role)))
            .collect();
        self.status = None;
        self.overlay = Some(Overlay::Choose(PersonChooser::new(
            Purpose::Delegate,
            candidates,
        )));
        Vec::new()
    }

    /// The delegate was named: ask until when.
    pub(super) fn delegate_to(&mut self, to: Option<String>) -> Vec<Command> {
        match to {
            Some(to) => {
                self.delegating_to = Some(to);
                self.overlay = Some(Overlay::Prompt(Prompt {
                    kind: PromptKind::DelegateUntil,
                    text: String::new(),
                }));
            }
            None => self.overlay = Some(Overlay::Delegations(DelegationsOverlay::default())),
        }
        Vec::new()
    }

    /// The end was given: make the delegation, from now through that day.
    pub(super) fn delegate_until(&mut self, until: Option<String>) -> Vec<Command> {
        let mut overlay = DelegationsOverlay::default();
        let (Some(to), Some(until)) = (self.delegating_to.take(), until) else {
            self.overlay = Some(Overlay::Delegations(overlay));
            return Vec::new();
        };
        let Ok(day) = NaiveDate::parse_from_str(until.trim(), "%Y-%m-%d") else {
            overlay.error = Some(format!("{until:?} is not a date like 2026-12-24"));
            self.overlay = Some(Overlay::Delegations(overlay));
            return Vec::new();
        };
        self.overlay = Some(Overlay::Delegations(overlay));
        vec![Command::Delegate {
            delegation: NewDelegation {
                to,
                starts_at: self.now,
                ends_at: day.and_time(NaiveTime::MIN).and_utc() + TimeDelta::days(1),
                role: None,
            },
        }]
    }
}
