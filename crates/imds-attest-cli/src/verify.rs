//! `imds-attest verify`: check a document against trust, a nonce check and a policy.

use std::path::PathBuf;

use clap::Args;
use imds_attest::DEFAULT_MAX_INPUT_BYTES;
use imds_attest::{AttestedDocument, Cloud, NonceCheck, VerifiedDocument, Verifier};
use imds_attest_setup::PolicySettings;
use imds_attest_store::Challenges;
use time::{Duration, OffsetDateTime};

use crate::error::CliError;
use crate::options::{parse_instant, FetchingArgs, TrustArgs};
use crate::output::{self, Redemption};

/// The warning `--any-nonce` earns: nothing ties the document to this request.
pub const ANY_NONCE_WARNING: &str =
    "imds-attest: warning: --any-nonce: the nonce is not checked; this document could be a replay";

/// The warning `--single-use` earns: the document is tied to nothing, but accepted once.
pub const SINGLE_USE_WARNING: &str =
    "imds-attest: warning: --single-use: the nonce is not checked; the document is accepted once";

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
    pub fetching: FetchingArgs,
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

/// Verifies, then prints the verdict.
pub fn run(args: &VerifyArgs) -> Result<(), CliError> {
    let (verified, redemption) = verify(args)?;
    let trust = args.trust.sources().sources();
    output::verified(&verified, redemption.as_ref(), &trust, args.json).map_err(CliError::Output)
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

    /// The policy: the rules file's `[verify]` section, then these options (shared setup).
    fn policy(&self) -> Result<imds_attest::Policy, CliError> {
        let rules = match &self.policy {
            Some(path) => Some(imds_attest_setup::load_rules(path).map_err(CliError::Setup)?),
            None => None,
        };
        let seconds = |s: u32| Duration::seconds(s.into());
        Ok(PolicySettings {
            rules,
            clouds: self.clouds.clone(),
            skew: self.skew.map(seconds),
            max_age: self.max_age.map(seconds),
        }
        .build())
    }
}

fn verify(args: &VerifyArgs) -> Result<(VerifiedDocument, Option<Redemption>), CliError> {
    let mode = args.nonce_mode().map_err(CliError::Usage)?;
    let trust = args.trust.build()?;
    let policy = args.policy()?;
    // Assigned (once) only where a store is used, and borrowed by the nonce check.
    let challenges: Challenges;
    let (nonce, redemption) = match mode {
        NonceMode::Exact(n) => (NonceCheck::Exact(n), None),
        NonceMode::Any => {
            eprintln!("{ANY_NONCE_WARNING}");
            (NonceCheck::DangerousAnyNonce, None)
        }
        NonceMode::Redeem(url) => {
            challenges = crate::store::open(url)?;
            let store = challenges.store().describe();
            (
                NonceCheck::Redeem(&challenges),
                Some(Redemption::Redeemed { store }),
            )
        }
        NonceMode::SingleUse(url) => {
            challenges = crate::store::open(url)?;
            eprintln!("{SINGLE_USE_WARNING}");
            let store = challenges.store().describe();
            (
                NonceCheck::SingleUse(&challenges),
                Some(Redemption::Remembered { store }),
            )
        }
    };
    let bytes = crate::input::read_document(&args.file, args.max_input)?;
    let at = args.at.unwrap_or_else(imds_attest_setup::now);
    let fetching = args.fetching.fetch_intermediates;
    let reject = |e| {
        CliError::rejected(e, args.trust.roots_given())
            .fetching(fetching)
            .at_could_help(args.at.is_none())
    };
    let doc = AttestedDocument::parse_with_max_size(&bytes, args.max_input).map_err(reject)?;
    let mut verifier = Verifier::new(trust, policy);
    if let Some(fetcher) = args.fetching.fetcher(&args.trust)? {
        verifier = verifier.with_fetcher(fetcher);
    }
    let verified = verifier
        .verify(&doc, nonce, at)
        .map_err(|e| reject(e).signed_by(doc.signer_subject()))?;
    if let Some(warning) = crate::trust::expiry_warning(&verified, at) {
        eprintln!("{warning}");
    }
    Ok((verified, redemption))
}

/// An empty expected nonce matches no document IMDS can produce: refuse it as a mistake
/// rather than report a mismatch.
fn parse_expected_nonce(s: &str) -> Result<String, String> {
    imds_attest::expected_nonce(s)
        .map(str::to_owned)
        .map_err(|_| {
            "the nonce is empty; give the nonce the document must carry, or --any-nonce to skip \
             the check"
                .into()
        })
}
