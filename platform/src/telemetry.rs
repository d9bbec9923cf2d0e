//! Structured logs: JSON under Lambda (CloudWatch), readable text on a laptop.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt;
use tracing_subscriber::prelude::*;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

impl LogFormat {
    /// JSON when running on Lambda (or when `AWS_LAMBDA_LOG_FORMAT` / `ROSTER_LOG_FORMAT`
    /// says `json`), text otherwise.
    pub fn from_env() -> Self {
        let asked = std::env::var("ROSTER_LOG_FORMAT")
            .or_else(|_| std::env::var("AWS_LAMBDA_LOG_FORMAT"))
            .ok();
        let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
        Self::choose(asked.as_deref(), on_lambda)
    }

    fn choose(asked: Option<&str>, on_lambda: bool) -> Self {
        match asked.map(str::to_ascii_lowercase).as_deref() {
            Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            _ if on_lambda => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

/// Installs the global subscriber once. The level comes from `RUST_LOG` (or
/// `AWS_LAMBDA_LOG_LEVEL`), `info` by default; noisy AWS SDK internals stay at `warn`.
/// Calling it again is harmless (tests share one process).
pub fn init(format: LogFormat) {
    let directives = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL").map(|level| level.to_lowercase()))
        .ok();
    let filter = filter(directives.as_deref());
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_target(true),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(fmt::layer().with_target(false).compact())
            .try_init(),
    };
}

/// What is logged: `info` and above, the AWS SDK's internals from `warn`, then `directives`
/// (`RUST_LOG`'s `level` and `target=level` forms; no span or field filters, which would need
/// a regular-expression engine in every Lambda binary). Directives that do not parse leave
/// the default.
fn filter(directives: Option<&str>) -> Targets {
    const DEFAULT: &str = "info,aws_smithy_runtime=warn,aws_config=warn,hyper=warn";
    directives
        .and_then(|directives| format!("{DEFAULT},{directives}").parse().ok())
        .unwrap_or_else(|| DEFAULT.parse().expect("the default directives parse"))
}

#[cfg(test)]
mod tests {
    use super::{LogFormat, filter};
    use tracing::Level;

    #[test]
    fn info_by_default_the_sdk_from_warn_and_rust_log_on_top() {
        let default = filter(None);
        assert!(default.would_enable("roster_auth_api", &Level::INFO));
        assert!(!default.would_enable("roster_auth_api", &Level::DEBUG));
        assert!(!default.would_enable("aws_smithy_runtime::client", &Level::INFO));
        assert!(default.would_enable("aws_smithy_runtime::client", &Level::WARN));

        let debug = filter(Some("debug"));
        assert!(debug.would_enable("roster_auth_api", &Level::DEBUG));
        assert!(!debug.would_enable("aws_smithy_runtime", &Level::INFO));

        let targeted = filter(Some("roster_platform=trace"));
        assert!(targeted.would_enable("roster_platform::jwt", &Level::TRACE));
        assert!(!targeted.would_enable("roster_auth_api", &Level::DEBUG));

        let sdk = filter(Some("aws_smithy_runtime=debug"));
        assert!(sdk.would_enable("aws_smithy_runtime::client", &Level::DEBUG));

        let unreadable = filter(Some("[span{field=1}]=debug"));
        assert!(unreadable.would_enable("roster_auth_api", &Level::INFO));
        assert!(!unreadable.would_enable("roster_auth_api", &Level::DEBUG));
    }

    #[test]
    fn json_on_lambda_and_text_on_a_laptop_unless_asked_otherwise() {
        assert_eq!(LogFormat::choose(None, true), LogFormat::Json);
        assert_eq!(LogFormat::choose(None, false), LogFormat::Text);
        assert_eq!(LogFormat::choose(Some("JSON"), false), LogFormat::Json);
        assert_eq!(LogFormat::choose(Some("Text"), true), LogFormat::Text);
        assert_eq!(LogFormat::choose(Some("yaml"), true), LogFormat::Json);
    }
}
