//! Signing a person in with the provider, with `openidconnect`: the device
//! authorization grant (RFC 8628) for terminals, or the authorization-code
//! flow with PKCE and a loopback redirect when the provider has no device
//! flow; renewing with the refresh token; revoking at sign-out.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClient, CoreClientAuthMethod, CoreDeviceAuthorizationResponse, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType, CoreTokenResponse,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthType, AuthorizationCode, ClientId, CsrfToken,
    DeviceAuthorizationUrl, DeviceCodeErrorResponseType, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, ProviderMetadata, RedirectUrl, RefreshToken, RequestTokenError,
    RevocationUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};

use super::http_client::ProviderClient;
use super::session::{Session, unverified_claims};
use super::{AuthConfig, Bearer};

/// How long a browser sign-in may take before Gavel stops waiting.
const BROWSER_WAIT: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoginError {
    /// The provider (or the network to it) cannot be reached.
    #[error("{0}")]
    Unreachable(String),
    /// The person declined, or the provider refused.
    #[error("{0}")]
    Refused(String),
    /// The code or session ran out before the person finished.
    #[error("{0}")]
    Expired(String),
    /// The provider answered something Gavel cannot use.
    #[error("{0}")]
    Invalid(String),
}

/// The endpoints beyond the core discovery fields that Gavel uses.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ExtraMetadata {
    #[serde(default)]
    device_authorization_endpoint: Option<DeviceAuthorizationUrl>,
    #[serde(default)]
    revocation_endpoint: Option<RevocationUrl>,
    /// The `prompt` values the provider takes (OpenID Connect Discovery).
    #[serde(default)]
    prompt_values_supported: Option<Vec<String>>,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The provider's discovery document (and keys), checked to be for the
/// issuer the server named.
pub async fn discover(issuer: &str, http: &ProviderClient) -> Result<Metadata, LoginError> {
    super::check_provider_url("the issuer", issuer).map_err(LoginError::Invalid)?;
    let issuer_url = IssuerUrl::new(issuer.to_owned())
        .map_err(|err| LoginError::Invalid(format!("issuer {issuer:?}: {err}")))?;
    Metadata::discover_async(issuer_url, http)
        .await
        .map_err(|err| {
            LoginError::Unreachable(format!(
                "cannot read the identity provider's discovery document at {issuer}: {}",
                chain(&err)
            ))
        })
}

/// Whether a browser sign-in asks for consent: it must when it asks for
/// `offline_access` (OpenID Connect Core §11: without `prompt=consent` a
/// provider ignores the scope, and no refresh token comes back), unless
/// the provider's discovery says it takes no `consent` prompt. The device
/// flow has no `prompt` (RFC 8628): the provider's consent page asks.
fn asks_consent(config: &AuthConfig, metadata: &Metadata) -> bool {
    config.scopes.iter().any(|scope| scope == "offline_access")
        && metadata
            .additional_metadata()
            .prompt_values_supported
            .as_ref()
            .is_none_or(|values| values.iter().any(|value| value == "consent"))
}

/// Whether the provider offers the device flow.
pub fn has_device_flow(metadata: &Metadata) -> bool {
    metadata
        .additional_metadata()
        .device_authorization_endpoint
        .is_some()
}

/// An error and its causes, on one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What the person is shown to finish a device sign-in elsewhere.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub user_code: String,
    pub expires_in: Duration,
}

fn scopes(config: &AuthConfig) -> impl Iterator<Item = Scope> + '_ {
    // openidconnect adds `openid` itself.
    config
        .scopes
        .iter()
        .filter(|scope| scope.as_str() != "openid")
        .map(|scope| Scope::new(scope.clone()))
}

/// Signs in with the device authorization grant: shows the code, then
/// polls at the interval the provider asks (slower on `slow_down`) until
/// the person approves, declines, or the code expires.
pub async fn device_login(
    server: &str,
    config: &AuthConfig,
    http: &ProviderClient,
    show: impl FnOnce(&DeviceCode),
) -> Result<Session, LoginError> {
    let metadata = discover(&config.issuer, http).await?;
    let device_url = metadata
        .additional_metadata()
        .device_authorization_endpoint
        .clone()
        .ok_or_else(|| {
            LoginError::Invalid(format!(
                "{} offers no device sign-in: use `gavel auth login --browser`",
                config.issuer
            ))
        })?;
    let client =
        CoreClient::from_provider_metadata(metadata, ClientId::new(config.client_id.clone()), None)
            .set_device_authorization_url(device_url)
            .set_auth_type(AuthType::RequestBody);
    let mut request = client.exchange_device_code().add_scopes(scopes(config));
    if let Some(resource) = &config.resource {
        request = request.add_extra_param("resource", resource.clone());
    }
    let details: CoreDeviceAuthorizationResponse =
        request.request_async(http).await.map_err(|err| match err {
            RequestTokenError::Request(err) => LoginError::Unreachable(chain(&err)),
            RequestTokenError::ServerResponse(answer) => LoginError::Refused(format!(
                "the identity provider refused to start a device sign-in: {answer}"
            )),
            other => LoginError::Invalid(chain(&other)),
        })?;
    show(&DeviceCode {
        verification_uri: details.verification_uri().to_string(),
        verification_uri_complete: details
            .verification_uri_complete()
            .map(|uri| uri.secret().to_owned()),
        user_code: details.user_code().secret().to_owned(),
        expires_in: details.expires_in(),
    });
    let token = client
        .exchange_device_access_token(&details)
        .map_err(|err| LoginError::Invalid(chain(&err)))?
        .request_async(http, tokio::time::sleep, None)
        .await
        .map_err(|err| {
            match err {
            RequestTokenError::ServerResponse(answer) => match answer.error() {
                DeviceCodeErrorResponseType::AccessDenied => {
                    LoginError::Refused("the sign-in was declined at the provider".into())
                }
                DeviceCodeErrorResponseType::ExpiredToken => LoginError::Expired(
                    "the code expired before the sign-in was approved: run `gavel auth login` again"
                        .into(),
                ),
                _ => LoginError::Refused(format!("the identity provider refused: {answer}")),
            },
            RequestTokenError::Request(err) => LoginError::Unreachable(chain(&err)),
            other => LoginError::Invalid(chain(&other)),
        }
        })?;
    session_from(server, config, &token, None)
}

/// Signs in in a browser: the authorization-code flow with PKCE, the
/// provider redirecting back to a one-shot listener on loopback. `open`
/// is given the URL to show or open.
pub async fn browser_login(
    server: &str,
    config: &AuthConfig,
    http: &ProviderClient,
    open: impl FnOnce(&str),
) -> Result<Session, LoginError> {
    let metadata = discover(&config.issuer, http).await?;
    let consent = asks_consent(config, &metadata);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|err| LoginError::Invalid(format!("cannot listen on loopback: {err}")))?;
    let port = listener
        .local_addr()
        .map_err(|err| LoginError::Invalid(err.to_string()))?
        .port();
    let redirect = RedirectUrl::new(format!("http://127.0.0.1:{port}/callback"))
        .map_err(|err| LoginError::Invalid(err.to_string()))?;
    let client =
        CoreClient::from_provider_metadata(metadata, ClientId::new(config.client_id.clone()), None)
            .set_redirect_uri(redirect)
            .set_auth_type(AuthType::RequestBody);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scopes(scopes(config))
        .set_pkce_challenge(challenge);
    if consent {
        request = request.add_prompt(CoreAuthPrompt::Consent);
    }
    if let Some(resource) = &config.resource {
        request = request.add_extra_param("resource", resource.clone());
    }
    let (url, state, nonce) = request.url();
    open(url.as_str());
    let callback = tokio::time::timeout(BROWSER_WAIT, one_callback(listener))
        .await
        .map_err(|_| LoginError::Expired("no answer from the browser within 5 minutes".into()))?
        .map_err(LoginError::Invalid)?;
    if callback.get("state").map(String::as_str) != Some(state.secret().as_str()) {
        return Err(LoginError::Refused(
            "the browser's answer is for another sign-in (state does not match)".into(),
        ));
    }
    if let Some(error) = callback.get("error") {
        return Err(LoginError::Refused(format!(
            "the identity provider refused: {error}{}",
            callback
                .get("error_description")
                .map(|text| format!(" ({text})"))
                .unwrap_or_default()
        )));
    }
    let code = callback
        .get("code")
        .ok_or_else(|| LoginError::Invalid("the browser's answer has no code".into()))?;
    let token = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .map_err(|err| LoginError::Invalid(chain(&err)))?
        .set_pkce_verifier(verifier)
        .request_async(http)
        .await
        .map_err(|err| match err {
            RequestTokenError::ServerResponse(answer) => {
                LoginError::Refused(format!("the identity provider refused the code: {answer}"))
            }
            RequestTokenError::Request(err) => LoginError::Unreachable(chain(&err)),
            other => LoginError::Invalid(chain(&other)),
        })?;
    // The ID token must be this sign-in's (its nonce) and signed by the
    // provider.
    let id_token = token
        .id_token()
        .ok_or_else(|| LoginError::Invalid("the provider sent no ID token".into()))?;
    id_token
        .claims(&client.id_token_verifier(), &nonce)
        .map_err(|err| {
            LoginError::Invalid(format!("the ID token does not verify: {}", chain(&err)))
        })?;
    session_from(server, config, &token, None)
}

/// Waits for the provider's redirect to the loopback listener; answers the
/// browser with a page saying it may close.
async fn one_callback(
    listener: tokio::net::TcpListener,
) -> Result<std::collections::HashMap<String, String>, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let (mut stream, _) = listener.accept().await.map_err(|err| err.to_string())?;
        let mut buffer = vec![0_u8; 16 * 1024];
        let mut read = 0;
        // The request line is all Gavel needs; read until the headers end.
        while read < buffer.len() {
            let count = stream
                .read(&mut buffer[read..])
                .await
                .map_err(|err| err.to_string())?;
            if count == 0 {
                break;
            }
            read += count;
            if buffer[..read]
                .windows(4)
                .any(|window| window == b"\r\n\r\n")
            {
                break;
            }
        }
        let text = String::from_utf8_lossy(&buffer[..read]);
        let target = text
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("GET "))
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or("");
        let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{target}")) else {
            continue;
        };
        if url.path() != "/callback" {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
            continue;
        }
        let page = "<!DOCTYPE html><html><body><h1>Gavel: signed in</h1><p>You may close this window and return to the terminal.</p></body></html>";
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
            page.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        return Ok(url.query_pairs().into_owned().collect());
    }
}

/// Renews a session with its refresh token.
pub async fn refresh(session: &Session, http: &ProviderClient) -> Result<Session, LoginError> {
    let refresh_token = session.refresh_token.clone().ok_or_else(|| {
        LoginError::Expired("the sign-in has expired and has no refresh token".into())
    })?;
    let metadata = discover(&session.issuer, http).await?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(session.client_id.clone()),
        None,
    )
    .set_auth_type(AuthType::RequestBody);
    let refresh_token = RefreshToken::new(refresh_token);
    let token = client
        .exchange_refresh_token(&refresh_token)
        .map_err(|err| LoginError::Invalid(chain(&err)))?
        .request_async(http)
        .await
        .map_err(|err| match err {
            RequestTokenError::ServerResponse(answer) => LoginError::Refused(format!(
                "the identity provider would not renew it: {answer}"
            )),
            RequestTokenError::Request(err) => LoginError::Unreachable(chain(&err)),
            other => LoginError::Invalid(chain(&other)),
        })?;
    let config = AuthConfig {
        issuer: session.issuer.clone(),
        client_id: session.client_id.clone(),
        scopes: session.scopes.clone(),
        bearer: session.bearer,
        resource: session.resource.clone(),
    };
    let renewed = session_from(&session.server, &config, &token, Some(session))?;
    if renewed.subject != session.subject {
        return Err(LoginError::Invalid(
            "the renewed sign-in is for someone else".into(),
        ));
    }
    Ok(renewed)
}

/// Revokes the session's refresh token (and with it, at most providers,
/// its access tokens) where the provider offers revocation (RFC 7009).
/// Returns whether it did.
///
/// The request is one form POST, sent here rather than through `oauth2`'s
/// revocation request, which refuses any endpoint that is not https, even
/// a provider on loopback.
pub async fn revoke(session: &Session, http: &ProviderClient) -> Result<bool, LoginError> {
    let metadata = discover(&session.issuer, http).await?;
    let Some(revocation) = metadata.additional_metadata().revocation_endpoint.clone() else {
        return Ok(false);
    };
    let endpoint = super::check_provider_url("revocation_endpoint", revocation.as_str())
        .map_err(LoginError::Invalid)?;
    let (token, hint) = match &session.refresh_token {
        Some(refresh) => (refresh.as_str(), "refresh_token"),
        None => (session.access_token.as_str(), "access_token"),
    };
    let response = http
        .inner()
        .post(endpoint.as_str())
        .form(&[
            ("token", token),
            ("token_type_hint", hint),
            ("client_id", session.client_id.as_str()),
        ])
        .send()
        .await
        .map_err(|err| LoginError::Unreachable(chain(&err)))?;
    if response.status().is_success() {
        Ok(true)
    } else {
        Err(LoginError::Refused(format!(
            "the provider's revocation endpoint answered {}",
            response.status()
        )))
    }
}

/// The session a token response makes; `before` supplies what a refresh
/// may leave out (the refresh token when not rotated, the ID token).
fn session_from(
    server: &str,
    config: &AuthConfig,
    token: &CoreTokenResponse,
    before: Option<&Session>,
) -> Result<Session, LoginError> {
    let access_token = token.access_token().secret().to_owned();
    let id_token = token
        .id_token()
        .map(ToString::to_string)
        .or_else(|| before.and_then(|session| session.id_token.clone()));
    let bearer_token = match config.bearer {
        Bearer::IdToken => id_token.clone().ok_or_else(|| {
            LoginError::Invalid("the server wants an ID token and the provider sent none".into())
        })?,
        Bearer::AccessToken => access_token.clone(),
    };
    // Who and until when, as the tokens say of themselves (the server
    // checks them; this only names the session).
    let claims = unverified_claims(&bearer_token)
        .or_else(|| id_token.as_deref().and_then(unverified_claims))
        .unwrap_or_default();
    let subject = claims
        .get("sub")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .or_else(|| before.map(|session| session.subject.clone()))
        .ok_or_else(|| {
            LoginError::Invalid(
                "the provider's tokens do not say who signed in (no `sub`): the server must be configured for JWT access tokens or bearer = \"id_token\"".into(),
            )
        })?;
    let expires_at = claims
        .get("exp")
        .and_then(serde_json::Value::as_i64)
        .and_then(|exp| DateTime::<Utc>::from_timestamp(exp, 0))
        .or_else(|| {
            token
                .expires_in()
                .and_then(|lifetime| TimeDelta::from_std(lifetime).ok())
                .map(|lifetime| Utc::now() + lifetime)
        });
    Ok(Session {
        server: server.to_owned(),
        issuer: config.issuer.clone(),
        client_id: config.client_id.clone(),
        bearer: config.bearer,
        access_token,
        id_token,
        refresh_token: token
            .refresh_token()
            .map(|refresh| refresh.secret().to_owned())
            .or_else(|| before.and_then(|session| session.refresh_token.clone())),
        expires_at,
        obtained_at: Some(Utc::now()),
        subject,
        email: claims
            .get("email")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .or_else(|| before.and_then(|session| session.email.clone())),
        scopes: config.scopes.clone(),
        resource: config.resource.clone(),
    })
}
