//! The formats a report is drawn in, and drawing one.

use super::note::ReportError;
use super::{html, markdown, pdf};
use crate::domain::report::BoardReport;

/// The formats a report is drawn in, by the output file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Html,
    Pdf,
}

impl Format {
    pub fn of_path(path: &std::path::Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "md" | "markdown" => Some(Format::Markdown),
            "html" | "htm" => Some(Format::Html),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Markdown => "Markdown",
            Format::Html => "HTML",
            Format::Pdf => "PDF",
        }
    }
}

/// The report drawn in `format`, carrying `note`.
pub fn render(format: Format, report: &BoardReport, note: &str) -> Result<Vec<u8>, ReportError> {
    match format {
        Format::Markdown => Ok(markdown::render(report, note).into_bytes()),
        Format::Html => Ok(html::render(report, note).into_bytes()),
        Format::Pdf => pdf::render(report, note),
    }
}
