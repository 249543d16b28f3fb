//! `gavel auth`: signing in to a server with the organisation's identity
//! provider, seeing who you are there, and signing out.

use super::args::{AuthCommand, Global};
use super::backends::{credential_store, load_config, server_url};
use super::exit;
use super::exit::{Failure, Outcome};
use super::output;
use super::output::print_json;
use crate::auth::http_client::ProviderClient;
use crate::auth::keeper::SessionKeeper;
use crate::auth::login::{self, DeviceCode, LoginError};
use crate::auth::session::Session;
use crate::backend::GovernanceBackend;
use crate::backend::http::{Credentials, HttpBackend};

pub async fn run(global: &Global, command: AuthCommand) -> Outcome {
    let config = load_config(global)?;
    let server = server_url(global, &config)?.ok_or_else(|| {
        Failure::BadInput("which server? pass --url URL (or set backend.url in the config)".into())
    })?;
    let store = credential_store(&config)?;
    match command {
        AuthCommand::Login { browser } => {
            let settings = crate::backend::http::auth_config(&server)
                .await?
                .ok_or_else(|| {
                    Failure::BadInput(format!(
                        "{server} signs no one in with an identity provider: use a Gavel token (GAVEL_TOKEN)"
                    ))
                })?;
            let http = ProviderClient::new().map_err(Failure::BadInput)?;
            let metadata = login::discover(&settings.issuer, &http)
                .await
                .map_err(login_failure)?;
            let session = if browser || !login::has_device_flow(&metadata) {
                login::browser_login(&server, &settings, &http, open_browser).await
            } else {
                login::device_login(&server, &settings, &http, show_device_code).await
            }
            .map_err(login_failure)?;
            let kept_in = store.save(&session).await.map_err(Failure::BadInput)?;
            let keeper = SessionKeeper::new(session, store.clone()).map_err(Failure::BadInput)?;
            let remote = HttpBackend::with_credentials(&server, Credentials::SignIn(keeper))?;
            // The server decides who this is (it may not know the person
            // yet, or refuse them): ask it. A sign-in it refuses is not
            // kept.
            let me = match remote.me().await {
                Ok(me) => me,
                Err(err) => {
                    let _ = store.delete(&server).await;
                    return Err(Failure::Refused(format!(
                        "signed in at the identity provider, but {server} refuses: {err}"
                    )));
                }
            };
            eprintln!(
                "Signed in to {server} as {} <{}>: roles {}; teams {}.",
                output::safe(&me.name),
                output::safe(&me.email),
                output::role_list(&me.roles),
                output::team_list(&me.teams)
            );
            eprintln!(
                "The sign-in is kept in {} and renews itself.",
                output::safe(&kept_in)
            );
            Ok(exit::OK)
        }
        AuthCommand::Status { json } => {
            let session = store.load(&server).await.map_err(Failure::BadInput)?;
            let Some(session) = session else {
                if json {
                    print_json(&serde_json::json!({ "server": server, "signed_in": false }))?;
                } else {
                    println!("not signed in to {server}: run `gavel auth login --url {server}`");
                }
                return Ok(exit::FAILURE);
            };
            let keeper = SessionKeeper::new(session.clone(), store).map_err(Failure::BadInput)?;
            let remote =
                HttpBackend::with_credentials(&server, Credentials::SignIn(keeper.clone()))?;
            let me = remote.me().await;
            let renewable = session.refresh_token.is_some();
            if json {
                print_json(&serde_json::json!({
                    "server": server,
                    "signed_in": me.is_ok(),
                    "issuer": session.issuer,
                    "subject": session.subject,
                    "token_expires_at": session.expires_at,
                    "renewable": renewable,
                    "user": me.as_ref().ok(),
                    "error": me.as_ref().err().map(ToString::to_string),
                }))?;
            } else {
                print_status(&server, &session, renewable, me.as_ref());
            }
            Ok(if me.is_ok() { exit::OK } else { exit::FAILURE })
        }
        AuthCommand::Logout => {
            let session = store.load(&server).await.map_err(Failure::BadInput)?;
            let revoked = match &session {
                Some(session) => {
                    let http = ProviderClient::new().map_err(Failure::BadInput)?;
                    login::revoke(session, &http).await
                }
                None => Ok(false),
            };
            let deleted = store.delete(&server).await.map_err(Failure::BadInput)?;
            match (session.is_some() || deleted, revoked) {
                (false, _) => println!("not signed in to {server}"),
                (true, Ok(true)) => println!(
                    "signed out of {server}: the identity provider revoked the sign-in and the kept copy is deleted"
                ),
                (true, Ok(false)) => println!(
                    "signed out of {server}: the kept copy is deleted (the provider offers no revocation; its tokens lapse when they expire)"
                ),
                (true, Err(err)) => println!(
                    "signed out of {server}: the kept copy is deleted, but the provider could not revoke the sign-in ({err}); its tokens lapse when they expire"
                ),
            }
            Ok(exit::OK)
        }
    }
}

fn print_status(
    server: &str,
    session: &Session,
    renewable: bool,
    me: Result<&crate::backend::User, &crate::backend::BackendError>,
) {
    match me {
        Ok(user) => {
            println!(
                "signed in to {server} as {} <{}>",
                output::safe(&user.name),
                output::safe(&user.email)
            );
            println!("  roles: {}", output::role_list(&user.roles));
            println!("  teams: {}", output::team_list(&user.teams));
        }
        Err(err) => println!("{server} does not accept your sign-in: {err}"),
    }
    println!(
        "  identity: {} at {}",
        output::safe(&session.subject),
        output::safe(&session.issuer)
    );
    let ends = session
        .expires_at
        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    if renewable {
        println!("  token renews before {ends}; the sign-in lasts until the provider ends it");
    } else {
        println!("  session ends {ends} (no refresh token: sign in again then)");
    }
}

fn login_failure(err: LoginError) -> Failure {
    match err {
        LoginError::Refused(message) | LoginError::Expired(message) => Failure::Refused(message),
        LoginError::Unreachable(message) | LoginError::Invalid(message) => {
            Failure::BadInput(message)
        }
    }
}

fn show_device_code(code: &DeviceCode) {
    let minutes = code.expires_in.as_secs().div_ceil(60);
    eprintln!("To sign in, open {}", code.verification_uri);
    eprintln!(
        "and enter the code {} (it expires in {minutes} minutes).",
        code.user_code
    );
    if let Some(complete) = &code.verification_uri_complete {
        eprintln!("Or open {complete}");
    }
    eprintln!("Waiting for you to approve...");
}

/// Shows the sign-in URL and opens it in a browser when one is at hand.
fn open_browser(url: &str) {
    eprintln!("Sign in in your browser: {url}");
    let command = if cfg!(target_os = "macos") {
        Some("open")
    } else if cfg!(unix) {
        let graphical = ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()));
        graphical.then_some("xdg-open")
    } else {
        None
    };
    if let Some(command) = command {
        let _ = std::process::Command::new(command)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
    eprintln!("Waiting for the browser...");
}
