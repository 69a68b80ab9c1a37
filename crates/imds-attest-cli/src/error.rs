//! The CLI's own error type: why a command stopped, what to print about it, and the one
//! mapping of outcomes to exit statuses.

use std::io;
use std::process::ExitCode;

use imds_attest::Error;
use imds_attest_store::StoreError;

/// Why a command stopped.
pub enum CliError {
    /// clap refused the command line; it renders its own message.
    Clap(clap::Error),
    /// Another usage problem: a bad value, an unreadable file.
    Usage(String),
    /// The claim rules file is not valid rules (exit status 2, kind `rules_file`).
    RulesFile(Error),
    /// The document was checked and rejected.
    Rejected(Rejection),
    /// `inspect` could not read the input as an attested document.
    NotADocument(Error),
    /// `fetch` got no document from IMDS.
    FetchFailed {
        /// The fetch error's machine-readable kind.
        kind: String,
        /// Its message.
        message: String,
    },
    /// `challenge`: the store could not record the nonce (kind `store_unavailable`). A store
    /// that cannot be opened is a usage error instead; during `verify`, a store that cannot
    /// answer is the library's rejection.
    StoreFailed(StoreError),
    /// The result could not be written (a closed pipe, a full disk).
    Output(io::Error),
    /// `trust check`: these certificates expire soon or have expired (exit status 1).
    TrustCheck(Vec<String>),
    /// `attest`: the licence service refused (its kind) or could not be reached; `serve`: the
    /// service failed while serving.
    Remote {
        /// The service's kind, or `service_unreachable`, `service`.
        kind: String,
        /// What happened, with the HTTP status when there was one.
        message: String,
    },
}

/// A rejected document, with what the CLI knows about how trust was set up.
pub struct Rejection {
    /// The library's reason.
    pub error: Error,
    /// Whether `--root` replaced the built-in roots.
    pub roots_given: bool,
    /// Whether `--fetch-intermediates` was given.
    pub fetching: bool,
}

/// The exit status of an outcome; the only place statuses are chosen.
pub fn exit_status(outcome: &Result<(), CliError>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(
            CliError::Rejected(_)
            | CliError::NotADocument(_)
            | CliError::FetchFailed { .. }
            | CliError::StoreFailed(_)
            | CliError::TrustCheck(_)
            | CliError::Remote { .. },
        ) => ExitCode::from(1),
        Err(
            CliError::Clap(_) | CliError::Usage(_) | CliError::RulesFile(_) | CliError::Output(_),
        ) => ExitCode::from(2),
    }
}

impl CliError {
    /// A rejection of the document by the library.
    pub fn rejected(error: Error, roots_given: bool) -> Self {
        CliError::Rejected(Rejection {
            error,
            roots_given,
            fetching: false,
        })
    }

    /// This error, noting whether `--fetch-intermediates` was given (for the hint).
    pub fn fetching(mut self, fetching: bool) -> Self {
        if let CliError::Rejected(r) = &mut self {
            r.fetching = fetching;
        }
        self
    }

    /// The machine-readable kind, as `--json` gives it: the library error's kind, or `usage`.
    pub fn kind(&self) -> String {
        match self {
            CliError::Clap(_) | CliError::Usage(_) => "usage".into(),
            CliError::Rejected(r) => r.error.kind().to_string(),
            CliError::NotADocument(e) | CliError::RulesFile(e) => e.kind().to_string(),
            CliError::FetchFailed { kind, .. } | CliError::Remote { kind, .. } => kind.clone(),
            CliError::StoreFailed(e) => e.kind().to_string(),
            CliError::Output(_) => "output".into(),
            CliError::TrustCheck(_) => "trust_expiring".into(),
        }
    }

    /// What went wrong, without the `imds-attest: ...:` prefix of the text line.
    pub fn message(&self) -> String {
        match self {
            CliError::Clap(e) => clap_message(e),
            CliError::Usage(message)
            | CliError::FetchFailed { message, .. }
            | CliError::Remote { message, .. } => message.clone(),
            CliError::Rejected(r) => r.message(),
            CliError::NotADocument(e) | CliError::RulesFile(e) => e.to_string(),
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
            CliError::FetchFailed { .. } => format!("imds-attest: fetch failed: {message}"),
            CliError::StoreFailed(_) => format!("imds-attest: no challenge issued: {message}"),
            CliError::Output(_) => format!("imds-attest: cannot write the output: {message}"),
            CliError::TrustCheck(lines) => lines
                .iter()
                .map(|l| format!("imds-attest: expiring: {l}"))
                .collect::<Vec<_>>()
                .join("\n"),
            CliError::Clap(_)
            | CliError::Usage(_)
            | CliError::RulesFile(_)
            | CliError::Remote { .. } => {
                format!("imds-attest: {message}")
            }
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
                "certificate \"{subject}\" is issued by \"{issuer}\", which does not chain to a \
                 root given with --root"
            ),
            e => e.to_string(),
        }
    }

    /// Trust advice belongs here, not in the library: only the CLI knows its options, and an
    /// installed binary has no checkout whose certs/ could be updated.
    fn hint(&self) -> Option<String> {
        let hint = self.trust_hint();
        match (hint, crate::trust::fetch_hint(&self.error, self.fetching)) {
            (Some(hint), Some(fetch)) => Some(format!("{hint}; {fetch}")),
            (Some(hint), None) => Some(hint),
            (None, fetch) => fetch.map(str::to_owned),
        }
    }

    fn trust_hint(&self) -> Option<String> {
        match &self.error {
            Error::UntrustedIssuer {
                subject,
                self_signed: true,
                ..
            } => Some(format!(
                "\"{subject}\" is a self-signed root: if you trust it, pass --root with its \
                 certificate; see the README's trust section"
            )),
            Error::UntrustedIssuer { issuer, .. } if self.roots_given => Some(format!(
                "pass --intermediate with the certificate of \"{issuer}\", or --root if it is a \
                 root (its caIssuers URL is shown by imds-attest inspect); see the README's trust \
                 section"
            )),
            Error::UntrustedIssuer { issuer, .. } => Some(format!(
                "pass --intermediate with the certificate of \"{issuer}\" (its caIssuers URL is \
                 shown by imds-attest inspect); see the README's trust section"
            )),
            Error::NoTrustAnchors { cloud, .. } => Some(format!(
                "pass --root with a root certificate of cloud {cloud}; see the README's trust \
                 section"
            )),
            _ => None,
        }
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
