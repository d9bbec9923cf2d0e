//! `cargo stack --seed-demo`: a handful of demo users on the running stack, made through
//! the APIs exactly as a client would make them — registered, some activated (the badge
//! rules then award VERIFIED), one suspended, badges awarded, default avatars chosen and one
//! photo uploaded (PHOTOGENIC follows). Running it again changes nothing: a user already
//! registered is left as it is.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use reqwest::{Client, StatusCode};
use roster_client::{
    AuthApi, AvatarChange, AvatarRequest, DefaultAvatar, RegisterRequest, Status, UploadRequest,
    UserApi,
};
use serde_json::{Map, Value};

use crate::clients::await_profile;
use crate::stack::LocalFacts;

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
    let http = Client::new();
    let (auth, users) = (facts.auth_api(http.clone())?, facts.user_api(http.clone())?);
    let mut made = Vec::new();
    for plan in &PLANS {
        made.push(
            make(&auth, &users, &http, facts, plan)
                .await
                .with_context(|| format!("demo user {}", plan.name))?,
        );
    }
    Ok(made)
}

async fn make(
    auth: &AuthApi,
    users: &UserApi,
    http: &Client,
    facts: &LocalFacts,
    plan: &Plan,
) -> Result<DemoUser> {
    let email = format!("{}@example.com", plan.name);
    let request = RegisterRequest::new(&email, plan.name, DEMO_PASSWORD);
    let registered = match auth.register(&request, None).await {
        Ok(registered) => registered,
        Err(error) if error.status() == Some(StatusCode::CONFLICT) => {
            let existing = users.user_by_email(&email).await?.into_inner();
            return Ok(DemoUser {
                email,
                id: existing.id,
                created: false,
            });
        }
        Err(error) => return Err(error).context("registering"),
    };
    let id = registered.id;
    await_profile(users, &id, Duration::from_secs(20)).await?;
    if plan.activate {
        // The code comes by mail, as to any user: read from the stack's mailbox.
        let code = crate::mailbox::activation_code(facts, &email, Duration::from_secs(20)).await?;
        users.activate_in_path(&code).await?;
    }
    if plan.suspend {
        users.set_status(&id, Status::Suspended, None).await?;
    }
    for badge in plan.badges {
        users.award_badge(&id, badge).await?;
    }
    if let Some(data) = plan.data {
        let data: Map<String, Value> = serde_json::from_str(data)?;
        users.replace_data(&id, &data, None).await?;
    }
    match plan.avatar {
        Avatar::Default(avatar) => {
            let request = AvatarRequest::Default(DefaultAvatar {
                default: avatar.to_owned(),
            });
            users.avatar(&id, &request).await?;
        }
        Avatar::Photo => {
            let request = AvatarRequest::Upload(UploadRequest {
                content_type: "image/png".to_owned(),
                content_length: PHOTO.len() as u64,
            });
            let AvatarChange::Upload(upload) = users.avatar(&id, &request).await? else {
                bail!("asked to upload a photo, the User API chose a default avatar");
            };
            let mut put = http.put(&upload.upload_url).body(PHOTO);
            for (name, value) in &upload.headers {
                put = put.header(name, value);
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
