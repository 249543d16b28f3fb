//! Where back goes: the path taken between screens by following links (a
//! step view's audits, review or sibling workflow; a blocked request's
//! workflow; an inbox item), kept as a stack as browsers and lazygit keep
//! it. Each place is a tab and the step view it showed, scrolled as it was;
//! the lists keep their own selection.

use super::place::Place;
use super::{App, Level};
use crate::tui::command::Command;
use crate::tui::screens::workflow::WorkflowScreen;

/// The most places kept: older ones are forgotten.
const MAX_PLACES: usize = 64;

impl App {
    /// Remembers where the user is, before a link takes them elsewhere.
    pub(super) fn remember_place(&mut self) {
        let step = self.detail.as_ref().map(|screen| {
            (
                screen.workflow_id.clone(),
                screen.agent_name.clone(),
                screen.scroll,
            )
        });
        self.history.push(Place {
            tab: self.tab,
            step,
        });
        if self.history.len() > MAX_PLACES {
            self.history.remove(0);
        }
    }

    /// Back to the last place remembered; `None` when there is none.
    pub(super) fn go_back(&mut self) -> Option<Vec<Command>> {
        let place = self.history.pop()?;
        self.tab = place.tab;
        let mut commands = Vec::new();
        match place.step {
            None => self.detail = None,
            Some((workflow_id, agent_name, scroll)) => match &mut self.detail {
                Some(screen) if screen.workflow_id == workflow_id => screen.scroll = scroll,
                _ => {
                    let (mut screen, command) =
                        WorkflowScreen::open(workflow_id, agent_name, &mut self.requests);
                    screen.scroll = scroll;
                    self.detail = Some(screen);
                    commands.push(command);
                }
            },
        }
        Some(commands)
    }

    /// `]` / `[` in the step view: the deployment's next (or previous)
    /// workflow; back returns here.
    pub(super) fn open_sibling(&mut self, forward: bool) -> Vec<Command> {
        let Some(screen) = &self.detail else {
            return Vec::new();
        };
        let Some(view) = screen
            .detail
            .as_ref()
            .and_then(|detail| detail.deployment.as_ref())
        else {
            return Vec::new();
        };
        let siblings: Vec<&str> = view
            .workflows
            .iter()
            .map(|workflow| workflow.workflow_id.as_str())
            .collect();
        let Some(here) = siblings.iter().position(|id| *id == screen.workflow_id) else {
            return Vec::new();
        };
        if siblings.len() < 2 {
            self.set_status(Level::Info, "This request opened no other workflow.");
            return Vec::new();
        }
        let count = siblings.len();
        let next = if forward {
            (here + 1) % count
        } else {
            (here + count - 1) % count
        };
        let (workflow_id, agent_name) = (siblings[next].to_owned(), screen.agent_name.clone());
        self.remember_place();
        let (screen, command) = WorkflowScreen::open(workflow_id, agent_name, &mut self.requests);
        self.detail = Some(screen);
        vec![command]
    }
}
