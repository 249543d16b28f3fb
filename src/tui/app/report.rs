//! Saving the board report from the Blocked tab (`B`): the console
//! proposes the last whole quarter, asks for the file (its extension picks
//! PDF, HTML or Markdown), and says where the signed document went. The
//! backend decides who may make it (the set's `read_reports`).

use std::path::PathBuf;

use chrono::NaiveDate;

use super::{App, Level, Overlay};
use crate::domain::report::{Every, ReportQuery};
use crate::tui::command::Command;
use crate::tui::tab::Tab;
use crate::tui::widgets::overlay::{Prompt, PromptKind};

impl App {
    /// `B`: proposes the last whole quarter.
    pub(super) fn start_report(&mut self) -> Vec<Command> {
        if self.tab != Tab::Blocked {
            self.set_status(
                Level::Info,
                "The board report is saved from the Blocked tab (4, then B).",
            );
            return Vec::new();
        }
        let (from, to) = Every::Quarter.period_before(self.now);
        self.set_status(
            Level::Info,
            "The board report's first and last day, YYYY-MM-DD (whole weeks around them; enter goes on, esc cancels).",
        );
        self.overlay = Some(Overlay::Prompt(Prompt {
            kind: PromptKind::ReportPeriod,
            text: format!("{from} {to}"),
        }));
        Vec::new()
    }

    /// The period was named: the file next.
    pub(super) fn report_period(&mut self, value: Option<String>) -> Vec<Command> {
        let (from, to) = match parse_period(value.as_deref().unwrap_or_default()) {
            Ok(period) => period,
            Err(error) => {
                self.set_status(Level::Error, error);
                return Vec::new();
            }
        };
        self.reporting = Some(ReportQuery {
            from,
            to,
            team: None,
        });
        self.set_status(
            Level::Info,
            "Name the report's file: .pdf, .html or .md (enter saves, esc cancels).",
        );
        self.overlay = Some(Overlay::Prompt(Prompt {
            kind: PromptKind::ReportFile,
            text: format!("governance-report-{from}-to-{to}.pdf"),
        }));
        Vec::new()
    }

    /// The file was named (empty: the proposed name is kept).
    pub(super) fn confirm_report(&mut self, file: Option<String>) -> Vec<Command> {
        let Some(query) = self.reporting.take() else {
            return Vec::new();
        };
        let path =
            PathBuf::from(file.unwrap_or_else(|| {
                format!("governance-report-{}-to-{}.pdf", query.from, query.to)
            }));
        self.set_status(
            Level::Info,
            format!("Making the report of {} to {}…", query.from, query.to),
        );
        vec![Command::SaveReport { query, path }]
    }
}

/// "FROM TO", two dates, the first not after the second.
fn parse_period(text: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let dates: Vec<&str> = text.split_whitespace().collect();
    let date = |text: &str| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)"))
    };
    match dates.as_slice() {
        [from, to] => {
            let (from, to) = (date(from)?, date(to)?);
            if to < from {
                return Err(format!("{to} comes before {from}"));
            }
            Ok((from, to))
        }
        _ => Err("give two dates, the first and the last day: 2026-07-01 2026-09-30".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_two_dates_in_order() {
        let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date");
        assert_eq!(
            parse_period(" 2026-07-01  2026-09-30 "),
            Ok((day("2026-07-01"), day("2026-09-30")))
        );
        assert!(parse_period("2026-09-30 2026-07-01").is_err());
        assert!(parse_period("2026-07-01").is_err());
        assert!(parse_period("last quarter").is_err());
    }
}
