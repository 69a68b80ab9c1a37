//! `imds-attest trust list|check|add`: the trusted certificates, their expiry, and adding an
//! intermediate to the trust directory; and `verify`'s warning when its chain expires soon.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use imds_attest::{Cloud, TrustDirRole, TrustStore, TrustedCertificate, VerifiedDocument};
use imds_attest_setup::{FileRole, SetupError, TrustSource};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::error::CliError;
use crate::options::TrustArgs;

/// The warning `verify` prints when its chain expires soon.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// `imds-attest trust`.
#[derive(Args)]
pub struct TrustCommandArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: TrustAction,
}

/// The `trust` subcommands.
#[derive(Subcommand)]
pub enum TrustAction {
    /// Every trusted certificate: cloud, role, subject, SHA-256, notAfter, days left, source.
    List {
        /// One JSON array on standard output.
        #[arg(long)]
        json: bool,
        /// Count days left from this instant instead of now.
        #[arg(long, value_name = "TIME", value_parser = crate::options::parse_instant)]
        at: Option<OffsetDateTime>,
        /// Trust settings.
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Exit 1, with one line each, when a certificate of a usable chain expires within DAYS
    /// (or has expired); exit 0 otherwise.
    Check {
        /// How many days ahead to look.
        #[arg(long, value_name = "DAYS", default_value_t = 30)]
        within: u32,
        /// Check as of this instant instead of now.
        #[arg(long, value_name = "TIME", value_parser = crate::options::parse_instant)]
        at: Option<OffsetDateTime>,
        /// Trust settings.
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Copy an intermediate into the trust directory, after checking that it chains to a
    /// pinned root now.
    Add {
        /// The intermediate (PEM).
        file: PathBuf,
        /// The cloud whose root it must chain to. Default: any.
        #[arg(long, value_name = "CLOUD")]
        cloud: Option<Cloud>,
        /// Check as of this instant instead of now.
        #[arg(long, value_name = "TIME", value_parser = crate::options::parse_instant)]
        at: Option<OffsetDateTime>,
        /// Trust settings.
        #[command(flatten)]
        trust: TrustArgs,
    },
}

/// `verify`'s one warning line when the chain it used expires within 30 days.
pub fn expiry_warning(v: &VerifiedDocument, at: OffsetDateTime) -> Option<String> {
    let until = v.chain_valid_until();
    let left = until - at;
    (left < Duration::days(EXPIRY_WARNING_DAYS)).then(|| {
        format!(
            "imds-attest: warning: a certificate of this chain expires at {} (in {} days); \
             see imds-attest trust check",
            rfc3339(until),
            left.whole_days()
        )
    })
}

/// Runs `imds-attest trust ...`.
pub fn run(args: &TrustCommandArgs) -> Result<(), CliError> {
    let now = imds_attest_setup::now();
    match &args.action {
        TrustAction::List { json, at, trust } => list(trust, *json, at.unwrap_or(now)),
        TrustAction::Check { within, at, trust } => check(trust, *within, at.unwrap_or(now)),
        TrustAction::Add {
            file,
            cloud,
            at,
            trust,
        } => add(trust, file, *cloud, at.unwrap_or(now)),
    }
}

/// One listed certificate.
struct Listed {
    cert: TrustedCertificate,
    source: &'static str,
}

fn listing(args: &TrustArgs) -> Result<(TrustStore, Vec<Listed>), CliError> {
    let trust = args.build()?;
    let sources = args.sources();
    let dir = args.dir();
    let mut listed: Vec<Listed> = trust
        .certificates()
        .map(|cert| {
            let source = match sources.source_of(&cert) {
                TrustSource::BuiltinRoots | TrustSource::BuiltinIntermediates => "built-in",
                TrustSource::RootFile(_) | TrustSource::IntermediateFile(_) => "file",
                _ => "directory",
            };
            describe(cert, source)
        })
        .collect();
    // Fetched intermediates are offered again through the fetcher, not trusted: listed here.
    if let Some(dir) = dir {
        let mut fetched = TrustStore::empty();
        if let Ok(entries) = std::fs::read_dir(dir.join("fetched")) {
            for entry in entries.flatten() {
                let Ok(pem) = std::fs::read(entry.path()) else {
                    continue;
                };
                let _ = fetched.add_intermediates_pem(&pem, &entry.path().display().to_string());
            }
        }
        listed.extend(fetched.certificates().map(|c| describe(c, "fetched")));
    }
    Ok((trust, listed))
}

fn describe(cert: TrustedCertificate, source: &'static str) -> Listed {
    Listed { cert, source }
}

fn clouds(c: &TrustedCertificate) -> String {
    if c.clouds.is_empty() {
        "all".into()
    } else {
        c.clouds
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn list(args: &TrustArgs, as_json: bool, at: OffsetDateTime) -> Result<(), CliError> {
    let (_, listed) = listing(args)?;
    let rows: Vec<Value> = listed
        .iter()
        .map(|l| {
            let not_after = l.cert.validity.map(|(_, until)| until);
            json!({
                "cloud": clouds(&l.cert),
                "role": if l.cert.root { "root" } else { "intermediate" },
                "subject": l.cert.subject,
                "sha256": l.cert.sha256,
                "notAfter": not_after.map(rfc3339),
                "daysLeft": not_after.map(|t| (t - at).whole_days()),
                "source": l.source,
                "path": (l.source != "built-in").then(|| l.cert.source.clone()),
            })
        })
        .collect();
    let text = if as_json {
        serde_json::to_string_pretty(&rows)
            .map_err(|e| CliError::Output(std::io::Error::other(e)))?
    } else {
        rows.iter()
            .map(|r| {
                format!(
                    "{:<12} {:<12} {:<9} {:>6} {}  {}  {}",
                    r["cloud"].as_str().unwrap_or_default(),
                    r["role"].as_str().unwrap_or_default(),
                    r["source"].as_str().unwrap_or_default(),
                    r["daysLeft"].as_i64().map_or("?".into(), |d| d.to_string()),
                    r["notAfter"].as_str().unwrap_or("?"),
                    r["sha256"].as_str().unwrap_or_default(),
                    r["subject"].as_str().unwrap_or_default(),
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    print(&text)
}

/// Whether `l` is part of a chain usable at `at`: a root valid then, or a certificate that
/// chains to a root of a cloud it serves.
fn usable(trust: &TrustStore, l: &Listed, at: OffsetDateTime) -> bool {
    if l.cert.root {
        return l
            .cert
            .validity
            .is_some_and(|(from, until)| from <= at && at < until);
    }
    let serving = if l.cert.clouds.is_empty() {
        Cloud::ALL.to_vec()
    } else {
        l.cert.clouds.clone()
    };
    serving
        .into_iter()
        .any(|cloud| trust.chain_of(&l.cert.der, cloud, at).is_ok())
}

fn check(args: &TrustArgs, within: u32, at: OffsetDateTime) -> Result<(), CliError> {
    let (trust, listed) = listing(args)?;
    // Past the last representable instant (year 9999), everything expires within the window.
    let horizon = at.checked_add(Duration::days(within.into()));
    let mut lines = Vec::new();
    for l in &listed {
        let Some((_, until)) = l.cert.validity else {
            continue;
        };
        if horizon.is_some_and(|horizon| until > horizon) {
            continue;
        }
        // What was added on purpose is reported even once expired; a built-in certificate
        // only while a chain through it is still usable.
        let expired = until <= at;
        let report = if expired {
            l.source != "built-in"
        } else {
            usable(&trust, l, at)
        };
        if report {
            let state = if expired {
                "EXPIRED".to_owned()
            } else {
                format!("expires in {} days", (until - at).whole_days())
            };
            lines.push(format!(
                "{} {} ({}, {}) notAfter {}: {state}",
                l.source,
                l.cert.subject,
                if l.cert.root { "root" } else { "intermediate" },
                clouds(&l.cert),
                rfc3339(until),
            ));
        }
    }
    if lines.is_empty() {
        // Silence could as well be a check that never ran (a cron job's empty mail).
        return print(&format!(
            "imds-attest: no trusted certificate of a usable chain expires within {within} day{}",
            if within == 1 { "" } else { "s" }
        ));
    }
    Err(CliError::TrustCheck(lines))
}

fn add(
    args: &TrustArgs,
    file: &Path,
    cloud: Option<Cloud>,
    at: OffsetDateTime,
) -> Result<(), CliError> {
    let source = file.display().to_string();
    let pem = imds_attest_setup::read_capped(file, FileRole::TrustFile).map_err(CliError::Setup)?;
    let mut candidate = TrustStore::empty();
    candidate
        .add_trust_dir_pem(TrustDirRole::Intermediate, &pem, &source)
        .map_err(|e| CliError::Setup(SetupError::Refused(e)))?;
    let trust = args.build()?;
    let clouds = cloud.map_or_else(|| Cloud::ALL.to_vec(), |c| vec![c]);
    for cert in candidate.certificates() {
        let mut failures = Vec::new();
        let ok = clouds
            .iter()
            .any(|c| match trust.chain_of(&cert.der, *c, at) {
                Ok(_) => true,
                Err(e) => {
                    failures.push(e);
                    false
                }
            });
        if !ok {
            let why = nearest_failure(failures, cloud.is_none());
            return Err(CliError::Usage(format!(
                "{source} is not added: it does not chain to a pinned root {}: {why}",
                cloud.map_or_else(|| "of any cloud".to_owned(), |c| format!("of cloud {c}"))
            )));
        }
    }
    let dir = args
        .trust_dir
        .clone()
        .or_else(imds_attest_setup::default_trust_dir)
        .ok_or_else(|| CliError::Usage("no trust directory: pass --trust-dir".into()))?;
    let folder = dir.join("intermediates");
    let name = file
        .file_name()
        .map_or_else(|| "added.pem".into(), |n| n.to_string_lossy().into_owned());
    let name = if name.ends_with(".pem") {
        name
    } else {
        format!("{name}.pem")
    };
    let target = folder.join(name);
    std::fs::create_dir_all(&folder)
        .and_then(|()| std::fs::write(&target, &pem))
        .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", target.display())))?;
    print(&format!("added {}", target.display()))
}

/// Why a certificate chains to no cloud's root, from one failure per cloud tried: the one
/// that got furthest (a chain found but expired or broken, before an unknown issuer, before a
/// cloud without roots), which is what the user can act on. Across every cloud, an unknown
/// issuer is named without the cloud that happened to be tried last.
fn nearest_failure(failures: Vec<imds_attest::Error>, any_cloud: bool) -> String {
    use imds_attest::Error;
    let distance = |e: &Error| match e {
        Error::NoTrustAnchors { .. } => 2,
        Error::UntrustedIssuer { .. } => 1,
        _ => 0,
    };
    let Some(nearest) = failures.into_iter().min_by_key(distance) else {
        return "no cloud to check it against".to_owned();
    };
    match nearest {
        Error::UntrustedIssuer {
            subject,
            self_signed: true,
            ..
        } => format!(
            "\"{subject}\" is self-signed, a root: a root is trusted with --root or in the \
             trust directory's roots/<cloud>/, not added as an intermediate"
        ),
        Error::UntrustedIssuer {
            subject, issuer, ..
        } if any_cloud => format!(
            "certificate \"{subject}\" is issued by \"{issuer}\", which is not a trusted \
             certificate of any cloud; if \"{issuer}\" is a root you trust, put it in the trust \
             directory's roots/<cloud>/ first (or pass it with --root)"
        ),
        other => other.to_string(),
    }
}

fn print(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(CliError::Output)
}
