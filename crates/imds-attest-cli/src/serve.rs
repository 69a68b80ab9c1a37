//! `imds-attest serve`: the licence-check HTTP service (crate `imds-attest-service`), from
//! a config file.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use imds_attest_service::{Config, LogFormat};

use crate::error::CliError;

/// `imds-attest serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// The service's config file (TOML); see docs/src/service.md ("Config").
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// How log lines (one a request, on standard error) are written.
    #[arg(long, value_enum, default_value_t = LogArg::Text)]
    pub log_format: LogArg,
}

/// `--log-format`.
#[derive(Clone, Copy, ValueEnum)]
pub enum LogArg {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

/// Loads the config (a bad one: exit 2, with its kind) and serves until SIGTERM or SIGINT.
pub fn run(args: &ServeArgs) -> Result<(), CliError> {
    imds_attest_service::init_logging(match args.log_format {
        LogArg::Text => LogFormat::Text,
        LogArg::Json => LogFormat::Json,
    });
    let config = Config::load(&args.config).map_err(CliError::Service)?;
    imds_attest_service::serve(config).map_err(CliError::Service)
}
