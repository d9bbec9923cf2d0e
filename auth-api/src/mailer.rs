//! The activation mail: rendered from the templates in `auth-api/templates/`, sent through SES
//! (v2 `SendEmail`) by the `activation-mailer` subscriber on `UserRegistered` (generation 0)
//! and `ActivationCodeReissued` (the generation it names).
//!
//! Sent from the event path, never inside a request: delivery is at least once (a failed send
//! fails the message, which SQS delivers again, and after 5 failures moves to the dead-letter
//! queue; a send whose answer was lost may be repeated, so a user may get a second copy), and
//! a moment of SES trouble never loses a mail nor fails a registration. The mailer re-reads the
//! identity first and sends nothing for a user activated, being deleted or gone, for a
//! generation a newer resend superseded, or for one mailed already (a redelivery, an archive
//! replay): it marks each generation mailed once SES accepted it.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use roster_events::Timestamp;
use roster_events::auth::{ActivationCodeReissued, UserRegistered};
use roster_platform::lambda::BoxFuture;
use roster_platform::subscriber::{
    EventHandler, EventSubscriber, HandlerError, Outcome, envelope_of,
};
use serde_json::Value;

use crate::activation::ActivationCodes;
use crate::store::{AuthTable, Identity};

const SUBJECT: &str = include_str!("../templates/activation.subject.txt");
const TEXT: &str = include_str!("../templates/activation.txt");
const HTML: &str = include_str!("../templates/activation.html");

/// A rendered activation mail.
#[derive(Clone, PartialEq, Eq)]
pub struct ActivationMail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for ActivationMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bodies hold the code.
        f.debug_struct("ActivationMail")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Where the mail's link leads: a URL with `{code}` where the code goes (the frontend's
/// activation page; the local stack's account page is `http://localhost:5173/#activate={code}`,
/// a fragment, which browsers never send to a server, so the code stays out of access logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationLink(String);

impl ActivationLink {
    /// `None` for an empty template (the mail carries the code only); an error for one
    /// without `{code}`.
    pub fn parse(template: &str) -> Result<Option<Self>, String> {
        let template = template.trim();
        if template.is_empty() {
            return Ok(None);
        }
        if !template.contains("{code}") {
            return Err(format!("the activation link {template:?} has no {{code}}"));
        }
        if !(template.starts_with("https://") || template.starts_with("http://")) {
            return Err(format!(
                "the activation link {template:?} is not an http(s) URL"
            ));
        }
        Ok(Some(Self(template.to_owned())))
    }

    fn with(&self, code: &str) -> String {
        self.0.replace("{code}", code)
    }
}

/// Renders the activation mail of `name` with `code`, usable until `expires`.
pub fn render(
    name: &str,
    code: &str,
    link: Option<&ActivationLink>,
    expires: &Timestamp,
) -> ActivationMail {
    let link = link.map(|link| link.with(code));
    let expires = expires.to_datetime().format("%Y-%m-%d %H:%M").to_string();
    let values = [
        ("name", name),
        ("code", code),
        ("link", link.as_deref().unwrap_or_default()),
        ("expires", expires.as_str()),
    ];
    let fill = |template: &str, escape: fn(&str) -> String| {
        let mut text = section(template, "link", link.is_some());
        for (name, value) in values {
            text = text.replace(&format!("{{{{{name}}}}}"), &escape(value));
        }
        text
    };
    ActivationMail {
        subject: fill(SUBJECT, |value| value.replace(['\r', '\n'], " "))
            .trim()
            .to_owned(),
        text: fill(TEXT, ToOwned::to_owned),
        html: fill(HTML, escape_html),
    }
}

/// `template` with each `{{#name}}…{{/name}}` kept (its markers dropped) if `keep`, else
/// removed whole.
fn section(template: &str, name: &str, keep: bool) -> String {
    let (open, close) = (format!("{{{{#{name}}}}}"), format!("{{{{/{name}}}}}"));
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find(&open) {
        out.push_str(&rest[..start]);
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else {
            // An unclosed section is kept as written.
            out.push_str(&rest[start..]);
            return out;
        };
        if keep {
            out.push_str(&after[..end]);
        }
        rest = after[end + close.len()..]
            .strip_prefix('\n')
            .unwrap_or(&after[end + close.len()..]);
    }
    out.push_str(rest);
    out
}

fn escape_html(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[derive(Debug, thiserror::Error)]
#[error("SES: {0}")]
pub struct MailError(String);

/// Sends mail through SES (v2) from one verified identity.
#[derive(Clone)]
pub struct MailSender {
    client: aws_sdk_sesv2::Client,
    from: String,
}

impl MailSender {
    /// `from`: the sender, an address of the verified identity, optionally with a name
    /// (`Roster <no-reply@example.com>`).
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
        }
    }

    /// Sends `mail` to `to`; SES's message id.
    pub async fn send(&self, to: &str, mail: &ActivationMail) -> Result<String, MailError> {
        use aws_sdk_sesv2::error::DisplayErrorContext;
        use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

        let content = |data: &str| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(|error| MailError(error.to_string()))
        };
        let message = Message::builder()
            .subject(content(&mail.subject)?)
            .body(
                Body::builder()
                    .text(content(&mail.text)?)
                    .html(content(&mail.html)?)
                    .build(),
            )
            .build();
        let sent = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|error| MailError(DisplayErrorContext(error).to_string()))?;
        Ok(sent.message_id().unwrap_or_default().to_owned())
    }
}

/// The `activation-mailer` subscriber.
#[derive(Clone)]
pub struct ActivationMailer {
    table: AuthTable,
    codes: ActivationCodes,
    sender: MailSender,
    link: Option<ActivationLink>,
}

/// Why an identity gets no mail of a generation.
fn no_mail_because(identity: &Identity, generation: u32) -> Option<&'static str> {
    if !identity.awaits_activation() {
        return Some("the user is activated, being deleted or gone");
    }
    if generation < identity.activation_generation() {
        return Some("a newer code superseded this one");
    }
    if generation > identity.activation_generation() {
        // Published from the identity's own write: the table cannot be behind its event.
        return Some("the identity has no such generation");
    }
    if identity
        .activation_mailed_generation
        .is_some_and(|mailed| mailed >= generation)
    {
        return Some("mailed already");
    }
    None
}

impl ActivationMailer {
    pub fn new(
        table: AuthTable,
        codes: ActivationCodes,
        sender: MailSender,
        link: Option<ActivationLink>,
    ) -> Self {
        Self {
            table,
            codes,
            sender,
            link,
        }
    }

    async fn mail(&self, user_id: &str, generation: u32) -> Result<Outcome, HandlerError> {
        let Some(identity) = self.table.identity(user_id).await? else {
            tracing::info!(user = %user_id, generation, "no activation mail: no identity");
            return Ok(Outcome::Ignored);
        };
        if let Some(reason) = no_mail_because(&identity, generation) {
            tracing::info!(user = %user_id, generation, reason, "no activation mail");
            return Ok(Outcome::Ignored);
        }
        let code = self
            .codes
            .code(&identity.registration_id, generation)
            .await?;
        let mail = render(
            &identity.name,
            &code,
            self.link.as_ref(),
            &identity.activation_expiry(),
        );
        let message_id = self.sender.send(identity.email.as_str(), &mail).await?;
        tracing::info!(user = %user_id, generation, %message_id, "activation mail sent");
        roster_platform::metrics::count(roster_platform::metrics::Count::ActivationMails, 1);
        if let Err(error) = self.table.mark_activation_mailed(user_id, generation).await {
            // Sent all the same: a redelivery may send a second copy, nothing worse.
            tracing::warn!(user = %user_id, generation, %error, "could not record the mail as sent");
        }
        Ok(Outcome::Handled)
    }

    async fn apply(&self, event: &EventBridgeEvent<Value>) -> Result<Outcome, HandlerError> {
        if let Some(envelope) = envelope_of::<UserRegistered>(event) {
            let registered = envelope?.data;
            return self.mail(registered.user_id.as_str(), 0).await;
        }
        if let Some(envelope) = envelope_of::<ActivationCodeReissued>(event) {
            let reissued = envelope?.data;
            return self
                .mail(reissued.user_id.as_str(), reissued.generation)
                .await;
        }
        Ok(Outcome::Ignored)
    }
}

impl EventHandler for ActivationMailer {
    fn handle<'a>(
        &'a self,
        event: &'a EventBridgeEvent<Value>,
    ) -> BoxFuture<'a, Result<Outcome, HandlerError>> {
        Box::pin(self.apply(event))
    }
}

/// The subscriber as deployed: SQS batches in, partial batch failures out.
pub fn subscriber(mailer: ActivationMailer) -> EventSubscriber<ActivationMailer> {
    EventSubscriber::new("activation-mailer", mailer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expires() -> Timestamp {
        Timestamp::parse("2026-12-02T10:00:00.000Z").unwrap()
    }

    #[test]
    fn the_mail_carries_the_code_and_the_link_in_both_bodies() {
        let link = ActivationLink::parse("http://localhost:5173/#activate={code}")
            .unwrap()
            .unwrap();
        let mail = render(
            "ada",
            "00112233445566778899aabbccddeeff",
            Some(&link),
            &expires(),
        );
        assert_eq!(mail.subject, "Activate your account, ada");
        for body in [&mail.text, &mail.html] {
            assert!(body.contains("00112233445566778899aabbccddeeff"), "{body}");
            assert!(
                body.contains("http://localhost:5173/#activate=00112233445566778899aabbccddeeff"),
                "{body}"
            );
            assert!(body.contains("2026-12-02 10:00"), "{body}");
            assert!(!body.contains("{{"), "every placeholder filled: {body}");
        }
        assert!(!format!("{mail:?}").contains("0011"), "Debug shows no code");
    }

    #[test]
    fn without_a_link_the_link_section_goes() {
        let mail = render("ada", "00112233445566778899aabbccddeeff", None, &expires());
        assert!(!mail.text.contains("open this link"), "{}", mail.text);
        assert!(!mail.html.contains("<a "), "{}", mail.html);
        assert!(!mail.text.contains("{{"), "{}", mail.text);
    }

    #[test]
    fn values_are_escaped_in_the_html_and_kept_on_one_line_in_the_subject() {
        let mail = render("<b>x\ny</b>", "c0de", None, &expires());
        assert!(mail.html.contains("&lt;b&gt;x"), "{}", mail.html);
        assert!(!mail.html.contains("<b>"), "{}", mail.html);
        assert!(!mail.subject.contains('\n'), "{}", mail.subject);
    }

    #[test]
    fn a_link_needs_a_code_and_http() {
        assert_eq!(ActivationLink::parse("  "), Ok(None));
        assert!(ActivationLink::parse("https://example.com/activate").is_err());
        assert!(ActivationLink::parse("javascript:{code}").is_err());
        assert!(
            ActivationLink::parse("https://example.com/a?c={code}")
                .unwrap()
                .is_some()
        );
    }
}
