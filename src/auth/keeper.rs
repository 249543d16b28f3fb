//! A session in use: the bearer token each request carries, renewed
//! before it runs out.

use std::sync::Arc;

use chrono::Utc;

use super::http_client::ProviderClient;
use super::session::{CredentialStore, Session};
use crate::backend::BackendError;

/// A session in use: hands out a current bearer token, renewing it with
/// the refresh token shortly before it runs out or when the server refuses
/// it, and keeps the renewed session. When it cannot be renewed it says so
/// until the person signs in again (another `gavel auth login` is picked up
/// without a restart).
pub struct SessionKeeper {
    state: tokio::sync::Mutex<Session>,
    store: CredentialStore,
    http: ProviderClient,
    fingerprint: String,
    ended: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for SessionKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeeper").finish_non_exhaustive()
    }
}

impl SessionKeeper {
    pub fn new(session: Session, store: CredentialStore) -> Result<Arc<SessionKeeper>, String> {
        Ok(Arc::new(SessionKeeper {
            fingerprint: session.fingerprint(),
            state: tokio::sync::Mutex::new(session),
            store,
            http: ProviderClient::new()?,
            ended: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    /// Names the person for the offline cache (stable across renewals).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether the session could not be renewed and nobody signed in since.
    pub fn ended(&self) -> bool {
        self.ended.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A bearer token good for the next request.
    pub async fn bearer(&self) -> Result<String, BackendError> {
        let mut session = self.state.lock().await;
        if session.due_for_renewal(Utc::now()) {
            self.renew(&mut session).await?;
        }
        Ok(session.bearer_token().to_owned())
    }

    /// The server refused `sent`: renew, unless another request already did.
    pub async fn renew_after_refusal(&self, sent: &str) -> Result<String, BackendError> {
        let mut session = self.state.lock().await;
        if session.bearer_token() == sent {
            self.renew(&mut session).await?;
        }
        Ok(session.bearer_token().to_owned())
    }

    async fn renew(&self, session: &mut Session) -> Result<(), BackendError> {
        // Someone may have signed in again elsewhere (`gavel auth login`):
        // their newer sign-in wins over ours.
        if let Ok(Some(kept)) = self.store.load(&session.server).await
            && kept.subject == session.subject
            && kept.access_token != session.access_token
        {
            *session = kept;
            self.ended.store(false, std::sync::atomic::Ordering::SeqCst);
            if !session.due_for_renewal(Utc::now()) {
                return Ok(());
            }
        }
        match super::login::refresh(session, &self.http).await {
            Ok(renewed) => {
                if let Err(err) = self.store.save(&renewed).await {
                    tracing::warn!(%err, "cannot keep the renewed sign-in");
                }
                *session = renewed;
                self.ended.store(false, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            }
            Err(super::login::LoginError::Unreachable(reason)) => Err(BackendError::Unavailable(
                format!("cannot renew your sign-in: {reason}"),
            )),
            Err(err) => {
                self.ended.store(true, std::sync::atomic::Ordering::SeqCst);
                Err(BackendError::Unauthenticated(format!(
                    "your sign-in has ended ({err}): run `gavel auth login --url {}`; work not yet sent stays in the outbox and goes once you are signed in",
                    session.server
                )))
            }
        }
    }
}
