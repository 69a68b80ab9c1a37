//! The option groups several commands share (trust, fetching intermediates) and the value
//! parsers that turn option text into typed values.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use clap::Args;
use imds_attest::aia::http::HttpFetcher;
use imds_attest::aia::AiaAllowList;
use imds_attest::{IntermediateFetcher, TrustStore};
use imds_attest_setup::{TrustDir, TrustSources};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::CliError;

/// Where trust comes from: the built-in certificates, or files.
#[derive(Args)]
pub struct TrustArgs {
    /// Trusted root PEM file; repeatable. These roots only: replaces the built-in roots, and
    /// the default trust directory is not read.
    #[arg(long = "root", value_name = "PEM")]
    pub roots: Vec<PathBuf>,
    /// Extra intermediate PEM file; repeatable. Added to the pinned intermediates.
    #[arg(long = "intermediate", value_name = "PEM")]
    pub intermediates: Vec<PathBuf>,
    /// Trust directory: roots/<cloud>/*.pem and intermediates/*.pem add to the built-in
    /// certificates (with --root, a root in it is an error). Default: $IMDS_ATTEST_TRUST_DIR,
    /// else $XDG_CONFIG_HOME/imds-attest/trust, when it exists and no --root is given.
    #[arg(long, value_name = "DIR")]
    pub trust_dir: Option<PathBuf>,
}

/// The variable naming the default trust directory.
pub const TRUST_DIR_VAR: &str = "IMDS_ATTEST_TRUST_DIR";

impl TrustArgs {
    /// The trust sources these options name: `--trust-dir` is read when it exists; the
    /// default directory only when no `--root` narrows trust to the roots given.
    pub fn sources(&self) -> TrustSources {
        let dir = match (&self.trust_dir, Self::default_dir()) {
            (Some(dir), _) => TrustDir::IfPresent(dir.clone()),
            (None, Some(dir)) => TrustDir::Default(dir),
            (None, None) => TrustDir::None,
        };
        TrustSources {
            roots: self.roots.clone(),
            intermediates: self.intermediates.clone(),
            dir,
        }
    }

    /// The trust store these options name (the shared setup: a bad file is `trust_file`).
    pub fn build(&self) -> Result<TrustStore, CliError> {
        self.sources().build().map_err(CliError::Setup)
    }

    /// The trust directory `trust add` writes to and fetched intermediates are kept in:
    /// `--trust-dir`, else the default one when it exists.
    pub fn dir(&self) -> Option<PathBuf> {
        match &self.trust_dir {
            Some(dir) => Some(dir.clone()),
            None => Self::default_dir().filter(|d| d.is_dir()),
        }
    }

    /// `$IMDS_ATTEST_TRUST_DIR`, else `$XDG_CONFIG_HOME/imds-attest/trust`.
    fn default_dir() -> Option<PathBuf> {
        std::env::var_os(TRUST_DIR_VAR)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(imds_attest_setup::default_trust_dir)
    }

    /// Whether `--root` replaced the built-in roots (for the trust hints).
    pub fn roots_given(&self) -> bool {
        !self.roots.is_empty()
    }
}

/// Where IMDS answers: the option `fetch` and `attest` share.
#[derive(Args)]
pub struct ImdsArgs {
    /// The IMDS base URL.
    #[arg(
        long,
        value_name = "URL",
        env = "IMDS_ENDPOINT",
        hide_env_values = true,
        default_value = imds_attest::imds::DEFAULT_ENDPOINT
    )]
    pub endpoint: String,
}

impl ImdsArgs {
    /// Refuses an endpoint that is not an http:// or https:// URL, before any request.
    pub fn check(&self) -> Result<(), CliError> {
        check_http_url("--endpoint", &self.endpoint)
    }
}

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

impl FetchingArgs {
    /// The fetcher `--fetch-intermediates` asks for, remembering what passed under the trust
    /// directory's `fetched/`.
    pub fn fetcher(
        &self,
        trust: &TrustArgs,
    ) -> Result<Option<Arc<dyn IntermediateFetcher>>, CliError> {
        if !self.fetch_intermediates {
            return Ok(None);
        }
        let allow = if self.aia_allow.is_empty() {
            AiaAllowList::default()
        } else {
            AiaAllowList::of(&self.aia_allow)
                .map_err(|e| CliError::Usage(format!("--aia-allow: {e}")))?
        };
        let mut fetcher = HttpFetcher::new(allow);
        if let Some(ms) = self.aia_timeout_ms {
            fetcher = fetcher.with_timeout(StdDuration::from_millis(ms));
        }
        for path in &self.aia_tls_root {
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
        if let Some(dir) = trust.dir() {
            fetcher = fetcher.with_dir(dir.join("fetched"));
        }
        Ok(Some(Arc::new(fetcher)))
    }
}

/// RFC 3339, or whole seconds since 1970 as `openssl -attime` takes them.
pub fn parse_instant(s: &str) -> Result<OffsetDateTime, String> {
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

/// Refuses an `--endpoint` or `--server` that is not an http:// or https:// URL before any
/// request: reqwest would call `127.0.0.1:8700` a "builder error", and a fetch would retry
/// `file:///etc/passwd` until its deadline.
pub fn check_http_url(option: &str, url: &str) -> Result<(), CliError> {
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    match scheme {
        Some(s) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => Ok(()),
        Some(s) => Err(CliError::Usage(format!(
            "{option} {url:?} is a {s}:// URL; only http:// and https:// are fetched"
        ))),
        None => Err(CliError::Usage(format!(
            "{option} {url:?} is not a URL: write http://{url} or https://{url}"
        ))),
    }
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
    fn http_url_needs_an_http_or_https_scheme() {
        for ok in ["http://127.0.0.1:8700", "HTTPS://licence.internal/"] {
            assert!(check_http_url("--server", ok).is_ok(), "{ok}");
        }
        for bad in ["127.0.0.1:8700", "file:///etc/passwd", "ftp://host/", ""] {
            let e = check_http_url("--endpoint", bad).unwrap_err();
            assert_eq!(e.kind(), "usage", "{bad}");
        }
    }
}
