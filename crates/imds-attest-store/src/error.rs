//! The one error type of the crate and its typed reasons.

use std::fmt;
use std::path::PathBuf;

use time::OffsetDateTime;

/// Why a store could not be opened or could not answer. A caller must treat every one as a
/// refusal: a store that fails never says yes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL given to [`open`](crate::open) is not one it accepts.
    Url {
        /// What is wrong with it.
        reason: UrlReason,
    },
    /// The backend failed: the file, the database or the server could not do what was asked.
    /// Nothing is known to have happened (a redemption may or may not have been recorded; if
    /// it was, the nonce is spent, never accepted twice).
    Unavailable {
        /// Which backend.
        backend: Backend,
        /// Where it is ([`Store::describe`](crate::Store::describe): no password).
        location: String,
        /// What it was asked.
        operation: Operation,
        /// What went wrong, as the backend's library says it.
        message: String,
    },
    /// The memory store holds as many unexpired entries as it may: it refuses new ones rather
    /// than evict live challenges.
    Full {
        /// Its capacity, in entries (nonces and documents together).
        capacity: usize,
        /// What it was asked.
        operation: Operation,
    },
    /// The SQLite file (or its directory) belongs to another user, who could change or reset
    /// it.
    Owner {
        /// The file or directory.
        path: PathBuf,
        /// Its owner's user id.
        owner: u32,
        /// This process's effective user id.
        user: u32,
    },
    /// The SQLite file may be read or written by others than its owner, or is not a file (a
    /// symbolic link, a directory, a device).
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its mode (`st_mode`, permission bits and file type).
        mode: u32,
    },
    /// A challenge would expire at or before the time it is issued.
    Expiry {
        /// The expiry asked for.
        expires_at: OffsetDateTime,
        /// The issue time.
        now: OffsetDateTime,
    },
    /// The operating system's random number generator failed.
    Randomness {
        /// What it said.
        message: String,
    },
}

impl StoreError {
    /// The failure's kind: [`StoreErrorKind::StoreUrl`] for a URL [`open`](crate::open) does
    /// not accept (the configuration is wrong; retrying cannot help), else
    /// [`StoreErrorKind::StoreUnavailable`], the name the verifier gives any store failure
    /// during a redemption
    /// ([`ErrorKind::StoreUnavailable`](imds_attest::ErrorKind::StoreUnavailable)).
    pub fn kind(&self) -> StoreErrorKind {
        match self {
            StoreError::Url { .. } => StoreErrorKind::StoreUrl,
            StoreError::Unavailable { .. }
            | StoreError::Full { .. }
            | StoreError::Permissions { .. }
            | StoreError::Owner { .. }
            | StoreError::Expiry { .. }
            | StoreError::Randomness { .. } => StoreErrorKind::StoreUnavailable,
        }
    }
}

impl StoreError {
    /// The same failure, said of `operation` (a backend's remember, when it was a redemption).
    pub(crate) fn during(self, operation: Operation) -> Self {
        match self {
            StoreError::Unavailable {
                backend,
                location,
                message,
                ..
            } => StoreError::Unavailable {
                backend,
                location,
                operation,
                message,
            },
            StoreError::Full { capacity, .. } => StoreError::Full {
                capacity,
                operation,
            },
            other => other,
        }
    }
}

imds_attest::error_kinds! {
    /// The stable names of a store's failures, as every face (the CLI's JSON, the service's
    /// startup line, Python's `.kind`) gives them.
    ///
    /// ```
    /// let e = imds_attest_store::open("postgres-ish://x").unwrap_err();
    /// assert_eq!(e.kind().as_str(), "store_url");
    /// ```
    pub enum StoreErrorKind {
        /// The store URL is not one [`open`](crate::open) accepts.
        StoreUrl = "store_url",
        /// The store could not be opened or could not answer: refused, never accepted. The
        /// same name and meaning as the verifier's
        /// [`ErrorKind::StoreUnavailable`](imds_attest::ErrorKind::StoreUnavailable).
        StoreUnavailable = "store_unavailable",
    }
}

/// The backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// `memory:`.
    Memory,
    /// `sqlite:PATH`.
    Sqlite,
    /// `redis://` and `rediss://`.
    Redis,
}

/// What a store was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Opening it (SQLite: creating the file, the schema; Redis: setting up TLS).
    Open,
    /// Issuing a challenge: reading (or creating) the store's key
    /// ([`Store::challenge_key`](crate::Store::challenge_key)).
    Issue,
    /// [`Challenges::redeem`](crate::Challenges::redeem): recording a nonce used.
    Redeem,
    /// [`Store::remember`](crate::Store::remember).
    Remember,
}

/// What is wrong with a store URL. No reason carries a password.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlReason {
    /// No `scheme:` at the start.
    NoScheme,
    /// A scheme other than `memory`, `sqlite`, `redis` and `rediss`.
    UnknownScheme {
        /// The scheme found.
        scheme: String,
    },
    /// `memory:` followed by something.
    MemoryArguments,
    /// `sqlite:` with no path.
    MissingPath,
    /// `sqlite://...`: the path follows `sqlite:` directly (`sqlite:/var/lib/x.db`).
    SqliteAuthority,
    /// `redis:` or `rediss:` not followed by `//`.
    NoAuthority,
    /// No host in a Redis URL.
    MissingHost,
    /// The port is not a number from 1 to 65535.
    Port {
        /// The text found.
        found: String,
    },
    /// The path is not `/` and a database number from 0 to 65535.
    Database {
        /// The text found.
        found: String,
    },
    /// The user or password holds a `%` not followed by two hexadecimal digits, or does not
    /// decode to UTF-8.
    PercentEncoding,
    /// A query parameter this scheme does not take.
    UnknownParameter {
        /// Its name.
        name: String,
    },
    /// A query parameter given twice.
    DuplicateParameter {
        /// Its name.
        name: &'static str,
    },
    /// A query parameter with a value it cannot take.
    ParameterValue {
        /// Its name.
        name: &'static str,
        /// The value found.
        value: String,
        /// What it may be.
        expected: &'static str,
    },
}

/// Why a nonce is not one IMDS accepts: the library's [`NonceSyntax`](imds_attest::NonceSyntax).
pub type NonceReason = imds_attest::NonceSyntax;

impl std::error::Error for StoreError {}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Url { reason } => write!(f, "store URL refused: {reason}"),
            StoreError::Unavailable {
                backend,
                location,
                operation,
                message,
            } => write!(
                f,
                "{backend} store {location} unavailable ({operation}): {message}; refusing"
            ),
            StoreError::Full {
                capacity,
                operation,
            } => write!(
                f,
                "memory store full ({operation}): {capacity} unexpired entries; use a shorter \
                 TTL, or a sqlite: or redis:// store"
            ),
            StoreError::Permissions { path, mode } => write!(
                f,
                "{} has mode {:o}: the store must be a regular file that only its owner may \
                 read or write (chmod 600)",
                path.display(),
                mode
            ),
            StoreError::Owner { path, owner, user } => write!(
                f,
                "{} belongs to user {owner}, not to this process's user {user}: another user \
                 could change or reset the store; use a path of this user's",
                path.display()
            ),
            StoreError::Expiry { expires_at, now } => write!(
                f,
                "a challenge expiring at {expires_at} is not valid when issued at {now}"
            ),
            StoreError::Randomness { message } => write!(f, "no OS randomness: {message}"),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Memory => "memory",
            Backend::Sqlite => "SQLite",
            Backend::Redis => "Redis",
        })
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Open => "open",
            Operation::Issue => "issue",
            Operation::Redeem => "redeem",
            Operation::Remember => "remember",
        })
    }
}

impl fmt::Display for UrlReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlReason::NoScheme => f.write_str(
                "no scheme: use memory:, sqlite:PATH, redis://host:port/db or rediss://...",
            ),
            UrlReason::UnknownScheme { scheme } => write!(
                f,
                "unknown scheme {scheme:?}: use memory:, sqlite:PATH, redis:// or rediss://"
            ),
            UrlReason::MemoryArguments => f.write_str("memory: takes nothing after the colon"),
            UrlReason::MissingPath => f.write_str("sqlite: needs a file path (sqlite:PATH)"),
            UrlReason::SqliteAuthority => f.write_str(
                "sqlite: takes a path directly (sqlite:/var/lib/x.db or sqlite:x.db), not //",
            ),
            UrlReason::NoAuthority => f.write_str("redis: needs // then the host"),
            UrlReason::MissingHost => f.write_str("no host"),
            UrlReason::Port { found } => {
                write!(f, "port {found:?} is not a number from 1 to 65535")
            }
            UrlReason::Database { found } => write!(
                f,
                "path {found:?} is not / then a database number from 0 to 65535"
            ),
            UrlReason::PercentEncoding => {
                f.write_str("the user or password is not valid percent-encoded UTF-8")
            }
            UrlReason::UnknownParameter { name } => {
                write!(f, "unknown parameter {name:?}")
            }
            UrlReason::DuplicateParameter { name } => {
                write!(f, "parameter {name:?} given twice")
            }
            UrlReason::ParameterValue {
                name,
                value,
                expected,
            } => write!(f, "{name}={value:?}: expected {expected}"),
        }
    }
}
