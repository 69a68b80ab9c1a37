//! Trust that survives a rotation: the trust directory (`--trust-dir`), fetching a missing
//! intermediate (`verify --fetch-intermediates`), and `imds-attest trust list|check|add`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use clap::{Args, Subcommand};
use imds_attest::aia::http::HttpFetcher;
use imds_attest::aia::AiaAllowList;
use imds_attest::{
    AiaFetchReason, Cloud, Error, IntermediateFetcher, TrustDirRole, TrustStore,
    TrustedCertificate, VerifiedDocument,
};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::args::TrustArgs;
use crate::error::CliError;

/// `verify`'s and `fetch --verify`'s options for fetching a missing intermediate.
#[derive(Args)]
pub struct FetchingArgs {
    /// When the chain lacks an intermediate, fetch it from the AIA caIssuers URL of the
    /// certificate that names it (allow-listed hosts only, no redirects, 16 KiB, 10 s, at most
    /// 4 per document); it is used only if the whole chain then verifies to a pinned root.
    #[arg(long)]
    pub fetch_intermediates: bool,
    /// Fetch only from this HOST[:PORT]; repeatable; replaces the default list
    /// (www.microsoft.com/pkiops/, caissuers.microsoft.com, cacerts.digicert.com,
    /// cacerts.digicert.cn, cacerts.geotrust.com).
    #[arg(
        long = "aia-allow",
        value_name = "HOST[:PORT]",
        requires = "fetch_intermediates"
    )]
    pub aia_allow: Vec<String>,
    /// Also trust this PEM file's certificates as TLS roots of https caIssuers URLs, beside
    /// the system's; repeatable. TLS keeps the fetch private: what it fetches is trusted only
    /// by the chain check.
    #[arg(long, value_name = "PEM", requires = "fetch_intermediates")]
    pub aia_tls_root: Vec<PathBuf>,
    /// Time limit of one fetch, in milliseconds (for tests).
    #[arg(long, value_name = "MS", hide = true, requires = "fetch_intermediates")]
    pub aia_timeout_ms: Option<u64>,
}

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
        #[arg(long, value_name = "TIME", value_parser = crate::args::parse_instant)]
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
        #[arg(long, value_name = "TIME", value_parser = crate::args::parse_instant)]
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
        #[arg(long, value_name = "TIME", value_parser = crate::args::parse_instant)]
        at: Option<OffsetDateTime>,
        /// Trust settings.
        #[command(flatten)]
        trust: TrustArgs,
    },
}

/// The trust directory: `--trust-dir`, `IMDS_ATTEST_TRUST_DIR` (both in `explicit`), else
/// `$XDG_CONFIG_HOME/imds-attest/trust` (or `~/.config/...`) when it exists.
pub fn trust_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = explicit {
        return Some(dir.to_path_buf());
    }
    let default = default_dir()?;
    default.is_dir().then_some(default)
}

fn default_dir() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("imds-attest").join("trust"))
}

/// Adds the trust directory, if any, to `trust`.
pub fn add_dir(trust: &mut TrustStore, explicit: Option<&Path>) -> Result<(), CliError> {
    if let Some(dir) = trust_dir(explicit) {
        trust
            .add_trust_dir(&dir)
            .map_err(|e| CliError::Usage(e.to_string()))?;
    }
    Ok(())
}

/// The fetcher `--fetch-intermediates` asks for, remembering what passed under the trust
/// directory's `fetched/`.
pub fn fetcher(
    args: &FetchingArgs,
    dir: Option<&Path>,
) -> Result<Option<Arc<dyn IntermediateFetcher>>, CliError> {
    if !args.fetch_intermediates {
        return Ok(None);
    }
    let allow = if args.aia_allow.is_empty() {
        AiaAllowList::default()
    } else {
        AiaAllowList::of(&args.aia_allow)
            .map_err(|e| CliError::Usage(format!("--aia-allow: {e}")))?
    };
    let mut fetcher = HttpFetcher::new(allow);
    if let Some(ms) = args.aia_timeout_ms {
        fetcher = fetcher.with_timeout(StdDuration::from_millis(ms));
    }
    for path in &args.aia_tls_root {
        let pem = std::fs::read(path).map_err(|e| {
            CliError::Usage(format!(
                "--aia-tls-root: cannot read {}: {e}",
                path.display()
            ))
        })?;
        fetcher = fetcher
            .with_tls_roots(&pem, &path.display().to_string())
            .map_err(|e| CliError::Usage(format!("--aia-tls-root: {e}")))?;
    }
    if let Some(dir) = trust_dir(dir) {
        fetcher = fetcher.with_dir(dir.join("fetched"));
    }
    Ok(Some(Arc::new(fetcher)))
}

/// The fetching advice for a chain failure: fetching is available when it was not asked for,
/// and the allow list is the CLI's `--aia-allow` (the library names no flag).
pub fn fetch_hint(error: &Error, fetching: bool) -> Option<&'static str> {
    match error {
        Error::UntrustedIssuer {
            self_signed: false, ..
        } if !fetching => Some(
            "or let imds-attest fetch it from the certificate's caIssuers URL with \
             --fetch-intermediates",
        ),
        Error::IntermediateFetch {
            reason: AiaFetchReason::HostNotAllowed { .. },
            ..
        } => Some(
            "add the host with --aia-allow HOST[:PORT] if you trust it to publish CA certificates",
        ),
        _ => None,
    }
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
    let now = crate::commands::now();
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
    let trust = crate::commands::trust_store(args)?;
    let dir = trust_dir(args.trust_dir.as_deref());
    let mut listed: Vec<Listed> = trust
        .certificates()
        .map(|cert| {
            let source = if cert.builtin() {
                "built-in"
            } else {
                "directory"
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
    let horizon = at + Duration::days(within.into());
    let mut lines = Vec::new();
    for l in &listed {
        let Some((_, until)) = l.cert.validity else {
            continue;
        };
        if until > horizon {
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
        return Ok(());
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
    let pem =
        std::fs::read(file).map_err(|e| CliError::Usage(format!("cannot read {source}: {e}")))?;
    let mut candidate = TrustStore::empty();
    candidate
        .add_trust_dir_pem(TrustDirRole::Intermediate, &pem, &source)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let trust = crate::commands::trust_store(args)?;
    let clouds = cloud.map_or_else(|| Cloud::ALL.to_vec(), |c| vec![c]);
    for cert in candidate.certificates() {
        let mut last = None;
        let ok = clouds
            .iter()
            .any(|c| match trust.chain_of(&cert.der, *c, at) {
                Ok(_) => true,
                Err(e) => {
                    last = Some(e);
                    false
                }
            });
        if !ok {
            let why = last.map_or_else(String::new, |e| e.to_string());
            return Err(CliError::Usage(format!(
                "{source} is not added: it does not chain to a pinned root{}: {why}",
                cloud.map_or_else(String::new, |c| format!(" of cloud {c}"))
            )));
        }
    }
    let dir = args
        .trust_dir
        .clone()
        .or_else(default_dir)
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

fn print(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(CliError::Output)
}
