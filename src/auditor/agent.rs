//! The agent under audit, over HTTP: an OpenAI-compatible chat-completions
//! endpoint, or any JSON HTTP agent given a request-body template and a
//! JSON pointer to its answer. Connection errors, timeouts, 429 and 5xx
//! are retried with capped, jittered backoff (honouring `Retry-After`);
//! an answer that arrives but cannot be read is reported as such, so the
//! case is counted `unknown` rather than lost or guessed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, HeaderValue};
use url::Url;

use super::cases::{Case, CaseInput};
use crate::backend::AgentProtocol as Protocol;
use crate::retry::{Backoff, retry_after};

/// A secret that never shows in `Debug`, errors or logs.
#[derive(Clone)]
pub struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(redacted)")
    }
}

impl ApiKey {
    /// Reads the key from the environment variable `name`.
    pub fn from_env(name: &str) -> Result<ApiKey, String> {
        match std::env::var(name) {
            Ok(value) if !value.trim().is_empty() => Ok(ApiKey(value.trim().to_owned())),
            Ok(_) => Err(format!("the environment variable {name} is empty")),
            Err(_) => Err(format!(
                "the environment variable {name} (named by --api-key-env) is not set"
            )),
        }
    }
}

/// What the agent answered.
#[derive(Debug, Clone)]
pub struct Answer {
    /// What was asked, as the evidence keeps it: the user message for a
    /// chat agent, the request body for a JSON agent.
    pub sent: String,
    /// The answer's text (for a JSON agent whose pointer finds a non-string,
    /// that value as JSON).
    pub text: String,
    /// The value the JSON agent's pointer found.
    pub value: Option<serde_json::Value>,
    /// Why the answer could not be read, when it could not.
    pub unreadable: Option<String>,
    pub latency: Duration,
}

/// Why a case got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AskError {
    /// Nothing will work until someone changes something (a refused key, a
    /// wrong URL): the run stops.
    Fatal(String),
    /// This case failed after its retries; a resume tries it again.
    Failed(String),
}

pub struct AgentClient {
    client: reqwest::Client,
    url: Url,
    protocol: Protocol,
    key: Option<ApiKey>,
    attempts: u32,
    backoff: Backoff,
}

/// The largest answer body read.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

impl AgentClient {
    pub fn new(
        endpoint: &Url,
        protocol: Protocol,
        key: Option<ApiKey>,
        timeout: Duration,
        attempts: u32,
    ) -> Result<AgentClient, String> {
        let url = match &protocol {
            Protocol::OpenaiChat { .. } => {
                let mut url = endpoint.clone();
                url.path_segments_mut()
                    .map_err(|()| format!("{endpoint} cannot take a path"))?
                    .pop_if_empty()
                    .extend(["chat", "completions"]);
                url
            }
            Protocol::JsonHttp { .. } => endpoint.clone(),
        };
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            .pool_max_idle_per_host(256)
            .user_agent(concat!("gavel-auditor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| format!("cannot build the HTTP client: {err}"))?;
        Ok(AgentClient {
            client,
            url,
            protocol,
            key,
            attempts: attempts.max(1),
            backoff: Backoff {
                first: Duration::from_millis(200),
                max: Duration::from_secs(10),
                max_retry_after: Duration::from_secs(60),
            },
        })
    }

    /// The request body for a case.
    pub fn body(&self, case: &Case) -> Result<serde_json::Value, String> {
        match &self.protocol {
            Protocol::OpenaiChat {
                model,
                system_prompt,
                temperature,
                prompt_template,
            } => {
                let prompt = match (&case.input, prompt_template) {
                    (CaseInput::Prompt(prompt), None) => prompt.clone(),
                    (input, Some(template)) => render(template, input),
                    (CaseInput::Fields(_), None) => {
                        return Err(format!(
                            "case {:?} gives fields: a chat agent needs --prompt-template to make them a message",
                            case.id
                        ));
                    }
                };
                let mut messages = Vec::new();
                if let Some(system) = system_prompt {
                    messages.push(serde_json::json!({"role": "system", "content": system}));
                }
                messages.push(serde_json::json!({"role": "user", "content": prompt}));
                let mut body = serde_json::json!({"model": model, "messages": messages});
                if let Some(temperature) = temperature {
                    body["temperature"] = serde_json::json!(temperature);
                }
                Ok(body)
            }
            Protocol::JsonHttp { body_template, .. } => {
                Ok(fill_template(body_template, &case.input))
            }
        }
    }

    /// Asks the agent one case.
    pub async fn ask(&self, case: &Case) -> Result<Answer, AskError> {
        let body = self.body(case).map_err(AskError::Fatal)?;
        let sent = match body.pointer("/messages") {
            Some(serde_json::Value::Array(messages)) => messages
                .last()
                .and_then(|last| last.get("content"))
                .and_then(|content| content.as_str())
                .map(str::to_owned),
            _ => None,
        };
        let body = serde_json::to_vec(&body)
            .map_err(|err| AskError::Fatal(format!("cannot write the request: {err}")))?;
        let sent = sent.unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            let mut request = self
                .client
                .post(self.url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
            if let Some(key) = &self.key {
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {}", key.0)).map_err(|_| {
                        AskError::Fatal("the API key holds characters a header cannot".into())
                    })?;
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
            let outcome = request.send().await;
            let (retryable, wait, problem) = match &outcome {
                Err(err) => (
                    err.is_connect() || err.is_timeout() || err.is_request() || err.is_body(),
                    None,
                    describe(err),
                ),
                Ok(response) => {
                    let status = response.status();
                    match status.as_u16() {
                        200..=299 => (false, None, String::new()),
                        429 | 500..=599 => (
                            true,
                            retry_after(response.headers()),
                            format!("the agent answered {status}"),
                        ),
                        401 | 403 => {
                            return Err(AskError::Fatal(format!(
                                "the agent refused the credentials ({status}): check the key in --api-key-env"
                            )));
                        }
                        404 | 405 => {
                            return Err(AskError::Fatal(format!(
                                "the agent answered {status} at {}: check --endpoint",
                                self.url
                            )));
                        }
                        _ => (false, None, format!("the agent answered {status}")),
                    }
                }
            };
            match outcome {
                Ok(response) if response.status().is_success() => {
                    let bytes = match read_body(response).await {
                        Ok(bytes) => bytes,
                        // The answer broke off: ask again.
                        Err(_) if attempt + 1 < self.attempts => {
                            tokio::time::sleep(self.backoff.delay(attempt, None)).await;
                            attempt += 1;
                            continue;
                        }
                        Err(problem) => return Err(AskError::Failed(problem)),
                    };
                    return Ok(self.read_answer(sent, &bytes, started.elapsed()));
                }
                _ if retryable && attempt + 1 < self.attempts => {
                    tokio::time::sleep(self.backoff.delay(attempt, wait)).await;
                    attempt += 1;
                }
                _ => {
                    return Err(AskError::Failed(format!(
                        "{problem} (after {} attempt{})",
                        attempt + 1,
                        if attempt == 0 { "" } else { "s" }
                    )));
                }
            }
        }
    }

    fn read_answer(&self, sent: String, bytes: &[u8], latency: Duration) -> Answer {
        let answer =
            |text: String, value: Option<serde_json::Value>, unreadable: Option<String>| Answer {
                sent: sent.clone(),
                text,
                value,
                unreadable,
                latency,
            };
        let unreadable = |reason: String| {
            answer(
                String::from_utf8_lossy(bytes).into_owned(),
                None,
                Some(reason),
            )
        };
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes) else {
            return unreadable("the answer is not JSON".into());
        };
        match &self.protocol {
            Protocol::OpenaiChat { .. } => match json.pointer("/choices/0/message/content") {
                Some(serde_json::Value::String(text)) => answer(text.clone(), None, None),
                _ => unreadable("no choices[0].message.content in the answer".into()),
            },
            Protocol::JsonHttp { answer_pointer, .. } => match json.pointer(answer_pointer) {
                Some(serde_json::Value::String(text)) => answer(
                    text.clone(),
                    Some(serde_json::Value::String(text.clone())),
                    None,
                ),
                Some(value) => answer(value.to_string(), Some(value.clone()), None),
                None => unreadable(format!("no value at {answer_pointer} in the answer")),
            },
        }
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| format!("the answer broke off: {}", describe(&err)))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(format!("the answer is larger than {MAX_BODY_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport error in words, without the request's headers.
fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "the agent did not answer in time".into()
    } else if err.is_connect() {
        "cannot connect to the agent".into()
    } else {
        format!("the request failed: {err}")
    }
}

/// `{{name}}` in `template` replaced by the case's field (or `{{prompt}}`
/// by its prompt); unknown names are left as written.
pub fn render(template: &str, input: &CaseInput) -> String {
    let values: BTreeMap<&str, &str> = match input {
        CaseInput::Prompt(prompt) => BTreeMap::from([("prompt", prompt.as_str())]),
        CaseInput::Fields(fields) => fields
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect(),
    };
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match values.get(name) {
                    Some(value) => out.push_str(value),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The body template with every string rendered.
fn fill_template(template: &serde_json::Value, input: &CaseInput) -> serde_json::Value {
    match template {
        serde_json::Value::String(text) => serde_json::Value::String(render(text, input)),
        serde_json::Value::Array(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|item| fill_template(item, input))
                .collect(),
        ),
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), fill_template(value, input)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_fields_and_leave_unknown_names() {
        let fields = CaseInput::Fields(BTreeMap::from([
            ("name".into(), "Amara".into()),
            ("years".into(), "6".into()),
        ]));
        assert_eq!(
            render("{{name}} has {{ years }} years; {{missing}} {{", &fields),
            "Amara has 6 years; {{missing}} {{"
        );
        let body = fill_template(
            &serde_json::json!({"input": {"text": "Hire {{name}}?"}, "n": 1}),
            &fields,
        );
        assert_eq!(
            body,
            serde_json::json!({"input": {"text": "Hire Amara?"}, "n": 1})
        );
    }

    #[test]
    fn the_key_never_shows_in_debug() {
        let key = ApiKey("sk-very-secret".into());
        assert!(!format!("{key:?}").contains("secret"));
    }
}
