//! An evidence pack's container: its files, the list of their SHA-256
//! hashes (`pack.json`) signed as a C2SP signed note under the trail log's
//! key, and the zip they travel in. Nothing here reads a store: `verify`
//! opens a pack with nothing but the log's public key.

use std::io::{Read, Write};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use signed_note::StandardSigner;

/// The signed list of every other file.
pub const LIST: &str = "pack.json";
/// What `pack.json` says it is.
pub const FORMAT: &str = "gavel-evidence-pack/1";
/// The most files, and bytes once unpacked, a pack may hold (a zip from
/// outside is untrusted: a small file may unpack to gigabytes).
pub const MAX_FILES: usize = 200_000;
pub const MAX_UNPACKED_BYTES: u64 = 4 << 30;

/// Why a pack cannot be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    #[error("not a readable zip: {0}")]
    Zip(String),
    #[error("{path}: {what}")]
    File { path: String, what: String },
    #[error("pack.json: {0}")]
    List(String),
}

/// One file of a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

impl PackFile {
    pub fn new(path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> PackFile {
        PackFile {
            path: path.into(),
            bytes: bytes.into(),
        }
    }

    pub fn sha256(&self) -> String {
        sha256(&self.bytes)
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    crate::domain::digest::sha256_hex(bytes)
}

/// A file as `pack.json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// What `pack.json` says: what the pack is about, and every other file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub format: String,
    /// The trail log's origin, the name its key signs with.
    pub origin: String,
    pub agent_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    pub exported_at: DateTime<Utc>,
    pub exported_by: String,
    pub files: Vec<Listed>,
}

impl Listing {
    /// Lists `files` (in the order given).
    pub fn of(files: &[PackFile], about: Listing) -> Listing {
        Listing {
            files: files
                .iter()
                .map(|file| Listed {
                    path: file.path.clone(),
                    sha256: file.sha256(),
                    bytes: file.bytes.len() as u64,
                })
                .collect(),
            ..about
        }
    }
}

/// `pack.json`: the listing as a signed note (its text is the JSON).
pub fn sign(listing: &Listing, signer: &StandardSigner) -> Result<String, PackError> {
    crate::domain::signed_json::sign(listing, signer).map_err(PackError::List)
}

/// Reads `pack.json`, checking its signature against `key` (the log's
/// verifier key, `name+id+key`).
pub fn open(note: &[u8], key: &str) -> Result<Listing, PackError> {
    crate::domain::signed_json::open(note, key).map_err(PackError::List)
}

/// Whether a path may be a pack's: relative, `/`-separated, no `..`.
fn safe_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 512
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && path.chars().all(|c| !c.is_control())
}

/// The zip of `files`, deflated, with a fixed time so the same files give
/// the same bytes.
pub fn zip(files: &[PackFile]) -> Result<Vec<u8>, PackError> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for file in files {
        if !safe_path(&file.path) {
            return Err(PackError::File {
                path: file.path.clone(),
                what: "not a relative path".into(),
            });
        }
        writer
            .start_file(file.path.as_str(), options)
            .map_err(|err| PackError::Zip(err.to_string()))?;
        writer
            .write_all(&file.bytes)
            .map_err(|err| PackError::Zip(err.to_string()))?;
    }
    let cursor = writer
        .finish()
        .map_err(|err| PackError::Zip(err.to_string()))?;
    Ok(cursor.into_inner())
}

/// How many files a zip holds, read from its directory without unpacking.
pub fn count(bytes: &[u8]) -> Result<usize, PackError> {
    zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map(|archive| archive.len())
        .map_err(|err| PackError::Zip(err.to_string()))
}

/// Writes a pack to `path` atomically (`crate::files`), so a failure never
/// leaves half a pack under the name and a planted link is never
/// followed. Without `replace`, an existing file is refused
/// (`AlreadyExists`) and left as it was.
pub fn save(path: &std::path::Path, bytes: &[u8], replace: bool) -> std::io::Result<()> {
    let existing = if replace {
        crate::files::Existing::Replace
    } else {
        crate::files::Existing::Keep
    };
    crate::files::write(path, bytes, existing)
}

/// The files of a zip, within the limits, each path checked.
pub fn unzip(bytes: &[u8]) -> Result<Vec<PackFile>, PackError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|err| PackError::Zip(err.to_string()))?;
    if archive.len() > MAX_FILES {
        return Err(PackError::Zip(format!(
            "{} files; a pack holds at most {MAX_FILES}",
            archive.len()
        )));
    }
    let mut files = Vec::with_capacity(archive.len());
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|err| PackError::Zip(err.to_string()))?;
        if entry.is_dir() {
            continue;
        }
        let path = entry.name().to_owned();
        if !safe_path(&path) {
            return Err(PackError::File {
                path,
                what: "not a relative path inside the pack".into(),
            });
        }
        let budget = MAX_UNPACKED_BYTES.saturating_sub(total);
        let mut content = Vec::new();
        (&mut entry)
            .take(budget + 1)
            .read_to_end(&mut content)
            .map_err(|err| PackError::File {
                path: path.clone(),
                what: format!("cannot be unpacked: {err}"),
            })?;
        total += content.len() as u64;
        if total > MAX_UNPACKED_BYTES {
            return Err(PackError::Zip(format!(
                "it unpacks to more than {MAX_UNPACKED_BYTES} bytes"
            )));
        }
        if files.iter().any(|file: &PackFile| file.path == path) {
            return Err(PackError::File {
                path,
                what: "is in the zip twice".into(),
            });
        }
        files.push(PackFile::new(path, content));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(files: &[PackFile]) -> Listing {
        Listing::of(
            files,
            Listing {
                format: FORMAT.into(),
                origin: "gavel.example/log".into(),
                agent_id: "agt-1".into(),
                agent_version: None,
                from: None,
                to: None,
                exported_at: Utc::now(),
                exported_by: "co@example.com".into(),
                files: Vec::new(),
            },
        )
    }

    #[test]
    fn a_signed_listing_opens_with_its_key_only() {
        let (signer, verifier) = crate::domain::checkpoint::generate_key("gavel.example/log");
        let other = crate::domain::checkpoint::generate_key("gavel.example/log").1;
        let signer = StandardSigner::new(&signer).unwrap();
        let files = [PackFile::new("index.html", "<p>hi</p>")];
        let note = sign(&listing(&files), &signer).unwrap();
        let opened = open(note.as_bytes(), &verifier).unwrap();
        assert_eq!(opened.files[0].sha256, files[0].sha256());
        assert!(open(note.as_bytes(), &other).is_err(), "another key");
        let edited = note.replace(&files[0].sha256(), &sha256(b"<p>bye</p>"));
        assert!(
            open(edited.as_bytes(), &verifier).is_err(),
            "an edited list"
        );
    }

    #[test]
    fn a_zip_round_trips_and_refuses_paths_outside_it() {
        let files = vec![
            PackFile::new("index.html", "<p>hi</p>"),
            PackFile::new("trail/events.jsonl", "{}\n"),
        ];
        let bytes = zip(&files).unwrap();
        assert_eq!(unzip(&bytes).unwrap(), files);
        assert_eq!(
            zip(&files).unwrap(),
            bytes,
            "the same files, the same bytes"
        );
        assert!(zip(&[PackFile::new("../x", "")]).is_err());
        assert!(zip(&[PackFile::new("/etc/x", "")]).is_err());
        assert!(unzip(b"not a zip").is_err());
    }
}
