//! The command line: `args` says what it accepts, `mod.rs` dispatches, and
//! each command group lives in a file of its own.
//!
//! Layer 8, the entry (docs/architecture.md): may import every layer; the
//! commands import `exit`, `input`, `output` and `backends`, never this door.

mod args;
mod attest;
mod attest_args;
mod audit_args;
mod audit_run;
mod auth;
mod backends;
mod ci_formats;
mod delegate;
mod evidence;
mod exception_args;
mod exceptions;
pub mod exit;
mod governance;
mod incident_args;
mod incidents;
mod input;
mod notify;
mod obligation_args;
mod obligations;
mod output;
mod policy;
mod report;
mod report_args;
mod serve;
mod shell;
mod store;
mod sync;
mod trail;
mod users;
mod verification;
mod workflows;

use std::process::ExitCode;

use crate::domain::Verdict;

pub use args::*;
use backends::{backend, console, console_backend, load_config};
use exit::{Failure, Outcome};
use output::print_json;

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!(
                "error: {}",
                crate::text::sanitize_with(&failure.to_string(), true)
            );
            ExitCode::from(failure.exit_code())
        }
    }
}

async fn dispatch(cli: Cli) -> Outcome {
    let global = &cli.global;
    let Some(command) = cli.command else {
        let config = load_config(global)?;
        // The console opens even when the log does not hold, and says so
        // on its status line for as long as it runs.
        let warning = match backends::witness(global, &config).await {
            Err(Failure::Witness(message)) => Some(message),
            other => {
                other?;
                None
            }
        };
        let backend = console_backend(global, &config).await?;
        return console(backend, warning, global, &config).await;
    };
    // Every command that talks to a server first checks its log against
    // what this client witnessed (except the ones that inspect or re-pin
    // it, signing in, which must come before any of them, and checks made
    // offline with a key).
    if !matches!(
        command,
        Command::Trail(_)
            | Command::Auth(_)
            | Command::Completions { .. }
            | Command::Man { .. }
            | Command::Report(report_args::ReportArgs {
                command: Some(report_args::ReportCommand::Verify { .. }),
                ..
            })
    ) {
        backends::witness(global, &load_config(global)?).await?;
    }
    match command {
        Command::Seed(args) => store::seed_command(global, &args),
        Command::Demo(args) => store::demo(global, &args).await,
        Command::Queue(args) => workflows::queue(backend(global).await?.as_ref(), &args).await,
        Command::Show { workflow_id, json } => {
            workflows::show(backend(global).await?.as_ref(), &workflow_id, json).await
        }
        Command::Approve {
            workflow_id,
            comment,
            on_behalf_of,
            json,
        } => {
            let backend = backend(global).await?;
            workflows::decide(
                backend.as_ref(),
                &workflow_id,
                Verdict::Approve,
                comment,
                on_behalf_of,
                json,
            )
            .await
        }
        Command::Reject {
            workflow_id,
            comment,
            on_behalf_of,
            json,
        } => {
            let backend = backend(global).await?;
            let comment = Some(comment);
            workflows::decide(
                backend.as_ref(),
                &workflow_id,
                Verdict::Reject,
                comment,
                on_behalf_of,
                json,
            )
            .await
        }
        Command::Withdraw {
            workflow_id,
            reason,
            json,
        } => {
            let backend = backend(global).await?;
            workflows::withdraw(backend.as_ref(), &workflow_id, reason.as_deref(), json).await
        }
        Command::Deploy(command) => {
            governance::deploy(backend(global).await?.as_ref(), command).await
        }
        Command::Audit(AuditCommand::Verify {
            checkpoint: Some(file),
            key,
            json,
        }) => {
            backends::local_only(global, "audit verify --checkpoint")?;
            let config = load_config(global)?;
            let store = backends::open_store(global, &config).await?;
            let key = match key {
                Some(key) => key,
                None => backends::load_log_key(&config, &store)?.verifier_key,
            };
            governance::verify_against_checkpoint(&store, &file, &key, json)
        }
        Command::Audit(command) => governance::audit(backend(global).await?, command).await,
        Command::Trail(command) => trail::run(global, command).await,
        Command::Store(StoreCommand::Init) => {
            backends::local_only(global, "store init")?;
            let config = load_config(global)?;
            if backends::database_url(global, &config)?.is_some() {
                // Connecting migrates: the schema and the starting record
                // are written once, by whichever instance comes first.
                let store = backends::create_store(global, &config).await?;
                println!("the store {} is ready", store.location());
                return Ok(exit::OK);
            }
            let path = backends::store_path(global, &config)?;
            if path.exists() {
                return Err(Failure::Refused(format!(
                    "{} exists already: store init creates a new store",
                    path.display()
                )));
            }
            backends::create_store(global, &config).await?;
            println!("created the store {}", path.display());
            Ok(exit::OK)
        }
        Command::Store(StoreCommand::Copy {
            from,
            to,
            replace,
            json,
        }) => store::copy(&from, &to, replace, json).await,
        Command::Store(StoreCommand::Backup { to }) => store::backup(global, &to).await,
        Command::Store(StoreCommand::Restore { from, to, force }) => {
            store::restore(&from, &to, force)
        }
        Command::Store(StoreCommand::Check { path }) => {
            let found = crate::backend::local::LocalStore::check_file(&path)?;
            if found == ["ok"] {
                println!("{}: ok (PRAGMA quick_check)", path.display());
                Ok(exit::OK)
            } else {
                println!("{}: not a healthy Gavel store:", path.display());
                for line in found {
                    println!("  {}", crate::text::sanitize(&line));
                }
                Ok(exit::FAILURE)
            }
        }
        Command::Review(ReviewCommand::Assign {
            workflow_id,
            to,
            json,
        }) => {
            workflows::assign_review(backend(global).await?.as_ref(), &workflow_id, &to, json).await
        }
        Command::Review(ReviewCommand::Export { review_id }) => {
            governance::export_review(backend(global).await?.as_ref(), &review_id).await
        }
        Command::Tools(command) => {
            governance::tools(backend(global).await?.as_ref(), command).await
        }
        Command::Users(command) => users::run(global, command).await,
        Command::Scim(ScimCommand::Token { rotate: _ }) => users::directory_token(global).await,
        Command::Auth(command) => auth::run(global, command).await,
        Command::Notify(command) => notify::run(global, command).await,
        Command::Delegate(args) => delegate::run(global, args).await,
        Command::Obligations(args) => obligations::obligations(global, args).await,
        Command::Intake(command) => obligations::intake(global, command).await,
        Command::Exception(command) => exceptions::run(global, command).await,
        Command::Recertify(command) => exceptions::recertify(global, command).await,
        Command::Incident(command) => incidents::run(global, command).await,
        Command::Attest(command) => attest::run(global, command).await,
        Command::Evidence(command) => evidence::run(global, command).await,
        Command::Report(args) => report::run(global, args).await,
        Command::Serve(args) => serve::run(global, args).await,
        Command::Completions { shell } => shell::completions(shell),
        Command::Man { out } => shell::man(&out),
        Command::Sync(args) => {
            let config = load_config(global)?;
            let Some((remote, fingerprint)) = backends::remote(global, &config).await? else {
                return Err(Failure::BadInput(
                    "gavel sync works with a server: pass --url (or set backend.url)".into(),
                ));
            };
            let backend =
                backends::cached(global, &config, remote, fingerprint, !args.status).await?;
            sync::run(&backend, &args).await
        }
        Command::Policy(command) => policy::run(backend(global).await?.as_ref(), command).await,
        Command::Dashboard { json } => {
            let dashboard = backend(global).await?.dashboard().await?;
            if json {
                print_json(&dashboard)?;
            } else {
                print!("{}", output::dashboard(&dashboard));
            }
            Ok(exit::OK)
        }
    }
}
