//! Writing Gavel's own files (packs, keys, sessions, witness files, cache
//! exports): the one way a file under a final name is written. The bytes go
//! to a temporary file created exclusively in the target's directory under
//! an unpredictable name (so a link planted beside the target is never
//! followed, and nothing else can be opened in its place), readable by its
//! owner only, synced, then renamed over the target. A reader sees the old
//! file or the new one, never half of one.

use std::io::Write;
use std::path::Path;

/// Whether an existing file at the target may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Replace,
    /// Refuse with `AlreadyExists` and leave it as it was.
    Keep,
}

/// Adds `bytes` to the end of the file at `path` (one another tool gave,
/// such as CI's step summary), written whole again the same atomic way.
pub fn append(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut whole = match std::fs::read(path) {
        Ok(kept) => kept,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(err) => return Err(err),
    };
    whole.extend_from_slice(bytes);
    write(path, &whole, Existing::Replace)
}

/// Gives a finished file another tool wrote beside the target (SQLite's
/// `VACUUM INTO`, say) its final name, atomically: over an existing file
/// only when `existing` is `Replace`.
pub fn place(finished: &Path, path: &Path, existing: Existing) -> std::io::Result<()> {
    match existing {
        Existing::Replace => std::fs::rename(finished, path),
        // A link fails where a file is: never a clobber.
        Existing::Keep => {
            std::fs::hard_link(finished, path).and_then(|()| std::fs::remove_file(finished))
        }
    }
}

/// Opens (creating, mode 0600) a lock file for advisory locks: its bytes
/// are never written.
pub fn lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).read(true).write(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes `bytes` to `path` atomically, creating its directory.
pub fn write(path: &Path, bytes: &[u8], existing: Existing) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Created with O_EXCL and mode 0600 under a random name.
    let mut temporary = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .tempfile_in(dir)?;
    temporary.write_all(bytes)?;
    temporary.as_file().sync_all()?;
    match existing {
        Existing::Replace => temporary.persist(path).map(drop),
        Existing::Keep => temporary.persist_noclobber(path).map(drop),
    }
    .map_err(|err| match err.error.kind() {
        std::io::ErrorKind::AlreadyExists => std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} exists already", path.display()),
        ),
        _ => err.error,
    })
}

/// Opens a file a person named for reading without waiting on it: a FIFO
/// with nobody writing to it reads as empty at once instead of hanging
/// the command (one being written, as `<(...)` makes, reads as usual).
pub fn open_for_reading(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor this function owns, changing only
        // its blocking flag back once the open cannot wait any more.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
    }
    Ok(file)
}

/// Moves a file to a new name that must not exist yet (a damaged cache
/// set aside): never replaces what is there, whatever it is.
pub fn move_aside(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::hard_link(from, to)?;
    std::fs::remove_file(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_link_is_replaced_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        let target = dir.path().join("out.zip");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&victim, dir.path().join("out.zip.partial")).unwrap();
            std::os::unix::fs::symlink(&victim, &target).unwrap();
        }
        write(&target, b"pack", Existing::Replace).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(std::fs::read(&target).unwrap(), b"pack");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&target).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn keep_refuses_an_existing_file_and_leaves_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("key");
        std::fs::write(&target, "old").unwrap();
        let err = write(&target, b"new", Existing::Keep).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    /// Every file Gavel writes under a final name goes through `write`:
    /// no other module writes or renames one itself.
    #[test]
    fn no_module_writes_a_final_file_itself() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut offenders = Vec::new();
        let mut stack = vec![src];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|ext| ext != "rs") || path.ends_with("src/files.rs")
                {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // Tests write their fixtures as they like.
                let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                for pattern in [
                    "fs::write(",
                    "fs::rename(",
                    "File::create(",
                    "OpenOptions::new(",
                ] {
                    if code.contains(pattern) {
                        offenders.push(format!("{}: {pattern}", path.display()));
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "write through gavel::files: {offenders:?}"
        );
    }
}
