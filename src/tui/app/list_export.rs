//! `X` on the Queue, Blocked and Audits tabs: the list in view, as
//! filtered and ordered, saved to a file the user names (`.json` for the
//! CLI's JSON shapes, anything else CSV).

use std::path::PathBuf;

use super::{App, Level, Overlay};
use crate::tui::command::list_export::MAX_ROWS;
use crate::tui::command::{Command, ExportedList, ListToExport};
use crate::tui::tab::Tab;
use crate::tui::widgets::overlay::{Prompt, PromptKind};

impl App {
    /// Proposes a file for the list in view.
    pub(super) fn start_list_export(&mut self) -> Vec<Command> {
        let list = match self.tab {
            Tab::Queue if self.detail.is_none() => ListToExport::Queue(self.queue.export_query()),
            Tab::Blocked => ListToExport::Blocked(self.blocked.filter.clone()),
            Tab::Audits => ListToExport::Audits(self.audits.query(None)),
            _ => {
                self.set_status(
                    Level::Info,
                    "Lists are saved from the Queue, Blocked and Audits tabs.",
                );
                return Vec::new();
            }
        };
        self.set_status(
            Level::Info,
            format!(
                "Save the {} list as shown (filters and order): name the file, .json for JSON, else CSV (enter saves, esc cancels).",
                list.name()
            ),
        );
        let text = proposed_file(&list, self.now);
        self.listing = Some(list);
        self.overlay = Some(Overlay::Prompt(Prompt {
            kind: PromptKind::ListFile,
            text,
        }));
        Vec::new()
    }

    /// The file was named (empty: the proposed name is kept).
    pub(super) fn confirm_list_export(&mut self, file: Option<String>) -> Vec<Command> {
        let Some(list) = self.listing.take() else {
            return Vec::new();
        };
        let path = PathBuf::from(file.unwrap_or_else(|| proposed_file(&list, self.now)));
        self.set_status(Level::Info, format!("Saving the {} list…", list.name()));
        vec![Command::ExportList { list, path }]
    }

    pub(super) fn on_list_exported(&mut self, path: PathBuf, result: Result<ExportedList, String>) {
        match result {
            Ok(saved) => self.set_status(
                Level::Info,
                format!(
                    "Saved {} rows to {} ({}){}.",
                    crate::text::thousands(saved.rows as u64),
                    saved.path.display(),
                    if saved.json { "JSON" } else { "CSV" },
                    if saved.cut {
                        format!(
                            "; the list is longer: the first {} rows only (narrow it with filters)",
                            crate::text::thousands(MAX_ROWS as u64)
                        )
                    } else {
                        String::new()
                    }
                ),
            ),
            Err(error) => self.set_status(
                Level::Error,
                format!("Cannot save to {}: {error}", path.display()),
            ),
        }
    }
}

/// `gavel-LIST-DATE-TIME.csv` in the current directory.
fn proposed_file(list: &ListToExport, now: chrono::DateTime<chrono::Utc>) -> String {
    format!("gavel-{}-{}.csv", list.name(), now.format("%Y-%m-%d-%H%M"))
}
