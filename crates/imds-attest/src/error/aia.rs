//! Why a missing intermediate could not be fetched, or a fetched one was not used.

use std::fmt;

use super::{echoed, Error};

/// Why nothing usable came from an AIA caIssuers URL (the HTTP fetcher's own refusals first,
/// before any request, then what the answer was).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AiaFetchReason {
    /// Not an `http` or `https` URL.
    Scheme,
    /// The URL carries a user name or password (`user@host`).
    Userinfo,
    /// The URL carries a query or a fragment.
    QueryOrFragment,
    /// The URL cannot be read, is longer than
    /// [`MAX_AIA_URL_BYTES`](crate::aia::MAX_AIA_URL_BYTES), or has a path a server could read
    /// as another (`.` or `..` segments, a backslash, a percent-encoded dot, slash or backslash).
    Malformed,
    /// The host (with its port, and path for `www.microsoft.com`) is not on the allow list.
    HostNotAllowed {
        /// `host[:port]` as the URL names it.
        host: String,
    },
    /// The server answered a redirect, which is never followed.
    Redirect {
        /// The HTTP status.
        status: u16,
        /// Its Location header, if any.
        location: String,
    },
    /// The server answered another status than 200.
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The answer is larger than the limit.
    TooLarge {
        /// The limit, in bytes.
        max: usize,
    },
    /// No full answer within the time limit.
    Timeout {
        /// The limit, in milliseconds.
        millis: u64,
    },
    /// The connection failed.
    Connect {
        /// The client's message.
        message: String,
    },
    /// The TLS handshake of an `https` URL failed: most often, the server's certificate
    /// does not chain to a TLS root the fetcher trusts (the platform's, or ones added with
    /// `HttpFetcher::with_tls_roots`).
    Tls {
        /// `host[:port]` as the URL names it.
        host: String,
        /// The TLS library's message.
        message: String,
    },
    /// A verification would need more fetches than allowed.
    TooManyFetches {
        /// The limit.
        max: usize,
    },
    /// A fetch from this URL failed a short while ago; not retried yet.
    RecentlyFailed {
        /// Seconds until it is tried again.
        retry_in_secs: u64,
    },
}

impl fmt::Display for AiaFetchReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AiaFetchReason::Scheme => f.write_str("only http and https URLs are fetched"),
            AiaFetchReason::Userinfo => f.write_str("a URL with a user name (user@) is refused"),
            AiaFetchReason::QueryOrFragment => {
                f.write_str("a URL with a query or a fragment is refused")
            }
            AiaFetchReason::Malformed => f.write_str("the URL cannot be read"),
            AiaFetchReason::HostNotAllowed { host } => {
                write!(f, "host {} is not on the AIA allow list", echoed(host))
            }
            AiaFetchReason::Redirect { status, location } => {
                let location = echoed(&format!("{location:?}")).to_string();
                write!(
                    f,
                    "the server answered {status} (redirect to {location}), and redirects are \
                     never followed"
                )
            }
            AiaFetchReason::Status { status } => write!(f, "the server answered {status}"),
            AiaFetchReason::TooLarge { max } => {
                write!(f, "the answer is larger than {max} bytes")
            }
            AiaFetchReason::Timeout { millis } => {
                write!(f, "no complete answer within {millis} ms")
            }
            AiaFetchReason::Connect { message } => write!(f, "connection failed: {message}"),
            AiaFetchReason::Tls { host, message } => write!(
                f,
                "the TLS handshake with {host} failed: {message} (its certificate must chain to \
                 a platform TLS root)"
            ),
            AiaFetchReason::TooManyFetches { max } => write!(
                f,
                "the chain would need more than {max} fetched intermediates"
            ),
            AiaFetchReason::RecentlyFailed { retry_in_secs } => write!(
                f,
                "a fetch from this URL failed recently; not tried again for {retry_in_secs} s"
            ),
        }
    }
}

/// Why a fetched certificate was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchedReason {
    /// The answer is not one strict DER or PEM certificate.
    NotACertificate {
        /// The decoder's message.
        message: String,
    },
    /// It is not a CA (basicConstraints cA is not true).
    NotCa,
    /// Its subject is not the issuer asked for.
    SubjectMismatch {
        /// Its subject.
        subject: String,
    },
    /// Its subjectKeyIdentifier is not the child's authorityKeyIdentifier.
    KeyIdMismatch,
    /// The chain it completes fails the chain check.
    Chain {
        /// What the chain check said.
        error: Box<Error>,
    },
}

impl fmt::Display for FetchedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchedReason::NotACertificate { message } => {
                write!(f, "it is not a DER or PEM certificate ({message})")
            }
            FetchedReason::NotCa => f.write_str("it is not a CA certificate"),
            FetchedReason::SubjectMismatch { subject } => {
                write!(
                    f,
                    "its subject is \"{}\", not the issuer asked for",
                    echoed(subject)
                )
            }
            FetchedReason::KeyIdMismatch => f.write_str(
                "its subjectKeyIdentifier is not the authorityKeyIdentifier of the certificate \
                 it should have issued",
            ),
            FetchedReason::Chain { error } => {
                write!(f, "the chain it completes does not verify: {error}")
            }
        }
    }
}
