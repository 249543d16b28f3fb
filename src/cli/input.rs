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

pub(super) fn read_manifest(path: &Path) -> Result<Manifest, Failure> {
    let text = read_input(path, MAX_MANIFEST_BYTES)?;
    Manifest::from_json(&text)
        .map_err(|err| Failure::BadInput(format!("{}: {err}", path.display())))
}
