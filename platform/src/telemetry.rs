//! Structured logs: JSON under Lambda (CloudWatch), readable text on a laptop.

use tracing_subscriber::EnvFilter;
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
        .unwrap_or_else(|_| "info".to_owned());
    let filter = EnvFilter::try_new(format!(
        "{directives},aws_smithy_runtime=warn,aws_config=warn,hyper=warn"
    ))
    .unwrap_or_else(|_| EnvFilter::new("info"));
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

#[cfg(test)]
mod tests {
    use super::LogFormat;

    #[test]
    fn json_on_lambda_and_text_on_a_laptop_unless_asked_otherwise() {
        assert_eq!(LogFormat::choose(None, true), LogFormat::Json);
        assert_eq!(LogFormat::choose(None, false), LogFormat::Text);
        assert_eq!(LogFormat::choose(Some("JSON"), false), LogFormat::Json);
        assert_eq!(LogFormat::choose(Some("Text"), true), LogFormat::Text);
        assert_eq!(LogFormat::choose(Some("yaml"), true), LogFormat::Json);
    }
}
