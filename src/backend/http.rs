//! `HttpBackend`: the governance backend over `gavel serve`'s HTTP API.

mod calls;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

use crate::auth::keeper::SessionKeeper;
use crate::retry::{Backoff, retry_after};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

use super::local::feed::{ChangePage, SnapshotPage};
use super::queue::{QueueFilter, QueueScope};
use super::wire::{CheckpointBody, ErrorBody, LogKeyBody, ProofBody, error_from_response};
use super::{BackendError, Result};

/// The largest answer read from a server.
const MAX_ANSWER_BYTES: usize = 64 << 20;
/// The longest string a sync page may hold: every field the model has is
/// far shorter, so anything longer is a broken or hostile server.
pub const MAX_FEED_STRING: usize = 1 << 20;

/// What the change feed answered.
#[derive(Debug)]
pub enum FeedAnswer {
    Page(ChangePage),
    /// The cursor is unknown to the server: start again from a snapshot.
    Resync,
}

fn check_feed_strings(bytes: &[u8]) -> Result<()> {
    let longest = longest_json_string(bytes);
    if longest > MAX_FEED_STRING {
        return Err(BackendError::Invalid(format!(
            "the server sent a sync page with a {longest}-byte string (the limit is {MAX_FEED_STRING}); the page was not applied"
        )));
    }
    Ok(())
}

/// The byte length of the longest string literal in a JSON text, found in
/// one pass without parsing (escapes are counted as written).
pub fn longest_json_string(bytes: &[u8]) -> usize {
    let (mut longest, mut start, mut inside, mut escaped) = (0, 0, false, false);
    for (index, &byte) in bytes.iter().enumerate() {
        if !inside {
            if byte == b'"' {
                inside = true;
                start = index + 1;
            }
        } else if escaped {
            escaped = false;
        } else if byte == b'\\' {
            escaped = true;
        } else if byte == b'"' {
            inside = false;
            longest = longest.max(index - start);
        }
    }
    if inside {
        longest = longest.max(bytes.len() - start);
    }
    longest
}

/// Attempts for a request that is safe to repeat.
const ATTEMPTS: u32 = 4;
const BACKOFF: Backoff = Backoff {
    first: Duration::from_millis(100),
    max: Duration::from_secs(2),
    max_retry_after: Duration::from_secs(10),
};

/// A Gavel token. It never shows in `Debug`, errors or logs.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(redacted)")
    }
}

impl Token {
    /// A SHA-256 of the token: names it (for the offline cache) without
    /// revealing it.
    pub fn fingerprint(&self) -> String {
        crate::domain::digest::token_hash(&self.0)
    }

    pub fn new(secret: String) -> Token {
        Token(secret.trim().to_owned())
    }

    /// Reads a token file, refusing one that others could read.
    pub fn from_file(path: &Path) -> Result<Token> {
        let shown = path.display();
        let metadata = std::fs::metadata(path).map_err(|err| {
            BackendError::Unauthenticated(format!("cannot read token file {shown}: {err}"))
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(BackendError::Unauthenticated(format!(
                    "token file {shown} is readable by others (mode {mode:o}); run `chmod 600 {shown}`"
                )));
            }
        }
        let text = std::fs::read_to_string(path).map_err(|err| {
            BackendError::Unauthenticated(format!("cannot read token file {shown}: {err}"))
        })?;
        let token = Token::new(text);
        if token.0.is_empty() {
            return Err(BackendError::Unauthenticated(format!(
                "token file {shown} is empty"
            )));
        }
        Ok(token)
    }
}

/// How this client proves who it is: a Gavel token (service accounts, or
/// a server without an identity provider), or a person's sign-in, renewed
/// as it runs out.
#[derive(Debug, Clone)]
pub enum Credentials {
    Token(Token),
    SignIn(Arc<SessionKeeper>),
}

impl Credentials {
    /// Names who this is (for the offline cache) without revealing a
    /// secret; a sign-in keeps its name across renewals.
    pub fn fingerprint(&self) -> String {
        match self {
            Credentials::Token(token) => token.fingerprint(),
            Credentials::SignIn(keeper) => keeper.fingerprint().to_owned(),
        }
    }

    async fn bearer(&self) -> Result<String> {
        match self {
            Credentials::Token(token) => Ok(token.0.clone()),
            Credentials::SignIn(keeper) => keeper.bearer().await,
        }
    }
}

#[derive(Debug, Clone)]
pub struct HttpBackend {
    base: Url,
    client: reqwest::Client,
    credentials: Credentials,
}

/// `http://` only to this machine; anything else must be `https://`.
pub fn check_url(url: &str) -> Result<Url> {
    let parsed = Url::parse(url)
        .map_err(|err| BackendError::Invalid(format!("{url:?} is not a URL: {err}")))?;
    let loopback = crate::net::is_loopback(&parsed);
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        "http" => Err(BackendError::Invalid(format!(
            "{url} is plain http to another machine: use https:// (http:// is allowed only for loopback addresses)"
        ))),
        other => Err(BackendError::Invalid(format!(
            "unsupported scheme {other:?} in {url}"
        ))),
    }
}

/// How people sign in to the server at `url` (`GET /v1/auth/config`, which
/// needs no authentication); `None` when it signs no one in with a provider.
pub async fn auth_config(url: &str) -> Result<Option<crate::auth::AuthConfig>> {
    let base = check_url(url)?;
    let backend = HttpBackend::new(base.as_str(), Token::new(String::new()))?;
    let url = backend.url(&["v1", "auth", "config"]);
    let response = backend.client.get(url).send().await.map_err(|err| {
        BackendError::Unavailable(format!("cannot reach {base}: {}", err.without_url()))
    })?;
    let status = response.status();
    let bytes = backend.read_body(response).await?;
    if status == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    backend.decode(status, &bytes).map(Some)
}

impl HttpBackend {
    pub fn new(url: &str, token: Token) -> Result<HttpBackend> {
        HttpBackend::with_credentials(url, Credentials::Token(token))
    }

    /// Whether this client's sign-in has ended (it could not be renewed):
    /// the person must sign in again; nothing they did is dropped.
    pub fn sign_in_ended(&self) -> bool {
        matches!(&self.credentials, Credentials::SignIn(keeper) if keeper.ended())
    }

    pub fn with_credentials(url: &str, credentials: Credentials) -> Result<HttpBackend> {
        let base = check_url(url)?;
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            // Under the server's 20 s idle close, so a pooled connection is
            // not reused in the instant the server drops it.
            .pool_idle_timeout(Duration::from_secs(10))
            .user_agent(concat!("gavel/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| {
                BackendError::Unavailable(format!("cannot build the HTTP client: {err}"))
            })?;
        Ok(HttpBackend {
            base,
            client,
            credentials,
        })
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    /// Sends a request; repeats it with backoff on a lost connection or a
    /// 429/502/503/504 when `repeatable`.
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        headers: HeaderMap,
        repeatable: bool,
    ) -> Result<(StatusCode, HeaderMap, bytes::Bytes)> {
        let mut attempt = 0;
        let mut bearer = self.credentials.bearer().await?;
        let mut renewed = false;
        loop {
            let mut request = self
                .client
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            let mut auth = HeaderValue::from_str(&format!("Bearer {bearer}")).map_err(|_| {
                BackendError::Unauthenticated("the token holds characters a header cannot".into())
            })?;
            auth.set_sensitive(true);
            request = request.header(AUTHORIZATION, auth);
            if let Some(body) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let outcome = request.send().await;
            let retryable = match &outcome {
                Err(err) => err.is_connect() || err.is_timeout() || err.is_request(),
                Ok(response) => matches!(response.status().as_u16(), 429 | 502 | 503 | 504),
            };
            if repeatable && retryable && attempt + 1 < ATTEMPTS {
                let wait = outcome
                    .as_ref()
                    .ok()
                    .and_then(|response| retry_after(response.headers()));
                tokio::time::sleep(BACKOFF.delay(attempt, wait)).await;
                attempt += 1;
                continue;
            }
            let response = outcome.map_err(|err| {
                BackendError::Unavailable(format!(
                    "cannot reach {}: {}",
                    self.base,
                    err.without_url()
                ))
            })?;
            // A refused sign-in token is renewed once and the request sent
            // again: the server acted on nothing it refused.
            if response.status() == StatusCode::UNAUTHORIZED
                && !renewed
                && let Credentials::SignIn(keeper) = &self.credentials
            {
                bearer = keeper.renew_after_refusal(&bearer).await?;
                renewed = true;
                continue;
            }
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = self.read_body(response).await?;
            return Ok((status, headers, bytes));
        }
    }

    /// Reads an answer's body, refusing one larger than `MAX_ANSWER_BYTES`
    /// before it is all in memory (the server's text is untrusted).
    async fn read_body(&self, mut response: reqwest::Response) -> Result<bytes::Bytes> {
        let unreadable = |err: reqwest::Error| {
            BackendError::Unavailable(format!(
                "reading the answer from {}: {}",
                self.base,
                err.without_url()
            ))
        };
        let too_large = || {
            BackendError::Invalid(format!(
                "the answer from {} is larger than {} MB",
                self.base,
                MAX_ANSWER_BYTES >> 20
            ))
        };
        if response
            .content_length()
            .is_some_and(|length| length > MAX_ANSWER_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(unreadable)? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    /// The changes after `since`; `Resync` when the server can no longer
    /// serve that cursor (its store was replaced), so a full sync is due.
    pub async fn changes(&self, since: i64, limit: u32) -> Result<FeedAnswer> {
        let mut url = self.url(&["v1", "changes"]);
        url.query_pairs_mut()
            .append_pair("since", &since.to_string())
            .append_pair("limit", &limit.to_string());
        let (status, _, bytes) = self
            .send(Method::GET, url, None, HeaderMap::new(), true)
            .await?;
        if status == StatusCode::GONE {
            return Ok(FeedAnswer::Resync);
        }
        check_feed_strings(&bytes)?;
        self.decode(status, &bytes).map(FeedAnswer::Page)
    }

    /// One keyset page of a table, for a first sync.
    pub async fn snapshot(&self, table: &str, after: &str, limit: u32) -> Result<SnapshotPage> {
        let (status, _, bytes) = self
            .send(
                Method::GET,
                self.snapshot_url(table, after, limit),
                None,
                HeaderMap::new(),
                true,
            )
            .await?;
        check_feed_strings(&bytes)?;
        self.decode(status, &bytes)
    }

    /// The raw bytes of a snapshot page (what a bare client would fetch; the
    /// sync benchmark's reference).
    pub async fn snapshot_bytes(&self, table: &str, after: &str, limit: u32) -> Result<usize> {
        let url = self.snapshot_url(table, after, limit);
        let (_, _, bytes) = self
            .send(Method::GET, url, None, HeaderMap::new(), true)
            .await?;
        Ok(bytes.len())
    }

    fn snapshot_url(&self, table: &str, after: &str, limit: u32) -> Url {
        let mut url = self.url(&["v1", "snapshot", table]);
        url.query_pairs_mut()
            .append_pair("after", after)
            .append_pair("limit", &limit.to_string());
        url
    }

    fn decode<T: DeserializeOwned>(&self, status: StatusCode, bytes: &[u8]) -> Result<T> {
        if status.is_success() {
            return serde_json::from_slice(bytes).map_err(|err| {
                BackendError::Storage(format!("the server's answer does not parse: {err}"))
            });
        }
        let body: ErrorBody = serde_json::from_slice(bytes).unwrap_or_else(|_| {
            ErrorBody::new(
                "http",
                format!("HTTP {status} without a readable error body"),
            )
        });
        Err(error_from_response(status.as_u16(), body))
    }

    async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<T> {
        let mut url = self.url(segments);
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let (status, _, bytes) = self
            .send(Method::GET, url, None, HeaderMap::new(), true)
            .await?;
        self.decode(status, &bytes)
    }

    async fn write<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: &B,
        headers: HeaderMap,
        repeatable: bool,
    ) -> Result<T> {
        let body = serde_json::to_vec(body)
            .map_err(|err| BackendError::Invalid(format!("cannot encode the request: {err}")))?;
        let (status, _, bytes) = self
            .send(method, self.url(segments), Some(body), headers, repeatable)
            .await?;
        self.decode(status, &bytes)
    }

    /// An agent's evidence pack: zip bytes, or the server's error.
    async fn fetch_evidence_pack(&self, query: &crate::backend::EvidenceQuery) -> Result<Vec<u8>> {
        let mut url = self.url(&["v1", "agents", &query.agent_id, "evidence"]);
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(version) = &query.agent_version {
                pairs.append_pair("version", version);
            }
            if let Some(from) = query.from {
                pairs.append_pair("from", &from.to_rfc3339());
            }
            if let Some(to) = query.to {
                pairs.append_pair("to", &to.to_rfc3339());
            }
        }
        let (status, _, bytes) = self
            .send(Method::GET, url, None, HeaderMap::new(), true)
            .await?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        self.decode::<serde_json::Value>(status, &bytes)
            .map(|_| Vec::new())
    }

    /// An agent version's attestation: 200 carries it, 410 Gone the
    /// signed revocation.
    async fn attestation_of(
        &self,
        agent_id: &str,
        version: &str,
    ) -> Result<crate::domain::attestation::Attested> {
        use crate::domain::attestation::Attested;
        let url = self.url(&["v1", "attestations", agent_id, version]);
        let (status, _, bytes) = self
            .send(Method::GET, url, None, HeaderMap::new(), true)
            .await?;
        if status == StatusCode::GONE {
            return self.decode(StatusCode::OK, &bytes).map(Attested::Revoked);
        }
        self.decode(status, &bytes).map(Attested::Issued)
    }

    /// The log's public key as the server states it.
    pub async fn log_key(&self) -> Result<String> {
        let body: LogKeyBody = self.get(&["v1", "log", "key"], &[]).await?;
        Ok(body.key)
    }

    /// The server's newest signed checkpoint (unverified: see
    /// `domain::checkpoint::open`).
    pub async fn log_checkpoint(&self) -> Result<String> {
        let body: CheckpointBody = self.get(&["v1", "log", "checkpoint"], &[]).await?;
        Ok(body.checkpoint)
    }

    /// The proof that the log of `old` events is a prefix of the one of `new`.
    pub async fn log_consistency(&self, old: u64, new: u64) -> Result<Vec<String>> {
        let body: ProofBody = self
            .get(
                &["v1", "log", "proof", "consistency"],
                &[("old", old.to_string()), ("new", new.to_string())],
            )
            .await?;
        Ok(body.hashes)
    }

    fn filter_query(filter: &QueueFilter) -> Vec<(&'static str, String)> {
        let mut query = vec![("status", filter.status.as_str().to_owned())];
        if filter.scope == QueueScope::Everything {
            query.push(("scope", "all".to_owned()));
        }
        if let Some(roles) = &filter.roles {
            query.push((
                "roles",
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ));
        }
        if let Some(risk) = filter.risk {
            query.push(("risk", risk.as_str().to_owned()));
        }
        if let Some(team) = &filter.team {
            query.push(("team", team.clone()));
        }
        if let Some(search) = &filter.search {
            query.push(("search", search.clone()));
        }
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_string_is_found_through_escapes() {
        assert_eq!(longest_json_string(br#"{"a":"xyz","bb":1}"#), 3);
        assert_eq!(longest_json_string(br#"["a\"b\\", "c"]"#), 6);
        assert_eq!(longest_json_string(br#"{"k": "abcdefghij"#), 10);
        assert_eq!(longest_json_string(b"[1, 2]"), 0);
        let huge = format!("{{\"x\":\"{}\"}}", "y".repeat(MAX_FEED_STRING + 1));
        assert!(check_feed_strings(huge.as_bytes()).is_err());
    }

    #[test]
    fn plain_http_is_only_for_loopback() {
        for ok in [
            "https://gavel.example.com",
            "http://127.0.0.1:8787",
            "http://localhost:1",
            "http://[::1]:80",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://gavel.example.com",
            "http://10.0.0.1",
            "ftp://x",
            "not a url",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_never_show_in_debug() {
        let backend =
            HttpBackend::new("http://127.0.0.1:1", Token::new("gvl_secret".into())).unwrap();
        let shown = format!("{backend:?}");
        assert!(!shown.contains("gvl_secret"), "{shown}");
    }

    #[cfg(unix)]
    #[test]
    fn token_files_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "gvl_abc\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Token::from_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("chmod 600") && !err.contains("gvl_abc"),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(Token::from_file(&path).unwrap().0, "gvl_abc");
    }
}
