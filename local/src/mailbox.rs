//! The local stack's mailbox: the mail its functions sent through SES (the activation mail,
//! Cognito's reset codes). SES on the local endpoint delivers nothing; the launcher keeps what
//! was sent and lists it read-only at `GET <endpoint>/_roster/mailbox` (`moto_launcher.py`).
//! [`messages`] reads it, the account page's origin shows it at `GET /mailbox` ([`page`]), and
//! tests and the demo seed read a user's mail from it as the user would.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use reqwest::Client;
use roster_platform::problem::Problem;
use serde::Deserialize;

use crate::web::WebState;

/// One mail, as SES accepted it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mail {
    pub id: String,
    /// The sender, as given (`Roster <no-reply@…>`).
    pub from: String,
    /// The recipients' addresses.
    pub to: Vec<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub html: Option<String>,
    /// Epoch seconds.
    #[serde(default)]
    pub sent_at: Option<f64>,
}

impl Mail {
    /// Whether the mail was sent from an address of `domain`.
    pub fn is_from(&self, domain: &str) -> bool {
        let address = self
            .from
            .rsplit_once('<')
            .map_or(self.from.as_str(), |(_, rest)| rest.trim_end_matches('>'));
        address
            .rsplit_once('@')
            .is_some_and(|(_, host)| host.eq_ignore_ascii_case(domain))
    }

    /// The activation code in the text body: its one word of 32 hexadecimal characters.
    pub fn activation_code(&self) -> Option<String> {
        let text = self.text.as_deref()?;
        let mut codes = text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|word| word.len() == 32 && word.bytes().all(|b| b.is_ascii_hexdigit()));
        let code = codes.next()?;
        // The link repeats the code; any other is a different mail.
        codes.all(|other| other == code).then(|| code.to_owned())
    }

    /// The first `http(s)://` link in the text body.
    pub fn link(&self) -> Option<String> {
        let text = self.text.as_deref()?;
        text.split_whitespace()
            .find(|word| word.starts_with("http://") || word.starts_with("https://"))
            .map(ToOwned::to_owned)
    }
}

#[derive(Deserialize)]
struct Listing {
    messages: Vec<Mail>,
}

/// The mail sent on the local endpoint at `aws_endpoint` from an address of `mail_domain`,
/// oldest first; only the mail to `to` (any case) if given.
pub async fn messages(
    http: &Client,
    aws_endpoint: &str,
    mail_domain: &str,
    to: Option<&str>,
) -> Result<Vec<Mail>> {
    let mut request = http.get(format!(
        "{}/_roster/mailbox",
        aws_endpoint.trim_end_matches('/')
    ));
    if let Some(to) = to {
        request = request.query(&[("to", to)]);
    }
    let response = request
        .send()
        .await
        .context("the local endpoint's mailbox did not answer")?;
    if !response.status().is_success() {
        bail!(
            "the local endpoint has no mailbox ({}): is it the stack's own moto?",
            response.status()
        );
    }
    let listing: Listing = response
        .json()
        .await
        .context("the mailbox's answer does not read")?;
    Ok(listing
        .messages
        .into_iter()
        .filter(|mail| mail.is_from(mail_domain))
        .collect())
}

/// The activation code of the newest mail the stack of `facts` sent to `to`, waiting up to
/// `within` for a first one: what a user reads in its mail (the demo seed, tests).
pub async fn activation_code(
    facts: &crate::stack::LocalFacts,
    to: &str,
    within: std::time::Duration,
) -> Result<String> {
    let http = Client::new();
    let started = std::time::Instant::now();
    loop {
        let mail = messages(&http, &facts.aws_endpoint, &facts.mail_domain(), Some(to)).await?;
        if let Some(code) = mail.last().and_then(Mail::activation_code) {
            return Ok(code);
        }
        if started.elapsed() > within {
            bail!("no activation mail to {to} within {} s", within.as_secs());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[derive(Deserialize)]
pub(crate) struct MailboxQuery {
    to: Option<String>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `text` escaped, with its `http(s)://` words made links.
fn with_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.starts_with("http://") || word.starts_with("https://") {
            let escaped = escape(word);
            out.push_str(&format!("<a href=\"{escaped}\">{escaped}</a>"));
        } else {
            out.push_str(&escape(word));
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace() {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn when(sent_at: Option<f64>) -> String {
    let at = sent_at.and_then(|seconds| chrono::DateTime::from_timestamp(seconds as i64, 0));
    at.map_or_else(String::new, |at| {
        at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    })
}

/// `GET /mailbox`: the stack's mail by recipient, newest first; `?to=ADDRESS` shows one
/// recipient's. Each mail shows its text body, links live, and links to its HTML body.
pub(crate) async fn page(
    State(state): State<WebState>,
    Query(query): Query<MailboxQuery>,
) -> Response {
    let config = &state.config;
    let to = query
        .to
        .as_deref()
        .map(str::trim)
        .filter(|to| !to.is_empty());
    let found = messages(&state.http, &config.aws_endpoint, &config.mail_domain, to).await;
    let mut body = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Roster — local mailbox</title>\n<link rel=\"icon\" href=\"data:,\">\n\
         <link rel=\"stylesheet\" href=\"/style.css\">\n</head>\n<body>\n<main id=\"mailbox\">\n\
         <h1>Local mailbox</h1>\n<p>The mail this stack sent. Nothing leaves this machine: SES \
         on the local endpoint delivers nothing, and this page shows what it would have \
         delivered. <a href=\"/\">Account page</a></p>\n",
    );
    let mail = match found {
        Ok(mail) => mail,
        Err(error) => {
            body.push_str(&format!(
                "<p id=\"error\" role=\"alert\">{}</p>\n</main>\n</body>\n</html>\n",
                escape(&format!("{error:#}"))
            ));
            return html(&state, StatusCode::BAD_GATEWAY, body);
        }
    };
    if let Some(to) = to {
        body.push_str(&format!(
            "<p>Mail to <strong>{}</strong> · <a href=\"/mailbox\">every recipient</a></p>\n",
            escape(to)
        ));
    }
    let mut by_recipient: BTreeMap<String, Vec<&Mail>> = BTreeMap::new();
    for message in &mail {
        for recipient in &message.to {
            let recipient = recipient.to_lowercase();
            if to.is_none_or(|to| to.eq_ignore_ascii_case(&recipient)) {
                by_recipient.entry(recipient).or_default().push(message);
            }
        }
    }
    if by_recipient.is_empty() {
        body.push_str("<p id=\"empty\">No mail yet.</p>\n");
    }
    for (recipient, messages) in &by_recipient {
        let recipient = escape(recipient);
        body.push_str(&format!(
            "<section class=\"recipient\" data-recipient=\"{recipient}\">\n\
             <h2><a href=\"/mailbox?to={recipient}\">{recipient}</a> ({})</h2>\n",
            messages.len()
        ));
        for message in messages.iter().rev() {
            body.push_str(&format!(
                "<article class=\"mail\" data-id=\"{id}\">\n<h3>{subject}</h3>\n\
                 <p class=\"meta\">From {from} · {when}</p>\n<pre>{text}</pre>\n",
                id = escape(&message.id),
                subject = escape(message.subject.as_deref().unwrap_or("(no subject)")),
                from = escape(&message.from),
                when = when(message.sent_at),
                text = with_links(message.text.as_deref().unwrap_or_default()),
            ));
            if message.html.is_some() {
                body.push_str(&format!(
                    "<p><a href=\"/mailbox/{}\">The HTML version</a></p>\n",
                    escape(&message.id)
                ));
            }
            body.push_str("</article>\n");
        }
        body.push_str("</section>\n");
    }
    body.push_str("</main>\n</body>\n</html>\n");
    html(&state, StatusCode::OK, body)
}

fn html(state: &WebState, status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CONTENT_SECURITY_POLICY, state.policy().clone()),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /mailbox/{id}`: a mail's HTML body, as a mail client would show it: sandboxed (no
/// script, no request anywhere; its own inline styles only).
pub(crate) async fn html_body(State(state): State<WebState>, Path(id): Path<String>) -> Response {
    let config = &state.config;
    let found = match messages(&state.http, &config.aws_endpoint, &config.mail_domain, None).await {
        Ok(mail) => mail.into_iter().find(|mail| mail.id == id),
        Err(error) => {
            return Problem::new(
                StatusCode::BAD_GATEWAY,
                "mailbox-unavailable",
                "Mailbox unavailable",
            )
            .with_detail(format!("{error:#}"))
            .into_response();
        }
    };
    let Some(body) = found.and_then(|mail| mail.html) else {
        return Problem::not_found("no such mail with an HTML body").into_response();
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
                ),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(text: &str) -> Mail {
        Mail {
            id: "m-1".into(),
            from: "Roster <no-reply@t-1.roster.test>".into(),
            to: vec!["ada@example.com".into()],
            subject: Some("Activate".into()),
            text: Some(text.into()),
            html: None,
            sent_at: None,
        }
    }

    #[test]
    fn the_code_and_the_link_are_read_from_the_text() {
        let code = "00112233445566778899aabbccddeeff";
        let found = mail(&format!(
            "Hello,\n\n    {code}\n\nor open\n\n    http://localhost:5173/#activate={code}\n"
        ));
        assert_eq!(found.activation_code().as_deref(), Some(code));
        assert_eq!(
            found.link().as_deref(),
            Some(format!("http://localhost:5173/#activate={code}").as_str())
        );
        assert!(found.is_from("t-1.roster.test"));
        assert!(!found.is_from("roster.test"));
        assert_eq!(mail("no code here").activation_code(), None);
    }

    #[test]
    fn text_is_escaped_and_only_http_links_are_made_links() {
        assert_eq!(
            with_links("<b> http://x/#a=1 javascript:alert(1)"),
            "&lt;b&gt; <a href=\"http://x/#a=1\">http://x/#a=1</a> javascript:alert(1)"
        );
    }
}
