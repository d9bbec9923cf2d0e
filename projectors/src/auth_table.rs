//! Projection of the Auth API's table: a committed identity (the INSERT of a `USER#…` /
//! `IDENTITY` item) becomes `UserRegistered`; a revocation record (`REVOKED#…`) becomes
//! `SessionsRevoked`; a password-reset request of a user (`RESET#…` with a `userId`) becomes
//! `PasswordResetRequested`; an identity newly marked `identityGoneAt` (the reconciler found
//! its Cognito user deleted outside Roster: a MODIFY) becomes `IdentityDeleted`; an identity
//! whose activation generation went up (a resend) becomes `ActivationCodeReissued`. Reservations,
//! pending registrations and idempotency records are bookkeeping and publish nothing.
//!
//! Every image is read as the Auth API's own record ([`roster_auth_api::store::Identity`],
//! [`Revocation`], [`ResetRequest`]): the table's owner declares its items once, and this
//! projection parses their ids, emails and times into the contract's types.

use aws_lambda_events::dynamodb::EventRecord;
use roster_auth_api::store::{Identity, ResetRequest, Revocation};
use roster_events::auth::{
    ActivationCodeReissued, IdentityDeleted, PasswordResetRequested, SessionsRevoked,
    UserDeletionRequested, UserRegistered,
};
use roster_events::{Email, Envelope, Timestamp, UserId};
use roster_platform::events::OutgoingEvent;

use crate::{Projection, ProjectionError};

#[derive(Debug, Clone, Default)]
pub struct AuthTableProjection;

fn reset_request(image: serde_json::Value) -> Result<Vec<OutgoingEvent>, ProjectionError> {
    let record: ResetRequest = serde_json::from_value(image)?;
    // A request for an address that is no user's: nothing happened to anyone.
    let (Some(user_id), Some(email)) = (record.user_id, record.email) else {
        return Ok(Vec::new());
    };
    let (user_id, email) = (UserId::parse(&user_id)?, Email::parse(&email)?);
    let requested_at = Timestamp::parse(&record.requested_at)?;
    let event_id = format!("PasswordResetRequested-{user_id}-{requested_at}");
    let envelope = Envelope::new(
        event_id,
        requested_at.clone(),
        PasswordResetRequested {
            user_id,
            email,
            requested_at,
        },
    );
    Ok(vec![OutgoingEvent::from_envelope(&envelope)?])
}

fn revocation(image: serde_json::Value) -> Result<Vec<OutgoingEvent>, ProjectionError> {
    let record: Revocation = serde_json::from_value(image)?;
    // A user Roster did not register (an operator made in the pool) has no profile, and no
    // subscriber has anything to do with its sessions.
    if !record.registered {
        return Ok(Vec::new());
    }
    // One event per record: every delivery of this INSERT gets the same id.
    let event_id = format!(
        "SessionsRevoked-{}-{}-{}",
        record.sub, record.revoked_at, record.reason
    );
    let occurred_at = Timestamp::from_datetime(
        chrono::DateTime::from_timestamp(record.revoked_at, 0).unwrap_or_default(),
    );
    let envelope = Envelope::new(
        event_id,
        occurred_at,
        SessionsRevoked {
            user_id: UserId::parse(&record.sub)?,
            revoked_before: record.revoked_at,
            reason: record.reason,
        },
    );
    Ok(vec![OutgoingEvent::from_envelope(&envelope)?])
}

/// A MODIFY of an identity: `IdentityDeleted` when it is newly marked gone,
/// `UserDeletionRequested` when the user newly asked for its deletion,
/// `ActivationCodeReissued` when its activation generation went up, else nothing.
fn identity_changed(record: &EventRecord) -> Result<Vec<OutgoingEvent>, ProjectionError> {
    let new: serde_json::Value = serde_dynamo::from_item(record.change.new_image.clone())?;
    let is_identity =
        new["pk"].as_str().is_some_and(|pk| pk.starts_with("USER#")) && new["sk"] == "IDENTITY";
    if !is_identity {
        return Ok(Vec::new());
    }
    let old: serde_json::Value = serde_dynamo::from_item(record.change.old_image.clone())?;
    let had = |field: &str| old.get(field).is_some_and(|at| !at.is_null());
    let (was_gone, was_requested) = (had("identityGoneAt"), had("deletionRequestedAt"));
    let old_generation = old
        .get("activationGeneration")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    let now: Identity = serde_json::from_value(new)?;
    let mut events = Vec::new();
    // Once per user each: every delivery of the MODIFY gets the same ids.
    if let Some(detected_at) = now.identity_gone_at.clone().filter(|_| !was_gone) {
        let envelope = Envelope::new(
            format!("IdentityDeleted-{}", now.id),
            detected_at.clone(),
            IdentityDeleted {
                user_id: now.id.clone(),
                detected_at,
            },
        );
        events.push(OutgoingEvent::from_envelope(&envelope)?);
    }
    let generation = now.activation_generation();
    if u64::from(generation) > old_generation
        && let (Some(expires_at), Some(reissued_at)) = (
            now.activation_expires_at.clone(),
            now.activation_reissued_at.clone(),
        )
    {
        let envelope = Envelope::new(
            format!("ActivationCodeReissued-{}-{generation}", now.id),
            reissued_at.clone(),
            ActivationCodeReissued {
                user_id: now.id.clone(),
                activation_code_hash: now.activation_code_hash.clone(),
                generation,
                expires_at,
                reissued_at,
            },
        );
        events.push(OutgoingEvent::from_envelope(&envelope)?);
    }
    if let Some(requested_at) = now.deletion_requested_at.filter(|_| !was_requested) {
        let envelope = Envelope::new(
            format!("UserDeletionRequested-{}", now.id),
            requested_at.clone(),
            UserDeletionRequested {
                user_id: now.id,
                requested_at,
            },
        );
        events.push(OutgoingEvent::from_envelope(&envelope)?);
    }
    Ok(events)
}

impl Projection for AuthTableProjection {
    fn project(&self, record: &EventRecord) -> Result<Vec<OutgoingEvent>, ProjectionError> {
        if record.event_name == "MODIFY" {
            return identity_changed(record);
        }
        if record.event_name != "INSERT" {
            return Ok(Vec::new());
        }
        let image: serde_json::Value = serde_dynamo::from_item(record.change.new_image.clone())?;
        if image["pk"]
            .as_str()
            .is_some_and(|pk| pk.starts_with("REVOKED#"))
        {
            return revocation(image);
        }
        if image["pk"]
            .as_str()
            .is_some_and(|pk| pk.starts_with("RESET#"))
        {
            return reset_request(image);
        }
        let is_identity = image["pk"]
            .as_str()
            .is_some_and(|pk| pk.starts_with("USER#"))
            && image["sk"] == "IDENTITY";
        if !is_identity {
            return Ok(Vec::new());
        }
        // The Auth API's own record: only what the event says is taken from it, never the
        // table's keys or the registration's bookkeeping.
        let identity: Identity = serde_json::from_value(image)?;
        // One registration per user id: every delivery of this INSERT gets the same id.
        let event_id = format!("UserRegistered-{}", identity.id);
        let envelope = Envelope::new(
            event_id,
            identity.created_at.clone(),
            UserRegistered {
                user_id: identity.id,
                email: identity.email,
                name: identity.name,
                handle: identity.handle,
                role: identity.role,
                status: identity.status,
                source_system: identity.source_system,
                created_at: identity.created_at,
                activation_code_hash: identity.activation_code_hash,
            },
        )
        .with_correlation_id(identity.correlation_id);
        Ok(vec![OutgoingEvent::from_envelope(&envelope)?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(event_name: &str, new_image: serde_json::Value) -> EventRecord {
        serde_json::from_value(json!({
            "eventID": "1",
            "eventName": event_name,
            "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1_795_000_000,
                "Keys": {"pk": new_image["pk"], "sk": new_image["sk"]},
                "NewImage": new_image,
                "SequenceNumber": "100",
                "SizeBytes": 10,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            }
        }))
        .unwrap()
    }

    fn identity() -> serde_json::Value {
        json!({
            "pk": {"S": "USER#u-1"}, "sk": {"S": "IDENTITY"}, "id": {"S": "u-1"},
            "email": {"S": "ada@example.com"}, "name": {"S": "ada"}, "handle": {"S": "@Ada"},
            "role": {"S": "USER"}, "status": {"S": "UNCONFIRMED"},
            "sourceSystem": {"S": "web"}, "createdAt": {"S": "2026-11-24T10:00:00.000Z"},
            "activationCodeHash": {"S": "code-hash"}, "registrationId": {"S": "r-1"},
            "correlationId": {"S": "req-1"}
        })
    }

    #[test]
    fn a_new_identity_is_user_registered_with_the_code_hash_only() {
        let events = AuthTableProjection
            .project(&record("INSERT", identity()))
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].source, "roster.auth");
        assert_eq!(events[0].detail_type, "UserRegistered");
        let detail: serde_json::Value = serde_json::from_str(&events[0].detail).unwrap();
        assert_eq!(detail["eventId"], "UserRegistered-u-1");
        assert_eq!(detail["data"]["userId"], "u-1");
        assert_eq!(detail["data"]["handle"], "@Ada");
        assert_eq!(detail["data"]["activationCodeHash"], "code-hash");
        assert_eq!(detail["correlationId"], "req-1");
        assert!(
            !events[0].detail.contains("r-1"),
            "no registration bookkeeping"
        );
        assert!(!events[0].detail.contains("USER#"), "no storage layout");
    }

    #[test]
    fn bookkeeping_and_later_changes_publish_nothing() {
        let reservation = json!({
            "pk": {"S": "EMAIL#ada@example.com"}, "sk": {"S": "RESERVATION"},
            "registrationId": {"S": "r-1"}, "state": {"S": "PENDING"}
        });
        assert!(
            AuthTableProjection
                .project(&record("INSERT", reservation))
                .unwrap()
                .is_empty()
        );
        assert!(
            AuthTableProjection
                .project(&record("MODIFY", identity()))
                .unwrap()
                .is_empty()
        );
        assert!(
            AuthTableProjection
                .project(&record("REMOVE", identity()))
                .unwrap()
                .is_empty()
        );
    }

    fn modify(old_image: serde_json::Value, new_image: serde_json::Value) -> EventRecord {
        serde_json::from_value(json!({
            "eventID": "2",
            "eventName": "MODIFY",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1_795_000_000,
                "Keys": {"pk": new_image["pk"], "sk": new_image["sk"]},
                "NewImage": new_image,
                "OldImage": old_image,
                "SequenceNumber": "101",
                "SizeBytes": 10,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            }
        }))
        .unwrap()
    }

    #[test]
    fn an_identity_newly_found_gone_is_identity_deleted_once() {
        let mut gone = identity();
        gone["identityGoneAt"] = json!({"S": "2026-11-29T10:00:00.000Z"});
        let events = AuthTableProjection
            .project(&modify(identity(), gone.clone()))
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].detail_type, "IdentityDeleted");
        let detail: serde_json::Value = serde_json::from_str(&events[0].detail).unwrap();
        assert_eq!(detail["eventId"], "IdentityDeleted-u-1");
        assert_eq!(
            detail["data"],
            json!({"userId": "u-1", "detectedAt": "2026-11-29T10:00:00.000Z"})
        );
        assert!(!events[0].detail.contains("ada@example.com"), "no email");
        // A later change of an identity found gone, or of one that is not, publishes nothing.
        let mut later = gone.clone();
        later["appliedStatus"] = json!({"S": "SUSPENDED"});
        assert!(
            AuthTableProjection
                .project(&modify(gone, later))
                .unwrap()
                .is_empty()
        );
        let mut deleting = identity();
        deleting["deletingSince"] = json!({"S": "2026-11-29T10:00:00.000Z"});
        assert!(
            AuthTableProjection
                .project(&modify(identity(), deleting))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_deletion_newly_requested_is_user_deletion_requested_once() {
        let mut requested = identity();
        requested["deletionRequestedAt"] = json!({"S": "2026-11-29T10:00:00.000Z"});
        let events = AuthTableProjection
            .project(&modify(identity(), requested.clone()))
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].detail_type, "UserDeletionRequested");
        let detail: serde_json::Value = serde_json::from_str(&events[0].detail).unwrap();
        assert_eq!(detail["eventId"], "UserDeletionRequested-u-1");
        assert_eq!(
            detail["data"],
            json!({"userId": "u-1", "requestedAt": "2026-11-29T10:00:00.000Z"})
        );
        assert!(!events[0].detail.contains("ada@example.com"), "no email");
        // Marked again later (a retry, the deletion under way): nothing more.
        let mut later = requested.clone();
        later["deletingSince"] = json!({"S": "2026-11-29T10:00:02.000Z"});
        assert!(
            AuthTableProjection
                .project(&modify(requested, later))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_raised_activation_generation_is_activation_code_reissued_with_the_hash_only() {
        let mut reissued = identity();
        reissued["activationGeneration"] = json!({"N": "2"});
        reissued["activationCodeHash"] = json!({"S": "new-hash"});
        reissued["activationExpiresAt"] = json!({"S": "2026-12-06T10:00:00.000Z"});
        reissued["activationReissuedAt"] = json!({"S": "2026-11-29T10:00:00.000Z"});
        let mut before = identity();
        before["activationGeneration"] = json!({"N": "1"});
        let events = AuthTableProjection
            .project(&modify(before, reissued.clone()))
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].detail_type, "ActivationCodeReissued");
        let detail: serde_json::Value = serde_json::from_str(&events[0].detail).unwrap();
        assert_eq!(detail["eventId"], "ActivationCodeReissued-u-1-2");
        assert_eq!(
            detail["data"],
            json!({
                "userId": "u-1", "activationCodeHash": "new-hash", "generation": 2,
                "expiresAt": "2026-12-06T10:00:00.000Z",
                "reissuedAt": "2026-11-29T10:00:00.000Z"
            })
        );
        assert!(!events[0].detail.contains("ada@example.com"), "no email");
        // The same generation again (another change of the identity): nothing.
        let mut mailed = reissued.clone();
        mailed["activationMailedGeneration"] = json!({"N": "2"});
        assert!(
            AuthTableProjection
                .project(&modify(reissued, mailed))
                .unwrap()
                .is_empty()
        );
    }

    fn image_of_revocation() -> serde_json::Value {
        json!({
            "pk": {"S": "REVOKED#2"}, "sk": {"S": "1764064800#u-1"}, "sub": {"S": "u-1"},
            "revokedAt": {"N": "1764064800"}, "reason": {"S": "SIGNED_OUT"},
            "expiresAt": {"N": "1764068700"}, "registered": {"BOOL": true}
        })
    }

    #[test]
    fn a_revocation_record_is_sessions_revoked_without_the_tables_keys() {
        let image = json!({
            "pk": {"S": "REVOKED#2"}, "sk": {"S": "1764064800#u-1"}, "sub": {"S": "u-1"},
            "revokedAt": {"N": "1764064800"}, "reason": {"S": "SIGNED_OUT"},
            "expiresAt": {"N": "1764068700"}, "registered": {"BOOL": true}
        });
        let events = AuthTableProjection
            .project(&record("INSERT", image))
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].detail_type, "SessionsRevoked");
        let detail: serde_json::Value = serde_json::from_str(&events[0].detail).unwrap();
        assert_eq!(
            detail["data"],
            json!({"userId": "u-1", "revokedBefore": 1764064800, "reason": "SIGNED_OUT"})
        );
        assert_eq!(
            detail["eventId"],
            "SessionsRevoked-u-1-1764064800-SIGNED_OUT"
        );
        assert!(!events[0].detail.contains("REVOKED#"), "no storage layout");
        let mut of_operator = image_of_revocation();
        of_operator["registered"] = json!({"BOOL": false});
        assert!(
            AuthTableProjection
                .project(&record("INSERT", of_operator))
                .unwrap()
                .is_empty(),
            "a user Roster did not register has no profile to tell"
        );
    }

    #[test]
    fn a_reset_request_of_a_user_is_password_reset_requested_and_of_an_unknown_address_nothing() {
        let of_user = json!({
            "pk": {"S": "RESET#ab12"}, "sk": {"S": "2026-11-29T10:00:00.000Z"},
            "userId": {"S": "u-1"}, "email": {"S": "ada@example.com"},
            "requestedAt": {"S": "2026-11-29T10:00:00.000Z"}, "expiresAt": {"N": "1"}
        });
        let events = AuthTableProjection
            .project(&record("INSERT", of_user))
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].detail_type, "PasswordResetRequested");
        let detail: serde_json::Value = serde_json::from_str(&events[0].detail).unwrap();
        assert_eq!(detail["data"]["userId"], "u-1");
        assert_eq!(detail["data"]["email"], "ada@example.com");
        let unknown = json!({
            "pk": {"S": "RESET#cd34"}, "sk": {"S": "2026-11-29T10:00:00.000Z"},
            "requestedAt": {"S": "2026-11-29T10:00:00.000Z"}, "expiresAt": {"N": "1"}
        });
        assert!(
            AuthTableProjection
                .project(&record("INSERT", unknown))
                .unwrap()
                .is_empty()
        );
    }
}
