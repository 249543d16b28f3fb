//! Who the embedded store acts as in a call, and how a call reaches it:
//! reads and writes on the blocking pool, the acting user checked.

use super::super::types::{Identity, User};
use super::super::{BackendError, Result};
use super::*;
use crate::db::Connection;
use std::path::Path;
use std::sync::Arc;

impl LocalBackend {
    pub fn new(store: Arc<LocalStore>, user: Option<String>) -> LocalBackend {
        LocalBackend {
            store,
            user,
            authenticated: None,
            asserted: None,
            log_key: None,
        }
    }

    /// Acting as a user the caller has just authenticated (one request).
    pub fn authenticated(store: Arc<LocalStore>, user: User) -> LocalBackend {
        LocalBackend {
            store,
            user: Some(user.email.clone()),
            authenticated: Some(user),
            asserted: None,
            log_key: None,
        }
    }

    /// With the log's key, to sign the evidence packs it exports.
    pub fn with_log_key(mut self, key: Arc<logkey::LogKey>) -> LocalBackend {
        self.log_key = Some(key);
        self
    }

    /// Acting as a person the identity provider vouched for in this
    /// request: every event they cause records that identity.
    pub fn signed_in(store: Arc<LocalStore>, user: User, identity: Identity) -> LocalBackend {
        LocalBackend {
            asserted: Some(identity),
            ..LocalBackend::authenticated(store, user)
        }
    }

    pub fn open(path: &Path, user: Option<String>) -> Result<LocalBackend> {
        Ok(LocalBackend::new(LocalStore::open(path)?, user))
    }

    pub fn store(&self) -> &Arc<LocalStore> {
        &self.store
    }

    /// Whom this backend acts as, if anyone.
    pub fn acting_user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub(super) fn acting_email(&self) -> Result<String> {
        self.user.clone().ok_or_else(|| {
            BackendError::Unauthenticated(
                "no user given: pass --user EMAIL, set GAVEL_USER, or set `user` in config.toml"
                    .into(),
            )
        })
    }

    pub(super) async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = Arc::clone(&self.store);
        super::super::blocking(move || store.read(work)).await
    }

    pub(super) async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = Arc::clone(&self.store);
        let asserted = self.user.clone().zip(self.asserted.clone());
        super::super::blocking(move || {
            let _asserted = asserted
                .as_ref()
                .map(|(email, identity)| trail::asserting(email, identity));
            store.write(work)
        })
        .await
    }

    /// The acting user when one is given (reads that anyone may make).
    pub(super) async fn reader(&self) -> Result<Option<User>> {
        match self.user {
            Some(_) => self.actor().await.map(Some),
            None => Ok(None),
        }
    }

    /// The acting user, who must exist in the store and not be removed.
    pub(super) async fn actor(&self) -> Result<User> {
        if let Some(user) = &self.authenticated {
            return Ok(user.clone());
        }
        let email = self.acting_email()?;
        self.read(move |conn| match reads::user(conn, &email)? {
            Some(user) => Ok(user),
            None if reads::user_removed(conn, &email)? => Err(BackendError::Unauthenticated(
                format!("user {email:?} was removed and can no longer act"),
            )),
            None => Err(BackendError::Unauthenticated(format!(
                "user {email:?} is not known to this store: add them with `gavel users add {email} --roles ...`"
            ))),
        })
        .await
    }

    /// The log's key, to sign with (`what` says what for, in the error).
    pub(super) fn signing_key(&self, what: &str) -> Result<Arc<logkey::LogKey>> {
        self.log_key.clone().ok_or_else(|| {
            BackendError::Unavailable(format!(
                "this store has no log key to {what} with: run `gavel trail init`"
            ))
        })
    }

    /// Notes that the agent version was let deploy (a use: it is not
    /// dormant), written at most once a minute.
    pub async fn note_use(
        &self,
        agent_id: &str,
        version: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        let uses = &self.store.version_use;
        uses.note_and_write(agent_id, version, now, |batch| {
            self.write(move |tx| writes::record_version_use(tx, &batch))
        })
        .await;
    }
}
