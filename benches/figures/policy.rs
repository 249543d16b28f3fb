//! `gavel policy plan` on the large store: a set that changes outcomes,
//! beside the active set planned against itself (the same agents read and
//! judged, nothing to report).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::report::{Figure, secs};

/// Best of three runs of the whole process.
fn plan(store: &Path, file: &Path) -> Duration {
    (0..3)
        .map(|_| {
            let started = Instant::now();
            let output = Command::new(env!("CARGO_BIN_EXE_gavel"))
                .arg("--db")
                .arg(store)
                .args(["policy", "plan", "--json"])
                .arg(file)
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
    let changed = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/policies/northwind.toml");
    let shown = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .arg("--db")
        .arg(store)
        .args(["policy", "show"])
        .output()
        .expect("gavel policy show");
    assert!(shown.status.success());
    let active = store.with_extension("active-policies.toml");
    std::fs::write(&active, &shown.stdout).expect("the active set");
    let changing = plan(store, &changed);
    let same = plan(store, &active);
    // Adopting the shipped intake and frameworks: every agent judged for
    // the duties that come to apply to it.
    let frameworks = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/frameworks");
    let mut adopting_text = String::from_utf8_lossy(&shown.stdout).into_owned();
    for file in [
        "intake.toml",
        "nyc-ll144.toml",
        "eu-ai-act.toml",
        "colorado-sb26-189.toml",
    ] {
        adopting_text.push('\n');
        adopting_text.push_str(
            &std::fs::read_to_string(frameworks.join(file)).expect("a shipped framework"),
        );
    }
    let adopting = store.with_extension("adopting-frameworks.toml");
    std::fs::write(&adopting, adopting_text).expect("the adopting set");
    let adopt = plan(store, &adopting);
    vec![
        Figure::new(
            format!("`gavel policy plan` of a changed set ({label}, whole process)"),
            secs(changing),
        )
        .target("<= 2 s", changing <= Duration::from_secs(2))
        .reference(format!("the active set against itself: {}", secs(same))),
        Figure::new(
            format!("`gavel policy plan` adopting the shipped frameworks ({label}, whole process)"),
            secs(adopt),
        )
        .target(
            "<= 1.5x the changed set's",
            adopt.as_secs_f64() <= changing.as_secs_f64() * 1.5,
        )
        .reference(format!("a changed set: {}", secs(changing))),
    ]
}
