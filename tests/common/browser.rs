//! Headless Chromium (installed by scripts/test): what a browser makes of
//! the pages Gavel writes, and how they print.

use std::path::{Path, PathBuf};

/// Headless Chromium (installed by scripts/test), or none on this machine.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("GAVEL_CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    ["chromium-headless-shell", "chromium"]
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|path| path.is_file())
        .expect("headless Chromium is not installed: scripts/test installs it")
}

/// What Chromium makes of `page` (a file), with `flag` (e.g. `--dump-dom`).
pub fn in_chromium(page: &Path, flag: &str) -> String {
    let output = std::process::Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", flag])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
