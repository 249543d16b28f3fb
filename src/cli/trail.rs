//! `gavel trail`: the signed Merkle log's key and checkpoints.

use super::args::{Global, TrailCommand};
use super::backends::{self, load_config, log_key_path, open_store};
use super::{Failure, Outcome, exit};
use crate::backend::local::logkey;

pub async fn run(global: &Global, command: TrailCommand) -> Outcome {
    if let TrailCommand::Trust { url, .. } = &command {
        let dir = crate::paths::witness_dir().ok_or_else(|| {
            Failure::BadInput("no witness directory: set GAVEL_WITNESS_DIR".into())
        })?;
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
        return Ok(exit::OK);
    }
    let config = load_config(global)?;
    if let Some((remote, _)) = backends::remote(global, &config)? {
        let text = match command {
            TrailCommand::Init => {
                return Err(Failure::BadInput(
                    "trail init creates a store's key where the store is: run it with --db there"
                        .into(),
                ));
            }
            TrailCommand::Key => remote.log_key().await?,
            TrailCommand::Checkpoint => remote.log_checkpoint().await?,
            TrailCommand::Trust { .. } => unreachable!("handled above"),
        };
        print!("{}", crate::text::sanitize_with(text.trim_end(), true));
        println!();
        return Ok(exit::OK);
    }
    let store = open_store(global, &config)?;
    let path = log_key_path(&config, &store);
    match command {
        TrailCommand::Init => {
            if path.exists() {
                return Err(Failure::Refused(format!(
                    "{} exists already: a log keeps its key (replacing it is what witnesses warn about)",
                    path.display()
                )));
            }
            let key = logkey::create(&path, store.path())?;
            eprintln!(
                "log key created at {} (mode 0600; keep it outside backups of the store)",
                path.display()
            );
            eprintln!("public key, for clients and auditors to pin:");
            println!("{}", key.verifier_key);
        }
        TrailCommand::Key => println!("{}", logkey::load(&path)?.verifier_key),
        TrailCommand::Checkpoint => {
            let key = logkey::load(&path)?;
            let note = store.write(|tx| logkey::sign_checkpoint(tx, &key, chrono::Utc::now()))?;
            print!("{note}");
        }
        TrailCommand::Trust { .. } => unreachable!("handled above"),
    }
    Ok(exit::OK)
}
