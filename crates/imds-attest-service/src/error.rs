//! The service's own error type: why it could not start or stopped.

use std::fmt;
use std::path::PathBuf;

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
            ServiceError::Config { file, key, message } => {
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
