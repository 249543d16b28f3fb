//! What the console remembers between runs: the queue's last saved view
//! and sort. A small JSON file of the user's own; a damaged or foreign one
//! is ignored (the console opens on its defaults), never trusted further.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::backend::QueueSort;

/// A remembered file larger than this is not ours.
const MAX_BYTES: u64 = 4096;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleMemory {
    /// The saved view's name.
    pub view: Option<String>,
    pub sort: Option<QueueSort>,
}

impl ConsoleMemory {
    /// Where it is kept: `GAVEL_STATE_DIR`, else the user data directory.
    pub fn default_path() -> Option<PathBuf> {
        std::env::var_os("GAVEL_STATE_DIR")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .or_else(crate::paths::data_dir)
            .map(|dir| dir.join("console.json"))
    }

    /// What `path` holds; nothing when it is missing, too large or not
    /// ours (with a line saying so for anything but missing).
    pub fn load(path: &Path) -> (ConsoleMemory, Option<String>) {
        let read = std::fs::File::open(path).and_then(|file| {
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut std::io::Read::take(file, MAX_BYTES + 1),
                &mut text,
            )?;
            Ok(text)
        });
        let text = match read {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return (ConsoleMemory::default(), None);
            }
            Err(err) => return (ConsoleMemory::default(), Some(unreadable(path, &err))),
        };
        if text.len() as u64 > MAX_BYTES {
            return (
                ConsoleMemory::default(),
                Some(unreadable(path, &"larger than a remembered view")),
            );
        }
        match serde_json::from_str(&text) {
            Ok(memory) => (memory, None),
            Err(err) => (ConsoleMemory::default(), Some(unreadable(path, &err))),
        }
    }

    /// Written as Gavel writes its own files (`files::write`): a crash
    /// leaves the old file or the new one, and a link at `path` is
    /// replaced, not followed.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        crate::files::write(path, &bytes, crate::files::Existing::Replace)
    }
}

fn unreadable(path: &Path, why: &dyn std::fmt::Display) -> String {
    format!(
        "ignored the remembered queue view {} ({why}); opening on the first view",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_saved_is_read_back_and_anything_else_is_ignored_with_a_word() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("console.json");
        assert_eq!(ConsoleMemory::load(&path), (ConsoleMemory::default(), None));
        let memory = ConsoleMemory {
            view: Some("High risk".into()),
            sort: Some(QueueSort::Risk),
        };
        memory.save(&path).unwrap();
        assert_eq!(ConsoleMemory::load(&path), (memory, None));

        std::fs::write(&path, "{\"view\": 3}").unwrap();
        let (memory, warning) = ConsoleMemory::load(&path);
        assert_eq!(memory, ConsoleMemory::default());
        assert!(warning.unwrap().contains("ignored"));

        std::fs::write(&path, " ".repeat(10_000)).unwrap();
        let (memory, warning) = ConsoleMemory::load(&path);
        assert_eq!(memory, ConsoleMemory::default());
        assert!(warning.unwrap().contains("larger"));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_in_its_place_is_replaced_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep me").unwrap();
        let path = dir.path().join("console.json");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        ConsoleMemory::default().save(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink());
    }
}
