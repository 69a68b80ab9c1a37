//! The command line, parsed by clap: subcommands, their options, and the value parsers that
//! turn option text into typed values.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use imds_attest::{Cloud, DEFAULT_MAX_INPUT_BYTES};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

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
    /// Issue a challenge: a fresh nonce, recorded in a store, for a VM to ask IMDS for and for
    /// `verify --store` to redeem once.
    #[command(after_help = "Exit status: 0 issued, 1 the store could not answer, 2 usage error.")]
    Challenge(ChallengeArgs),
    /// The trusted certificates: list them, check their expiry, add an intermediate.
    #[command(
        after_help = "Exit status: 0 done (check: nothing expires soon), 1 check found certificates expiring, 2 usage error or refused."
    )]
    Trust(crate::trust::TrustCommandArgs),
    /// Run the licence-check HTTP service (challenges, verification, exactly-once redemption).
    #[command(
        after_help = "Exit status: 0 stopped by SIGTERM or SIGINT, 1 failed while serving, 2 bad config."
    )]
    Serve(crate::serve::ServeArgs),
    /// On a VM: get a challenge from an `imds-attest serve` service, fetch a document from IMDS
    /// with it, and have the service verify it.
    #[command(after_help = "Exit status: 0 verified, 1 rejected or failed, 2 usage error.")]
    Attest(crate::attest::AttestArgs),
    /// Print a shell completion script to standard output.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to standard output.
    Man,
}

impl Command {
    /// Whether the subcommand was asked for JSON output.
    pub fn json(&self) -> bool {
        match self {
            Command::Verify(args) => args.json,
            Command::Inspect(args) => args.json,
            Command::Challenge(args) => args.json,
            Command::Trust(t) => {
                matches!(t.action, crate::trust::TrustAction::List { json: true, .. })
            }
            Command::Attest(args) => args.json,
            Command::Serve(_) => false,
            Command::Fetch(_) | Command::Completions(_) | Command::Man => false,
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

/// Where trust comes from: the built-in certificates, or files.
#[derive(Args)]
pub struct TrustArgs {
    /// Trusted root PEM file; repeatable. Replaces the built-in roots.
    #[arg(long = "root", value_name = "PEM")]
    pub roots: Vec<PathBuf>,
    /// Extra intermediate PEM file; repeatable. Added to the pinned intermediates.
    #[arg(long = "intermediate", value_name = "PEM")]
    pub intermediates: Vec<PathBuf>,
    /// Trust directory: roots/<cloud>/*.pem and intermediates/*.pem add to the built-in
    /// certificates. Default: $XDG_CONFIG_HOME/imds-attest/trust when it exists.
    #[arg(long, value_name = "DIR", env = "IMDS_ATTEST_TRUST_DIR")]
    pub trust_dir: Option<PathBuf>,
}

/// `imds-attest verify`.
///
/// The nonce check is one of `--nonce`, `--any-nonce` and `--store`; the group admits several
/// so that `--store --single-use --any-nonce` parses, and clap's conflicts refuse the other
/// pairs except `--store --any-nonce` without `--single-use`, which
/// [`VerifyArgs::nonce_mode`] refuses.
#[derive(Args)]
#[command(group = clap::ArgGroup::new("nonce-check").required(true).multiple(true).args(["nonce", "any_nonce", "store"]))]
pub struct VerifyArgs {
    /// The document: a path, or '-' for standard input.
    #[arg(default_value = "-")]
    pub file: String,
    /// The nonce the document must carry, compared byte for byte.
    #[arg(long, value_parser = parse_expected_nonce, conflicts_with_all = ["any_nonce", "store"])]
    pub nonce: Option<String>,
    /// Do not check the nonce. The document could be a replay of one seen elsewhere.
    #[arg(long)]
    pub any_nonce: bool,
    /// Redeem the document's nonce in this challenge store (memory:, sqlite:PATH, redis://...),
    /// where `imds-attest challenge` issued it: each challenge is accepted once.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// With --store and --any-nonce: do not check the nonce, but remember the document in the
    /// store and accept it only once.
    #[arg(long, requires_all = ["store", "any_nonce"])]
    pub single_use: bool,
    /// Verify as of this instant instead of now: RFC 3339 (2025-11-19T12:53:30Z) or Unix
    /// seconds (1763556810).
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    pub at: Option<OffsetDateTime>,
    /// Clock skew tolerated on createdOn and expiresOn, in seconds. Default: the rules file's,
    /// else 300.
    #[arg(long, value_name = "SECONDS")]
    pub skew: Option<u32>,
    /// Reject documents created longer ago than this, in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub max_age: Option<u32>,
    /// Allowed cloud (public, usgov, china, germany); repeatable. Default: all.
    #[arg(long = "cloud", value_name = "CLOUD")]
    pub clouds: Vec<Cloud>,
    /// Claim rules (TOML): [verify] defaults, [[deny]] and [[allow]] rules. The options above
    /// override its [verify] section.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Trust settings.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Fetching missing intermediates.
    #[command(flatten)]
    pub fetching: crate::trust::FetchingArgs,
    /// Refuse documents larger than this many bytes; no more than this is read.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_INPUT_BYTES)]
    pub max_input: usize,
    /// Machine-readable output: one JSON object on standard output, whatever the outcome.
    #[arg(long)]
    pub json: bool,
}

/// How `verify` checks the nonce, as the options chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceMode<'a> {
    /// `--nonce`: this one, byte for byte.
    Exact(&'a str),
    /// `--any-nonce`: not at all.
    Any,
    /// `--store`: redeemed in the store at this URL.
    Redeem(&'a str),
    /// `--store --single-use --any-nonce`: not checked, the document remembered in the store.
    SingleUse(&'a str),
}

impl VerifyArgs {
    /// The nonce check the options name; `--store` with `--any-nonce` but without
    /// `--single-use` is ambiguous (redeem, or not check?) and refused.
    pub fn nonce_mode(&self) -> Result<NonceMode<'_>, String> {
        match (&self.nonce, &self.store, self.any_nonce, self.single_use) {
            (Some(nonce), _, _, _) => Ok(NonceMode::Exact(nonce)),
            (None, Some(store), true, true) => Ok(NonceMode::SingleUse(store)),
            (None, Some(_), true, false) => Err("--store with --any-nonce needs --single-use \
                 (accept each document once); without --any-nonce, --store redeems the \
                 document's nonce"
                .into()),
            (None, Some(store), false, _) => Ok(NonceMode::Redeem(store)),
            (None, None, _, _) => Ok(NonceMode::Any),
        }
    }
}

/// `imds-attest challenge`.
#[derive(Args)]
pub struct ChallengeArgs {
    /// The challenge store to record the nonce in: memory:, sqlite:PATH, redis://...
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

/// `imds-attest fetch`.
#[derive(Args)]
pub struct FetchArgs {
    /// The nonce to ask for (1-32 letters and digits). Default: 32 random ones, printed on
    /// standard error.
    #[arg(long)]
    pub nonce: Option<String>,
    /// The IMDS base URL.
    #[arg(
        long,
        value_name = "URL",
        env = "IMDS_ENDPOINT",
        hide_env_values = true,
        default_value = imds_attest::imds::DEFAULT_ENDPOINT
    )]
    pub endpoint: String,
    /// The api-version to ask for.
    #[arg(long, value_name = "VERSION", default_value = imds_attest::imds::DEFAULT_API_VERSION)]
    pub api_version: String,
    /// Give up after this many seconds, retries included.
    #[arg(long, value_name = "SECONDS", default_value_t = 70)]
    pub timeout: u64,
    /// Write the document to this file, exactly as returned, instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also verify the document against the trust and the nonce asked for, now.
    #[arg(long)]
    pub verify: bool,
    /// Trust settings, for --verify.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Fetching a missing intermediate, for --verify.
    #[command(flatten)]
    pub fetching: crate::trust::FetchingArgs,
}

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

/// `imds-attest completions`.
#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells completion scripts are made for.
#[derive(Clone, Copy, ValueEnum)]
pub enum Shell {
    /// GNU Bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
    /// PowerShell.
    Powershell,
}

impl From<Shell> for clap_complete::Shell {
    fn from(shell: Shell) -> Self {
        match shell {
            Shell::Bash => clap_complete::Shell::Bash,
            Shell::Zsh => clap_complete::Shell::Zsh,
            Shell::Fish => clap_complete::Shell::Fish,
            Shell::Powershell => clap_complete::Shell::PowerShell,
        }
    }
}

/// An empty expected nonce matches no document IMDS can produce (it requires 1 to 32
/// characters): refuse it as a mistake rather than report a mismatch.
fn parse_expected_nonce(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err(
            "the nonce is empty; give the nonce the document must carry, \
                    or --any-nonce to skip the check"
                .into(),
        );
    }
    Ok(s.to_owned())
}

/// RFC 3339, or whole seconds since 1970 as `openssl -attime` takes them.
pub(crate) fn parse_instant(s: &str) -> Result<OffsetDateTime, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .ok()
            .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
            .ok_or_else(|| {
                format!(
                    "Unix time {s} is out of range; the latest is 253402300799 \
                     (9999-12-31T23:59:59Z)"
                )
            });
    }
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| {
        format!(
            "{e}; expected RFC 3339 such as 2025-11-19T12:53:30Z, or Unix seconds such as \
             1763556810"
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn instant_takes_rfc3339_and_unix_seconds_alike() {
        let rfc = parse_instant("2025-11-19T12:53:30Z").unwrap();
        assert_eq!(parse_instant("1763556810").unwrap(), rfc);
        assert_eq!(parse_instant("0").unwrap(), OffsetDateTime::UNIX_EPOCH);
    }

    #[test]
    fn instant_out_of_range_is_refused_not_wrapped() {
        for s in ["253402300800", "99999999999999999999999"] {
            let e = parse_instant(s).unwrap_err();
            assert!(
                e.starts_with(&format!("Unix time {s} is out of range")),
                "{e}"
            );
        }
        assert!(parse_instant("").is_err());
    }

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
