//! `imds-attest inspect`: show a document without trusting it.

use clap::Args;
use imds_attest::{AttestedDocument, DEFAULT_MAX_INPUT_BYTES};

use crate::error::CliError;
use crate::options::TrustArgs;
use crate::output;

/// `imds-attest inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// The document: a path, or '-' for standard input.
    #[arg(default_value = "-")]
    pub file: String,
    /// Machine-readable output: one JSON object on standard output, whatever the outcome.
    #[arg(long)]
    pub json: bool,
    /// Trust settings, to show which certificates could complete the chain.
    #[command(flatten)]
    pub trust: TrustArgs,
}

/// Parses the document and prints what it holds.
pub fn run(args: &InspectArgs) -> Result<(), CliError> {
    let trust = args.trust.build()?;
    let bytes = crate::input::read_document(&args.file, DEFAULT_MAX_INPUT_BYTES)?;
    let doc = AttestedDocument::parse(&bytes).map_err(CliError::NotADocument)?;
    let inspection = imds_attest::inspect(&doc, &trust).map_err(CliError::NotADocument)?;
    output::inspection(&inspection, args.json).map_err(CliError::Output)
}
