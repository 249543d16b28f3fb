//! What commands read: files or stdin, bounded, as UTF-8; manifests.

use std::io::Read;
use std::path::Path;

use super::exit::Failure;
use crate::domain::manifest::{MAX_MANIFEST_BYTES, Manifest};

/// Reads a file (or stdin for `-`) of at most `limit` bytes as UTF-8.
pub(super) fn read_input(path: &Path, limit: usize) -> Result<String, Failure> {
    let mut bytes = Vec::new();
    let shown = path.display();
    let result = if path == Path::new("-") {
        std::io::stdin()
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)
    } else {
        crate::files::open_for_reading(path)
            .and_then(|file| file.take(limit as u64 + 1).read_to_end(&mut bytes))
    };
    result.map_err(|err| Failure::BadInput(format!("cannot read {shown}: {err}")))?;
    if bytes.len() > limit {
        return Err(Failure::BadInput(format!(
            "{shown} is larger than {limit} bytes"
        )));
    }
    String::from_utf8(bytes)
        .map_err(|err| Failure::BadInput(format!("{shown} is not UTF-8 text: {err}")))
}

/// SHA-256 of a file a person named (a document of any size), read as a
/// stream, and without hanging on a FIFO nobody writes to.
pub(super) fn file_sha256(path: &Path) -> Result<String, Failure> {
    use sha2::Digest;
    let cannot =
        |err: std::io::Error| Failure::BadInput(format!("cannot read {}: {err}", path.display()));
    let mut file = crate::files::open_for_reading(path).map_err(cannot)?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = file.read(&mut buffer).map_err(cannot)?;
        if read == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buffer[..read]);
    }
}

pub(super) fn read_manifest(path: &Path) -> Result<Manifest, Failure> {
    let text = read_input(path, MAX_MANIFEST_BYTES)?;
    Manifest::from_json(&text)
        .map_err(|err| Failure::BadInput(format!("{}: {err}", path.display())))
}
