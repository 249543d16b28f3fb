//! The project's one reqwest, lent to `openidconnect` through its HTTP
//! client trait (its own reqwest feature would build an older reqwest and
//! a second TLS stack).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// An HTTP client for talking to identity providers: no redirects (a
/// redirect could send tokens anywhere), a timeout, responses capped.
#[derive(Debug, Clone)]
pub struct ProviderClient(reqwest::Client);

/// Largest provider response read.
const MAX_RESPONSE: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProviderHttpError(String);

impl ProviderClient {
    pub fn new() -> Result<ProviderClient, String> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .map(ProviderClient)
            .map_err(|err| format!("cannot build an HTTP client: {err}"))
    }

    pub fn inner(&self) -> &reqwest::Client {
        &self.0
    }
}

impl<'c> AsyncHttpClient<'c> for ProviderClient {
    type Error = ProviderHttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let url = parts.uri.to_string();
            let response = self
                .0
                .request(parts.method, &url)
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(|err| ProviderHttpError(format!("{url}: {err}")))?;
            let mut answer = http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            let bytes = response
                .bytes()
                .await
                .map_err(|err| ProviderHttpError(format!("{url}: {err}")))?;
            if bytes.len() > MAX_RESPONSE {
                return Err(ProviderHttpError(format!("{url} answered more than 1 MB")));
            }
            answer
                .body(bytes.to_vec())
                .map_err(|err| ProviderHttpError(format!("{url}: {err}")))
        })
    }
}
