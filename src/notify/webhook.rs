//! Posting events to webhook endpoints: Gavel's JSON signed per Standard
//! Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), or a
//! Slack or Teams message for their incoming webhooks.

use std::time::Duration;

use super::settings::{Endpoint, WebhookFormat};
use super::{Event, message};

/// A delivery's body and the headers that go with it.
pub type RequestParts = (Vec<u8>, Vec<(&'static str, String)>);

/// The body and headers of one delivery to `endpoint`.
pub fn request_parts(
    endpoint: &Endpoint,
    event: &Event,
    webhook_id: &str,
    timestamp: i64,
) -> Result<RequestParts, String> {
    match endpoint.format {
        WebhookFormat::Standard => {
            let body = serde_json::to_vec(event).map_err(|err| err.to_string())?;
            let secret = endpoint
                .key
                .as_deref()
                .ok_or("the endpoint has no secret")?;
            let signer = standardwebhooks::Webhook::new(secret)
                .map_err(|err| format!("the endpoint's secret: {err}"))?;
            let signature = signer
                .sign(webhook_id, timestamp, &body)
                .map_err(|err| format!("cannot sign: {err}"))?;
            Ok((
                body,
                vec![
                    ("webhook-id", webhook_id.to_owned()),
                    ("webhook-timestamp", timestamp.to_string()),
                    ("webhook-signature", signature),
                ],
            ))
        }
        WebhookFormat::Slack => {
            let body = serde_json::json!({ "text": message::summary(event) });
            Ok((body.to_string().into_bytes(), Vec::new()))
        }
        WebhookFormat::Teams => {
            let body = serde_json::json!({
                "@type": "MessageCard",
                "@context": "https://schema.org/extensions",
                "summary": message::summary(event),
                "title": format!("Gavel: {}", event.kind.as_str()),
                "text": message::summary(event),
            });
            Ok((body.to_string().into_bytes(), Vec::new()))
        }
    }
}

/// Posts one delivery; a 2xx answer is delivered.
pub async fn post(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    event: &Event,
    webhook_id: &str,
) -> Result<(), String> {
    let (body, headers) =
        request_parts(endpoint, event, webhook_id, chrono::Utc::now().timestamp())?;
    let mut request = client
        .post(&endpoint.url)
        .timeout(Duration::from_secs(15))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request
        .send()
        .await
        .map_err(|err| format!("{}: {}", endpoint.url, err.without_url()))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("{} answered {}", endpoint.url, response.status()))
    }
}
