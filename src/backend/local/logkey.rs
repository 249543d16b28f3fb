//! The log's signing key: an Ed25519 signed-note key in a file of its own
//! beside the store (never inside the database it signs), mode 0600. Every
//! server process on one store shares it.

use std::path::{Path, PathBuf};

use crate::db::{Connection, OptionalExtension, params};
use signed_note::StandardSigner;

use super::rows::to_ms;
use crate::backend::{BackendError, Result};
use crate::domain::checkpoint;

/// The log key of a store.
pub struct LogKey {
    pub signer: StandardSigner,
    /// The signed-note verifier key (`origin+id+key`) clients pin.
    pub verifier_key: String,
    pub origin: String,
    /// The attestation key: Ed25519, derived from the log key's secret
    /// under its own label, so it is kept exactly as the log key is (one
    /// file, 0600, shared by every server on the store) yet never signs
    /// what the log key signs.
    pub attestation: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogKey")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// Where a store's key lives unless the config names another file.
pub fn default_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".log-key");
    PathBuf::from(name)
}

/// The log's name: stable for a key, different for every store.
fn new_origin(store: &Path) -> String {
    let stem: String = store
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "store".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    format!("gavel.log/{stem}-{}", &tag[..12])
}

/// Creates a key for `store` at `path`; refuses to replace one.
pub fn create(path: &Path, store: &Path) -> Result<LogKey> {
    let (signer_key, verifier_key) = checkpoint::generate_key(&new_origin(store));
    crate::files::write(
        path,
        format!("{signer_key}\n{verifier_key}\n").as_bytes(),
        crate::files::Existing::Keep,
    )
    .map_err(|err| {
        BackendError::Storage(format!(
            "cannot create the log key {}: {err}",
            path.display()
        ))
    })?;
    load(path)
}

/// Reads a key file; refuses one others may read.
pub fn load(path: &Path) -> Result<LogKey> {
    let missing = |err: std::io::Error| {
        BackendError::Invalid(format!(
            "no log key at {} ({err}): create it with `gavel trail init`",
            path.display()
        ))
    };
    let meta = std::fs::metadata(path).map_err(missing)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(BackendError::Invalid(format!(
                "the log key {} is readable by others (mode {mode:o}): chmod 600 it",
                path.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let text = std::fs::read_to_string(path).map_err(missing)?;
    let mut lines = text.lines();
    let bad = || BackendError::Invalid(format!("{} is not a Gavel log key", path.display()));
    let signer_text = lines.next().ok_or_else(bad)?;
    let signer = StandardSigner::new(signer_text).map_err(|_| bad())?;
    let attestation = attestation_key(signer_text).ok_or_else(bad)?;
    let verifier_key = lines.next().ok_or_else(bad)?.trim().to_owned();
    let origin = signed_note::Signer::name(&signer).to_owned();
    // The two lines must be one key pair.
    let probe = checkpoint::sign(&signer, 0, tlog_tiles::tlog::EMPTY_HASH).map_err(|_| bad())?;
    checkpoint::open(&probe, &verifier_key).map_err(|_| bad())?;
    Ok(LogKey {
        signer,
        verifier_key,
        origin,
        attestation,
    })
}

/// The attestation key of a signed-note signer key
/// (`PRIVATE+KEY+name+hash+base64(0x01 ‖ seed)`): SHA-256 of a label and
/// the seed.
fn attestation_key(signer_text: &str) -> Option<ed25519_dalek::SigningKey> {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    // The key's base64 may itself hold `+`: it is everything after the
    // fourth separator (names and hashes hold none).
    let encoded = signer_text.trim().splitn(5, '+').nth(4)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let (&[1], seed) = bytes.split_first_chunk::<1>()? else {
        return None;
    };
    let seed: [u8; 32] = Sha256::new()
        .chain_update(b"gavel attestation key v1\0")
        .chain_update(seed)
        .finalize()
        .into();
    Some(ed25519_dalek::SigningKey::from_bytes(&seed))
}

/// Loads the key at `path`, creating it first if there is none.
pub fn load_or_create(path: &Path, store: &Path) -> Result<LogKey> {
    if path.exists() {
        load(path)
    } else {
        create(path, store)
    }
}

/// Signs a checkpoint of the log as it is now (once per size) and keeps it.
pub fn sign_checkpoint(
    conn: &Connection,
    key: &LogKey,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String> {
    let size = super::log::size(conn)?;
    if let Some(note) = checkpoint_of_size(conn, size)? {
        return Ok(note);
    }
    let root = super::log::root(conn, size)?;
    let note = checkpoint::sign(&key.signer, size, root)
        .map_err(|err| BackendError::Storage(format!("cannot sign a checkpoint: {err}")))?;
    keep_checkpoint(conn, size, &note, now)?;
    Ok(note)
}

/// Keeps a signed checkpoint (once per size).
pub fn keep_checkpoint(
    conn: &Connection,
    size: u64,
    note: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO checkpoints (size, note, signed_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![size as i64, note, to_ms(now)],
    )?;
    Ok(())
}

pub fn checkpoint_of_size(conn: &Connection, size: u64) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT note FROM checkpoints WHERE size = ?1")?
        .query_row([size as i64], |row| row.get(0))
        .optional()?)
}

/// The newest checkpoint signed, if any, and its size.
pub fn latest_checkpoint(conn: &Connection) -> Result<Option<(u64, String)>> {
    Ok(conn
        .prepare_cached("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1")?
        .query_row(crate::db::params![], |row| {
            Ok((row.get::<i64>(0)? as u64, row.get(1)?))
        })
        .optional()?)
}
