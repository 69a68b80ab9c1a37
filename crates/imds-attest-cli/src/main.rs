//! `imds-attest`: verify Azure IMDS attested documents from the command line, fetch them on
//! a VM, and inspect them.
//!
//! Exit status: 0 verified (or fetched, or shown), 1 rejected (for any reason, malformed bytes
//! included) or fetch failed, 2 usage error or unreadable file.
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
    /// Fetch an attested document from IMDS (on an Azure VM, or from an emulator) and print
    /// it exactly as returned.
    ///
    /// Exit status: 0 fetched (and verified with --verify), 1 fetch failed or rejected, 2
    /// usage error.
    Fetch(FetchArgs),
    /// Show everything in a document without trusting it: content, certificates, and which
    /// trusted certificates could complete its chain.
    ///
    /// Exit status: 0 shown, 1 not a document, 2 usage error or unreadable file.
    Inspect(InspectArgs),
}

/// Where trust comes from: the built-in certificates, or files.
#[derive(Args)]
struct TrustArgs {
    /// Trusted root PEM file; repeatable. Replaces the built-in roots.
    #[arg(long = "root", value_name = "PEM")]
    roots: Vec<PathBuf>,
    /// Extra intermediate PEM file; repeatable. Added to the pinned intermediates.
    #[arg(long = "intermediate", value_name = "PEM")]
    intermediates: Vec<PathBuf>,
}

#[derive(Args)]
struct FetchArgs {
    /// The nonce to ask for (1-32 letters and digits). Default: 32 random ones, printed on
    /// standard error.
    #[arg(long)]
    nonce: Option<String>,
    /// The IMDS base URL.
    #[arg(long, env = "IMDS_ENDPOINT", default_value = imds_attest::fetch::DEFAULT_ENDPOINT)]
    endpoint: String,
    /// The api-version to ask for.
    #[arg(long, default_value = imds_attest::fetch::DEFAULT_API_VERSION)]
    api_version: String,
    /// Give up after this many seconds, retries included.
    #[arg(long, value_name = "SECONDS", default_value_t = 70)]
    timeout: u64,
    /// Write the document to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also verify the document against the trust and the nonce asked for, now.
    #[arg(long)]
    verify: bool,
    #[command(flatten)]
    trust: TrustArgs,
}

#[derive(Args)]
struct InspectArgs {
    /// The document: a path, or '-' for standard input.
    #[arg(default_value = "-")]
    file: String,
    /// Machine-readable output: one JSON object on standard output.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    trust: TrustArgs,
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
    #[command(flatten)]
    trust: TrustArgs,
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
        Command::Verify(args) => {
            let json = args.json;
            finish(run_verify(&args), json, |v| print_verified(v, json))
        }
        Command::Fetch(args) => finish(run_fetch(&args), false, |()| Ok(())),
        Command::Inspect(args) => {
            let json = args.json;
            finish(run_inspect(&args), json, |i| print_inspection(i, json))
        }
    }
}

/// Prints the outcome and maps it to the exit status.
fn finish<T>(
    outcome: Result<T, Failure>,
    json: bool,
    print: impl FnOnce(&T) -> io::Result<()>,
) -> ExitCode {
    let written = match &outcome {
        Ok(value) => print(value),
        Err(Failure::Rejected(e)) => {
            eprintln!("imds-attest: rejected: {e}");
            if json {
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
            eprintln!("imds-attest: cannot write the output: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_verify(args: &VerifyArgs) -> Result<VerifiedDocument, Failure> {
    let trust = trust_store(&args.trust)?;
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

fn trust_store(args: &TrustArgs) -> Result<TrustStore, Failure> {
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

fn run_fetch(args: &FetchArgs) -> Result<(), Failure> {
    use imds_attest::fetch::{fetch_blocking, FetchOptions};
    if let Some(nonce) = &args.nonce {
        imds_attest::fetch::check_nonce(nonce).map_err(|e| Failure::Usage(e.to_string()))?;
    }
    let trust = if args.verify {
        Some(trust_store(&args.trust)?)
    } else {
        None
    };
    let options = FetchOptions {
        endpoint: args.endpoint.clone(),
        api_version: args.api_version.clone(),
        nonce: args.nonce.clone(),
        deadline: std::time::Duration::from_secs(args.timeout),
        ..FetchOptions::default()
    };
    let fetched = fetch_blocking(&options, |retry| {
        eprintln!(
            "imds-attest: attempt {} failed: {}; retrying in {:.1} s",
            retry.attempt,
            retry.reason,
            retry.delay.as_secs_f64()
        );
    })
    .map_err(Failure::Rejected)?;
    if fetched.nonce_generated {
        eprintln!("imds-attest: nonce {}", fetched.nonce);
    }
    match &args.out {
        Some(path) => std::fs::write(path, &fetched.body)
            .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?,
        None => {
            let mut out = io::stdout().lock();
            out.write_all(fetched.body.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| Failure::Usage(format!("cannot write the output: {e}")))?;
        }
    }
    if let Some(trust) = trust {
        let doc = AttestedDocument::parse(fetched.body.as_bytes()).map_err(Failure::Rejected)?;
        let verified = Verifier::new(trust, Policy::default())
            .verify(
                &doc,
                NonceCheck::Exact(&fetched.nonce),
                OffsetDateTime::now_utc(),
            )
            .map_err(Failure::Rejected)?;
        eprintln!(
            "imds-attest: verified: vmId {} in {}, signed by {}",
            verified.claims().vm_id,
            verified.cloud(),
            verified.signer().subject
        );
    }
    Ok(())
}

fn run_inspect(args: &InspectArgs) -> Result<imds_attest::Inspection, Failure> {
    let trust = trust_store(&args.trust)?;
    let bytes = read_document(&args.file, DEFAULT_MAX_INPUT_BYTES)?;
    let doc = AttestedDocument::parse(&bytes).map_err(Failure::Rejected)?;
    imds_attest::inspect(&doc, &trust).map_err(Failure::Rejected)
}

fn print_inspection(i: &imds_attest::Inspection, as_json: bool) -> io::Result<()> {
    if as_json {
        return print_json(&serde_json::to_value(i).map_err(io::Error::other)?);
    }
    let time = |t: Option<OffsetDateTime>| {
        t.and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| "?".into())
    };
    let mut lines = vec![
        "UNVERIFIED: nothing below has been checked; `imds-attest verify` decides trust".to_owned(),
        "content".to_owned(),
    ];
    let content = serde_json::to_string_pretty(&i.content).map_err(io::Error::other)?;
    lines.extend(content.lines().map(|l| format!("  {l}")));
    for (n, c) in i.certificates.iter().enumerate() {
        let role = if c.signer { " (signer)" } else { "" };
        lines.push(format!("certificate {}{role}", n + 1));
        lines.push(format!("  subject     {}", c.subject));
        lines.push(format!("  issuer      {}", c.issuer));
        lines.push(format!("  serial      {}", c.serial));
        lines.push(format!(
            "  valid       {} to {}",
            time(c.not_before),
            time(c.not_after)
        ));
        lines.push(format!("  names       {}", c.dns_names.join(", ")));
        for url in &c.ca_issuers {
            lines.push(format!("  caIssuers   {url}"));
        }
        lines.push(format!("  sha256      {}", c.sha256));
    }
    lines.push("could chain via (by issuer name only)".to_owned());
    if i.possible_chains.is_empty() {
        lines.push("  nothing in the trust store: get the issuer from the caIssuers URL above and pass --intermediate".to_owned());
    }
    for chain in &i.possible_chains {
        lines.push(format!("  {}", chain.join(" -> ")));
    }
    let mut out = io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    out.flush()
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
