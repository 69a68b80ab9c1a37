//! `imds-attest`: verify Azure IMDS attested documents from the command line.
//!
//! Exit status: 0 verified, 1 rejected (for any reason, malformed bytes included), 2 usage
//! error or unreadable file.
#![forbid(unsafe_code)]

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use imds_attest::{
    AttestedDocument, Cloud, Error, NonceCheck, Policy, TrustStore, VerifiedDocument, Verifier,
    DEFAULT_MAX_INPUT_BYTES,
};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

#[derive(Parser)]
#[command(
    name = "imds-attest",
    version,
    about = "Verify Azure IMDS attested documents"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify an attested document (IMDS JSON response, base64, PEM or DER).
    ///
    /// Exit status: 0 verified, 1 rejected, 2 usage error or unreadable file.
    Verify(VerifyArgs),
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("nonce-check").required(true).args(["nonce", "any_nonce"]))]
struct VerifyArgs {
    /// The document: a path, or '-' for standard input.
    #[arg(default_value = "-")]
    file: String,
    /// The nonce the document must carry, compared byte for byte.
    #[arg(long)]
    nonce: Option<String>,
    /// Do not check the nonce. The document could be a replay of one seen elsewhere.
    #[arg(long)]
    any_nonce: bool,
    /// Verify as of this instant (RFC 3339, e.g. 2025-11-19T12:53:30Z) instead of now.
    #[arg(long, value_parser = parse_instant)]
    at: Option<OffsetDateTime>,
    /// Clock skew tolerated on createdOn and expiresOn, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    skew: u32,
    /// Reject documents created longer ago than this, in seconds.
    #[arg(long, value_name = "SECONDS")]
    max_age: Option<u32>,
    /// Allowed cloud (public, usgov, china, germany); repeatable. Default: all.
    #[arg(long = "cloud", value_name = "CLOUD")]
    clouds: Vec<Cloud>,
    /// Trusted root PEM file; repeatable. Replaces the built-in roots.
    #[arg(long = "root", value_name = "PEM")]
    roots: Vec<PathBuf>,
    /// Extra intermediate PEM file; repeatable. Added to the pinned intermediates.
    #[arg(long = "intermediate", value_name = "PEM")]
    intermediates: Vec<PathBuf>,
    /// Refuse documents larger than this many bytes; no more than this is read.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_INPUT_BYTES)]
    max_input: usize,
    /// Machine-readable output: one JSON object on standard output.
    #[arg(long)]
    json: bool,
}

fn parse_instant(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| format!("{e}; expected RFC 3339 such as 2025-11-19T12:53:30Z"))
}

/// Why the command stopped: a usage problem (exit 2) or a rejected document (exit 1).
enum Failure {
    Usage(String),
    Rejected(Error),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Verify(args) => verify(&args),
    }
}

fn verify(args: &VerifyArgs) -> ExitCode {
    let outcome = run_verify(args);
    let written = match &outcome {
        Ok(verified) => print_verified(verified, args.json),
        Err(Failure::Rejected(e)) => {
            eprintln!("imds-attest: rejected: {e}");
            if args.json {
                print_json(&json!({
                    "verified": false,
                    "error": {"kind": e.kind(), "message": e.to_string()},
                }))
            } else {
                Ok(())
            }
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("imds-attest: {msg}");
            Ok(())
        }
    };
    match (outcome, written) {
        (Err(Failure::Usage(_)), _) => ExitCode::from(2),
        (Err(Failure::Rejected(_)), _) => ExitCode::from(1),
        (Ok(_), Ok(())) => ExitCode::SUCCESS,
        // Verified but the verdict could not be written (closed pipe): not a success.
        (Ok(_), Err(e)) => {
            eprintln!("imds-attest: cannot write output: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_verify(args: &VerifyArgs) -> Result<VerifiedDocument, Failure> {
    let trust = trust_store(args)?;
    let mut policy = Policy::default().with_skew(Duration::seconds(args.skew.into()));
    if !args.clouds.is_empty() {
        policy = policy.with_clouds(&args.clouds);
    }
    if let Some(max_age) = args.max_age {
        policy = policy.with_max_age(Duration::seconds(max_age.into()));
    }
    let nonce = match &args.nonce {
        Some(n) => NonceCheck::Exact(n),
        None => NonceCheck::DangerousAnyNonce,
    };
    let bytes = read_document(&args.file, args.max_input)?;
    let at = args.at.unwrap_or_else(|| {
        let now = OffsetDateTime::now_utc();
        now - Duration::nanoseconds(now.nanosecond().into())
    });
    let doc =
        AttestedDocument::parse_with_max_size(&bytes, args.max_input).map_err(Failure::Rejected)?;
    Verifier::new(trust, policy)
        .verify(&doc, nonce, at)
        .map_err(Failure::Rejected)
}

fn trust_store(args: &VerifyArgs) -> Result<TrustStore, Failure> {
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
            .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
        let source = path.display().to_string();
        let added = if root {
            trust.add_roots_pem(&pem, &source)
        } else {
            trust.add_intermediates_pem(&pem, &source)
        };
        added.map_err(|e| Failure::Usage(e.to_string()))?;
    }
    Ok(trust)
}

/// Reads at most one byte more than any document may have, so a huge input is refused
/// without being held in memory.
fn read_document(file: &str, max: usize) -> Result<Vec<u8>, Failure> {
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let mut bytes = Vec::new();
    let read = if file == "-" {
        io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    let name = if file == "-" { "standard input" } else { file };
    read.map_err(|e| Failure::Usage(format!("cannot read {name}: {e}")))?;
    if bytes.len() > max {
        return Err(Failure::Rejected(Error::InputTooLarge {
            size: bytes.len(),
            max,
        }));
    }
    Ok(bytes)
}

fn print_verified(v: &VerifiedDocument, as_json: bool) -> io::Result<()> {
    if as_json {
        let mut value = serde_json::to_value(v).map_err(io::Error::other)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("verified".into(), true.into());
        }
        return print_json(&value);
    }
    let c = v.claims();
    let time = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_else(|_| t.to_string());
    let nonce_note = if v.nonce_checked() {
        "checked"
    } else {
        "NOT checked: --any-nonce"
    };
    let mut lines = vec![
        "VERIFIED Azure IMDS attested document".to_owned(),
        format!("cloud           {}", v.cloud()),
        format!("vmId            {}", c.vm_id),
    ];
    let optional = [
        ("subscriptionId", &c.subscription_id),
        ("sku", &c.sku),
        ("licenseType", &c.license_type),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            lines.push(format!("{name:<15} {value}"));
        }
    }
    if let Some(p) = &c.plan {
        lines.push(format!(
            "plan            name={:?} product={:?} publisher={:?}",
            p.name, p.product, p.publisher
        ));
    }
    lines.extend([
        format!("nonce           {} ({nonce_note})", c.nonce),
        format!("createdOn       {}", time(c.created_on)),
        format!("expiresOn       {}", time(c.expires_on)),
        format!("signer          {}", v.signer().subject),
        format!("  names         {}", v.signer().dns_names.join(", ")),
        format!("  issuer        {}", v.signer().issuer),
        format!("  serial        {}", v.signer().serial),
        format!("  notAfter      {}", time(v.signer().not_after)),
        format!("  sha256        {}", v.signer().sha256),
    ]);
    for (i, subject) in v.chain().iter().enumerate() {
        let label = if i == 0 { "chain" } else { "" };
        lines.push(format!("{label:<15} {subject}"));
    }
    if !c.other.is_empty() {
        lines.push(format!(
            "other fields    {}",
            serde_json::Value::Object(c.other.clone())
        ));
    }
    let mut out = io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    out.flush()
}

fn print_json(value: &serde_json::Value) -> io::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, value).map_err(io::Error::other)?;
    writeln!(out)?;
    out.flush()
}
