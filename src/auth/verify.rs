//! Checking a bearer JWT against the identity provider: its signature
//! against the provider's published keys, the algorithm those keys are
//! for (never `none`, never what the token's header alone says), and
//! `iss`, `aud`, `exp` and `nbf` with a small clock-skew allowance.
//!
//! The keys come from the provider's discovery document and are cached; a
//! token signed with a key id not in the cache refetches them at most once
//! a minute (a provider rotating its keys is picked up; a stream of forged
//! key ids costs one fetch a minute, never one per request).

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::OidcSettings;
use super::directory::{Directory, Membership};
use crate::backend::Identity;

/// How often an unknown key id may send us back to the provider.
pub const KEY_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// Longest token accepted (headers carry them; providers stay far below).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// The token is not one this server accepts; the message says why.
    #[error("{0}")]
    Rejected(String),
    /// The provider could not be asked (its keys or discovery document).
    #[error("the identity provider cannot be reached: {0}")]
    ProviderUnreachable(String),
}

/// A person as a verified token asserts them.
#[derive(Debug, Clone, PartialEq)]
pub struct Asserted {
    pub identity: Identity,
    pub email_verified: bool,
    pub name: Option<String>,
    pub membership: Membership,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

/// While the provider cannot be reached, ask it again at most this often.
const UNREACHABLE_RETRY: Duration = Duration::from_secs(5);

#[derive(Default)]
struct KeyCache {
    jwks_uri: Option<url::Url>,
    keys: Option<JwkSet>,
    /// The last time the keys were asked for, answered or not.
    asked_at: Option<Instant>,
    /// The last time an unknown key id sent us to the provider.
    unknown_kid_at: Option<Instant>,
}

/// Checks tokens for one provider and audience.
pub struct Verifier {
    issuer: String,
    audience: String,
    leeway: u64,
    subject_claim: String,
    directory: Directory,
    http: reqwest::Client,
    cache: tokio::sync::Mutex<KeyCache>,
}

impl Verifier {
    pub fn new(settings: &OidcSettings) -> Result<Verifier, String> {
        super::check_provider_url("[auth.oidc] issuer", &settings.issuer)?;
        if settings.client_id.trim().is_empty() {
            return Err("[auth.oidc] client_id must not be empty".into());
        }
        let directory = Directory::new(&settings.groups_claim, &settings.roles, &settings.teams)?;
        let http = reqwest::Client::builder()
            // Following redirects would let a discovery document send us
            // anywhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|err| format!("cannot build an HTTP client: {err}"))?;
        Ok(Verifier {
            issuer: settings.issuer.clone(),
            audience: settings.audience().to_owned(),
            leeway: settings
                .clock_skew_seconds
                .unwrap_or(super::DEFAULT_CLOCK_SKEW_SECONDS),
            subject_claim: settings.subject_claim.clone(),
            directory,
            http,
            cache: tokio::sync::Mutex::new(KeyCache::default()),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Whether `token` looks like a JWT (Gavel's own tokens never do).
    pub fn looks_like_jwt(token: &str) -> bool {
        token.split('.').count() == 3 && token.starts_with("eyJ")
    }

    /// The person `token` asserts, if the provider signed it for us and it
    /// is current.
    pub async fn verify(&self, token: &str) -> Result<Asserted, TokenError> {
        let reject = |message: String| TokenError::Rejected(message);
        if token.len() > MAX_TOKEN_BYTES {
            return Err(reject(format!(
                "the token is longer than {MAX_TOKEN_BYTES} bytes"
            )));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|err| {
            reject(format!(
                "not a signed token this server accepts ({err}); `alg: none` never is"
            ))
        })?;
        let jwk = self.key_for(header.kid.as_deref()).await?;
        let algorithm = algorithm_of(&jwk).ok_or_else(|| {
            reject("the provider's key is for no signing algorithm Gavel accepts".into())
        })?;
        if header.alg != algorithm {
            return Err(reject(format!(
                "the token says it is signed with {:?}, but its key is for {algorithm:?}",
                header.alg
            )));
        }
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|err| reject(format!("the provider's key cannot be used: {err}")))?;
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.leeway;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|err| {
            use jsonwebtoken::errors::ErrorKind;
            reject(match err.kind() {
                ErrorKind::ExpiredSignature => "the token has expired: sign in again".to_owned(),
                ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".to_owned(),
                ErrorKind::InvalidAudience => format!(
                    "the token is for another audience (Gavel's is {:?})",
                    self.audience
                ),
                ErrorKind::InvalidIssuer => format!(
                    "the token was issued by another provider (Gavel trusts {})",
                    self.issuer
                ),
                ErrorKind::InvalidSignature => {
                    "the token's signature does not verify with the provider's key".to_owned()
                }
                ErrorKind::MissingRequiredClaim(claim) => {
                    format!("the token has no {claim} claim")
                }
                _ => format!("the token is not valid: {err}"),
            })
        })?;
        let claims = data.claims;
        // The person's id at the provider: `sub`, or the configured claim.
        let subject = match self.subject_claim.as_str() {
            "sub" => claims.sub.clone(),
            claim => claims
                .rest
                .get(claim)
                .and_then(|value| value.as_str())
                .map(str::to_owned),
        }
        .ok_or_else(|| reject(format!("the token has no {} claim", self.subject_claim)))?;
        if subject.is_empty() || subject.len() > 255 {
            return Err(reject("the token's subject must be 1 to 255 bytes".into()));
        }
        let mut all = claims.rest.clone();
        if let Some(sub) = &claims.sub {
            all.insert("sub".into(), sub.clone().into());
        }
        let membership = self.directory.membership(&all);
        let timestamp = |seconds: i64| Utc.timestamp_opt(seconds, 0).single();
        Ok(Asserted {
            identity: Identity {
                issuer: self.issuer.clone(),
                subject,
                email: claims.email.map(|email| email.trim().to_owned()),
            },
            email_verified: matches!(claims.email_verified, Some(serde_json::Value::Bool(true)))
                || claims.email_verified.as_ref().and_then(|v| v.as_str()) == Some("true"),
            name: claims.name.or(claims.preferred_username),
            membership,
            issued_at: claims.iat.and_then(timestamp).unwrap_or_else(Utc::now),
            expires_at: timestamp(claims.exp).unwrap_or_else(Utc::now),
        })
    }

    /// The provider's key `kid` names (its only signing key when the token
    /// names none), refetching the keys at most once a minute when it is
    /// not known.
    async fn key_for(&self, kid: Option<&str>) -> Result<Jwk, TokenError> {
        let mut cache = self.cache.lock().await;
        if cache.keys.is_none() {
            if let Some(asked) = cache.asked_at.filter(|at| at.elapsed() < UNREACHABLE_RETRY) {
                return Err(TokenError::ProviderUnreachable(format!(
                    "its keys could not be fetched {} s ago",
                    asked.elapsed().as_secs()
                )));
            }
            self.refetch(&mut cache).await?;
        }
        if let Some(jwk) = cache.keys.as_ref().and_then(|keys| find(keys, kid)) {
            return Ok(jwk);
        }
        // A key id we do not know: the provider may have rotated its keys.
        // Asking costs a fetch, so at most once a minute.
        let may_refetch = cache
            .unknown_kid_at
            .is_none_or(|at| at.elapsed() >= KEY_REFETCH_INTERVAL);
        if may_refetch {
            cache.unknown_kid_at = Some(Instant::now());
            self.refetch(&mut cache).await?;
            if let Some(jwk) = cache.keys.as_ref().and_then(|keys| find(keys, kid)) {
                return Ok(jwk);
            }
        }
        Err(TokenError::Rejected(match kid {
            Some(kid) => {
                format!("the token is signed with a key ({kid:?}) the provider does not publish")
            }
            None => "the token names no key and the provider publishes more than one".to_owned(),
        }))
    }

    async fn refetch(&self, cache: &mut KeyCache) -> Result<(), TokenError> {
        cache.asked_at = Some(Instant::now());
        let unreachable = |err: String| TokenError::ProviderUnreachable(err);
        let jwks_uri = match &cache.jwks_uri {
            Some(uri) => uri.clone(),
            None => {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.issuer.trim_end_matches('/')
                );
                let discovery: Discovery = self.get_json(&url).await.map_err(unreachable)?;
                if discovery.issuer != self.issuer {
                    return Err(unreachable(format!(
                        "the discovery document at {url} names issuer {:?}, not {:?}",
                        discovery.issuer, self.issuer
                    )));
                }
                let uri = super::check_provider_url("jwks_uri", &discovery.jwks_uri)
                    .map_err(unreachable)?;
                cache.jwks_uri = Some(uri.clone());
                uri
            }
        };
        #[derive(Deserialize)]
        struct RawKeys {
            keys: Vec<serde_json::Value>,
        }
        // One key Gavel cannot read (an encryption key, a new algorithm)
        // must not hide the others.
        let raw: RawKeys = self
            .get_json(jwks_uri.as_str())
            .await
            .map_err(unreachable)?;
        let keys = JwkSet {
            keys: raw
                .keys
                .into_iter()
                .filter_map(|key| serde_json::from_value::<Jwk>(key).ok())
                .collect(),
        };
        tracing::info!(issuer = %self.issuer, keys = keys.keys.len(), "fetched the identity provider's keys");
        cache.keys = Some(keys);
        Ok(())
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| format!("{url}: {err}"))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|err| format!("{url}: {err}"))?;
        if bytes.len() > 1024 * 1024 {
            return Err(format!("{url} answered more than 1 MB"));
        }
        serde_json::from_slice(&bytes).map_err(|err| format!("{url}: {err}"))
    }
}

/// The signing key `kid` names; with no `kid`, the only signing key.
fn find(keys: &JwkSet, kid: Option<&str>) -> Option<Jwk> {
    let signing = |jwk: &&Jwk| {
        !matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption))
            && algorithm_of(jwk).is_some()
    };
    match kid {
        Some(kid) => keys
            .keys
            .iter()
            .filter(signing)
            .find(|jwk| jwk.common.key_id.as_deref() == Some(kid))
            .cloned(),
        None => {
            let mut candidates = keys.keys.iter().filter(signing);
            let only = candidates.next()?;
            candidates.next().is_none().then(|| only.clone())
        }
    }
}

/// The one algorithm a key verifies: its `alg` when it says, else the
/// usual one for its type. Symmetric keys never: a provider's published
/// key is public, and anyone could sign with it.
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    let by_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(params) => match params.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
        _ => return None,
    };
    let algorithm = match jwk.common.key_algorithm {
        Some(declared) => Algorithm::try_from(declared).ok()?,
        None => by_type,
    };
    let family_matches = matches!(
        (&jwk.algorithm, algorithm),
        (
            AlgorithmParameters::RSA(_),
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ) | (
            AlgorithmParameters::EllipticCurve(_),
            Algorithm::ES256 | Algorithm::ES384
        ) | (AlgorithmParameters::OctetKeyPair(_), Algorithm::EdDSA)
    );
    family_matches.then_some(algorithm)
}
