//! Commands on the store itself: seeding, the demo, people.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::args::{DemoArgs, Global, SeedArgs};
use super::backends::{ConsoleBackend, console, ensure_log_key, load_config, local_only};
use super::exit;
use super::exit::{Failure, Outcome};
use super::output::print_json;
use crate::backend::GovernanceBackend;
use crate::backend::local::{LocalBackend, LocalStore};
use crate::seed::{self, SeedOptions};

pub fn today() -> DateTime<Utc> {
    Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or_else(Utc::now, |naive| naive.and_utc())
}

pub fn seed_command(global: &Global, args: &SeedArgs) -> Outcome {
    local_only(global, "seed")?;
    let Some(path) = &global.db else {
        return Err(Failure::BadInput(
            "seed needs --db PATH: it fills a store of your choosing".into(),
        ));
    };
    let anchor = args
        .anchor
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map_or_else(today, |naive| naive.and_utc());
    let options = SeedOptions {
        workflows: args.workflows,
        seed: args.seed,
        anchor,
    };
    let target = args.workflows.max(1);
    let mut progress = |done: u64| {
        eprint!(
            "\rseeding {}: {done}/{target} workflows ({}%)",
            path.display(),
            done * 100 / target
        );
    };
    let report = seed::seed_file(path, &options, &mut progress)?;
    let config = load_config(global)?;
    ensure_log_key(&config, &*LocalStore::open(path)?)?;
    eprintln!();
    let size = std::fs::metadata(path).map(|meta| meta.len()).unwrap_or(0);
    println!(
        "seeded {}: {} workflows ({} in progress), {} deployments, {} agents, {} users, {} audits, {} reviews, {} trail events in {:.1} s ({:.0} workflows/s), {:.1} MB",
        path.display(),
        report.workflows,
        report.in_progress,
        report.deployments,
        report.agents,
        report.users,
        report.audits,
        report.reviews,
        report.trail_events,
        report.seconds,
        report.workflows as f64 / report.seconds.max(1e-9),
        size as f64 / 1e6,
    );
    Ok(exit::OK)
}

/// `gavel demo`: the console as the demo user on a generated store — at
/// `--db` when given (seeded there when it is new, opened again when it
/// holds one already), else in a directory of its own under the temp dir
/// (named on quit, to open again or remove).
pub async fn demo(global: &Global, args: &DemoArgs) -> Outcome {
    let path = match &global.db {
        Some(path) => path.clone(),
        None => std::env::temp_dir()
            .join(format!("gavel-demo-{}", std::process::id()))
            .join("demo.db"),
    };
    let seeded_before = std::fs::metadata(&path).is_ok_and(|meta| meta.len() > 0);
    if !seeded_before {
        let options = SeedOptions {
            workflows: args.workflows,
            seed: args.seed,
            anchor: today(),
        };
        seed::seed_file(&path, &options, &mut |_| {})?;
    }
    let store = if seeded_before {
        LocalStore::open_existing(&path)?
    } else {
        LocalStore::open(&path)?
    };
    if !seeded_before {
        // The demo organisation answers to the shipped frameworks, and
        // some of its agents in use have had incidents.
        seed::adopt_shipped_frameworks(&store, seed::DEMO_USER).await?;
        seed::report_demo_incidents(&store).await?;
    }
    let local = LocalBackend::new(store, Some(seed::DEMO_USER.to_owned()));
    // A store of real work (GAVEL_DB set, say) is never opened as a demo.
    if seeded_before && local.me().await.is_err() {
        return Err(Failure::BadInput(format!(
            "{} is not a demo store (it has no {}): `gavel demo --db` takes a new file, or one a demo made",
            path.display(),
            seed::DEMO_USER
        )));
    }
    if seeded_before {
        eprintln!(
            "{} exists: opening it as it is (remove it for a new demo)",
            path.display()
        );
    }
    // The log key signs the evidence packs `E` saves.
    let key = crate::backend::local::logkey::load_or_create(
        &crate::backend::local::logkey::default_path(&path),
        &path,
    )?;
    let backend: Arc<dyn GovernanceBackend> = Arc::new(local.with_log_key(Arc::new(key)));
    let code = console(
        ConsoleBackend::plain(backend),
        None,
        global,
        &load_config(global)?,
    )
    .await?;
    println!("The demo store is {}; open it again with:", path.display());
    println!("  gavel --db {} --user {}", path.display(), seed::DEMO_USER);
    Ok(code)
}

fn is_database_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// `gavel store copy`: the whole record from one store into another.
pub async fn copy(from: &str, to: &str, replace: bool, json: bool) -> Outcome {
    let source = if is_database_url(from) {
        LocalStore::connect(from).await?
    } else {
        LocalStore::open_existing(std::path::Path::new(from))?
    };
    let target = if is_database_url(to) {
        LocalStore::connect(to).await?
    } else {
        let path = std::path::Path::new(to);
        if path.exists() {
            LocalStore::open_existing(path)?
        } else {
            LocalStore::open(path)?
        }
    };
    if source.location() == target.location() {
        return Err(Failure::BadInput(
            "--from and --to name the same store".into(),
        ));
    }
    let (from_shown, to_shown) = (source.location(), target.location());
    let report = crate::backend::blocking(move || {
        let mut last_table = String::new();
        crate::backend::local::copy::copy(&source, &target, replace, &mut |table, rows| {
            if !json && (table != last_table || rows % 100_000 == 0) {
                eprintln!("  {table}: {rows} rows");
                last_table = table.to_owned();
            }
        })
    })
    .await?;
    if json {
        print_json(&report)?;
    } else {
        let rows: u64 = report.tables.values().sum();
        println!(
            "copied {rows} rows in {} tables from {from_shown} to {to_shown}",
            report.tables.len()
        );
        println!(
            "checked: every table has as many rows on both sides; the log is {} events with root {} on both",
            report.log_size, report.log_root
        );
        println!(
            "the log key is not in the store: point the target's servers at the same key file ([log] key_file)"
        );
    }
    Ok(exit::OK)
}

/// The log key's file beside a store file or a backup.
fn key_beside(path: &std::path::Path) -> std::path::PathBuf {
    crate::backend::local::logkey::default_path(path)
}

/// `gavel store backup --to FILE`: the store and its log key, copied.
pub async fn backup(global: &Global, to: &std::path::Path) -> Outcome {
    super::backends::local_only(global, "store backup")?;
    let config = super::backends::load_config(global)?;
    let store = super::backends::open_store(global, &config).await?;
    let key = super::backends::log_key_path(&config, &store)?;
    let copying = std::sync::Arc::clone(&store);
    let target = to.to_owned();
    tokio::task::spawn_blocking(move || copying.backup_to(&target))
        .await
        .map_err(|err| Failure::Other(color_eyre::eyre::eyre!("the backup stopped: {err}")))??;
    let kept = key_beside(to);
    let bytes = std::fs::read(&key).map_err(|err| {
        Failure::BadInput(format!("cannot read the log key {}: {err}", key.display()))
    })?;
    crate::files::write(&kept, &bytes, crate::files::Existing::Keep)
        .map_err(|err| Failure::BadInput(format!("cannot write {}: {err}", kept.display())))?;
    println!(
        "backed up {} to {} (quick_check ok), its log key to {} (keep them apart from the store, and the key secret)",
        store.location(),
        to.display(),
        kept.display()
    );
    Ok(exit::OK)
}

/// `gavel store restore --from FILE --to PATH [--force]`.
pub fn restore(from: &std::path::Path, to: &std::path::Path, force: bool) -> Outcome {
    crate::backend::local::LocalStore::restore(from, to, force)?;
    let key = key_beside(from);
    if key.exists() {
        let bytes = std::fs::read(&key)
            .map_err(|err| Failure::BadInput(format!("cannot read {}: {err}", key.display())))?;
        let existing = if force {
            crate::files::Existing::Replace
        } else {
            crate::files::Existing::Keep
        };
        crate::files::write(&key_beside(to), &bytes, existing).map_err(|err| {
            Failure::BadInput(format!("cannot write {}: {err}", key_beside(to).display()))
        })?;
    }
    println!(
        "restored {} as {}: clients that saw a later checkpoint will warn (exit 6); see docs/backups.md",
        from.display(),
        to.display()
    );
    Ok(exit::OK)
}
