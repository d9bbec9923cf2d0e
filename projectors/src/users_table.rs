//! Projection of the User API's table: what changed between a profile's old and new image,
//! as domain events. A change nobody needs to hear about (a recorded sign-in) publishes
//! nothing, and the stored item never leaves: each event is built field by field.
//!
//! | change | events |
//! |---|---|
//! | profile created | `UserProfileCreated` |
//! | status changed | `UserStatusChanged`, and `UserActivated` for UNCONFIRMED → CONFIRMED |
//! | badge added / removed | `BadgeAwarded` / `BadgeRevoked`, one per badge |
//! | `data` changed | `UserDataUpdated` with the top-level keys that changed |
//! | language, currency or avatar changed | `UserProfileUpdated` |
//! | profile replaced by its tombstone (or removed) | `UserDeleted` |
//!
//! Event ids are the event, the user and the profile version the change produced, so every
//! delivery of one change has one id.

use std::collections::BTreeSet;

use aws_lambda_events::dynamodb::EventRecord;
use roster_events::user::{
    BadgeAwarded, BadgeRevoked, ProfileSettings, UserActivated, UserDataUpdated, UserDeleted,
    UserProfileCreated, UserProfileUpdated, UserStatus, UserStatusChanged,
};
use roster_events::{DomainEvent, Envelope, Timestamp, UserId};
use roster_platform::events::OutgoingEvent;
use roster_user_api::store::{ProfileItem, Tombstone};
use serde_json::Value;

use crate::{Projection, ProjectionError};

#[derive(Debug, Clone, Default)]
pub struct UsersTableProjection;

/// One image of a users-table item.
enum Image {
    Profile(Box<ProfileItem>),
    Deleted(Tombstone),
}

fn image(item: &serde_dynamo::Item) -> Result<Option<Image>, ProjectionError> {
    if item.is_empty() {
        return Ok(None);
    }
    let value: Value = serde_dynamo::from_item(item.clone())?;
    Ok(Some(if value.get("deletedAt").is_some() {
        Image::Deleted(serde_json::from_value(value)?)
    } else {
        Image::Profile(Box::new(serde_json::from_value(value)?))
    }))
}

/// Collects the events of one record, each in its envelope.
struct Events<'a> {
    user_id: &'a UserId,
    version: u64,
    occurred_at: &'a Timestamp,
    correlation_id: Option<&'a str>,
    out: Vec<OutgoingEvent>,
}

impl Events<'_> {
    /// An event of this change: its id names the version the change produced.
    fn push<D: DomainEvent>(&mut self, id_suffix: &str, data: D) -> Result<(), ProjectionError> {
        let event_id = format!(
            "{}-{}-v{}{id_suffix}",
            D::DETAIL_TYPE,
            self.user_id,
            self.version
        );
        self.emit(event_id, data)
    }

    /// An event that happens once per user.
    fn push_once<D: DomainEvent>(&mut self, data: D) -> Result<(), ProjectionError> {
        self.emit(format!("{}-{}", D::DETAIL_TYPE, self.user_id), data)
    }

    fn emit<D: DomainEvent>(&mut self, event_id: String, data: D) -> Result<(), ProjectionError> {
        let envelope = Envelope::new(event_id, self.occurred_at.clone(), data)
            .with_correlation_id(self.correlation_id.map(str::to_owned));
        self.out.push(OutgoingEvent::from_envelope(&envelope)?);
        Ok(())
    }
}

fn settings(profile: &ProfileItem) -> ProfileSettings {
    ProfileSettings {
        lang: profile.profile_data.lang.clone(),
        currency: profile.profile_data.currency.clone(),
        avatar_url: profile.profile_data.avatar_url.clone(),
        custom_avatar: profile.profile_data.avatar_key.is_some(),
    }
}

/// The top-level keys whose values differ between two data documents.
fn changed_keys(old: &str, new: &str) -> Result<Vec<String>, ProjectionError> {
    let old: serde_json::Map<String, Value> = serde_json::from_str(old)?;
    let new: serde_json::Map<String, Value> = serde_json::from_str(new)?;
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    Ok(keys
        .into_iter()
        .filter(|key| old.get(*key) != new.get(*key))
        .cloned()
        .collect())
}

fn created(new: &ProfileItem, events: &mut Events) -> Result<(), ProjectionError> {
    events.push_once(UserProfileCreated {
        user_id: new.id.clone(),
        email: new.email.clone(),
        name: new.name.clone(),
        handle: new.handle.clone(),
        status: new.status,
        profile_data: settings(new),
        badges: new.badges.keys().cloned().collect(),
        created_at: new.created_at.clone(),
        version: new.version,
    })
}

fn modified(
    old: &ProfileItem,
    new: &ProfileItem,
    events: &mut Events,
) -> Result<(), ProjectionError> {
    let at = new.updated_at.clone();
    if old.status != new.status {
        let (from, to) = (old.status, new.status);
        events.push(
            "",
            UserStatusChanged {
                user_id: new.id.clone(),
                from,
                to,
                changed_at: at.clone(),
                version: new.version,
            },
        )?;
        if from == UserStatus::Unconfirmed && to == UserStatus::Confirmed {
            events.push(
                "",
                UserActivated {
                    user_id: new.id.clone(),
                    email: new.email.clone(),
                    activated_at: new.activated_at.clone().unwrap_or_else(|| at.clone()),
                    version: new.version,
                },
            )?;
        }
    }
    for (badge, award) in &new.badges {
        if !old.badges.contains_key(badge) {
            events.push(
                &format!("-{badge}"),
                BadgeAwarded {
                    user_id: new.id.clone(),
                    badge: badge.clone(),
                    awarded_at: award.awarded_at.clone(),
                    version: new.version,
                },
            )?;
        }
    }
    for badge in old.badges.keys() {
        if !new.badges.contains_key(badge) {
            events.push(
                &format!("-{badge}"),
                BadgeRevoked {
                    user_id: new.id.clone(),
                    badge: badge.clone(),
                    revoked_at: at.clone(),
                    version: new.version,
                },
            )?;
        }
    }
    if old.data != new.data {
        let changed_keys = changed_keys(&old.data, &new.data)?;
        if !changed_keys.is_empty() {
            events.push(
                "",
                UserDataUpdated {
                    user_id: new.id.clone(),
                    changed_keys,
                    updated_at: at.clone(),
                    version: new.version,
                },
            )?;
        }
    }
    let (before, after) = (&old.profile_data, &new.profile_data);
    let changed: Vec<String> = [
        ("lang", before.lang != after.lang),
        ("currency", before.currency != after.currency),
        ("avatarUrl", before.avatar_url != after.avatar_url),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(field, _)| field.to_owned())
    .collect();
    if !changed.is_empty() {
        events.push(
            "",
            UserProfileUpdated {
                user_id: new.id.clone(),
                changed,
                profile_data: settings(new),
                updated_at: at,
                version: new.version,
            },
        )?;
    }
    Ok(())
}

impl Projection for UsersTableProjection {
    fn project(&self, record: &EventRecord) -> Result<Vec<OutgoingEvent>, ProjectionError> {
        let old = image(&record.change.old_image)?;
        let new = image(&record.change.new_image)?;
        let (user_id, version, occurred_at, correlation_id) = match (&old, &new) {
            (_, Some(Image::Profile(new))) => (
                &new.id,
                new.version,
                &new.updated_at,
                new.correlation_id.as_deref(),
            ),
            (_, Some(Image::Deleted(tombstone))) => (
                &tombstone.id,
                tombstone.version,
                &tombstone.deleted_at,
                tombstone.correlation_id.as_deref(),
            ),
            (Some(Image::Profile(old)), None) => (&old.id, old.version + 1, &old.updated_at, None),
            _ => return Ok(Vec::new()),
        };
        let mut events = Events {
            user_id,
            version,
            occurred_at,
            correlation_id,
            out: Vec::new(),
        };
        match (&old, &new) {
            (None, Some(Image::Profile(new))) => created(new, &mut events)?,
            (Some(Image::Profile(old)), Some(Image::Profile(new))) => {
                modified(old, new, &mut events)?;
            }
            (Some(Image::Profile(_)), Some(Image::Deleted(_)) | None) => {
                let deleted_at = match &new {
                    Some(Image::Deleted(tombstone)) => tombstone.deleted_at.clone(),
                    _ => occurred_at.clone(),
                };
                events.push_once(UserDeleted {
                    user_id: user_id.clone(),
                    deleted_at,
                })?;
            }
            _ => {}
        }
        Ok(events.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_events::{Email, Role};
    use roster_user_api::store::{BadgeItem, ProfileDataItem};
    use serde_json::json;

    fn at(minute: u32) -> Timestamp {
        Timestamp::parse(&format!("2026-11-25T10:{minute:02}:00.000Z")).unwrap()
    }

    fn profile() -> ProfileItem {
        ProfileItem {
            id: UserId::parse("u-1").unwrap(),
            email: Email::parse("ada@example.com").unwrap(),
            email_key: "ada@example.com".into(),
            name: "ada".into(),
            name_key: "ada".into(),
            handle: "@Ada".into(),
            handle_key: "@ada".into(),
            role: Role::User,
            status: UserStatus::Unconfirmed,
            source_system: "web".into(),
            created_at: at(0),
            last_login_at: None,
            activation_code_hash: Some("code-hash".into()),
            activation_expires_at: Some(1),
            activation_generation: None,
            activated_at: None,
            profile_data: ProfileDataItem {
                lang: "en_us".into(),
                currency: "USD".into(),
                avatar_url: "https://a/x256/01.png".into(),
                avatar_key: None,
            },
            badges: [("NEW_MEMBER".to_owned(), BadgeItem { awarded_at: at(0) })].into(),
            data: r#"{"keep":1,"change":1,"drop":1}"#.into(),
            version: 1,
            updated_at: at(0),
            correlation_id: Some("req-1".into()),
            registered_event_id: "UserRegistered-u-1".into(),
            last_write_id: None,
            sessions_revoked_before: None,
            list_shard: Some("07".into()),
            status_shard: Some("UNCONFIRMED#07".into()),
            created_key: Some("2026-11-25T10:00:00.000Z#u-1".into()),
        }
    }

    fn record(event_name: &str, old: Option<Value>, new: Option<Value>) -> EventRecord {
        let to_image = |value: Option<Value>| {
            value.map_or(json!({}), |value| {
                serde_json::to_value(serde_dynamo::to_item::<_, serde_dynamo::Item>(value).unwrap())
                    .unwrap()
            })
        };
        serde_json::from_value(json!({
            "eventID": "1", "eventName": event_name, "awsRegion": "us-east-1",
            "dynamodb": {
                "Keys": {"id": {"S": "u-1"}}, "OldImage": to_image(old), "NewImage": to_image(new),
                "SequenceNumber": "100", "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES"
            }
        }))
        .unwrap()
    }

    fn project(
        event_name: &str,
        old: Option<&ProfileItem>,
        new: Option<Value>,
    ) -> Vec<(String, Value)> {
        let old = old.map(|old| serde_json::to_value(old).unwrap());
        UsersTableProjection
            .project(&record(event_name, old, new))
            .unwrap()
            .into_iter()
            .map(|event| {
                (
                    event.detail_type,
                    serde_json::from_str(&event.detail).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn a_new_profile_is_announced_without_its_storage_layout() {
        let events = project(
            "INSERT",
            None,
            Some(serde_json::to_value(profile()).unwrap()),
        );
        assert_eq!(events.len(), 1);
        let (detail_type, detail) = &events[0];
        assert_eq!(detail_type, "UserProfileCreated");
        assert_eq!(detail["eventId"], "UserProfileCreated-u-1");
        assert_eq!(detail["correlationId"], "req-1");
        assert_eq!(detail["data"]["badges"], json!(["NEW_MEMBER"]));
        let text = detail.to_string();
        for stored_only in ["code-hash", "emailKey", "handleKey", "registeredEventId"] {
            assert!(!text.contains(stored_only), "{stored_only} leaked");
        }
    }

    #[test]
    fn activation_is_a_status_change_and_an_activation() {
        let old = profile();
        let mut new = profile();
        new.status = UserStatus::Confirmed;
        new.activation_code_hash = None;
        new.activated_at = Some(at(1));
        new.version = 2;
        let events = project(
            "MODIFY",
            Some(&old),
            Some(serde_json::to_value(&new).unwrap()),
        );
        let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(types, ["UserStatusChanged", "UserActivated"]);
        assert_eq!(events[0].1["data"]["from"], "UNCONFIRMED");
        assert_eq!(events[0].1["data"]["to"], "CONFIRMED");
        assert_eq!(events[0].1["eventId"], "UserStatusChanged-u-1-v2");
        assert_eq!(
            events[1].1["data"]["activatedAt"],
            "2026-11-25T10:01:00.000Z"
        );
    }

    #[test]
    fn badges_data_and_settings_each_say_what_changed() {
        let old = profile();
        let mut new = profile();
        new.badges.remove("NEW_MEMBER");
        new.badges
            .insert("VERIFIED".into(), BadgeItem { awarded_at: at(2) });
        new.data = r#"{"keep":1,"change":2,"add":true}"#.into();
        new.profile_data.lang = "de_de".into();
        new.profile_data.avatar_key = Some("public/avatars/users/u-1/x.png".into());
        new.profile_data.avatar_url = "https://a/public/avatars/users/u-1/x.png".into();
        new.version = 3;
        let events = project(
            "MODIFY",
            Some(&old),
            Some(serde_json::to_value(&new).unwrap()),
        );
        let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            types,
            [
                "BadgeAwarded",
                "BadgeRevoked",
                "UserDataUpdated",
                "UserProfileUpdated"
            ]
        );
        assert_eq!(events[0].1["eventId"], "BadgeAwarded-u-1-v3-VERIFIED");
        assert_eq!(
            events[2].1["data"]["changedKeys"],
            json!(["add", "change", "drop"])
        );
        assert_eq!(events[3].1["data"]["changed"], json!(["lang", "avatarUrl"]));
        assert_eq!(events[3].1["data"]["profileData"]["customAvatar"], true);
    }

    #[test]
    fn a_recorded_sign_in_publishes_nothing() {
        let old = profile();
        let mut new = profile();
        new.last_login_at = Some(at(3));
        assert!(
            project(
                "MODIFY",
                Some(&old),
                Some(serde_json::to_value(&new).unwrap())
            )
            .is_empty()
        );
    }

    #[test]
    fn a_tombstone_is_a_deletion_and_its_expiry_is_nothing() {
        let tombstone = json!({
            "id": "u-1", "deletedAt": "2026-11-25T10:04:00.000Z", "version": 2, "expiresAt": 9
        });
        let events = project("MODIFY", Some(&profile()), Some(tombstone.clone()));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].0, "UserDeleted");
        assert_eq!(events[0].1["eventId"], "UserDeleted-u-1");
        assert_eq!(
            events[0].1["data"],
            json!({"userId": "u-1", "deletedAt": "2026-11-25T10:04:00.000Z"})
        );
        let expired = record("REMOVE", Some(tombstone), None);
        assert!(UsersTableProjection.project(&expired).unwrap().is_empty());
    }
}
