//! `imds-attest challenge`: issue a nonce into a store for `verify --store` to redeem once.

use clap::Args;

use crate::error::CliError;
use crate::output;

/// `imds-attest challenge`.
#[derive(Args)]
pub struct ChallengeArgs {
    /// The challenge store whose key signs the nonce: memory:, sqlite:PATH, redis://...
    #[arg(long, value_name = "URL")]
    pub store: String,
    /// How long the challenge may be redeemed for, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..))]
    pub ttl: u32,
    /// Machine-readable output: {"expiresAt":"...","nonce":"..."} on standard output, or the
    /// error object.
    #[arg(long)]
    pub json: bool,
}

/// A fresh nonce, valid from now for the TTL, printed.
pub fn run(args: &ChallengeArgs) -> Result<(), CliError> {
    let challenges = crate::store::open(&args.store)?;
    let challenge = challenges
        .issue(
            std::time::Duration::from_secs(args.ttl.into()),
            imds_attest_setup::now(),
        )
        .map_err(CliError::StoreFailed)?;
    output::challenge(&challenge, args.json).map_err(CliError::Output)
}
