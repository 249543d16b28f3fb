//! Every client is a witness of the server's log: on first contact it pins
//! the log's key (and so its origin), and it remembers the last checkpoint
//! it verified. A newer checkpoint must be signed by the pinned key and come
//! with a consistency proof from the remembered one; a changed key, a log
//! that shrank or a proof that fails is a witness error, never a silent
//! re-pin (`gavel trail trust --reset URL` re-pins after a person checked).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::http::HttpBackend;
use super::{BackendError, GovernanceBackend};
use crate::domain::checkpoint::{self, CheckpointError, Verified};
use crate::domain::merkle;

/// What a client remembers of one server's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pinned {
    pub url: String,
    /// The signed-note verifier key pinned on first contact.
    pub key: String,
    /// The last checkpoint verified (the signed note).
    pub checkpoint: String,
}

/// Why the witness refuses what the server shows.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error(
        "the server's log key changed since this client pinned it (pinned {pinned}, now {now}): the log may have been replaced. Find out why; then `gavel trail trust --reset {url}` pins the new key"
    )]
    KeyChanged {
        url: String,
        pinned: String,
        now: String,
    },
    #[error("the server's checkpoint does not hold: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("the server's log cannot be checked: {0}")]
    Backend(#[from] BackendError),
    #[error("the witness file {path} cannot be used: {message}")]
    File { path: String, message: String },
}

impl WitnessError {
    /// Whether this is evidence against the log: not an outage, a refused
    /// token or a local file problem, which the command itself reports.
    pub fn is_evidence(&self) -> bool {
        match self {
            WitnessError::KeyChanged { .. } | WitnessError::Checkpoint(_) => true,
            WitnessError::Backend(
                BackendError::Unavailable(_) | BackendError::Unauthenticated(_),
            )
            | WitnessError::File { .. } => false,
            WitnessError::Backend(_) => true,
        }
    }
}

/// Where a client keeps what it witnessed of `url`.
pub fn file_for(dir: &Path, url: &str) -> PathBuf {
    let digest = crate::domain::digest::sha256_hex(url.trim_end_matches('/'));
    dir.join(format!("{}.json", &digest[..32]))
}

fn file_error(path: &Path, message: impl std::fmt::Display) -> WitnessError {
    WitnessError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

fn read(path: &Path) -> Result<Option<Pinned>, WitnessError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|err| file_error(path, err)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(file_error(path, err)),
    }
}

fn write(path: &Path, pinned: &Pinned) -> Result<(), WitnessError> {
    let text = serde_json::to_string_pretty(pinned).map_err(|err| file_error(path, err))?;
    crate::files::write(path, text.as_bytes(), crate::files::Existing::Replace)
        .map_err(|err| file_error(path, err))
}

/// Forgets what was witnessed of `url` (after a person checked why the
/// key changed); true when there was something to forget.
pub fn reset(dir: &Path, url: &str) -> Result<bool, WitnessError> {
    let path = file_for(dir, url);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(file_error(&path, err)),
    }
}

/// Checks the server's log against what this client witnessed before, and
/// remembers the newer checkpoint when it holds.
pub async fn witness(remote: &HttpBackend, dir: &Path) -> Result<Verified, WitnessError> {
    let url = remote.location();
    let path = file_for(dir, &url);
    let remembered = read(&path)?;
    let key = remote.log_key().await?;
    let pinned_key = match &remembered {
        Some(pinned) if pinned.key.trim() != key.trim() => {
            return Err(WitnessError::KeyChanged {
                url,
                pinned: pinned.key.clone(),
                now: key,
            });
        }
        Some(pinned) => pinned.key.clone(),
        None => key,
    };
    let newer = checkpoint::open(&remote.log_checkpoint().await?, &pinned_key)?;
    if let Some(pinned) = &remembered {
        let before = checkpoint::open(&pinned.checkpoint, &pinned_key)?;
        let proof = if newer.size > before.size && before.size > 0 {
            remote
                .log_consistency(before.size, newer.size)
                .await?
                .iter()
                .map(|text| merkle::from_hex(text))
                .collect::<Option<Vec<_>>>()
                .ok_or(CheckpointError::Inconsistent {
                    remembered: before.size,
                    claimed: newer.size,
                })?
        } else {
            Vec::new()
        };
        checkpoint::check_consistent(&before, &newer, &proof)?;
    }
    write(
        &path,
        &Pinned {
            url,
            key: pinned_key,
            checkpoint: newer.note.clone(),
        },
    )?;
    Ok(newer)
}
