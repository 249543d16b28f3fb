//! `gavel trail`: the signed Merkle log's key and checkpoints, and what
//! this client witnessed of servers' logs.

use super::args::{Global, TrailCommand};
use super::backends::{self, load_config, local_only, log_key_path, open_store};
use super::exit;
use super::exit::{Failure, Outcome};
use crate::backend::local::logkey;

/// What `trail key` and `trail checkpoint` show.
enum Shown {
    Key,
    Checkpoint,
}

pub async fn run(global: &Global, command: TrailCommand) -> Outcome {
    match command {
        TrailCommand::Trust { url, .. } => trust(&url),
        TrailCommand::Init => init(global).await,
        TrailCommand::Key => show(global, Shown::Key).await,
        TrailCommand::Checkpoint => show(global, Shown::Checkpoint).await,
    }
}

/// Forgets the key and checkpoint witnessed of a server.
fn trust(url: &str) -> Outcome {
    let dir = crate::paths::witness_dir()
        .ok_or_else(|| Failure::BadInput("no witness directory: set GAVEL_WITNESS_DIR".into()))?;
    let url = crate::backend::http::check_url(url)?.to_string();
    let forgot = crate::backend::witness::reset(&dir, &url)
        .map_err(|err| Failure::Other(color_eyre::eyre::eyre!(err)))?;
    println!(
        "{} {}: the next contact pins its key and checkpoint again",
        if forgot {
            "forgot what was witnessed of"
        } else {
            "nothing was witnessed yet of"
        },
        crate::text::sanitize(&url)
    );
    Ok(exit::OK)
}

/// Creates the log key of an existing store.
async fn init(global: &Global) -> Outcome {
    local_only(global, "trail init")?;
    let config = load_config(global)?;
    let store = open_store(global, &config).await?;
    let path = log_key_path(&config, &store)?;
    if path.exists() {
        return Err(Failure::Refused(format!(
            "{} exists already: a log keeps its key (replacing it is what witnesses warn about)",
            path.display()
        )));
    }
    let key = logkey::create(&path, &store.log_name())?;
    eprintln!(
        "log key created at {} (mode 0600; keep it outside backups of the store)",
        path.display()
    );
    eprintln!("public key, for clients and auditors to pin:");
    println!("{}", key.verifier_key);
    Ok(exit::OK)
}

/// The public key, or a signed checkpoint: the server's with `--url`, else
/// the store's (signed now).
async fn show(global: &Global, shown: Shown) -> Outcome {
    let config = load_config(global)?;
    if let Some((remote, _)) = backends::remote(global, &config).await? {
        let text = match shown {
            Shown::Key => remote.log_key().await?,
            Shown::Checkpoint => remote.log_checkpoint().await?,
        };
        println!("{}", crate::text::sanitize_with(text.trim_end(), true));
        return Ok(exit::OK);
    }
    let store = open_store(global, &config).await?;
    let key = logkey::load(&log_key_path(&config, &store)?)?;
    match shown {
        Shown::Key => println!("{}", key.verifier_key),
        Shown::Checkpoint => {
            let note = store.write(|tx| logkey::sign_checkpoint(tx, &key, chrono::Utc::now()))?;
            print!("{note}");
        }
    }
    Ok(exit::OK)
}
