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
    /// `gavel serve`: the directory provisions people through SCIM.
    pub scim: Option<ScimSection>,
    /// `gavel serve`: the Kubernetes admission webhook.
    #[serde(default)]
    pub admission: AdmissionSection,
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
    /// Named queue filters and sorts, shown as the queue's sub-tabs
    /// (`[[console.views]]`, as gh-dash's sections); none: "Mine" and
    /// "Everything".
    #[serde(default)]
    pub views: Vec<SavedView>,
}

/// The most saved views the queue shows (one key each would run out; the
/// sub-tab line would not fit).
pub const MAX_VIEWS: usize = 9;
/// The longest name a saved view may have, in characters.
pub const MAX_VIEW_NAME: usize = 24;

/// A named queue filter and sort. Every field but `name` is optional:
/// missing ones read as the queue's defaults (my queue, in progress,
/// longest waiting first).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SavedView {
    pub name: String,
    /// Only what waits on my roles (default), or every workflow.
    #[serde(default = "yes")]
    pub mine: bool,
    /// One of my roles only.
    pub role: Option<crate::domain::Role>,
    pub risk: Option<crate::domain::RiskTier>,
    pub team: Option<String>,
    /// Agents, teams or a workflow id, as `/` searches.
    pub search: Option<String>,
    #[serde(default = "in_progress")]
    pub status: crate::domain::WorkflowStatus,
    #[serde(default)]
    pub sort: crate::backend::QueueSort,
}

fn yes() -> bool {
    true
}

fn in_progress() -> crate::domain::WorkflowStatus {
    crate::domain::WorkflowStatus::InProgress
}

impl SavedView {
    /// The views a console without any configured opens with.
    pub fn defaults() -> Vec<SavedView> {
        let view = |name: &str, mine: bool| SavedView {
            name: name.to_owned(),
            mine,
            role: None,
            risk: None,
            team: None,
            search: None,
            status: in_progress(),
            sort: crate::backend::QueueSort::Age,
        };
        vec![view("Mine", true), view("Everything", false)]
    }
}

impl ConsoleSection {
    /// The configured views, else the defaults.
    pub fn views(&self) -> Vec<SavedView> {
        if self.views.is_empty() {
            SavedView::defaults()
        } else {
            self.views.clone()
        }
    }

    /// Names are shown and matched: each present, short, printable and
    /// unique; at most `MAX_VIEWS`.
    fn check(&self) -> Result<(), String> {
        if self.views.len() > MAX_VIEWS {
            return Err(format!(
                "console.views: at most {MAX_VIEWS} views, found {}",
                self.views.len()
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for view in &self.views {
            let name = view.name.trim();
            if name.is_empty() || name.chars().any(char::is_control) {
                return Err("console.views: every view needs a printable name".to_owned());
            }
            if name.chars().count() > MAX_VIEW_NAME {
                return Err(format!(
                    "console.views: \"{name}\" is longer than {MAX_VIEW_NAME} characters"
                ));
            }
            if !seen.insert(name.to_lowercase()) {
                return Err(format!("console.views: two views are named \"{name}\""));
            }
        }
        Ok(())
    }
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
    /// Serve HTTPS with this certificate chain (PEM), reloaded when the
    /// file changes (`--tls-cert` wins).
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM, mode 0600).
    pub tls_key: Option<PathBuf>,
    /// Ask clients for a certificate signed by these CAs (PEM): mutual TLS.
    /// A client without one still connects (bearer tokens authenticate the
    /// API); `[admission] require_client_cert` makes the admission routes
    /// insist on it.
    pub tls_client_ca: Option<PathBuf>,
    /// The environment variable holding the bearer token `/metrics` asks
    /// for (a scraper's, not a person's). Unset: `/metrics` answers anyone.
    pub metrics_token_env: Option<String>,
    /// Count requests and serve `/metrics` (default true); false turns both
    /// off, for a server whose metrics nobody scrapes.
    pub metrics: Option<bool>,
}

/// `[scim]`: how the directory's users become Gavel users.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScimSection {
    /// The attribute holding the value of the claim people sign in with
    /// (`[auth.oidc] subject_claim`): `externalId` (default) or `userName`.
    #[serde(default)]
    pub identity_attribute: crate::backend::local::directory::IdentityAttribute,
    /// The attribute that becomes the Gavel email: `emails` (the primary
    /// one, default) or `userName`.
    #[serde(default)]
    pub email_attribute: crate::backend::local::directory::EmailAttribute,
    /// The SCIM base URL the directory reaches (resources' locations), when
    /// a proxy stands between (default: as the request's Host says).
    pub base_url: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AdmissionSection {
    /// A workload without `gavel/agent` and `gavel/version`: "allow"
    /// (default; the webhook's namespaceSelector says where agents run) or
    /// "deny".
    #[serde(default)]
    pub unannotated: crate::domain::admission::Unannotated,
    /// Answer reviews only from a client certificate the server's
    /// `tls_client_ca` signed (the API server's). Without it the routes
    /// answer anyone, and record uses only for callers that authenticate
    /// (a client certificate or a bearer token).
    #[serde(default)]
    pub require_client_cert: bool,
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
        let config: Config = toml::from_str(text).map_err(|err| {
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
        })?;
        config
            .console
            .check()
            .map_err(|message| ConfigError::Invalid {
                path: path.to_owned(),
                message,
            })?;
        Ok(config)
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
    fn saved_views_read_as_the_queue_defaults_where_silent() {
        let config = Config::parse(
            "c.toml",
            "[[console.views]]\nname = \"High risk\"\nrisk = \"high\"\nsort = \"risk\"\n\
             [[console.views]]\nname = \"Credit, all\"\nmine = false\nteam = \"Credit Risk\"\n",
        )
        .unwrap();
        let views = config.console.views();
        assert_eq!(views.len(), 2);
        assert_eq!(views[0].risk, Some(crate::domain::RiskTier::High));
        assert_eq!(views[0].sort, crate::backend::QueueSort::Risk);
        assert!(views[0].mine, "mine unless said");
        assert!(!views[1].mine);
        assert_eq!(views[1].status, crate::domain::WorkflowStatus::InProgress);
        let names: Vec<String> = Config::default()
            .console
            .views()
            .into_iter()
            .map(|view| view.name)
            .collect();
        assert_eq!(names, ["Mine", "Everything"]);
    }

    #[test]
    fn saved_views_need_short_unique_printable_names() {
        for (text, says) in [
            ("[[console.views]]\nname = \" \"\n", "printable name"),
            (
                "[[console.views]]\nname = \"a\\u001b[2J\"\n",
                "printable name",
            ),
            (
                "[[console.views]]\nname = \"a\"\n[[console.views]]\nname = \"A\"\n",
                "two views",
            ),
            (
                "[[console.views]]\nname = \"much too long a name for a tab\"\n",
                "longer than",
            ),
            (
                "[[console.views]]\nname = \"x\"\nrisk = \"huge\"\n",
                "line 3",
            ),
        ] {
            let err = Config::parse("c.toml", text).unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
        let ten: String = (0..10)
            .map(|i| format!("[[console.views]]\nname = \"v{i}\"\n"))
            .collect();
        let err = Config::parse("c.toml", &ten).unwrap_err().to_string();
        assert!(err.contains("at most 9"), "{err}");
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
