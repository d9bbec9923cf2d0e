//! Business counts and event lag as CloudWatch metrics, in the Embedded Metric Format (EMF):
//! one JSON line on stdout per data point, which CloudWatch Logs turns into a metric as the
//! function's log arrives (no API call, no IAM permission, no latency on the request).
//!
//! A line is written only where `ROSTER_METRICS_NAMESPACE` is set (the template sets
//! `Roster/<stage>` on every function; the local stack and the tests leave it unset). The
//! metric names and dimension values are this module's constants and the callers' static
//! names: nothing a request carries (no id, email, token or key) can reach a line. A line has
//! no `level` field, so Lambda's log-level filter counts it as INFO and keeps it.
//!
//! The dashboard (`infra/template.yaml`, `Dashboard`) graphs these names (checked by the
//! infrastructure crate's template tests).

use std::io::Write;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde_json::json;

/// The environment variable naming the CloudWatch namespace; unset, nothing is written.
pub const NAMESPACE_VARIABLE: &str = "ROSTER_METRICS_NAMESPACE";

/// A business event, counted where it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// A registration committed (not a replay of one).
    Registrations,
    /// A successful sign-in with a password.
    SignIns,
    /// An account activated with its code.
    Activations,
    /// A password reset confirmed with its code.
    PasswordResets,
    /// A registration rolled back (by its own request or the reconciler).
    RegistrationRollbacks,
    /// An activation mail SES accepted (a registration's or a resend's).
    ActivationMails,
}

impl Count {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Registrations => "Registrations",
            Self::SignIns => "SignIns",
            Self::Activations => "Activations",
            Self::PasswordResets => "PasswordResets",
            Self::RegistrationRollbacks => "RegistrationRollbacks",
            Self::ActivationMails => "ActivationMails",
        }
    }
}

/// How far behind an event consumer is: from the event (or stream record) being made to it
/// being handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lag {
    /// An EventBridge subscriber: from the event's `time` to its handling.
    Subscriber,
    /// A stream projector: from the record's creation to its events being published.
    Projector,
}

impl Lag {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Subscriber => "SubscriberLag",
            Self::Projector => "ProjectorLag",
        }
    }
}

/// The dimension naming the consumer of a [`Lag`].
pub const CONSUMER_DIMENSION: &str = "Consumer";

/// The EMF line (without its newline) for one data point of `metric` in `namespace`.
pub fn line(
    namespace: &str,
    at: DateTime<Utc>,
    metric: &str,
    unit: &str,
    value: f64,
    dimensions: &[(&'static str, &'static str)],
) -> String {
    let keys: Vec<&str> = dimensions.iter().map(|(key, _)| *key).collect();
    let mut document = json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [keys],
                "Metrics": [{ "Name": metric, "Unit": unit }],
            }],
        },
        metric: value,
    });
    for (key, dimension) in dimensions {
        document[*key] = json!(dimension);
    }
    document.to_string()
}

fn namespace() -> Option<&'static str> {
    static NAMESPACE: OnceLock<Option<String>> = OnceLock::new();
    NAMESPACE
        .get_or_init(|| {
            std::env::var(NAMESPACE_VARIABLE)
                .ok()
                .filter(|namespace| !namespace.trim().is_empty())
        })
        .as_deref()
}

fn emit(metric: &str, unit: &str, value: f64, dimensions: &[(&'static str, &'static str)]) {
    let Some(namespace) = namespace() else {
        return;
    };
    let mut text = line(namespace, Utc::now(), metric, unit, value, dimensions);
    text.push('\n');
    // One write of the whole line, under the lock: it never interleaves with a log line.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Counts `n` of `what` (no dimensions).
pub fn count(what: Count, n: u64) {
    if n > 0 {
        emit(what.name(), "Count", n as f64, &[]);
    }
}

/// Records how far behind `consumer` (a function's name, e.g. `auth-subscriber`) is, from
/// `since` (when the event or record was made) to now; a clock behind `since` counts 0.
pub fn lag(what: Lag, consumer: &'static str, since: DateTime<Utc>) {
    // A record without its creation time reads as the epoch: no lag to tell.
    if since.timestamp() <= 0 {
        return;
    }
    let millis = (Utc::now() - since).num_milliseconds().max(0);
    emit(
        what.name(),
        "Milliseconds",
        millis as f64,
        &[(CONSUMER_DIMENSION, consumer)],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-02T03:04:05.678Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_count_is_an_emf_document_with_its_value_at_the_root() {
        let text = line(
            "Roster/dev",
            at(),
            Count::Registrations.name(),
            "Count",
            1.0,
            &[],
        );
        assert!(!text.contains('\n'), "one line: {text}");
        let document: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            document,
            json!({
                "_aws": {
                    "Timestamp": 1_767_323_045_678_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Roster/dev",
                        "Dimensions": [[]],
                        "Metrics": [{ "Name": "Registrations", "Unit": "Count" }],
                    }],
                },
                "Registrations": 1.0,
            })
        );
    }

    #[test]
    fn a_lag_names_its_consumer_as_a_dimension_member_of_the_root() {
        let text = line(
            "Roster/prod",
            at(),
            Lag::Subscriber.name(),
            "Milliseconds",
            1500.0,
            &[(CONSUMER_DIMENSION, "auth-subscriber")],
        );
        let document: Value = serde_json::from_str(&text).unwrap();
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Dimensions"], json!([["Consumer"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{ "Name": "SubscriberLag", "Unit": "Milliseconds" }])
        );
        // Every dimension key and metric name is a member of the root (the EMF target members).
        assert_eq!(document["Consumer"], "auth-subscriber");
        assert_eq!(document["SubscriberLag"], 1500.0);
        assert_eq!(document.as_object().unwrap().len(), 3);
    }
}
