//! Posting events to webhook endpoints: Gavel's JSON signed per Standard
//! Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), or a
//! Slack or Teams message for their incoming webhooks.

use std::time::Duration;

use super::settings::{Endpoint, WebhookFormat};
use crate::backend::{Event, events};

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
            let body = serde_json::to_vec(&without_report(event)).map_err(|err| err.to_string())?;
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
            let body = serde_json::json!({ "text": events::summary(event) });
            Ok((body.to_string().into_bytes(), Vec::new()))
        }
        WebhookFormat::Teams => {
            let body = serde_json::json!({
                "@type": "MessageCard",
                "@context": "https://schema.org/extensions",
                "summary": events::summary(event),
                "title": format!("Gavel: {}", event.kind.as_str()),
                "text": events::summary(event),
            });
            Ok((body.to_string().into_bytes(), Vec::new()))
        }
    }
}

/// The event as a webhook sees it: a scheduled report's figures go to
/// its recipients by email only, so its signed note is left out.
fn without_report(event: &Event) -> std::borrow::Cow<'_, Event> {
    if event.kind != crate::backend::EventKind::ReportSent {
        return std::borrow::Cow::Borrowed(event);
    }
    let mut shown = event.clone();
    if let Some(data) = shown.data.as_object_mut() {
        data.remove("note");
    }
    std::borrow::Cow::Owned(shown)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::EventKind;

    fn event() -> Event {
        Event {
            event_id: 3,
            kind: EventKind::WorkflowApproved,
            timestamp: chrono::Utc::now(),
            data: serde_json::json!({ "workflow_id": "wf-0000009", "agent_name": "Support" }),
        }
    }

    fn endpoint(format: WebhookFormat) -> Endpoint {
        Endpoint {
            url: "http://127.0.0.1:1/hook".into(),
            format,
            key: Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
            kinds: Vec::new(),
        }
    }

    #[test]
    fn chat_endpoints_get_their_own_message_formats_unsigned() {
        let (slack, headers) =
            request_parts(&endpoint(WebhookFormat::Slack), &event(), "msg_1", 1).expect("slack");
        let slack: serde_json::Value = serde_json::from_slice(&slack).expect("json");
        assert_eq!(slack["text"], "Workflow wf-0000009 (Support) approved");
        assert!(headers.is_empty());
        let (teams, _) =
            request_parts(&endpoint(WebhookFormat::Teams), &event(), "msg_1", 1).expect("teams");
        let teams: serde_json::Value = serde_json::from_slice(&teams).expect("json");
        assert_eq!(teams["@type"], "MessageCard");
        assert_eq!(teams["title"], "Gavel: workflow.approved");
    }

    #[test]
    fn standard_deliveries_carry_id_timestamp_and_a_v1_signature() {
        let (body, headers) = request_parts(
            &endpoint(WebhookFormat::Standard),
            &event(),
            "msg_7",
            1_700_000_000,
        )
        .expect("signed");
        let header = |name: &str| {
            headers
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
                .expect("header")
        };
        assert_eq!(header("webhook-id"), "msg_7");
        assert_eq!(header("webhook-timestamp"), "1700000000");
        assert!(header("webhook-signature").starts_with("v1,"));
        let parsed: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(parsed["type"], "workflow.approved");
        // Without a secret there is nothing to sign with.
        let mut unsigned = endpoint(WebhookFormat::Standard);
        unsigned.key = None;
        assert!(request_parts(&unsigned, &event(), "msg_7", 1).is_err());
    }
}
