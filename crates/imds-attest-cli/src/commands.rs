//! What each subcommand does, between parsed arguments and printed output.

use std::io::{self, IsTerminal, Read, Write};

use clap::CommandFactory;
use imds_attest::{
    AttestedDocument, Inspection, NonceCheck, Policy, Rules, TrustStore, VerifiedDocument,
    Verifier, DEFAULT_MAX_INPUT_BYTES,
};
use imds_attest_store::Challenges;
use time::{Duration, OffsetDateTime};

use crate::args::{
    ChallengeArgs, Cli, Command, CompletionsArgs, FetchArgs, InspectArgs, NonceMode, TrustArgs,
    VerifyArgs,
};
use crate::error::CliError;
use crate::output::{self, Redemption};

/// Runs a parsed command line, printing its result on success.
pub fn run(command: &Command) -> Result<(), CliError> {
    match command {
        Command::Verify(args) => {
            let (verified, redemption) = verify(args)?;
            output::verified(&verified, redemption.as_ref(), args.json).map_err(CliError::Output)
        }
        Command::Challenge(args) => {
            let challenge = challenge(args)?;
            output::challenge(&challenge, args.json).map_err(CliError::Output)
        }
        Command::Fetch(args) => fetch(args),
        Command::Inspect(args) => {
            let inspection = inspect(args)?;
            output::inspection(&inspection, args.json).map_err(CliError::Output)
        }
        Command::Trust(args) => crate::trust::run(args),
        Command::Serve(args) => crate::serve::run(args),
        Command::Attest(args) => crate::attest::run(args),
        Command::Completions(args) => completions(args),
        Command::Man => output::man(Cli::command()).map_err(CliError::Output),
    }
}

/// The warning `--any-nonce` earns: nothing ties the document to this request.
pub const ANY_NONCE_WARNING: &str =
    "imds-attest: warning: --any-nonce: the nonce is not checked; this document could be a replay";

/// The warning `--single-use` earns: the document is tied to nothing, but accepted once.
pub const SINGLE_USE_WARNING: &str =
    "imds-attest: warning: --single-use: the nonce is not checked; the document is accepted once";

/// The warning a `memory:` store earns from the CLI: it ends with the process.
pub const MEMORY_STORE_WARNING: &str = "imds-attest: warning: the memory: store ends with this \
     command, so no other run shares it; use sqlite:PATH or redis://";

/// The hint for someone who ran the command without a file and is now staring at a terminal.
pub const STDIN_HINT: &str =
    "imds-attest: reading the document from standard input (Ctrl-D to end; pass a FILE to read a file)";

fn verify(args: &VerifyArgs) -> Result<(VerifiedDocument, Option<Redemption>), CliError> {
    let mode = args.nonce_mode().map_err(CliError::Usage)?;
    let trust = trust_store(&args.trust)?;
    let rules = args.policy.as_deref().map(load_rules).transpose()?;
    // The rules file's [verify] section first, then the options on top of it.
    let mut policy = match &rules {
        Some(rules) => rules.apply_verify_section(Policy::default()),
        None => Policy::default(),
    };
    if let Some(skew) = args.skew {
        policy = policy.with_skew(Duration::seconds(skew.into()));
    }
    if !args.clouds.is_empty() {
        policy = policy.with_clouds(&args.clouds);
    }
    if let Some(max_age) = args.max_age {
        policy = policy.with_max_age(Duration::seconds(max_age.into()));
    }
    if let Some(rules) = rules {
        policy = policy.with_rules(rules);
    }
    // Assigned (once) only where a store is used, and borrowed by the nonce check.
    let challenges: Challenges;
    let (nonce, redemption) = match mode {
        NonceMode::Exact(n) => (NonceCheck::Exact(n), None),
        NonceMode::Any => {
            eprintln!("{ANY_NONCE_WARNING}");
            (NonceCheck::DangerousAnyNonce, None)
        }
        NonceMode::Redeem(url) => {
            challenges = open_store(url)?;
            let store = challenges.store().describe();
            (
                NonceCheck::Redeem(&challenges),
                Some(Redemption::Redeemed { store }),
            )
        }
        NonceMode::SingleUse(url) => {
            challenges = open_store(url)?;
            eprintln!("{SINGLE_USE_WARNING}");
            let store = challenges.store().describe();
            (
                NonceCheck::SingleUse(&challenges),
                Some(Redemption::Remembered { store }),
            )
        }
    };
    let bytes = read_document(&args.file, args.max_input)?;
    let at = args.at.unwrap_or_else(now);
    let fetching = args.fetching.fetch_intermediates;
    let reject = |e| CliError::rejected(e, !args.trust.roots.is_empty()).fetching(fetching);
    let doc = AttestedDocument::parse_with_max_size(&bytes, args.max_input).map_err(reject)?;
    let mut verifier = Verifier::new(trust, policy);
    if let Some(fetcher) = crate::trust::fetcher(&args.fetching, args.trust.trust_dir.as_deref())? {
        verifier = verifier.with_fetcher(fetcher);
    }
    let verified = verifier.verify(&doc, nonce, at).map_err(reject)?;
    if let Some(warning) = crate::trust::expiry_warning(&verified, at) {
        eprintln!("{warning}");
    }
    Ok((verified, redemption))
}

/// `challenge`: a fresh nonce, valid from now for the TTL.
fn challenge(args: &ChallengeArgs) -> Result<imds_attest_store::Challenge, CliError> {
    let challenges = open_store(&args.store)?;
    challenges
        .issue(std::time::Duration::from_secs(args.ttl.into()), now())
        .map_err(CliError::StoreFailed)
}

/// Opens the store a `--store` URL names. One that cannot be opened (a bad URL, a SQLite file
/// that cannot be created or is readable by others) is a usage error: the command line is
/// wrong. The message never repeats the URL, which may hold a password.
fn open_store(url: &str) -> Result<Challenges, CliError> {
    let store = imds_attest_store::open(url)
        .map_err(|e| CliError::Usage(format!("cannot open the --store: {e}")))?;
    if store.describe() == "memory:" {
        eprintln!("{MEMORY_STORE_WARNING}");
    }
    Ok(Challenges::new(store))
}

/// An unreadable rules file is a usage error; a readable one that is not valid rules is a
/// rules-file error, with its line.
fn load_rules(path: &std::path::Path) -> Result<Rules, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
    Rules::parse(&text, &path.display().to_string()).map_err(CliError::RulesFile)
}

fn fetch(args: &FetchArgs) -> Result<(), CliError> {
    use imds_attest::imds::{fetch_blocking, FetchOptions};
    if let Some(nonce) = &args.nonce {
        imds_attest::imds::check_nonce(nonce).map_err(|e| CliError::Usage(e.to_string()))?;
    }
    if args.fetching.fetch_intermediates && !args.verify {
        return Err(CliError::Usage(
            "--fetch-intermediates is for --verify; add --verify or drop it".into(),
        ));
    }
    let trust = if args.verify {
        Some(trust_store(&args.trust)?)
    } else {
        None
    };
    let fetcher = crate::trust::fetcher(&args.fetching, args.trust.trust_dir.as_deref())?;
    let mut options = FetchOptions::default();
    options.endpoint.clone_from(&args.endpoint);
    options.api_version.clone_from(&args.api_version);
    options.nonce.clone_from(&args.nonce);
    options.deadline = std::time::Duration::from_secs(args.timeout);
    let fetched = fetch_blocking(&options, |retry| {
        eprintln!(
            "imds-attest: attempt {} failed: {}; retrying in {:.1} s",
            retry.attempt,
            retry.reason,
            retry.delay.as_secs_f64()
        );
    })
    .map_err(fetch_failed)?;
    if fetched.nonce_generated {
        eprintln!("imds-attest: nonce {}", fetched.nonce);
    }
    match &args.out {
        Some(path) => std::fs::write(path, &fetched.body)
            .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", path.display())))?,
        None => output::fetched(&fetched.body).map_err(CliError::Output)?,
    }
    if let Some(trust) = trust {
        let fetching = args.fetching.fetch_intermediates;
        let reject = |e| CliError::rejected(e, !args.trust.roots.is_empty()).fetching(fetching);
        let doc = AttestedDocument::parse(fetched.body.as_bytes()).map_err(reject)?;
        let mut verifier = Verifier::new(trust, Policy::default());
        if let Some(fetcher) = fetcher {
            verifier = verifier.with_fetcher(fetcher);
        }
        let verified = verifier
            .verify(&doc, NonceCheck::Exact(&fetched.nonce), now())
            .map_err(reject)?;
        for url in verified.fetched_intermediates() {
            eprintln!("imds-attest: fetched intermediate {url}");
        }
        eprintln!(
            "imds-attest: verified: vmId {} in {}, signed by {}",
            verified.claims().vm_id,
            verified.cloud(),
            verified.signer().subject
        );
    }
    Ok(())
}

/// A failure of `fetch_blocking`: the one place that knows the fetch error type.
fn fetch_failed(e: imds_attest::imds::FetchError) -> CliError {
    CliError::FetchFailed {
        kind: e.kind().to_string(),
        message: e.to_string(),
    }
}

fn inspect(args: &InspectArgs) -> Result<Inspection, CliError> {
    let trust = trust_store(&args.trust)?;
    let bytes = read_document(&args.file, DEFAULT_MAX_INPUT_BYTES)?;
    let doc = AttestedDocument::parse(&bytes).map_err(CliError::NotADocument)?;
    imds_attest::inspect(&doc, &trust).map_err(CliError::NotADocument)
}

fn completions(args: &CompletionsArgs) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    clap_complete::generate(
        clap_complete::Shell::from(args.shell),
        &mut Cli::command(),
        "imds-attest",
        &mut out,
    );
    out.flush().map_err(CliError::Output)
}

/// The current time, to the second: documents carry whole seconds.
pub(crate) fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now - Duration::nanoseconds(now.nanosecond().into())
}

pub(crate) fn trust_store(args: &TrustArgs) -> Result<TrustStore, CliError> {
    let mut trust = TrustStore::builtin();
    if !args.roots.is_empty() {
        trust = trust.without_roots();
    }
    let files = args
        .roots
        .iter()
        .map(|p| (p, true))
        .chain(args.intermediates.iter().map(|p| (p, false)));
    for (path, root) in files {
        let pem = std::fs::read(path)
            .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
        let source = path.display().to_string();
        let added = if root {
            trust.add_roots_pem(&pem, &source)
        } else {
            trust.add_intermediates_pem(&pem, &source)
        };
        added.map_err(|e| CliError::Usage(e.to_string()))?;
    }
    crate::trust::add_dir(&mut trust, args.trust_dir.as_deref())?;
    Ok(trust)
}

/// Reads at most one byte more than any document may have, so that a huge input is refused
/// (by the parser's size check) without being held in memory.
fn read_document(file: &str, max: usize) -> Result<Vec<u8>, CliError> {
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let mut bytes = Vec::new();
    let read = if file == "-" {
        let stdin = io::stdin();
        if let Some(hint) = stdin_hint(stdin.is_terminal()) {
            eprintln!("{hint}");
        }
        stdin.lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    let name = if file == "-" { "standard input" } else { file };
    read.map_err(|e| CliError::Usage(format!("cannot read {name}: {e}")))?;
    Ok(bytes)
}

fn stdin_hint(stdin_is_terminal: bool) -> Option<&'static str> {
    stdin_is_terminal.then_some(STDIN_HINT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_at_standard_input_only_on_a_terminal() {
        assert_eq!(stdin_hint(true), Some(STDIN_HINT));
        assert_eq!(stdin_hint(false), None);
    }
}
