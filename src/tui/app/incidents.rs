//! Incidents from the console: `!` lists them (the agent in view's, when
//! there is one); `n` reports one for the version in view (severity, then
//! what happened); on the selected one `t` triages, `s` suspends its
//! version, `p` records the report made, `l` asks to lift the suspension,
//! `a`/`r` sign or refuse the lifting's step, `x` closes it (cause, then
//! corrective action). The backend checks every rule; the console asks
//! and says what it answered.

use super::{App, Level, Overlay};
use crate::domain::incident::{IncidentAction, IncidentChange, IncidentQuery, NewIncident};
use crate::tui::action::Action;
use crate::tui::command::{Command, IncidentCommand, IncidentMessage};
use crate::tui::widgets::incidents::{
    AgentInView, IncidentField, IncidentFlow, IncidentsOverlay, Shown,
};
use crate::tui::widgets::overlay::{Prompt, PromptKind};

fn load(overlay: &IncidentsOverlay) -> Command {
    Command::Incidents(IncidentCommand::Load(IncidentQuery {
        agent_id: overlay.agent.as_ref().map(|agent| agent.agent_id.clone()),
        state: overlay.shown.filter(),
        awaiting_me: overlay.shown == Shown::AwaitingMe,
    }))
}

fn change(target: (String, i64), action: IncidentAction) -> Vec<Command> {
    let (incident_id, version) = target;
    vec![Command::Incidents(IncidentCommand::Change(
        IncidentChange {
            incident_id,
            action,
            version: Some(version),
        },
    ))]
}

impl App {
    pub(super) fn open_incidents(&mut self) -> Vec<Command> {
        let agent = self.deployment_in_view().map(|deployment| AgentInView {
            agent_id: deployment.agent_id.clone(),
            version: Some(deployment.agent_version.clone()),
        });
        let overlay = IncidentsOverlay::new(agent);
        let command = load(&overlay);
        self.overlay = Some(Overlay::Incidents(overlay));
        vec![command]
    }

    /// Every incident, with `incident_id` selected (from the inbox).
    pub(super) fn open_incident(&mut self, incident_id: String) -> Vec<Command> {
        let overlay = IncidentsOverlay {
            shown: Shown::All,
            focus: Some(incident_id),
            ..IncidentsOverlay::default()
        };
        let command = load(&overlay);
        self.overlay = Some(Overlay::Incidents(overlay));
        vec![command]
    }

    pub(super) fn on_incidents_message(&mut self, message: IncidentMessage) -> Vec<Command> {
        match message {
            IncidentMessage::Loaded(result) => {
                if let Some(Overlay::Incidents(overlay)) = &mut self.overlay {
                    match result {
                        Ok(items) => {
                            overlay.items = Some(items);
                            overlay.take_focus();
                            overlay.move_by(0);
                        }
                        Err(error) => {
                            overlay.items.get_or_insert_with(Vec::new);
                            overlay.error = Some(error);
                        }
                    }
                }
                Vec::new()
            }
            IncidentMessage::Changed(result) => {
                let error = match result {
                    Ok(done) => {
                        self.set_status(Level::Info, done);
                        None
                    }
                    Err(error) => {
                        self.set_status(Level::Error, format!("incident: {error}"));
                        Some(error)
                    }
                };
                if let Some(Overlay::Incidents(overlay)) = &mut self.overlay {
                    overlay.error = error;
                }
                match &self.overlay {
                    Some(Overlay::Incidents(overlay)) => vec![load(overlay)],
                    _ => Vec::new(),
                }
            }
        }
    }

    fn incident_prompt(
        &mut self,
        flow: IncidentFlow,
        field: IncidentField,
        text: String,
    ) -> Vec<Command> {
        self.incident_flow = Some(flow);
        self.overlay = Some(Overlay::Prompt(Prompt {
            kind: PromptKind::Incident(field),
            text,
        }));
        Vec::new()
    }

    pub(super) fn on_incidents_action(
        &mut self,
        mut overlay: IncidentsOverlay,
        action: Action,
    ) -> Vec<Command> {
        if action != Action::Approve {
            overlay.confirm_approve = None;
        }
        let changing = matches!(
            action,
            Action::Approve
                | Action::Reject
                | Action::ReportIncident
                | Action::TriageIncident
                | Action::SuspendVersion
                | Action::ConfirmReport
                | Action::RequestLift
                | Action::CloseIncident
        );
        if changing && self.config.read_only {
            overlay.error =
                Some("read-only: changes are disabled (started with --read-only)".into());
            self.overlay = Some(Overlay::Incidents(overlay));
            return Vec::new();
        }
        let chosen = overlay
            .chosen()
            .map(|incident| (incident.incident_id.clone(), incident.version));
        let severity = overlay.chosen().map(|incident| incident.severity.clone());
        let field = match action {
            Action::Down | Action::Up => {
                overlay.move_by(if action == Action::Down { 1 } else { -1 });
                None
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
                self.overlay = Some(Overlay::Incidents(overlay));
                return vec![command];
            }
            Action::Cancel => return Vec::new(),
            Action::ReportIncident => {
                if overlay
                    .agent
                    .as_ref()
                    .is_none_or(|agent| agent.version.is_none())
                {
                    overlay.error = Some(
                        "press ! on a blocked request or a step view to report an incident with its version (or use `gavel incident report`)".into(),
                    );
                    None
                } else {
                    let flow = IncidentFlow::over(overlay, None);
                    return self.incident_prompt(
                        flow,
                        IncidentField::ReportSeverity,
                        "serious".into(),
                    );
                }
            }
            Action::Approve => match chosen.clone() {
                Some((id, version)) if overlay.confirm_approve.as_deref() == Some(&id) => {
                    overlay.confirm_approve = None;
                    self.overlay = Some(Overlay::Incidents(overlay));
                    return change(
                        (id, version),
                        IncidentAction::DecideLift {
                            approve: true,
                            comment: None,
                        },
                    );
                }
                Some((id, _)) => {
                    overlay.confirm_approve = Some(id);
                    None
                }
                None => {
                    overlay.error = Some("select an incident first".into());
                    None
                }
            },
            Action::Reject => Some(IncidentField::RefuseLift),
            Action::TriageIncident => Some(IncidentField::TriageSeverity),
            Action::SuspendVersion => Some(IncidentField::SuspendReason),
            Action::ConfirmReport => Some(IncidentField::ReportReference),
            Action::RequestLift => Some(IncidentField::LiftReason),
            Action::CloseIncident => Some(IncidentField::CloseCause),
            _ => None,
        };
        let Some(field) = field else {
            self.overlay = Some(Overlay::Incidents(overlay));
            return Vec::new();
        };
        let Some(target) = chosen else {
            overlay.error = Some("select an incident first".into());
            self.overlay = Some(Overlay::Incidents(overlay));
            return Vec::new();
        };
        let offered = match field {
            IncidentField::TriageSeverity => severity.unwrap_or_default(),
            _ => String::new(),
        };
        self.incident_prompt(IncidentFlow::over(overlay, Some(target)), field, offered)
    }

    /// A prompt over the incidents overlay was answered (`None`: left
    /// empty) or, with `cancelled`, dismissed: back to the overlay.
    pub(super) fn on_incident_prompt(
        &mut self,
        field: IncidentField,
        value: Option<String>,
        cancelled: bool,
    ) -> Vec<Command> {
        let Some(mut flow) = self.incident_flow.take() else {
            return Vec::new();
        };
        if cancelled {
            self.overlay = Some(Overlay::Incidents(flow.overlay));
            return Vec::new();
        }
        let Some(value) = value else {
            let mut overlay = flow.overlay;
            overlay.error = Some(format!(
                "{} is needed: nothing was changed",
                field.label().trim().trim_end_matches(':')
            ));
            self.overlay = Some(Overlay::Incidents(overlay));
            return Vec::new();
        };
        // The second prompt of a two-prompt action.
        let next = match field {
            IncidentField::ReportSeverity => Some(IncidentField::ReportSummary),
            IncidentField::TriageSeverity => Some(IncidentField::TriageComment),
            IncidentField::CloseCause => Some(IncidentField::CloseAction),
            _ => None,
        };
        if let Some(next) = next {
            flow.first = Some(value);
            return self.incident_prompt(flow, next, String::new());
        }
        let first = flow.first.clone().unwrap_or_default();
        let target = flow.target.clone();
        let agent = flow.overlay.agent.clone();
        self.overlay = Some(Overlay::Incidents(flow.overlay));
        if field == IncidentField::ReportSummary {
            let Some(agent) = agent else {
                return Vec::new();
            };
            return vec![Command::Incidents(IncidentCommand::Report(NewIncident {
                agent_id: agent.agent_id,
                agent_version: agent.version,
                severity: first,
                summary: value,
                became_aware_at: None,
                occurred_at: None,
            }))];
        }
        let action = match field {
            IncidentField::TriageComment => IncidentAction::Triage {
                severity: first,
                comment: value,
            },
            IncidentField::SuspendReason => IncidentAction::Suspend { reason: value },
            IncidentField::ReportReference => IncidentAction::ConfirmReport {
                reference: value,
                reported_on: None,
            },
            IncidentField::LiftReason => IncidentAction::RequestLift { reason: value },
            IncidentField::RefuseLift => IncidentAction::DecideLift {
                approve: false,
                comment: Some(value),
            },
            IncidentField::CloseAction => IncidentAction::Close {
                cause: first,
                corrective_action: value,
            },
            _ => return Vec::new(),
        };
        target
            .map(|target| change(target, action))
            .unwrap_or_default()
    }
}
