//! `config.toml`: the user's defaults. Command-line flags and environment
//! variables win over it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// SLA in days when the config names none.
pub const DEFAULT_SLA_DAYS: u32 = 3;
pub const DEFAULT_THEME: &str = "default";

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Your email, as the store knows you.
    pub user: Option<String>,
    /// The embedded store.
    pub db: Option<PathBuf>,
    /// A PostgreSQL store instead (`[store] url`).
    #[serde(default)]
    pub store: StoreSection,
    /// A built-in theme or one in the config directory's `themes/`.
    pub theme: Option<String>,
    /// Queue items waiting longer than this many days are flagged.
    pub sla_days: Option<u32>,
    /// Browse only: no deciding actions in the console.
    pub read_only: Option<bool>,
    /// Per mode, key -> action; patches the default keymap.
    #[serde(default)]
    pub keymap: BTreeMap<String, BTreeMap<String, String>>,
    /// A shared server instead of the embedded store.
    #[serde(default)]
    pub backend: BackendSection,
    /// The trail's signed Merkle log.
    #[serde(default)]
    pub log: LogSection,
    /// `gavel serve`: how long a client may take, how many connections it holds.
    #[serde(default)]
    pub server: ServerSection,
    /// `gavel serve`: signing people in with an identity provider.
    #[serde(default)]
    pub auth: AuthSection,
    /// Email and webhook notifications (`gavel serve`, `gavel notify run`).
    #[serde(default)]
    pub notify: crate::notify::settings::NotifySettings,
    /// The console's own settings.
    #[serde(default)]
    pub console: ConsoleSection,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSection {
    /// The tab the console opens on (leadership: `blocked`).
    pub start_tab: Option<StartTab>,
}

/// A tab of the console, as the config names it.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StartTab {
    #[default]
    Queue,
    Reviews,
    Audits,
    Blocked,
    Policies,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// The OpenID Connect provider people sign in with.
    pub oidc: Option<crate::auth::OidcSettings>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// A request's headers must arrive within this many seconds of the
    /// connection opening or of the previous answer; an idle keep-alive
    /// connection is closed after it too (default 20).
    pub header_timeout_seconds: Option<u64>,
    /// A whole request, body included, must be answered within this many
    /// seconds, or it gets 408 (default 30).
    pub request_timeout_seconds: Option<u64>,
    /// Connections one client address may hold at once (default 64).
    pub connections_per_address: Option<usize>,
    /// Connections the server holds at once (default 10000).
    pub max_connections: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `postgres://USER@HOST:PORT/DB`: the governance record in PostgreSQL,
    /// shared by every `gavel serve` on it. Keep the password out of the
    /// file (PGPASSWORD or ~/.pgpass).
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// The log's signing key (default: the store's path + `.log-key`).
    pub key_file: Option<PathBuf>,
    /// `gavel serve` signs a checkpoint once this many events are unsigned
    /// (default 1000)...
    pub checkpoint_every_events: Option<u64>,
    /// ...or when any are and this many seconds passed (default 10).
    pub checkpoint_every_seconds: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackendSection {
    /// `https://...` (or `http://` on loopback) of a `gavel serve`.
    pub url: Option<String>,
    /// A file holding your API token (mode 0600); `GAVEL_TOKEN` wins.
    pub token_file: Option<PathBuf>,
    /// Keep an offline cache of the server for the console (default true).
    pub offline_cache: Option<bool>,
    /// Where offline caches live (default: the user cache directory).
    pub cache_dir: Option<PathBuf>,
    /// Where sign-ins are kept: `keyring` (the OS keyring, else a 0600
    /// file; the default) or `file`. `GAVEL_CREDENTIALS` wins.
    pub credentials: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Invalid { path: String, message: String },
}

impl Config {
    pub fn default_path() -> Option<PathBuf> {
        crate::paths::config_dir().map(|dir| dir.join("config.toml"))
    }

    /// Reads `explicit` (which must exist), else the default file if present.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(path) => path.to_owned(),
            None => match Config::default_path() {
                Some(path) if path.exists() => path,
                _ => return Ok(Config::default()),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&path.display().to_string(), &text)
    }

    pub fn parse(path: &str, text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|err| {
            let line = err
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            ConfigError::Invalid {
                path: path.to_owned(),
                message: match line {
                    Some(line) => format!("line {line}: {}", err.message()),
                    None => err.message().to_owned(),
                },
            }
        })
    }

    pub fn sla_days(&self) -> u32 {
        self.sla_days.unwrap_or(DEFAULT_SLA_DAYS).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_parses() {
        let config = Config::parse(
            "c.toml",
            "user = \"a@example.com\"\ndb = \"/tmp/g.db\"\ntheme = \"light\"\nsla_days = 5\nread_only = true\n[keymap.queue]\n\"y\" = \"approve\"\n",
        )
        .unwrap();
        assert_eq!(config.user.as_deref(), Some("a@example.com"));
        assert_eq!(config.sla_days(), 5);
        assert_eq!(config.read_only, Some(true));
        assert_eq!(config.keymap["queue"]["y"], "approve");
    }

    #[test]
    fn the_start_tab_is_one_of_the_tabs() {
        let config = Config::parse("c.toml", "[console]\nstart_tab = \"blocked\"\n").unwrap();
        assert_eq!(config.console.start_tab, Some(StartTab::Blocked));
        let err = Config::parse("c.toml", "[console]\nstart_tab = \"lobby\"\n").unwrap_err();
        assert!(
            err.to_string().contains("line 2") && err.to_string().contains("blocked"),
            "{err}"
        );
    }

    #[test]
    fn mistakes_name_the_file_and_line() {
        let err = Config::parse("c.toml", "user = \"a\"\nsla_dayz = 3\n").unwrap_err();
        assert!(
            err.to_string().starts_with("config c.toml: line 2"),
            "{err}"
        );
        assert_eq!(Config::default().sla_days(), DEFAULT_SLA_DAYS);
        assert!(Config::load(Some(Path::new("/no/such/config.toml"))).is_err());
    }
}
