//! A record signed as a C2SP signed note under the trail log's key, the
//! note's text being the record's JSON: an evidence pack's list of files
//! and a board report are kept so.

use serde::Serialize;
use serde::de::DeserializeOwned;
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};

/// `value` as a signed note whose text is its pretty JSON.
pub fn sign<T: Serialize>(value: &T, signer: &StandardSigner) -> Result<String, String> {
    let text = serde_json::to_string_pretty(value).map_err(|err| err.to_string())? + "\n";
    let mut note = Note::new(text.as_bytes(), &[]).map_err(|err| err.to_string())?;
    note.add_sigs(&[signer]).map_err(|err| err.to_string())?;
    String::from_utf8(note.to_bytes()).map_err(|err| err.to_string())
}

/// The record a signed note holds, its signature checked against `key`
/// (the log's verifier key, `name+id+key`).
pub fn open<T: DeserializeOwned>(note: &[u8], key: &str) -> Result<T, String> {
    let verifier = StandardVerifier::new(key.trim())
        .map_err(|err| format!("the key is not a log key: {err}"))?;
    let parsed = Note::from_bytes(note).map_err(|err| err.to_string())?;
    parsed
        .verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|err| format!("its signature does not verify with the key: {err}"))?;
    serde_json::from_slice(parsed.text()).map_err(|err| err.to_string())
}

/// The record a signed note holds, its signature unchecked (for drawing
/// what the store just signed; `open` is the check).
pub fn read<T: DeserializeOwned>(note: &[u8]) -> Result<T, String> {
    let parsed = Note::from_bytes(note).map_err(|err| err.to_string())?;
    serde_json::from_slice(parsed.text()).map_err(|err| err.to_string())
}
