//! Where Gavel keeps its files by default.

use std::path::PathBuf;

use directories::ProjectDirs;

fn project() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "gavel")
}

/// The embedded store used when no `--db` or `--url` is given.
pub fn default_db() -> Option<PathBuf> {
    project().map(|dirs| dirs.data_dir().join("gavel.db"))
}

/// Where Gavel keeps data of the user's own (the default store, what the
/// console remembers).
pub fn data_dir() -> Option<PathBuf> {
    project().map(|dirs| dirs.data_dir().to_owned())
}

pub fn config_dir() -> Option<PathBuf> {
    project().map(|dirs| dirs.config_dir().to_owned())
}

/// Where offline caches of servers live (safe to delete when nothing is
/// pending: they are rebuilt from the server).
pub fn cache_dir() -> Option<PathBuf> {
    project().map(|dirs| dirs.cache_dir().to_owned())
}

/// Where clients remember what they witnessed of servers' logs (the pinned
/// key and the last checkpoint verified); `GAVEL_WITNESS_DIR` overrides.
pub fn witness_dir() -> Option<PathBuf> {
    std::env::var_os("GAVEL_WITNESS_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| project().map(|dirs| dirs.data_dir().join("witness")))
}

/// Where sign-ins are kept when not in the OS keyring;
/// `GAVEL_SESSION_DIR` overrides.
pub fn session_dir() -> Option<PathBuf> {
    std::env::var_os("GAVEL_SESSION_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| project().map(|dirs| dirs.config_dir().join("sessions")))
}
