//! How the offline cache opens on its mirror and its server, and acts:
//! who the user is offline, and changes queued for the server.

use super::*;

impl CachedBackend {
    /// The sync loop that sends this cache's changes and brings the
    /// server's.
    pub fn syncer(&self) -> Option<Arc<Syncer>> {
        Some(Arc::clone(&self.syncer))
    }

    /// Opens the cache of this server and token in `dir`, creating it (which
    /// needs the server once) or recovering it when damaged.
    pub async fn open(
        remote: HttpBackend,
        token_fingerprint: String,
        dir: &Path,
        full_check: bool,
    ) -> Result<Self> {
        let identity = file::Identity {
            server_url: remote.location(),
            token_fingerprint,
        };
        let remote = Arc::new(remote);
        let found = {
            let (dir, identity) = (dir.to_owned(), identity.clone());
            blocking(move || Ok(file::find(&dir, &identity))).await?
        };
        // Offline use needs a cache from an earlier visit; a first visit asks
        // the server who this token belongs to.
        let (path, me) = match found {
            Some(path) => (path, None),
            None => {
                let me = remote.me().await.map_err(|err| match err {
                    BackendError::Unavailable(why) => BackendError::Unavailable(format!(
                        "there is no offline cache for {} yet, and the server cannot be reached to build one: {why}",
                        identity.server_url
                    )),
                    other => other,
                })?;
                (
                    file::path_for(dir, &identity.server_url, &me.email),
                    Some(me),
                )
            }
        };
        let opened = {
            let path = path.clone();
            blocking(move || file::open(&path, &identity, full_check, Utc::now())).await?
        };
        let store = opened.store;
        let known = {
            let store = Arc::clone(&store);
            blocking(move || store.read(|conn| Ok(file::meta(conn, "user_email")?))).await?
        };
        // A new (or rebuilt) cache learns whose it is from the server.
        let email = match (known, me) {
            (Some(email), None) => email,
            (_, me) => {
                let me = match me {
                    Some(me) => me,
                    None => remote
                        .me()
                        .await
                        .map_err(|err| needs_server("building the offline cache", err))?,
                };
                let store = Arc::clone(&store);
                let email = me.email.clone();
                blocking(move || {
                    store.write(|tx| {
                        mirror::put_user(tx, &me)?;
                        Ok(file::set_meta(tx, "user_email", &me.email)?)
                    })
                })
                .await?;
                email
            }
        };
        // Checked now, or by the sync loop before its first pass.
        let syncer = Syncer::new(
            Arc::clone(&store),
            Arc::clone(&remote),
            (!full_check).then_some(path),
        );
        syncer.publish().await?;
        Ok(CachedBackend {
            local: LocalBackend::new(store, Some(email)),
            remote,
            syncer,
            notice: opened.notice,
        })
    }

    pub fn store(&self) -> &Arc<LocalStore> {
        self.local.store()
    }

    /// What the user must hear about how the cache opened (a damaged file
    /// set aside), once.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    pub(super) async fn actor(&self) -> Result<User> {
        // A sign-in that ran out is still the same person: what they decide
        // waits in the outbox until they sign in again. A token the server
        // refuses (access removed) saves nothing more.
        if self.syncer.token_refused() && !self.remote.sign_in_ended() {
            return Err(BackendError::Unauthenticated(
                "the server no longer accepts your token (your access was removed, or the token replaced): nothing more is saved in your name; what was saved before stays in the cache".into(),
            ));
        }
        let store = Arc::clone(self.local.store());
        let email = self.local_email()?;
        let cached = blocking(move || store.read(|conn| reads_user(conn, &email))).await?;
        match cached {
            Some(user) => Ok(user),
            None => {
                let me = self.remote.me().await?;
                let store = Arc::clone(self.local.store());
                let user = me.clone();
                blocking(move || store.write(|tx| mirror::put_user(tx, &user))).await?;
                Ok(me)
            }
        }
    }

    pub(super) fn local_email(&self) -> Result<String> {
        self.local
            .acting_user()
            .map(str::to_owned)
            .ok_or_else(|| BackendError::Storage("the offline cache has no user".into()))
    }

    /// Applies a change to the cache and queues it for the server in one
    /// transaction: when this returns, the change is saved.
    pub(super) async fn queue_change<T: Send + 'static>(
        &self,
        apply: impl FnOnce(&crate::db::Connection, &User) -> Result<(T, Change, Option<i64>)>
        + Send
        + 'static,
        key: String,
    ) -> Result<T> {
        let user = self.actor().await?;
        let store = Arc::clone(self.local.store());
        let value = blocking(move || {
            store.write(|tx| {
                let (value, change, base_version) = apply(tx, &user)?;
                outbox::add(tx, &change, &key, base_version, Utc::now())?;
                Ok(value)
            })
        })
        .await?;
        self.syncer.publish().await?;
        self.syncer.wake();
        Ok(value)
    }

    /// Rows the server answered a direct change with go into the cache.
    /// Refreshes the copy of the person's delegations after a change.
    pub(super) async fn keep_delegations(&self) -> Result<()> {
        self.syncer.sync_delegations().await
    }

    pub(super) async fn keep(&self, rows: ChangedEntities) -> Result<()> {
        let store = Arc::clone(self.local.store());
        blocking(move || store.write(|tx| mirror::upsert(tx, &rows))).await?;
        self.syncer.wake();
        Ok(())
    }
}
