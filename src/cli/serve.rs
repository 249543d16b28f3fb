//! `gavel serve`: the HTTP API over the store, for a team, with its
//! checkpoint signer, its notifier, and TLS when given a certificate.

use super::args::{Global, LogFormat, ServeArgs};
use super::backends::{self, load_config};
use super::exit::{self, Failure, Outcome};

pub async fn run(global: &Global, args: ServeArgs) -> Outcome {
    backends::local_only(global, "serve")?;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info"))
    };
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter());
    let _ = match args.log_format {
        LogFormat::Text => logs.try_init(),
        // The request's span fields (id, route, user) on every line of it.
        LogFormat::Json => logs.json().with_current_span(true).try_init(),
    };
    let config = load_config(global)?;
    let store = backends::open_store(global, &config).await?;
    // Held while serving: `gavel store restore` refuses a store in use.
    let _serving = store.hold_while_serving()?;
    let key = backends::load_log_key(&config, &store)?;
    let defaults = crate::server::CheckpointPolicy::default();
    let policy = crate::server::CheckpointPolicy {
        every_events: config
            .log
            .checkpoint_every_events
            .unwrap_or(defaults.every_events)
            .max(1),
        every: config
            .log
            .checkpoint_every_seconds
            .map_or(defaults.every, std::time::Duration::from_secs),
    };
    let notifier = crate::notify::worker::Worker::new(
        std::sync::Arc::clone(&store),
        config.notify.clone(),
        config.sla_days(),
    )
    .map_err(Failure::BadInput)?;
    let sign_in = config
        .auth
        .oidc
        .clone()
        .map(crate::server::SignInGate::new)
        .transpose()
        .map_err(|err| Failure::BadInput(format!("config [auth.oidc]: {err}")))?;
    let section = &config.server;
    let tls = match (
        args.tls_cert.or(section.tls_cert.clone()),
        args.tls_key.or(section.tls_key.clone()),
    ) {
        (Some(cert), Some(key)) => Some(crate::server::tls::TlsFiles {
            cert,
            key,
            client_ca: args.tls_client_ca.or(section.tls_client_ca.clone()),
        }),
        (None, None) if args.tls_client_ca.is_none() && section.tls_client_ca.is_none() => None,
        _ => {
            return Err(Failure::BadInput(
                "TLS needs both a certificate and its key (--tls-cert and --tls-key, or [server] tls_cert and tls_key); a client CA needs them too".into(),
            ));
        }
    };
    if config.admission.require_client_cert
        && tls.as_ref().is_none_or(|tls| tls.client_ca.is_none())
    {
        return Err(Failure::BadInput(
            "[admission] require_client_cert needs mutual TLS: give [server] tls_cert, tls_key and tls_client_ca (or --tls-client-ca)".into(),
        ));
    }
    let metrics_token = match &section.metrics_token_env {
        None => None,
        Some(variable) => match std::env::var(variable) {
            Ok(token) if !token.trim().is_empty() => {
                Some(crate::server::MetricsToken::new(token.trim()))
            }
            // Told to guard /metrics: never serve it open for want of a token.
            _ => {
                return Err(Failure::BadInput(format!(
                    "[server] metrics_token_env names {variable}, which holds no token: set it, or remove metrics_token_env to serve /metrics openly"
                )));
            }
        },
    };
    let scim = match &config.scim {
        None => None,
        Some(section) => {
            let oidc = config.auth.oidc.as_ref();
            let groups = match oidc {
                Some(oidc) => crate::auth::directory::Directory::new(
                    &oidc.groups_claim,
                    &oidc.roles,
                    &oidc.teams,
                )
                .map_err(|err| Failure::BadInput(format!("config [auth.oidc]: {err}")))?,
                None => crate::auth::directory::Directory::default(),
            };
            Some(crate::backend::local::directory::DirectorySettings {
                issuer: oidc.map(|oidc| oidc.issuer.clone()),
                identity: section.identity_attribute,
                email: section.email_attribute,
                groups,
            })
        }
    };
    let serving = crate::server::Serving {
        limits: crate::server::Limits::from_config(section),
        listen: args.listen,
        tls,
        admission: config.admission,
        metrics_token,
        metrics: section.metrics.unwrap_or(true),
        scim,
        scim_base: config.scim.as_ref().and_then(|scim| scim.base_url.clone()),
    };
    crate::server::serve(store, key, policy, serving, sign_in, notifier)
        .await
        .map_err(Failure::Other)?;
    Ok(exit::OK)
}
