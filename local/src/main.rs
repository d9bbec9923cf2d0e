//! `roster-local` (`cargo stack`): the whole of Roster on this machine. See
//! [`roster_local::cli`].

use std::process::ExitCode;

use clap::Parser;
use roster_platform::telemetry::{self, LogFormat};

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init(LogFormat::from_env());
    roster_local::cli::main(roster_local::cli::Args::parse()).await
}
