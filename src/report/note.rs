//! A report's figures as a C2SP signed note under the trail log's key:
//! signed by the store, opened with the log's public key.

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
