//! The command line as clap parses it: the subcommands, each with the arguments its own
//! module defines, and the dispatch to them.

use std::ffi::OsString;

use clap::{CommandFactory, Parser, Subcommand};

use crate::attest::AttestArgs;
use crate::challenge::ChallengeArgs;
use crate::completions::{CompletionsArgs, ManArgs};
use crate::error::CliError;
use crate::fetch::FetchArgs;
use crate::inspect::InspectArgs;
use crate::serve::ServeArgs;
use crate::trust::{TrustAction, TrustCommandArgs};
use crate::verify::VerifyArgs;

/// The whole command line.
#[derive(Parser)]
#[command(
    name = "imds-attest",
    version,
    about = "Verify Azure IMDS attested documents",
    after_help = "Exit status: 0 success, 1 rejected, fetch failed or store unavailable, 2 usage error or unreadable file."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Verify an attested document (IMDS JSON response, base64, PEM or DER).
    #[command(
        after_help = "Exit status: 0 verified, 1 rejected, 2 usage error or unreadable file."
    )]
    Verify(VerifyArgs),
    /// Fetch an attested document from IMDS (on an Azure VM, or from an emulator) and print
    /// it as returned.
    #[command(
        after_help = "Exit status: 0 fetched (and verified with --verify), 1 fetch failed or rejected, 2 usage error."
    )]
    Fetch(FetchArgs),
    /// Show everything in a document without trusting it: content, certificates, and which
    /// trusted certificates could complete its chain.
    #[command(
        after_help = "Exit status: 0 shown, 1 not an attested document, 2 usage error or unreadable file."
    )]
    Inspect(InspectArgs),
    /// Issue a challenge: a fresh nonce, signed with a store's key, for a VM to ask IMDS for and
    /// for `verify --store` to redeem once.
    #[command(after_help = "Exit status: 0 issued, 1 the store could not answer, 2 usage error.")]
    Challenge(ChallengeArgs),
    /// The trusted certificates: list them, check their expiry, add an intermediate.
    #[command(
        after_help = "Exit status: 0 done (check: nothing expires soon), 1 check found certificates expiring, 2 usage error or refused."
    )]
    Trust(TrustCommandArgs),
    /// Run the licence-check HTTP service (challenges, verification, exactly-once redemption).
    #[command(
        after_help = "Exit status: 0 stopped by SIGTERM or SIGINT, 1 failed while serving, 2 bad config."
    )]
    Serve(ServeArgs),
    /// On a VM: get a challenge from an `imds-attest serve` service, fetch a document from IMDS
    /// with it, and have the service verify it.
    #[command(after_help = "Exit status: 0 verified, 1 rejected or failed, 2 usage error.")]
    Attest(AttestArgs),
    /// Print a shell completion script to standard output.
    #[command(
        after_help = "Exit status: 0 printed, 2 usage error or the output could not be written."
    )]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to standard output, or write every page with --out-dir.
    #[command(
        after_help = "Exit status: 0 printed or written, 2 usage error or a page could not be written."
    )]
    Man(ManArgs),
}

impl Command {
    /// Runs the subcommand, printing its result on success.
    pub fn run(&self) -> Result<(), CliError> {
        match self {
            Command::Verify(args) => crate::verify::run(args),
            Command::Challenge(args) => crate::challenge::run(args),
            Command::Fetch(args) => crate::fetch::run(args),
            Command::Inspect(args) => crate::inspect::run(args),
            Command::Trust(args) => crate::trust::run(args),
            Command::Serve(args) => crate::serve::run(args),
            Command::Attest(args) => crate::attest::run(args),
            Command::Completions(args) => crate::completions::run(args, Cli::command()),
            Command::Man(args) => crate::completions::man(args, Cli::command()),
        }
    }

    /// Whether the subcommand was asked for JSON output.
    pub fn json(&self) -> bool {
        match self {
            Command::Verify(args) => args.json,
            Command::Inspect(args) => args.json,
            Command::Challenge(args) => args.json,
            Command::Trust(t) => matches!(t.action, TrustAction::List { json: true, .. }),
            Command::Attest(args) => args.json,
            Command::Serve(_) => false,
            Command::Fetch(_) | Command::Completions(_) | Command::Man(_) => false,
        }
    }
}

/// Whether `--json` is among the raw arguments: the only way to know it when clap itself
/// refuses the command line.
pub fn json_requested(raw: &[OsString]) -> bool {
    raw.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_in_raw_arguments_before_a_double_dash() {
        let raw = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(json_requested(&raw(&[
            "imds-attest",
            "verify",
            "--json",
            "--bogus"
        ])));
        assert!(!json_requested(&raw(&[
            "imds-attest",
            "verify",
            "--",
            "--json"
        ])));
        assert!(
            !json_requested(&raw(&["--json"])),
            "argument 0 is the program"
        );
    }
}
