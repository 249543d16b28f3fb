//! `gavel policy plan` on the large store: a set that changes outcomes,
//! beside one that changes nothing (the same agents read and judged, no
//! difference to report).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::report::{Figure, secs};

/// Best of three runs of the whole process.
fn plan(store: &Path, set: &str) -> Duration {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(set);
    (0..3)
        .map(|_| {
            let started = Instant::now();
            let output = Command::new(env!("CARGO_BIN_EXE_gavel"))
                .arg("--db")
                .arg(store)
                .args(["policy", "plan", "--json"])
                .arg(&file)
                .output()
                .expect("gavel policy plan");
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

pub fn figures(store: &Path, label: &str) -> Vec<Figure> {
    let changing = plan(store, "examples/policies/northwind.toml");
    let same = plan(store, "examples/policies/default.toml");
    vec![
        Figure::new(
            format!("`gavel policy plan` of a changed set ({label}, whole process)"),
            secs(changing),
        )
        .target("<= 2 s", changing <= Duration::from_secs(2))
        .reference(format!("the built-in set, nothing changed: {}", secs(same))),
    ]
}
