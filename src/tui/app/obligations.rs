//! An agent's obligations from the console: `O` on the queue, the step
//! view, the Audits tab or the Blocked tab opens them for the agent in
//! view; the backend judges the posture at its clock.

use super::{App, Overlay};
use crate::domain::obligations::Posture;
use crate::tui::action::Action;
use crate::tui::command::Command;
use crate::tui::tab::Tab;
use crate::tui::widgets::obligations::ObligationsOverlay;

impl App {
    /// The agent on screen and the version in view where the screen names
    /// one: the step view's request, else the selected row's.
    pub(super) fn agent_in_view(&self) -> Option<(String, Option<String>)> {
        match self.tab {
            Tab::Queue => match self
                .detail
                .as_ref()
                .and_then(|screen| screen.detail.as_ref())
            {
                Some(detail) => Some((
                    detail.workflow.agent_id.clone(),
                    detail
                        .deployment
                        .as_ref()
                        .map(|view| view.deployment.agent_version.clone()),
                )),
                None => self
                    .queue
                    .selected_item()
                    .map(|item| (item.agent_id.clone(), None)),
            },
            Tab::Audits => self
                .audits
                .agents
                .get(self.audits.selected)
                .map(|standing| (standing.agent_id.clone(), None)),
            Tab::Blocked => self.blocked.selected_item().map(|deployment| {
                (
                    deployment.agent_id.clone(),
                    Some(deployment.agent_version.clone()),
                )
            }),
            Tab::Reviews | Tab::Policies => None,
        }
    }

    pub(super) fn open_obligations(&mut self) -> Vec<Command> {
        let Some((agent_id, _)) = self.agent_in_view() else {
            self.set_status(
                super::Level::Info,
                "Select an agent (a workflow, an audited agent or a blocked request) to see its obligations.",
            );
            return Vec::new();
        };
        self.overlay = Some(Overlay::Obligations(ObligationsOverlay::new(
            agent_id.clone(),
        )));
        vec![Command::LoadObligations { agent_id }]
    }

    pub(super) fn on_obligations(
        &mut self,
        agent_id: String,
        result: Result<Posture, String>,
        beside: Vec<String>,
    ) -> Vec<Command> {
        // An answer for an agent no longer in view is dropped.
        if let Some(Overlay::Obligations(overlay)) = &mut self.overlay
            && overlay.agent_id == agent_id
        {
            match result {
                Ok(posture) => {
                    overlay.posture = Some(posture);
                    overlay.beside = beside;
                    overlay.error = None;
                    overlay.move_by(0);
                }
                Err(error) => overlay.error = Some(error),
            }
        }
        Vec::new()
    }

    pub(super) fn on_obligations_action(
        &mut self,
        mut overlay: ObligationsOverlay,
        action: Action,
    ) -> Vec<Command> {
        match action {
            Action::Cancel => return Vec::new(),
            Action::Down => overlay.move_by(1),
            Action::Up => overlay.move_by(-1),
            Action::PageDown => overlay.move_by(10),
            Action::PageUp => overlay.move_by(-10),
            Action::First => overlay.jump(false),
            Action::Last => overlay.jump(true),
            _ => {}
        }
        self.overlay = Some(Overlay::Obligations(overlay));
        Vec::new()
    }
}
