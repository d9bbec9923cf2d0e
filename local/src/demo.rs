//! `cargo stack --seed-demo`: a handful of demo users on the running stack, made through
//! the APIs exactly as a client would make them — registered, some activated (the badge
//! rules then award VERIFIED), one suspended, badges awarded, default avatars chosen and one
//! photo uploaded (PHOTOGENIC follows). Running it again changes nothing: a user already
//! registered is left as it is.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::stack::LocalFacts;
use crate::stack_client::StackClient;

/// Every demo user's password. Local only.
pub const DEMO_PASSWORD: &str = "Demo-Password-1";

/// One demo user: what it is made into.
struct Plan {
    name: &'static str,
    activate: bool,
    suspend: bool,
    badges: &'static [&'static str],
    avatar: Avatar,
    data: Option<&'static str>,
}

enum Avatar {
    Default(&'static str),
    Photo,
}

const PLANS: [Plan; 5] = [
    Plan {
        name: "ada",
        activate: true,
        suspend: false,
        badges: &["EARLY_ADOPTER"],
        avatar: Avatar::Default("03"),
        data: Some(r#"{"theme": "dark", "newsletter": true}"#),
    },
    Plan {
        name: "grace",
        activate: true,
        suspend: false,
        badges: &["EARLY_ADOPTER", "CONVERSATION_STARTER"],
        avatar: Avatar::Photo,
        data: None,
    },
    Plan {
        name: "alan",
        activate: false,
        suspend: false,
        badges: &[],
        avatar: Avatar::Default("05"),
        data: None,
    },
    Plan {
        name: "katherine",
        activate: true,
        suspend: true,
        badges: &[],
        avatar: Avatar::Default("02"),
        data: None,
    },
    Plan {
        name: "linus",
        activate: true,
        suspend: false,
        badges: &["CONVERSATION_STARTER"],
        avatar: Avatar::Default("06"),
        data: Some(r#"{"editor": "vim"}"#),
    },
];

/// The photo the demo uploads: one of the default avatars, as a user's own picture.
const PHOTO: &[u8] = roster_user_api::assets::sample_photo();

/// A demo user as it was left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoUser {
    pub email: String,
    pub id: String,
    /// False when it was there already (and left alone).
    pub created: bool,
}

/// Makes the demo users on the stack `facts` describes.
pub async fn seed(facts: &LocalFacts) -> Result<Vec<DemoUser>> {
    let client = StackClient::new(Client::new(), facts.clone());
    let mut made = Vec::new();
    for plan in &PLANS {
        made.push(
            make(&client, plan)
                .await
                .with_context(|| format!("demo user {}", plan.name))?,
        );
    }
    Ok(made)
}

async fn make(client: &StackClient, plan: &Plan) -> Result<DemoUser> {
    let email = format!("{}@example.com", plan.name);
    let body = json!({"email": email, "name": plan.name, "password": DEMO_PASSWORD});
    let (status, registered) = client
        .call(
            Method::POST,
            client.auth("/auth/register"),
            None,
            Some(body),
        )
        .await?;
    if status == StatusCode::CONFLICT {
        let existing = client
            .succeed(
                Method::GET,
                client.users(&format!("/user/email/{email}")),
                None,
            )
            .await?;
        let id = existing["id"].as_str().context("an id")?.to_owned();
        return Ok(DemoUser {
            email,
            id,
            created: false,
        });
    }
    if status != StatusCode::CREATED {
        bail!("registering: {status} {registered}");
    }
    let id = registered["id"].as_str().context("an id")?.to_owned();
    let code = registered["activationCode"]
        .as_str()
        .context("a code")?
        .to_owned();
    client.new_profile(&id, Duration::from_secs(20)).await?;
    if plan.activate {
        client
            .succeed(
                Method::GET,
                client.users(&format!("/user/activate/{code}")),
                None,
            )
            .await?;
    }
    if plan.suspend {
        client
            .succeed(
                Method::PATCH,
                client.users(&format!("/user/{id}/status/SUSPENDED")),
                None,
            )
            .await?;
    }
    for badge in plan.badges {
        client
            .succeed(
                Method::POST,
                client.users(&format!("/user/{id}/badge/{badge}")),
                None,
            )
            .await?;
    }
    if let Some(data) = plan.data {
        let data: Value = serde_json::from_str(data)?;
        client
            .succeed(
                Method::PUT,
                client.users(&format!("/user/{id}/data/update")),
                Some(data),
            )
            .await?;
    }
    match plan.avatar {
        Avatar::Default(avatar) => {
            client
                .succeed(
                    Method::POST,
                    client.users(&format!("/user/{id}/avatar")),
                    Some(json!({"default": avatar})),
                )
                .await?;
        }
        Avatar::Photo => {
            let body = json!({"contentType": "image/png", "contentLength": PHOTO.len()});
            let upload = client
                .succeed(
                    Method::POST,
                    client.users(&format!("/user/{id}/avatar")),
                    Some(body),
                )
                .await?;
            let mut put = Client::new()
                .put(upload["uploadUrl"].as_str().context("an upload URL")?)
                .body(PHOTO);
            for (name, value) in upload["headers"].as_object().into_iter().flatten() {
                put = put.header(name, value.as_str().unwrap_or_default());
            }
            let status = put.send().await?.status();
            if !status.is_success() {
                bail!("uploading the photo: {status}");
            }
        }
    }
    Ok(DemoUser {
        email,
        id,
        created: true,
    })
}
