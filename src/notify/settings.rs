//! `[notify]` in the config: where notifications go and how hard to try.

use serde::Deserialize;

use crate::backend::EventKind;

/// Attempts before a delivery is dead-lettered unless configured.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// How long a worker holds a claimed delivery unless configured.
pub const DEFAULT_CLAIM_SECONDS: u64 = 60;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    /// `smtp://host:port` (STARTTLS required, except to loopback) or
    /// `smtps://host:port` (implicit TLS). No password here: it comes from
    /// `GAVEL_SMTP_PASSWORD`.
    pub smtp_url: Option<String>,
    /// The SMTP user, when the server asks for authentication.
    pub smtp_username: Option<String>,
    /// The sender, `Name <address>`.
    pub from: Option<String>,
    /// The console's or server's address people open, for links in messages.
    pub gavel_url: Option<String>,
    /// Attempts per delivery before it is dead-lettered (default 8).
    pub max_attempts: Option<u32>,
    /// How long a worker holds a claimed delivery before another may take
    /// it (default 60 s; a worker killed mid-delivery delays it this long).
    pub claim_seconds: Option<u64>,
    #[serde(default)]
    pub webhook: Vec<WebhookSettings>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// `https://` (or `http://` on loopback).
    pub url: String,
    /// The environment variable holding the endpoint's `whsec_...` secret
    /// (Standard Webhooks); not needed for `slack` and `teams`, whose URL is
    /// their secret.
    pub secret_env: Option<String>,
    /// The event types it wants (default: all).
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub format: WebhookFormat,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// Gavel's JSON event, signed per Standard Webhooks.
    #[default]
    Standard,
    /// A Slack incoming webhook's message.
    Slack,
    /// A Microsoft Teams incoming webhook's message card.
    Teams,
}

/// A webhook endpoint, checked: its URL, secret and the kinds it wants.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    pub format: WebhookFormat,
    /// The decoded key of a `whsec_` secret (Standard format only).
    pub key: Option<String>,
    pub kinds: Vec<EventKind>,
}

impl NotifySettings {
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1)
    }

    pub fn claim(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(
            self.claim_seconds
                .unwrap_or(DEFAULT_CLAIM_SECONDS)
                .clamp(1, 3600) as i64,
        )
    }

    /// The webhook endpoints, their secrets read from the environment.
    pub fn endpoints(&self) -> Result<Vec<Endpoint>, String> {
        self.webhook
            .iter()
            .map(|hook| {
                crate::auth::check_provider_url("[[notify.webhook]] url", &hook.url)?;
                let kinds = hook
                    .events
                    .iter()
                    .map(|name| name.parse::<EventKind>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|err| format!("[[notify.webhook]] {}: {err}", hook.url))?;
                let key = match (hook.format, &hook.secret_env) {
                    (WebhookFormat::Standard, Some(name)) => {
                        let secret = std::env::var(name).map_err(|_| {
                            format!("[[notify.webhook]] {}: set {name} to its whsec_ secret", hook.url)
                        })?;
                        if !secret.starts_with("whsec_") {
                            return Err(format!(
                                "[[notify.webhook]] {}: the secret in {name} must start with whsec_",
                                hook.url
                            ));
                        }
                        Some(secret)
                    }
                    (WebhookFormat::Standard, None) => {
                        return Err(format!(
                            "[[notify.webhook]] {}: a Standard Webhooks endpoint needs secret_env",
                            hook.url
                        ));
                    }
                    _ => None,
                };
                Ok(Endpoint {
                    url: hook.url.clone(),
                    format: hook.format,
                    key,
                    kinds,
                })
            })
            .collect()
    }
}
