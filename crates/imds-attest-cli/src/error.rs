//! The CLI's own error type: why a command stopped, what to print about it, and the one
//! mapping of outcomes to exit statuses.

use std::io;
use std::process::ExitCode;

use imds_attest::imds::FetchError;
use imds_attest::{echoed, AiaFetchReason, Error};
use imds_attest_setup::SetupError;
use imds_attest_store::StoreError;

imds_attest::error_kinds! {
    /// The kinds only the command line produces; every other kind it reports is the library's,
    /// the IMDS client's, the setup's, a store's or the licence service's own.
    pub enum CliKind {
        /// The command line is wrong: a bad value, a missing option, an unreadable document.
        Usage = "usage",
        /// The result could not be written (a closed pipe, a full disk).
        Output = "output",
        /// `trust check`: a certificate of a usable chain expires soon or has expired.
        TrustExpiring = "trust_expiring",
        /// `attest`: the licence service could not be reached.
        ServiceUnreachable = "service_unreachable",
        /// `attest`: the licence service answered something that is not a verdict.
        Service = "service",
    }
}

/// Why a command stopped.
pub enum CliError {
    /// clap refused the command line; it renders its own message.
    Clap(clap::Error),
    /// Another usage problem: a bad value, an unreadable document.
    Usage(String),
    /// A trust or rules file could not be used (kind `trust_file` or `rules_file`, exit
    /// status 2): the shared setup's error, as every face reports it.
    Setup(SetupError),
    /// The `--store` could not be opened (kind `store_url` or `store_unavailable`, exit
    /// status 2): the command line names a store that cannot be used.
    StoreOpen(StoreError),
    /// The document was checked and rejected.
    /// (Boxed: the other outcomes need not carry its size.)
    Rejected(Box<Rejection>),
    /// `inspect` could not read the input as an attested document.
    NotADocument(Error),
    /// `fetch` got no document from IMDS.
    FetchFailed(FetchError),
    /// `challenge`: the store could not record the nonce (kind `store_unavailable`); during
    /// `verify`, a store that cannot answer is the library's rejection.
    StoreFailed(StoreError),
    /// The result could not be written (a closed pipe, a full disk).
    Output(io::Error),
    /// `trust check`: these certificates expire soon or have expired (exit status 1).
    TrustCheck(Vec<String>),
    /// `attest`: the licence service refused, with the kind it answered (`None`: it gave
    /// none, kind `service`).
    Remote {
        /// The service's kind, as it sent it.
        kind: Option<String>,
        /// What happened, with the HTTP status.
        message: String,
    },
    /// `attest`: the licence service could not be reached (kind `service_unreachable`).
    Unreachable(String),
    /// `serve`: the service could not start (exit status 2 for its configuration) or failed
    /// while serving (1), with the service's kind.
    Service(imds_attest_service::ServiceError),
}

/// A rejected document, with what the CLI knows about how trust was set up.
pub struct Rejection {
    /// The library's reason.
    pub error: Error,
    /// Whether `--root` replaced the built-in roots.
    pub roots_given: bool,
    /// Whether `--fetch-intermediates` was given.
    pub fetching: bool,
    /// Whether `--at` could help: `verify` of a file without it (a captured document is
    /// checked as of now), not a document `fetch` has just got.
    pub at_could_help: bool,
    /// The subject of the document's signer, once the document was parsed: a certificate
    /// other than the signer missing its issuer is an intermediate, whose issuer is most
    /// likely a root.
    pub signer: Option<String>,
}

/// The exit status of an outcome; the only place statuses are chosen.
pub fn exit_status(outcome: &Result<(), CliError>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // The reader stopped reading (`| head`): what it wanted was written.
        Err(e) if e.is_closed_pipe() => ExitCode::SUCCESS,
        Err(
            CliError::Rejected(_)
            | CliError::NotADocument(_)
            | CliError::FetchFailed(_)
            | CliError::StoreFailed(_)
            | CliError::TrustCheck(_)
            | CliError::Remote { .. }
            | CliError::Unreachable(_),
        ) => ExitCode::from(1),
        Err(CliError::Service(e)) if !e.is_config() => ExitCode::from(1),
        Err(
            CliError::Clap(_)
            | CliError::Usage(_)
            | CliError::Setup(_)
            | CliError::StoreOpen(_)
            | CliError::Service(_)
            | CliError::Output(_),
        ) => ExitCode::from(2),
    }
}

impl CliError {
    /// A rejection of the document by the library.
    pub fn rejected(error: Error, roots_given: bool) -> Self {
        CliError::Rejected(Box::new(Rejection {
            error,
            roots_given,
            fetching: false,
            at_could_help: false,
            signer: None,
        }))
    }

    /// This error, noting the subject of the document's signer (for the trust hint).
    pub fn signed_by(mut self, signer: String) -> Self {
        if let CliError::Rejected(r) = &mut self {
            r.signer = Some(signer);
        }
        self
    }

    /// This error, noting whether `--at` could help (for the hint of an expired document).
    pub fn at_could_help(mut self, could_help: bool) -> Self {
        if let CliError::Rejected(r) = &mut self {
            r.at_could_help = could_help;
        }
        self
    }

    /// This error, noting whether `--fetch-intermediates` was given (for the hint).
    pub fn fetching(mut self, fetching: bool) -> Self {
        if let CliError::Rejected(r) = &mut self {
            r.fetching = fetching;
        }
        self
    }

    /// Whether standard output was closed by its reader (`| head`): not worth a line, as
    /// for any filter in a pipeline.
    pub fn is_closed_pipe(&self) -> bool {
        matches!(self, CliError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }

    /// The machine-readable kind, as `--json` gives it: the kind of the crate whose error
    /// this is, or the CLI's own ([`CliKind`]).
    pub fn kind(&self) -> &str {
        match self {
            CliError::Clap(_) | CliError::Usage(_) => CliKind::Usage.as_str(),
            CliError::Setup(e) => e.kind().as_str(),
            CliError::StoreOpen(e) | CliError::StoreFailed(e) => e.kind().as_str(),
            CliError::Rejected(r) => r.error.kind().as_str(),
            CliError::NotADocument(e) => e.kind().as_str(),
            CliError::FetchFailed(e) => e.kind().as_str(),
            CliError::Output(_) => CliKind::Output.as_str(),
            CliError::TrustCheck(_) => CliKind::TrustExpiring.as_str(),
            CliError::Remote {
                kind: Some(kind), ..
            } => kind,
            CliError::Remote { kind: None, .. } => CliKind::Service.as_str(),
            CliError::Service(e) => e.kind(),
            CliError::Unreachable(_) => CliKind::ServiceUnreachable.as_str(),
        }
    }

    /// What went wrong, without the `imds-attest: ...:` prefix of the text line.
    pub fn message(&self) -> String {
        match self {
            CliError::Clap(e) => clap_message(e),
            CliError::Usage(message)
            | CliError::Remote { message, .. }
            | CliError::Unreachable(message) => message.clone(),
            CliError::Service(e) => e.to_string(),
            CliError::Setup(e) => e.to_string(),
            CliError::StoreOpen(e) => format!("cannot open the --store: {e}"),
            CliError::Rejected(r) => r.message(),
            CliError::NotADocument(e) => e.to_string(),
            CliError::FetchFailed(e) => e.to_string(),
            CliError::StoreFailed(e) => e.to_string(),
            CliError::Output(e) => e.to_string(),
            CliError::TrustCheck(lines) => lines.join("\n"),
        }
    }

    /// What to do about it, when the CLI knows.
    pub fn hint(&self) -> Option<String> {
        match self {
            CliError::Rejected(r) => r.hint(),
            _ => None,
        }
    }

    /// The line for standard error (clap's errors are rendered by clap instead).
    pub fn text_line(&self) -> String {
        let message = self.message();
        let message = match self.hint() {
            Some(hint) => format!("{message}; {hint}"),
            None => message,
        };
        match self {
            CliError::Rejected(_) => format!("imds-attest: rejected: {message}"),
            CliError::NotADocument(_) => format!("imds-attest: cannot inspect: {message}"),
            CliError::FetchFailed(_) => format!("imds-attest: fetch failed: {message}"),
            CliError::StoreFailed(_) => format!("imds-attest: no challenge issued: {message}"),
            CliError::Output(_) => format!("imds-attest: cannot write the output: {message}"),
            CliError::TrustCheck(lines) => lines
                .iter()
                .map(|l| format!("imds-attest: expiring: {l}"))
                .collect::<Vec<_>>()
                .join("\n"),
            CliError::Clap(_)
            | CliError::Usage(_)
            | CliError::Setup(_)
            | CliError::StoreOpen(_)
            | CliError::Remote { .. }
            | CliError::Unreachable(_) => format!("imds-attest: {message}"),
            // The service's line names its kind, as Python's str() of an exception does: there
            // is no --json for it to be read from.
            CliError::Service(e) => format!("imds-attest: {}: {message}", e.kind()),
        }
    }
}

impl Rejection {
    /// The library's message, except that a chain failure under `--root` names the roots
    /// given, not the cloud's built-in ones they replaced.
    fn message(&self) -> String {
        match &self.error {
            Error::UntrustedIssuer {
                subject, issuer, ..
            } if self.roots_given => format!(
                "certificate \"{}\" is issued by \"{}\", which does not chain to a root given \
                 with --root",
                echoed(subject),
                echoed(issuer)
            ),
            e => e.to_string(),
        }
    }

    /// Trust advice belongs here, not in the library: only the CLI knows its options, and an
    /// installed binary has no checkout whose certs/ could be updated.
    fn hint(&self) -> Option<String> {
        if let Error::DocumentExpired { .. } = &self.error {
            return self.at_could_help.then(|| {
                "or, for a captured document, verify it as of the time it was captured with \
                 --at TIME (its createdOn is shown by imds-attest inspect)"
                    .to_owned()
            });
        }
        let hint = self.trust_hint();
        // A root is not fetched from a caIssuers URL: no advice to fetch it.
        let fetch =
            fetch_hint(&self.error, self.fetching).filter(|_| !self.issuer_is_likely_root());
        match (hint, fetch) {
            (Some(hint), Some(fetch)) => Some(format!("{hint}; {fetch}")),
            (Some(hint), None) => Some(hint),
            (None, fetch) => fetch.map(str::to_owned),
        }
    }

    /// Whether the missing issuer is most likely a root: the certificate missing it is not
    /// the signer but an intermediate (Azure's chains are signer, intermediate, root). Under
    /// `--root`, the hint already offers both.
    fn issuer_is_likely_root(&self) -> bool {
        match &self.error {
            Error::UntrustedIssuer {
                subject,
                self_signed: false,
                ..
            } => !self.roots_given && self.signer.as_ref().is_some_and(|signer| signer != subject),
            _ => false,
        }
    }

    fn trust_hint(&self) -> Option<String> {
        match &self.error {
            Error::UntrustedIssuer {
                subject,
                self_signed: true,
                ..
            } => Some(format!(
                "\"{}\" is a self-signed root: if you trust it, pass --root with its \
                 certificate; see docs/src/trust.md",
                echoed(subject)
            )),
            Error::UntrustedIssuer { issuer, .. } if self.roots_given => Some(format!(
                "pass --intermediate with the certificate of \"{}\", or --root if it is a \
                 root (its caIssuers URL is shown by imds-attest inspect); see docs/src/trust.md",
                echoed(issuer)
            )),
            Error::UntrustedIssuer {
                subject, issuer, ..
            } if self.issuer_is_likely_root() => Some(format!(
                "\"{}\" is an intermediate, so \"{}\" is most likely a root: if you trust it, \
                 pass --root with its certificate (or --intermediate if it is another \
                 intermediate); see docs/src/trust.md",
                echoed(subject),
                echoed(issuer)
            )),
            Error::UntrustedIssuer { issuer, .. } => Some(format!(
                "pass --intermediate with the certificate of \"{}\" (its caIssuers URL is \
                 shown by imds-attest inspect); see docs/src/trust.md",
                echoed(issuer)
            )),
            Error::NoTrustAnchors { cloud, .. } => Some(format!(
                "pass --root with a root certificate of cloud {cloud}; see docs/src/trust.md"
            )),
            _ => None,
        }
    }
}

/// The fetching advice for a chain failure: fetching is available when it was not asked for,
/// and the allow list is the CLI's `--aia-allow` (the library names no flag).
fn fetch_hint(error: &Error, fetching: bool) -> Option<&'static str> {
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

/// clap's message on one line, without its `error: ` prefix, usage and help tip. A first line
/// ending in `:` is followed by the indented list it announces (the missing arguments).
fn clap_message(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let mut lines = rendered.lines();
    let first = lines.next().unwrap_or_default();
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    if message.ends_with(':') {
        for item in lines.take_while(|l| l.starts_with("  ")) {
            message.push(' ');
            message.push_str(item.trim());
        }
    }
    message
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::{BTreeMap, BTreeSet};

    use imds_attest::imds::ImdsErrorKind;
    use imds_attest::ErrorKind;
    use imds_attest_service::{HttpErrorKind, ServiceErrorKind};
    use imds_attest_store::StoreErrorKind;

    use super::CliKind;

    /// Names two faces share because they mean the same thing there: a store that could not
    /// answer, whether a verification or the store itself reports it.
    const SAME_MEANING: &[&str] = &["store_unavailable"];

    /// Every kind of every face (the CLI's JSON, the service's answers and startup line,
    /// Python's `.kind`), with the enum that names it.
    fn every_kind() -> Vec<(&'static str, &'static str)> {
        let mut all = Vec::new();
        all.extend(ErrorKind::ALL.map(|k| (k.as_str(), "ErrorKind")));
        all.extend(ImdsErrorKind::ALL.map(|k| (k.as_str(), "ImdsErrorKind")));
        all.extend(StoreErrorKind::ALL.map(|k| (k.as_str(), "StoreErrorKind")));
        all.extend(CliKind::ALL.map(|k| (k.as_str(), "CliKind")));
        all.extend(HttpErrorKind::ALL.map(|k| (k.as_str(), "HttpErrorKind")));
        all.extend(ServiceErrorKind::ALL.map(|k| (k.as_str(), "ServiceErrorKind")));
        all
    }

    /// The first column of every table in the book's "Errors and their kinds" chapter.
    fn readme_rows() -> Vec<String> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/src/errors.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let section = readme.split("# Errors and their kinds\n").nth(1).unwrap();
        let section = section.split("\n# ").next().unwrap();
        section
            .lines()
            .filter_map(|l| l.strip_prefix("| `")?.split_once('`'))
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    #[test]
    fn kinds_of_every_face_are_documented_once() {
        let rows = readme_rows();
        let mut seen = BTreeSet::new();
        let twice: Vec<&String> = rows.iter().filter(|r| !seen.insert(*r)).collect();
        assert!(twice.is_empty(), "README rows given twice: {twice:?}");
        let kinds = every_kind();
        let missing: Vec<_> = kinds
            .iter()
            .filter(|(name, _)| !seen.contains(&name.to_string()))
            .collect();
        assert!(
            missing.is_empty(),
            "kinds the README does not list: {missing:?}"
        );
        let stale: Vec<&String> = rows
            .iter()
            .filter(|r| !kinds.iter().any(|(name, _)| name == r))
            .collect();
        assert!(stale.is_empty(), "README rows that are no kind: {stale:?}");
    }

    #[test]
    fn no_kind_name_has_two_meanings_across_faces() {
        let mut owners: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, owner) in every_kind() {
            owners.entry(name).or_default().push(owner);
        }
        let clashing: Vec<_> = owners
            .iter()
            .filter(|(name, owners)| owners.len() > 1 && !SAME_MEANING.contains(name))
            .collect();
        assert!(clashing.is_empty(), "one name, several enums: {clashing:?}");
        for name in SAME_MEANING {
            assert!(owners.get(name).is_some_and(|o| o.len() > 1), "{name}");
        }
    }
}
