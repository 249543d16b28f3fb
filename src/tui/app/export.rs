//! Saving the evidence pack of the agent in view (`E` on the step view,
//! the Audits tab and the Blocked tab): the console names the agent and
//! version, asks for a file, and says where the pack went and how to check
//! it. The backend decides who may export (compliance officers).

use std::path::PathBuf;

use super::{App, Level, Overlay};
use crate::backend::EvidenceQuery;
use crate::tui::command::{Command, ExportedPack};
use crate::tui::tab::Tab;
use crate::tui::widgets::overlay::{Prompt, PromptKind};

impl App {
    /// `E`: proposes a file name for the pack of the agent in view.
    pub(super) fn start_export(&mut self) -> Vec<Command> {
        let Some(query) = self.evidence_subject() else {
            self.set_status(
                Level::Info,
                "Nothing to export here: open a workflow, an agent's audits or a blocked deployment.",
            );
            return Vec::new();
        };
        let version = query
            .agent_version
            .as_deref()
            .map(|version| format!(" version {version}"))
            .unwrap_or_default();
        self.set_status(
            Level::Info,
            format!(
                "The evidence pack of {}{version}: name the file (enter saves, esc cancels).",
                query.agent_id
            ),
        );
        let text = file_name(&query, self.now);
        self.exporting = Some(query);
        self.overlay = Some(Overlay::Prompt(Prompt {
            kind: PromptKind::EvidenceFile,
            text,
        }));
        Vec::new()
    }

    /// The agent (and version) the screen shows.
    fn evidence_subject(&self) -> Option<EvidenceQuery> {
        let (agent_id, agent_version) = match self.tab {
            Tab::Queue => match &self.detail {
                Some(screen) => {
                    let detail = screen.detail.as_ref()?;
                    (
                        detail.workflow.agent_id.clone(),
                        detail
                            .deployment
                            .as_ref()
                            .map(|view| view.deployment.agent_version.clone()),
                    )
                }
                None => (self.queue.selected_item()?.agent_id.clone(), None),
            },
            Tab::Audits => match self.audits.audits.get(self.audits.shown) {
                Some(audit) => (audit.agent_id.clone(), Some(audit.agent_version.clone())),
                None => (
                    self.audits
                        .agents
                        .get(self.audits.selected)?
                        .agent_id
                        .clone(),
                    None,
                ),
            },
            Tab::Blocked => {
                let deployment = self.blocked.selected_item()?;
                (
                    deployment.agent_id.clone(),
                    Some(deployment.agent_version.clone()),
                )
            }
            Tab::Reviews | Tab::Policies => return None,
        };
        Some(EvidenceQuery {
            agent_id,
            agent_version,
            from: None,
            to: None,
        })
    }

    /// The file was named (empty: the proposed name is kept).
    pub(super) fn confirm_export(&mut self, file: Option<String>) -> Vec<Command> {
        let Some(query) = self.exporting.take() else {
            return Vec::new();
        };
        let path = PathBuf::from(file.unwrap_or_else(|| file_name(&query, self.now)));
        self.set_status(
            Level::Info,
            format!("Exporting the evidence of {}…", query.agent_id),
        );
        vec![Command::ExportEvidence { query, path }]
    }

    pub(super) fn on_exported(&mut self, path: PathBuf, result: Result<ExportedPack, String>) {
        match result {
            Ok(pack) => self.set_status(
                Level::Info,
                format!(
                    "Saved {} ({} files, {} KB); anyone checks it with `gavel evidence verify`.",
                    pack.path.display(),
                    pack.files,
                    pack.bytes.div_ceil(1024),
                ),
            ),
            Err(error) => self.set_status(
                Level::Error,
                format!("Cannot export to {}: {error}", path.display()),
            ),
        }
    }
}

/// `evidence-AGENT[-VERSION]-DATE.zip` in the current directory, with
/// anything but letters, digits, dots, dashes and underscores made a dash.
fn file_name(query: &EvidenceQuery, now: chrono::DateTime<chrono::Utc>) -> String {
    let version = query
        .agent_version
        .as_deref()
        .map(|version| format!("-{version}"))
        .unwrap_or_default();
    let name = format!(
        "evidence-{}{version}-{}",
        query.agent_id,
        now.format("%Y-%m-%d")
    );
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{}.zip", safe.trim_start_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proposed_file_name_is_safe_and_says_what_it_holds() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .expect("time")
            .to_utc();
        let query = EvidenceQuery {
            agent_id: "../agt/../../etc".into(),
            agent_version: Some("1.2.0 beta".into()),
            from: None,
            to: None,
        };
        assert_eq!(
            file_name(&query, now),
            "evidence-..-agt-..-..-etc-1.2.0-beta-2026-12-01.zip"
        );
        let query = EvidenceQuery {
            agent_version: None,
            agent_id: "agt-7".into(),
            ..query
        };
        assert_eq!(file_name(&query, now), "evidence-agt-7-2026-12-01.zip");
    }
}
