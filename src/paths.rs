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

pub fn config_dir() -> Option<PathBuf> {
    project().map(|dirs| dirs.config_dir().to_owned())
}

/// Where offline caches of servers live (safe to delete when nothing is
/// pending: they are rebuilt from the server).
pub fn cache_dir() -> Option<PathBuf> {
    project().map(|dirs| dirs.cache_dir().to_owned())
}
