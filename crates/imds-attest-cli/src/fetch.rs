//! `imds-attest fetch`: get a document from IMDS (on a VM, or from an emulator), and with
//! `--verify` check it against the nonce asked for.

use std::path::PathBuf;

use clap::Args;
use imds_attest::imds::{fetch_blocking, FetchOptions};
use imds_attest::{AttestedDocument, NonceCheck, Policy, Verifier};

use crate::error::CliError;
use crate::options::{FetchingArgs, TrustArgs};
use crate::output;

/// `imds-attest fetch`.
#[derive(Args)]
pub struct FetchArgs {
    /// The nonce to ask for (1-32 letters and digits). Default: 32 random ones, printed on
    /// standard error.
    #[arg(long)]
    pub nonce: Option<String>,
    #[command(flatten)]
    pub imds: crate::options::ImdsArgs,
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
    pub fetching: FetchingArgs,
}

/// Fetches, prints or writes the document, then verifies it if asked.
pub fn run(args: &FetchArgs) -> Result<(), CliError> {
    args.imds.check()?;
    if let Some(nonce) = &args.nonce {
        imds_attest::imds::check_nonce(nonce).map_err(|e| CliError::Usage(e.to_string()))?;
    }
    if args.fetching.fetch_intermediates && !args.verify {
        return Err(CliError::Usage(
            "--fetch-intermediates is for --verify; add --verify or drop it".into(),
        ));
    }
    let trust = if args.verify {
        Some(args.trust.build()?)
    } else {
        None
    };
    let fetcher = args.fetching.fetcher(&args.trust)?;
    let mut options = FetchOptions::default();
    options.endpoint.clone_from(&args.imds.endpoint);
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
    .map_err(CliError::FetchFailed)?;
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
        let reject = |e| CliError::rejected(e, args.trust.roots_given()).fetching(fetching);
        let doc = AttestedDocument::parse(fetched.body.as_bytes()).map_err(reject)?;
        let mut verifier = Verifier::new(trust, Policy::default());
        if let Some(fetcher) = fetcher {
            verifier = verifier.with_fetcher(fetcher);
        }
        let verified = verifier
            .verify(
                &doc,
                NonceCheck::Exact(&fetched.nonce),
                imds_attest_setup::now(),
            )
            .map_err(|e| reject(e).signed_by(doc.signer_subject()))?;
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
