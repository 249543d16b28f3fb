//! Checking a report offline with nothing but the log's public key: the
//! signed note it carries must verify, its checkpoint too, and drawing the
//! document again from the signed figures must give the document's own
//! bytes, so a figure edited in the page (or the PDF's text) is caught.

use serde::Serialize;

use super::format::{Format, render};
use super::note::{ReportError, open};
use super::{html, markdown, pdf};
use crate::domain::report::BoardReport;

/// What checking a report found.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub format: &'static str,
    /// The signed report, when its signature holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<BoardReport>,
    /// Checkpoint size the figures were read at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_size: Option<u64>,
    pub problems: Vec<String>,
}

impl Verdict {
    pub fn holds(&self) -> bool {
        self.report.is_some() && self.problems.is_empty()
    }
}

/// The format of a document, by its content (not its name).
pub fn format_of(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(b"%PDF-") {
        return Some(Format::Pdf);
    }
    let text = std::str::from_utf8(bytes).ok()?;
    if text.contains(&format!("id=\"{}\"", html::SCRIPT_ID)) {
        Some(Format::Html)
    } else if text.contains(markdown::FENCE) {
        Some(Format::Markdown)
    } else {
        None
    }
}

fn note_of(format: Format, bytes: &[u8]) -> Result<String, ReportError> {
    let text = || {
        std::str::from_utf8(bytes).map_err(|_| ReportError::Document("it is not UTF-8 text".into()))
    };
    let missing = || ReportError::Document("it carries no signed figures".into());
    match format {
        Format::Pdf => pdf::embedded_note(bytes),
        Format::Html => html::embedded_note(text()?).ok_or_else(missing),
        Format::Markdown => markdown::embedded_note(text()?).ok_or_else(missing),
    }
}

/// Where two texts first differ, as the document's line and the line the
/// signed figures draw.
fn first_difference(document: &str, drawn: &str) -> String {
    let mut drawn_lines = drawn.lines();
    for (number, line) in document.lines().enumerate() {
        let expected = drawn_lines.next().unwrap_or("");
        if line != expected {
            let clip = |text: &str| text.chars().take(160).collect::<String>();
            return format!(
                "line {}: the document says {:?}; the signed figures say {:?}",
                number + 1,
                clip(line),
                clip(expected)
            );
        }
    }
    "the document is shorter or longer than the signed figures draw".into()
}

/// Checks a report's bytes against the log's verifier key.
pub fn verify(bytes: &[u8], key: &str) -> Verdict {
    let Some(format) = format_of(bytes) else {
        return Verdict {
            format: "unknown",
            report: None,
            checkpoint_size: None,
            problems: vec![
                "not a Gavel report: no signed figures in an HTML script block, a Markdown fence or a PDF attachment".into(),
            ],
        };
    };
    let mut verdict = Verdict {
        format: format.name(),
        report: None,
        checkpoint_size: None,
        problems: Vec::new(),
    };
    let report = match note_of(format, bytes).and_then(|note| {
        let report = open(&note, key)?;
        Ok((note, report))
    }) {
        Ok(found) => found,
        Err(err) => {
            verdict.problems.push(err.to_string());
            return verdict;
        }
    };
    let (note, report) = report;
    match crate::domain::checkpoint::open(&report.checkpoint, key) {
        Ok(checkpoint) => verdict.checkpoint_size = Some(checkpoint.size),
        Err(err) => verdict
            .problems
            .push(format!("the checkpoint it was read at: {err}")),
    }
    match render(format, &report, &note) {
        Ok(drawn) if drawn == bytes => {}
        Ok(drawn) => verdict.problems.push(match format {
            Format::Pdf => "the PDF's pages differ from what its signed figures draw: it was changed after it was made (or made by another version of Gavel)".into(),
            _ => first_difference(
                &String::from_utf8_lossy(bytes),
                &String::from_utf8_lossy(&drawn),
            ),
        }),
        Err(err) => verdict.problems.push(err.to_string()),
    }
    verdict.report = Some(report);
    verdict
}
