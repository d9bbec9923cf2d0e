//! A client of a running stack's two APIs, as the load run and the demo seed use them: the
//! development API key (or a Bearer token), JSON in, the status and JSON out.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

use crate::stack::LocalFacts;

pub struct StackClient {
    http: Client,
    facts: LocalFacts,
}

impl StackClient {
    pub fn new(http: Client, facts: LocalFacts) -> Self {
        Self { http, facts }
    }

    /// A URL of the Auth API.
    pub fn auth(&self, path: &str) -> String {
        format!("{}{path}", self.facts.auth_url)
    }

    /// A URL of the User API.
    pub fn users(&self, path: &str) -> String {
        format!("{}{path}", self.facts.user_url)
    }

    /// One call, with the Bearer token if given and the development API key otherwise; a
    /// body that is not JSON reads as `null`.
    pub async fn call(
        &self,
        method: Method,
        url: String,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value)> {
        let mut request = self.http.request(method, url);
        request = match bearer {
            Some(token) => request.bearer_auth(token),
            None => request.header("x-api-key", &self.facts.api_key),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// A call with the API key that must succeed; its answer.
    pub async fn succeed(&self, method: Method, url: String, body: Option<Value>) -> Result<Value> {
        let (status, answer) = self.call(method.clone(), url.clone(), None, body).await?;
        if !status.is_success() {
            bail!("{method} {url}: {status} {answer}");
        }
        Ok(answer)
    }

    /// The profile of a user just registered, once the User API's subscriber has made it
    /// from the event; an error if it has not within `within`.
    pub async fn new_profile(&self, id: &str, within: Duration) -> Result<Value> {
        let started = Instant::now();
        loop {
            let (status, profile) = self
                .call(Method::GET, self.users(&format!("/user/{id}")), None, None)
                .await?;
            if status == StatusCode::OK {
                return Ok(profile);
            }
            if started.elapsed() > within {
                bail!(
                    "no profile for {id} {} s after registering",
                    within.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
