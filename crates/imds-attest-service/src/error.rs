//! The service's own error type: why it could not start or stopped.

use std::fmt;
use std::path::PathBuf;

use imds_attest::ErrorKind;
use imds_attest_store::StoreErrorKind;

imds_attest::error_kinds! {
    /// The kinds of [`ServiceError`] that are the service's own; a trust file, a rules file or
    /// a store URL that cannot be used has the kind every face gives it
    /// ([`ConfigProblem`]).
    pub enum ServiceErrorKind {
        /// A config key's value is wrong, or the file cannot be read or parsed.
        Config = "config",
        /// The listen address could not be bound.
        Bind = "bind",
        /// Serving failed after start (the listener broke), or the runtime could not start.
        Serve = "serve",
    }
}

/// What kind of problem a config key has: one of its own, or a file or URL it names that the
/// shared setup or the store refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// The value itself (kind `config`).
    Value,
    /// A trust or rules file it names (kind `trust_file` or `rules_file`).
    File(ErrorKind),
    /// The store URL (kind `store_url`, or `store_unavailable` for a file the store refuses).
    Store(StoreErrorKind),
}

/// Why the service could not start, or stopped serving.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServiceError {
    /// The config file is wrong: the key at fault and what to do about it.
    Config {
        /// The config file.
        file: PathBuf,
        /// The key at fault (`store.url`, `trust.roots`), or `(file)` for the file itself.
        key: String,
        /// What kind of problem.
        problem: ConfigProblem,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The listen address could not be bound.
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Serving failed after start (the listener broke), or the runtime could not start.
    Serve(std::io::Error),
}

impl ServiceError {
    /// The stable kind name: the service's own ([`ServiceErrorKind`]), or for a file or URL
    /// the config names, the one every face gives it (`trust_file`, `rules_file`,
    /// `store_url`).
    pub fn kind(&self) -> &'static str {
        match self {
            ServiceError::Config { problem, .. } => match problem {
                ConfigProblem::Value => ServiceErrorKind::Config.as_str(),
                ConfigProblem::File(kind) => kind.as_str(),
                ConfigProblem::Store(kind) => kind.as_str(),
            },
            ServiceError::Bind { .. } => ServiceErrorKind::Bind.as_str(),
            ServiceError::Serve(_) => ServiceErrorKind::Serve.as_str(),
        }
    }

    /// Whether the operator must fix the configuration (the CLI's exit status 2).
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            ServiceError::Config { .. } | ServiceError::Bind { .. }
        )
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::Config {
                file, key, message, ..
            } => {
                write!(f, "config {}: {key}: {message}", file.display())
            }
            ServiceError::Bind { addr, source } => write!(
                f,
                "cannot listen on {addr}: {source}; set `listen` in the config to a free local \
                 address"
            ),
            ServiceError::Serve(e) => write!(f, "the service stopped: {e}"),
        }
    }
}

impl std::error::Error for ServiceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServiceError::Bind { source, .. } | ServiceError::Serve(source) => Some(source),
            ServiceError::Config { .. } => None,
        }
    }
}
