//! Sending email over SMTP with lettre: STARTTLS (required, except to a
//! server on loopback) or implicit TLS, optional authentication with the
//! password from `GAVEL_SMTP_PASSWORD` (never in the config, never logged).

use lettre::message::{Attachment, Mailbox, MultiPart, header};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::message::Email;
use super::settings::NotifySettings;

/// An SMTP connection pool and the sender.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain of Message-IDs (the sender's).
    domain: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// The mailer `[notify]` describes; `None` without `smtp_url`.
    pub fn from_settings(settings: &NotifySettings) -> Result<Option<Mailer>, String> {
        let Some(smtp_url) = &settings.smtp_url else {
            return Ok(None);
        };
        let url = url::Url::parse(smtp_url).map_err(|err| format!("[notify] smtp_url: {err}"))?;
        if !url.password().unwrap_or("").is_empty() || !url.username().is_empty() {
            return Err(
                "[notify] smtp_url must hold no user or password: set smtp_username, and GAVEL_SMTP_PASSWORD"
                    .into(),
            );
        }
        let host = url.host_str().ok_or("[notify] smtp_url names no host")?;
        let loopback = crate::net::is_loopback(&url);
        let mut builder = match url.scheme() {
            "smtps" => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
            "smtp" if loopback => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                host,
            )),
            "smtp" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
            other => {
                return Err(format!(
                    "[notify] smtp_url: {other}:// is not smtp:// or smtps://"
                ));
            }
        }
        .map_err(|err| format!("[notify] smtp_url: {err}"))?;
        if let Some(port) = url.port() {
            builder = builder.port(port);
        }
        if let Some(user) = &settings.smtp_username {
            let password = std::env::var("GAVEL_SMTP_PASSWORD").map_err(|_| {
                "[notify] smtp_username is set: put the password in GAVEL_SMTP_PASSWORD".to_owned()
            })?;
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let from: Mailbox = settings
            .from
            .as_deref()
            .unwrap_or("Gavel <gavel@localhost>")
            .parse()
            .map_err(|err| format!("[notify] from: {err}"))?;
        let domain = from.email.domain().to_owned();
        Ok(Some(Mailer {
            transport: builder
                .timeout(Some(std::time::Duration::from_secs(30)))
                .build(),
            from,
            domain,
        }))
    }

    /// The Message-ID of a delivery: the same on every attempt, so a
    /// receiver can drop a repeat.
    pub fn message_id(&self, event_id: i64, delivery_id: i64) -> String {
        format!("<gavel.{event_id}.{delivery_id}@{}>", self.domain)
    }

    /// Sends one message to one person (with its attachment, if any).
    pub async fn send(&self, to: &str, email: &Email, message_id: &str) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|err| format!("address {to:?}: {err}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            .message_id(Some(message_id.to_owned()))
            .header(header::MIME_VERSION_1_0)
            .multipart(body(email)?)
            .map_err(|err| format!("cannot build the message: {err}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|err| format!("SMTP: {err}"))
    }

    /// Whether the SMTP server answers (for `gavel notify test`).
    pub async fn check(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the SMTP server did not answer".into()),
            Err(err) => Err(format!("SMTP: {err}")),
        }
    }
}

/// The text and HTML alternatives, and the attachment beside them.
fn body(email: &Email) -> Result<MultiPart, String> {
    let text = MultiPart::alternative_plain_html(email.text.clone(), email.html.clone());
    let Some((name, media, bytes)) = &email.attachment else {
        return Ok(text);
    };
    let media =
        header::ContentType::parse(media).map_err(|err| format!("attachment {name}: {err}"))?;
    Ok(MultiPart::mixed()
        .multipart(text)
        .singlepart(Attachment::new(name.clone()).body(bytes.clone(), media)))
}
