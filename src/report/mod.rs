//! The board report as a document that proves itself: its figures signed
//! as a C2SP signed note under the trail log's key (`sign`, `open`), drawn
//! as Markdown, HTML or PDF with the signed note inside (`render`), and
//! checked offline by drawing the document again from the note
//! (`verify`): an edited figure no longer matches.

pub mod chart;
pub mod html;
pub mod markdown;
pub mod pdf;
pub mod verify;
mod words;

use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};

use crate::domain::report::{BoardReport, FORMAT};

/// Why a report cannot be signed, read or drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the signed data: {0}")]
    Note(String),
    #[error("the document: {0}")]
    Document(String),
}

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

/// The report as a signed note whose text is its JSON.
pub fn sign(report: &BoardReport, signer: &StandardSigner) -> Result<String, ReportError> {
    let text = serde_json::to_string_pretty(report)
        .map_err(|err| ReportError::Note(err.to_string()))?
        + "\n";
    let mut note =
        Note::new(text.as_bytes(), &[]).map_err(|err| ReportError::Note(err.to_string()))?;
    note.add_sigs(&[signer])
        .map_err(|err| ReportError::Note(err.to_string()))?;
    String::from_utf8(note.to_bytes()).map_err(|err| ReportError::Note(err.to_string()))
}

fn parse(text: &[u8]) -> Result<BoardReport, ReportError> {
    let report: BoardReport =
        serde_json::from_slice(text).map_err(|err| ReportError::Note(err.to_string()))?;
    if report.format != FORMAT {
        return Err(ReportError::Note(format!(
            "it says it is {:?}, not {FORMAT:?}",
            report.format
        )));
    }
    Ok(report)
}

/// The report a signed note holds, its signature checked against `key`
/// (the log's verifier key, `name+id+key`).
pub fn open(note: &str, key: &str) -> Result<BoardReport, ReportError> {
    let verifier = StandardVerifier::new(key.trim())
        .map_err(|err| ReportError::Note(format!("the key is not a log key: {err}")))?;
    let parsed =
        Note::from_bytes(note.as_bytes()).map_err(|err| ReportError::Note(err.to_string()))?;
    parsed
        .verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|err| {
            ReportError::Note(format!("its signature does not verify with the key: {err}"))
        })?;
    parse(parsed.text())
}

/// The report a signed note holds, unchecked: for drawing what the store
/// or server just signed (`verify` is the check).
pub fn read(note: &str) -> Result<BoardReport, ReportError> {
    let parsed =
        Note::from_bytes(note.as_bytes()).map_err(|err| ReportError::Note(err.to_string()))?;
    parse(parsed.text())
}

/// The report drawn in `format`, carrying `note`.
pub fn render(format: Format, report: &BoardReport, note: &str) -> Result<Vec<u8>, ReportError> {
    match format {
        Format::Markdown => Ok(markdown::render(report, note).into_bytes()),
        Format::Html => Ok(html::render(report, note).into_bytes()),
        Format::Pdf => pdf::render(report, note),
    }
}
