//! A report's figures as a C2SP signed note under the trail log's key:
//! signed by the store, opened with the log's public key.

use signed_note::StandardSigner;

use crate::domain::report::{BoardReport, FORMAT};
use crate::domain::signed_json;

/// Why a report cannot be signed, read or drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the signed data: {0}")]
    Note(String),
    #[error("the document: {0}")]
    Document(String),
}

/// The report as a signed note whose text is its JSON.
pub fn sign(report: &BoardReport, signer: &StandardSigner) -> Result<String, ReportError> {
    signed_json::sign(report, signer).map_err(ReportError::Note)
}

/// A report read from a note, refused unless it says it is one.
fn checked(report: BoardReport) -> Result<BoardReport, ReportError> {
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
    checked(signed_json::open(note.as_bytes(), key).map_err(ReportError::Note)?)
}

/// The report a signed note holds, unchecked: for drawing what the store
/// or server just signed (`verify` is the check).
pub fn read(note: &str) -> Result<BoardReport, ReportError> {
    checked(signed_json::read(note.as_bytes()).map_err(ReportError::Note)?)
}
