//! A person's sign-in to one server, kept between runs: in the OS keyring
//! where there is one, else in a file only they can read; renewed with the
//! refresh token before the access token runs out.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::Bearer;

/// Renew this long before the token runs out, so no request carries a
/// token that expires on its way.
pub const RENEW_BEFORE: TimeDelta = TimeDelta::seconds(60);

const KEYRING_SERVICE: &str = "gavel";

/// The tokens of one sign-in and what renewing them needs.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The Gavel server this sign-in is for.
    pub server: String,
    pub issuer: String,
    pub client_id: String,
    pub bearer: Bearer,
    pub access_token: String,
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// When the token sent to Gavel runs out.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the provider gave it: with `expires_at`, its lifetime, which
    /// scales how early it is renewed.
    #[serde(default)]
    pub obtained_at: Option<DateTime<Utc>>,
    /// The person, as the token names them (for naming the offline cache
    /// and for `auth status`; the server verifies, never this).
    pub subject: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub resource: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.server)
            .field("issuer", &self.issuer)
            .field("subject", &self.subject)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The token Gavel is sent.
    pub fn bearer_token(&self) -> &str {
        match (self.bearer, &self.id_token) {
            (Bearer::IdToken, Some(id_token)) => id_token,
            _ => &self.access_token,
        }
    }

    /// Whether to renew before the next request: a renewable token a
    /// margin before it runs out (a quarter of its life, at most
    /// `RENEW_BEFORE`, so a short-lived token is not renewed at every
    /// request); one that cannot be renewed only once it has run out, when
    /// the person must sign in again.
    pub fn due_for_renewal(&self, now: DateTime<Utc>) -> bool {
        let Some(expires) = self.expires_at else {
            return false;
        };
        if self.refresh_token.is_none() {
            return expires <= now;
        }
        expires - self.renewal_margin() <= now
    }

    fn renewal_margin(&self) -> TimeDelta {
        match (self.obtained_at, self.expires_at) {
            (Some(obtained), Some(expires)) if expires > obtained => {
                RENEW_BEFORE.min((expires - obtained) / 4)
            }
            _ => RENEW_BEFORE,
        }
    }

    /// Names the person on this server without revealing a token: the
    /// offline cache keeps one file per person, across renewals.
    pub fn fingerprint(&self) -> String {
        crate::domain::digest::token_hash(&format!(
            "oidc\n{}\n{}\n{}",
            server_key(&self.server),
            self.issuer,
            self.subject
        ))
    }
}

/// What a JWT says about itself, read without checking it (the server
/// checks; the client only needs the subject and expiry for itself).
pub fn unverified_claims(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A server URL in the one spelling sessions are kept under
/// (`http://host:port/`, with the slash a bare URL lacks).
pub fn server_key(server: &str) -> String {
    url::Url::parse(server).map_or_else(|_| server.to_owned(), |url| url.to_string())
}

/// Where sessions are kept.
#[derive(Debug, Clone)]
pub enum CredentialStore {
    /// The OS keyring, falling back to files in the directory when it
    /// cannot be used (no Secret Service on a headless Linux machine).
    Keyring { fallback: PathBuf },
    /// Files only the user can read (mode 0600), one per server.
    Files(PathBuf),
}

impl CredentialStore {
    /// The store `GAVEL_CREDENTIALS` (`keyring` or `file`) or the config
    /// names, with files in `dir`.
    pub fn choose(setting: Option<&str>, dir: PathBuf) -> Result<CredentialStore, String> {
        match setting.unwrap_or("keyring") {
            "keyring" => Ok(CredentialStore::Keyring { fallback: dir }),
            "file" => Ok(CredentialStore::Files(dir)),
            other => Err(format!(
                "credentials {other:?}: use \"keyring\" or \"file\""
            )),
        }
    }

    fn file_for(dir: &Path, server: &str) -> PathBuf {
        let name = crate::domain::digest::token_hash(&server_key(server));
        dir.join(format!("{}.json", &name[..16]))
    }

    /// The session kept for `server`, if any.
    pub async fn load(&self, server: &str) -> Result<Option<Session>, String> {
        let text = match self {
            CredentialStore::Keyring { fallback } => match keyring_get(server).await {
                Ok(Some(text)) => Some(text),
                Ok(None) | Err(_) => read_file(&CredentialStore::file_for(fallback, server))?,
            },
            CredentialStore::Files(dir) => read_file(&CredentialStore::file_for(dir, server))?,
        };
        let Some(text) = text else {
            return Ok(None);
        };
        let session: Session = serde_json::from_str(&text).map_err(|err| {
            format!(
                "the kept sign-in for {server} is unreadable ({err}): run `gavel auth login` again"
            )
        })?;
        Ok((server_key(&session.server) == server_key(server)).then_some(session))
    }

    /// Keeps `session`; says where.
    pub async fn save(&self, session: &Session) -> Result<String, String> {
        let text = serde_json::to_string(session).map_err(|err| err.to_string())?;
        match self {
            CredentialStore::Keyring { fallback } => {
                match keyring_set(&session.server, &text).await {
                    Ok(()) => {
                        // A file left from before would shadow nothing, but
                        // it is a copy of a secret: remove it.
                        let _ = std::fs::remove_file(CredentialStore::file_for(
                            fallback,
                            &session.server,
                        ));
                        Ok("the OS keyring".to_owned())
                    }
                    Err(_) => {
                        write_file(&CredentialStore::file_for(fallback, &session.server), &text)
                    }
                }
            }
            CredentialStore::Files(dir) => {
                write_file(&CredentialStore::file_for(dir, &session.server), &text)
            }
        }
    }

    /// Forgets the session for `server` everywhere it may be kept.
    pub async fn delete(&self, server: &str) -> Result<bool, String> {
        let (dir, mut deleted) = match self {
            CredentialStore::Keyring { fallback } => {
                (fallback, keyring_delete(server).await.unwrap_or(false))
            }
            CredentialStore::Files(dir) => (dir, false),
        };
        let path = CredentialStore::file_for(dir, server);
        match std::fs::remove_file(&path) {
            Ok(()) => deleted = true,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(format!("cannot delete {}: {err}", path.display())),
        }
        Ok(deleted)
    }
}

async fn on_keyring<T: Send + 'static>(
    work: impl FnOnce() -> keyring::Result<T> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| err.to_string())?
        .map_err(|err| err.to_string())
}

async fn keyring_get(server: &str) -> Result<Option<String>, String> {
    let server = server_key(server);
    on_keyring(
        move || match keyring::Entry::new(KEYRING_SERVICE, &server)?.get_password() {
            Ok(text) => Ok(Some(text)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(err),
        },
    )
    .await
}

async fn keyring_set(server: &str, text: &str) -> Result<(), String> {
    let (server, text) = (server_key(server), text.to_owned());
    on_keyring(move || keyring::Entry::new(KEYRING_SERVICE, &server)?.set_password(&text)).await
}

async fn keyring_delete(server: &str) -> Result<bool, String> {
    let server = server_key(server);
    on_keyring(
        move || match keyring::Entry::new(KEYRING_SERVICE, &server)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(err) => Err(err),
        },
    )
    .await
}

fn read_file(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(format!("cannot read {}: {err}", path.display())),
    }
}

/// Writes a secret file readable by its owner only, atomically (its
/// directory made as needed).
fn write_file(path: &Path, text: &str) -> Result<String, String> {
    let shown = path.display().to_string();
    crate::files::write(path, text.as_bytes(), crate::files::Existing::Replace)
        .map_err(|err| format!("cannot write {shown}: {err}"))?;
    Ok(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(server: &str) -> Session {
        Session {
            server: server.into(),
            issuer: "https://login.example.com".into(),
            client_id: "gavel-cli".into(),
            bearer: Bearer::AccessToken,
            access_token: "access-secret".into(),
            id_token: None,
            refresh_token: Some("refresh-secret".into()),
            expires_at: Some(Utc::now() + TimeDelta::minutes(5)),
            obtained_at: None,
            subject: "s-1".into(),
            email: Some("ann@example.com".into()),
            scopes: vec!["openid".into()],
            resource: None,
        }
    }

    #[tokio::test]
    async fn a_file_store_keeps_one_private_file_per_server_under_one_spelling() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = CredentialStore::Files(dir.path().join("sessions"));
        let kept = session("http://127.0.0.1:8787");
        store.save(&kept).await.expect("save");
        let loaded = store.load("http://127.0.0.1:8787/").await.expect("load");
        assert_eq!(loaded, Some(kept.clone()));
        assert_eq!(
            store.load("http://127.0.0.1:9999/").await.expect("load"),
            None
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = CredentialStore::file_for(&dir.path().join("sessions"), &kept.server);
            let mode = std::fs::metadata(file).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(
            store
                .delete("http://127.0.0.1:8787/")
                .await
                .expect("delete")
        );
        assert_eq!(
            store.load("http://127.0.0.1:8787").await.expect("load"),
            None
        );
    }

    #[test]
    fn sessions_never_show_their_tokens_and_renew_a_minute_early() {
        let kept = session("http://127.0.0.1:8787/");
        let shown = format!("{kept:?}");
        assert!(!shown.contains("secret"), "{shown}");
        let expires = kept.expires_at.expect("expiry");
        assert!(!kept.due_for_renewal(expires - TimeDelta::seconds(61)));
        assert!(kept.due_for_renewal(expires - TimeDelta::seconds(59)));
        assert_eq!(
            kept.fingerprint(),
            session("http://127.0.0.1:8787").fingerprint()
        );
    }

    #[test]
    fn a_short_token_renews_late_in_its_life_and_one_without_refresh_only_when_out() {
        let now = Utc::now();
        let short = Session {
            obtained_at: Some(now),
            expires_at: Some(now + TimeDelta::seconds(20)),
            ..session("http://127.0.0.1:8787/")
        };
        assert!(
            !short.due_for_renewal(now + TimeDelta::seconds(1)),
            "a 20 s token is not renewed at every request"
        );
        assert!(!short.due_for_renewal(now + TimeDelta::seconds(14)));
        assert!(short.due_for_renewal(now + TimeDelta::seconds(16)));
        let unrenewable = Session {
            refresh_token: None,
            ..short
        };
        assert!(
            !unrenewable.due_for_renewal(now + TimeDelta::seconds(19)),
            "valid until it runs out"
        );
        assert!(unrenewable.due_for_renewal(now + TimeDelta::seconds(20)));
    }

    #[test]
    fn an_unreadable_kept_session_is_an_error_that_says_what_to_do() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = CredentialStore::file_for(dir.path(), "http://127.0.0.1:8787/");
        std::fs::write(&path, "{not json").expect("write");
        let store = CredentialStore::Files(dir.path().to_owned());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let err = runtime
            .block_on(store.load("http://127.0.0.1:8787/"))
            .expect_err("unreadable");
        assert!(err.contains("gavel auth login"), "{err}");
    }
}
