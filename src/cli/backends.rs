//! Which backend a command talks to (the embedded store, a server, its
//! offline cache), and opening the console on it.

use crate::tui::memory::ConsoleMemory;
use std::sync::Arc;

use super::args::Global;
use super::exit;
use super::exit::{Failure, Outcome};
use crate::auth::keeper::SessionKeeper;
use crate::auth::session::CredentialStore;
use crate::backend::GovernanceBackend;
use crate::backend::cache::CachedBackend;
use crate::backend::cache::syncer::Syncer;
use crate::backend::http::{Credentials, HttpBackend, Token};
use crate::backend::local::{LocalBackend, LocalStore};
use crate::config::Config;
use crate::tui::app::AppConfig;
use crate::tui::keymap::{Keymap, KeymapPatch};
use crate::tui::theme::Theme;

pub fn load_config(global: &Global) -> Result<Config, Failure> {
    Config::load(global.config.as_deref()).map_err(|err| Failure::BadInput(err.to_string()))
}

/// The store's path: `--db`, the config's `db`, or the data directory's.
pub fn store_path(global: &Global, config: &Config) -> Result<std::path::PathBuf, Failure> {
    match global.db.clone().or(config.db.clone()) {
        Some(path) => Ok(path),
        None => crate::paths::default_db().ok_or_else(|| {
            Failure::BadInput("no home directory to keep the store in: pass --db PATH".into())
        }),
    }
}

/// The PostgreSQL store's URL: `--database-url` (or GAVEL_DATABASE_URL),
/// else the config's `[store] url`; `None` for the embedded store.
pub fn database_url(global: &Global, config: &Config) -> Result<Option<String>, Failure> {
    let url = global
        .database_url
        .clone()
        .or_else(|| config.store.url.clone());
    if url.is_some() && global.db.is_some() {
        return Err(Failure::BadInput(
            "--db names an embedded store and --database-url a PostgreSQL one: give one".into(),
        ));
    }
    Ok(url.filter(|url| !url.trim().is_empty()))
}

/// The store, which must exist: only the commands that create stores
/// (`store init`, `seed`, `demo`, `users add`) make a new one. A
/// PostgreSQL store is brought up to date when connected to.
pub async fn open_store(global: &Global, config: &Config) -> Result<Arc<LocalStore>, Failure> {
    if let Some(url) = database_url(global, config)? {
        return Ok(LocalStore::connect(&url).await?);
    }
    LocalStore::open_existing(&store_path(global, config)?).map_err(Failure::from)
}

/// The store, created (with its log key) when there is none yet.
pub async fn create_store(global: &Global, config: &Config) -> Result<Arc<LocalStore>, Failure> {
    if let Some(url) = database_url(global, config)? {
        let store = LocalStore::connect(&url).await?;
        ensure_log_key(config, &store)?;
        return Ok(store);
    }
    let path = store_path(global, config)?;
    let store = if path.exists() {
        LocalStore::open_existing(&path)?
    } else {
        LocalStore::open(&path)?
    };
    ensure_log_key(config, &store)?;
    Ok(store)
}

/// Where the log key of `store` lives: the config's `[log] key_file`, else
/// beside the store's file. Servers sharing a PostgreSQL store share one
/// key, which the config names.
pub fn log_key_path(config: &Config, store: &LocalStore) -> Result<std::path::PathBuf, Failure> {
    match (&config.log.key_file, store.path()) {
        (Some(path), _) => Ok(path.clone()),
        (None, Some(file)) => Ok(crate::backend::local::logkey::default_path(file)),
        (None, None) => Err(Failure::BadInput(format!(
            "the store {} is a database, so its log key has no file beside it: name one with `[log] key_file` in the config (the same file for every server on the database)",
            store.location()
        ))),
    }
}

/// The store's log key, created when a command that creates stores runs
/// on one without it.
pub fn ensure_log_key(
    config: &Config,
    store: &LocalStore,
) -> Result<crate::backend::local::logkey::LogKey, Failure> {
    let path = log_key_path(config, store)?;
    Ok(crate::backend::local::logkey::load_or_create(
        &path,
        &store.log_name(),
    )?)
}

/// The store's log key, which must exist.
pub fn load_log_key(
    config: &Config,
    store: &LocalStore,
) -> Result<crate::backend::local::logkey::LogKey, Failure> {
    Ok(crate::backend::local::logkey::load(&log_key_path(
        config, store,
    )?)?)
}

/// With a server configured: checks its log against what this client
/// witnessed before (an unreachable server is not evidence: the command
/// says so itself).
pub async fn witness(global: &Global, config: &Config) -> Result<(), Failure> {
    let Some((remote, _)) = remote(global, config).await? else {
        return Ok(());
    };
    let dir = crate::paths::witness_dir().ok_or_else(|| {
        Failure::BadInput(
            "no directory to remember the server's log in: set GAVEL_WITNESS_DIR".into(),
        )
    })?;
    match crate::backend::witness::witness(&remote, &dir).await {
        Ok(_) => Ok(()),
        Err(err) if err.is_evidence() => Err(Failure::Witness(err.to_string())),
        Err(_) => Ok(()),
    }
}

/// The configured backend: a server when a URL is given, else the store.
pub async fn backend(global: &Global) -> Result<Arc<dyn GovernanceBackend>, Failure> {
    backend_with(global, &load_config(global)?).await
}

pub async fn backend_with(
    global: &Global,
    config: &Config,
) -> Result<Arc<dyn GovernanceBackend>, Failure> {
    if let Some((remote, _)) = remote(global, config).await? {
        return Ok(Arc::new(remote));
    }
    let user = global.user.clone().or(config.user.clone());
    let store = open_store(global, config).await?;
    // The log's key signs evidence packs; a store without one still works.
    let key = log_key_path(config, &store)
        .ok()
        .and_then(|path| crate::backend::local::logkey::load(&path).ok());
    let backend = LocalBackend::new(store, user);
    Ok(Arc::new(match key {
        Some(key) => backend.with_log_key(Arc::new(key)),
        None => backend,
    }))
}

/// The server URL given (`--url`, the config's `backend.url`), checked and
/// in the one spelling sign-ins are kept under.
pub fn server_url(global: &Global, config: &Config) -> Result<Option<String>, Failure> {
    global
        .url
        .clone()
        .or(config.backend.url.clone())
        .map(|url| Ok(crate::backend::http::check_url(&url)?.to_string()))
        .transpose()
}

/// Where sign-ins are kept: `GAVEL_CREDENTIALS`, else the config's
/// `backend.credentials`, else the OS keyring (with files as fallback).
pub fn credential_store(config: &Config) -> Result<CredentialStore, Failure> {
    let dir = crate::paths::session_dir().ok_or_else(|| {
        Failure::BadInput("no directory to keep sign-ins in: set GAVEL_SESSION_DIR".into())
    })?;
    let setting = std::env::var("GAVEL_CREDENTIALS")
        .ok()
        .filter(|value| !value.is_empty())
        .or(config.backend.credentials.clone());
    CredentialStore::choose(setting.as_deref(), dir).map_err(Failure::BadInput)
}

/// The server to use, when one is configured, with a fingerprint naming
/// who this is: `GAVEL_TOKEN`, else the sign-in kept for it (`gavel auth
/// login`), else the config's token file.
pub async fn remote(
    global: &Global,
    config: &Config,
) -> Result<Option<(HttpBackend, String)>, Failure> {
    let Some(url) = server_url(global, config)? else {
        return Ok(None);
    };
    let credentials = match std::env::var("GAVEL_TOKEN")
        .ok()
        .filter(|token| !token.trim().is_empty())
    {
        Some(token) => Credentials::Token(Token::new(token)),
        None => {
            let store = credential_store(config)?;
            match store.load(&url).await.map_err(Failure::BadInput)? {
                Some(session) => Credentials::SignIn(
                    SessionKeeper::new(session, store).map_err(Failure::BadInput)?,
                ),
                None => {
                    let path = config
                        .backend
                        .token_file
                        .clone()
                        .or_else(|| crate::paths::config_dir().map(|dir| dir.join("token")))
                        .ok_or_else(|| {
                            Failure::BadInput(
                                "no token: sign in with `gavel auth login`, or set GAVEL_TOKEN or backend.token_file"
                                    .into(),
                            )
                        })?;
                    if !path.exists() && config.backend.token_file.is_none() {
                        return Err(Failure::BadInput(format!(
                            "not signed in to {url}: run `gavel auth login --url {url}` (or set GAVEL_TOKEN for a service account)"
                        )));
                    }
                    Credentials::Token(Token::from_file(&path)?)
                }
            }
        }
    };
    let fingerprint = credentials.fingerprint();
    Ok(Some((
        HttpBackend::with_credentials(&url, credentials)?,
        fingerprint,
    )))
}

/// The server's offline cache (for the console and `gavel sync`).
pub async fn cached(
    global: &Global,
    config: &Config,
    remote: HttpBackend,
    fingerprint: String,
    full_check: bool,
) -> Result<CachedBackend, Failure> {
    let dir = global
        .cache_dir
        .clone()
        .or(config.backend.cache_dir.clone())
        .or_else(crate::paths::cache_dir)
        .ok_or_else(|| {
            Failure::BadInput(
                "no cache directory for the offline cache: pass --cache-dir DIR or set backend.offline_cache = false".into(),
            )
        })?;
    Ok(CachedBackend::open(remote, fingerprint, &dir, full_check).await?)
}

/// The console's backend: with a server, its offline cache unless turned off.
/// What the console runs on: the backend, its sync loop when it is a
/// server's offline cache, and what the cache has to say on start.
pub struct ConsoleBackend {
    pub backend: Arc<dyn GovernanceBackend>,
    pub syncer: Option<Arc<Syncer>>,
    pub notice: Option<String>,
}

impl ConsoleBackend {
    pub fn plain(backend: Arc<dyn GovernanceBackend>) -> ConsoleBackend {
        ConsoleBackend {
            backend,
            syncer: None,
            notice: None,
        }
    }
}

pub async fn console_backend(global: &Global, config: &Config) -> Result<ConsoleBackend, Failure> {
    match remote(global, config).await? {
        Some((remote, fingerprint)) if config.backend.offline_cache.unwrap_or(true) => {
            let backend = cached(global, config, remote, fingerprint, false).await?;
            // The sync loop keeps witnessing the server's log while the
            // console runs.
            let syncer = backend.syncer();
            if let (Some(syncer), Some(dir)) = (&syncer, crate::paths::witness_dir()) {
                syncer.witness_in(dir);
            }
            let notice = backend.notice().map(str::to_owned);
            Ok(ConsoleBackend {
                backend: Arc::new(backend),
                syncer,
                notice,
            })
        }
        Some((remote, _)) => Ok(ConsoleBackend::plain(Arc::new(remote))),
        None => Ok(ConsoleBackend::plain(backend_with(global, config).await?)),
    }
}

/// Commands that manage the store itself refuse a server URL.
pub fn local_only(global: &Global, what: &str) -> Result<(), Failure> {
    if global.url.is_some() {
        return Err(Failure::BadInput(format!(
            "{what} works on a local store (--db), not over --url: run it where the server's store is"
        )));
    }
    Ok(())
}

/// Theme, keymap and SLA for the console, from flags, config and NO_COLOR.
pub fn console_config(
    global: &Global,
    config: &Config,
    backend: &dyn GovernanceBackend,
    notice: Option<String>,
    witness_warning: Option<String>,
) -> Result<AppConfig, Failure> {
    let location = backend.location();
    // With a sync loop the status line follows it; otherwise say where
    // changes go.
    let sync_state = if global.url.is_some() || config.backend.url.is_some() {
        "online, no offline cache"
    } else {
        "saved locally"
    }
    .to_owned();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    let theme = if no_color {
        Theme::monochrome()
    } else {
        let name = global
            .theme
            .clone()
            .or(config.theme.clone())
            .unwrap_or_else(|| crate::config::DEFAULT_THEME.to_owned());
        let user_themes = crate::paths::config_dir().map(|dir| dir.join("themes"));
        Theme::load(&name, user_themes.as_deref())
            .map_err(|err| Failure::BadInput(err.to_string()))?
    };
    let mut keymap = Keymap::default_keymap();
    let patch: KeymapPatch = serde_json::to_value(&config.keymap)
        .and_then(serde_json::from_value)
        .map_err(|err| Failure::BadInput(format!("config keymap: {err}")))?;
    keymap
        .patch(&patch)
        .map_err(|err| Failure::BadInput(format!("config {err}")))?;
    let memory_file = ConsoleMemory::default_path();
    let (memory, forgotten) = memory_file
        .as_deref()
        .map(ConsoleMemory::load)
        .unwrap_or_default();
    Ok(AppConfig {
        theme,
        keymap,
        sla_days: config.sla_days(),
        read_only: global.read_only || config.read_only.unwrap_or(false),
        location,
        sync_state,
        notice: notice.or(forgotten),
        witness_warning,
        start_tab: config.console.start_tab.unwrap_or_default().into(),
        views: config.console.views(),
        memory,
        memory_file,
    })
}

pub async fn console(
    ConsoleBackend {
        backend,
        syncer,
        notice,
    }: ConsoleBackend,
    witness_warning: Option<String>,
    global: &Global,
    config: &Config,
) -> Outcome {
    // Say what is wrong (config, theme, who you are) before the terminal
    // is taken over.
    let config = console_config(global, config, backend.as_ref(), notice, witness_warning)?;
    backend.me().await?;
    crate::tui::run(backend, syncer, config)
        .await
        .map_err(Failure::Other)?;
    Ok(exit::OK)
}
