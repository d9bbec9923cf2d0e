//! Reading typed configuration from the environment, failing fast at start-up with a message
//! that names the variable.

use std::str::FromStr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} has an invalid value: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// A required, non-empty variable.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// An optional variable parsed into `T`, or `default` when unset or empty.
pub fn parsed_or<T>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => {
            value
                .trim()
                .parse()
                .map_err(|error: T::Err| ConfigError::Invalid {
                    name,
                    reason: error.to_string(),
                })
        }
        _ => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_variable_is_named_in_the_error() {
        let error = required("ROSTER_TEST_SURELY_UNSET_VARIABLE").unwrap_err();
        assert_eq!(
            error.to_string(),
            "environment variable ROSTER_TEST_SURELY_UNSET_VARIABLE is required but not set"
        );
    }

    #[test]
    fn unset_optional_variable_gives_the_default() {
        assert_eq!(
            parsed_or("ROSTER_TEST_SURELY_UNSET_PORT", 3001u16),
            Ok(3001)
        );
    }
}
