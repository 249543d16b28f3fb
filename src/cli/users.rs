//! `gavel users`: people, their roles and teams, and their tokens. Run on
//! the store's own machine (the server has no route to manage people); the
//! trail names `--user` as the one who made the change, or the store owner.

use super::args::{Global, UsersCommand};
use super::backends::{create_store, ensure_log_key, load_config, local_only, open_store};
use super::exit;
use super::exit::Outcome;
use super::output;
use super::output::print_json;
use crate::backend::local::STORE_OWNER;
use crate::backend::local::writes::UserChange;

/// `gavel scim token --rotate`: the directory's new token, printed once.
pub async fn directory_token(global: &Global) -> Outcome {
    local_only(global, "scim token")?;
    let config = load_config(global)?;
    let store = open_store(global, &config).await?;
    let actor = global
        .user
        .clone()
        .or(config.user.clone())
        .unwrap_or_else(|| STORE_OWNER.to_owned());
    let token = store.rotate_directory_token(&actor)?;
    eprintln!(
        "new SCIM token for the directory (shown once; the old one no longer works); give it to the identity provider's provisioning as its bearer token:"
    );
    println!("{token}");
    Ok(exit::OK)
}

pub async fn run(global: &Global, command: UsersCommand) -> Outcome {
    local_only(global, "users")?;
    let config = load_config(global)?;
    // Adding the first people is one way a store is set up.
    let store = match &command {
        UsersCommand::Add { .. } => create_store(global, &config).await?,
        _ => open_store(global, &config).await?,
    };
    let actor = global
        .user
        .clone()
        .or(config.user.clone())
        .unwrap_or_else(|| STORE_OWNER.to_owned());
    match command {
        UsersCommand::Add {
            email,
            roles,
            teams,
            name,
            service,
            subject,
            issuer,
        } => {
            let change = UserChange {
                name,
                roles: Some(roles.clone()),
                teams: Some(teams.clone()),
                service,
            };
            let issuer = match &subject {
                Some(_) => Some(configured_issuer(&config, issuer)?),
                None => None,
            };
            let token = store.create_user(&actor, &email, &change)?;
            if let (Some(subject), Some(issuer)) = (&subject, &issuer) {
                store.link_identity(&actor, &email, issuer, subject)?;
                eprintln!(
                    "linked to {} at {}",
                    output::safe(subject),
                    output::safe(issuer)
                );
            }
            // Adding the first people is how a store is set up: its log
            // gets its key then.
            ensure_log_key(&config, &store)?;
            eprintln!(
                "user {} added with roles: {}; teams: {}",
                output::safe(&email),
                output::role_list(&roles),
                output::team_list(&teams)
            );
            eprintln!("API token (shown once; only its hash is stored):");
            println!("{token}");
        }
        UsersCommand::Update {
            email,
            roles,
            teams,
            name,
        } => {
            let change = UserChange {
                name,
                roles,
                teams,
                service: false,
            };
            let user = store.update_user(&actor, &email, &change)?;
            println!(
                "user {} now has roles: {}; teams: {}",
                output::safe(&user.email),
                output::role_list(&user.roles),
                output::team_list(&user.teams)
            );
        }
        UsersCommand::Link {
            email,
            subject,
            issuer,
        } => {
            let issuer = configured_issuer(&config, issuer)?;
            let user = store.link_identity(&actor, &email, &issuer, &subject)?;
            println!(
                "user {} is {} at {}: signed in or with a Gavel token, they are one person",
                output::safe(&user.email),
                output::safe(&subject),
                output::safe(&issuer)
            );
        }
        UsersCommand::Remove { email } => {
            store.remove_user(&actor, &email)?;
            println!(
                "user {} removed: their token no longer works; their decisions stay in the trail",
                output::safe(&email)
            );
        }
        UsersCommand::Token { email, rotate: _ } => {
            let token = store.rotate_token(&actor, &email)?;
            eprintln!(
                "new API token for {} (shown once; the old one no longer works):",
                output::safe(&email)
            );
            println!("{token}");
        }
        UsersCommand::List { json } => {
            let users = store.users()?;
            if json {
                print_json(&users)?;
            } else {
                for user in users {
                    let how = match (&user.identity, user.service) {
                        (_, true) => "  service account".to_owned(),
                        (Some(identity), _) => format!(
                            "  signs in as {}{}",
                            output::safe(&identity.subject),
                            user.last_sign_in
                                .map(|at| format!(", last {}", at.format("%Y-%m-%d %H:%M UTC")))
                                .unwrap_or_default()
                        ),
                        (None, false) => String::new(),
                    };
                    println!(
                        "{}  {}  [{}]{how}",
                        output::safe(&user.email),
                        output::role_list(&user.roles),
                        output::team_list(&user.teams)
                    );
                }
            }
        }
    }
    Ok(exit::OK)
}

/// The issuer a link names: given, or the server's configured provider.
fn configured_issuer(
    config: &crate::config::Config,
    given: Option<String>,
) -> Result<String, super::Failure> {
    given
        .or_else(|| config.auth.oidc.as_ref().map(|oidc| oidc.issuer.clone()))
        .ok_or_else(|| {
            super::Failure::BadInput(
                "which identity provider? pass --issuer URL or set [auth.oidc] issuer in the config"
                    .into(),
            )
        })
}
