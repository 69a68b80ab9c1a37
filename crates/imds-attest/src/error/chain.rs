//! Why a chain or a trust file was refused.

use std::fmt;

use super::echoed;

/// Why a chain was refused, beyond a missing issuer or a validity date.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainReason {
    /// An issuer that is not a CA.
    NotCa,
    /// A path length constraint exceeded.
    PathLength,
    /// A key too weak below the anchor (RSA under 2048 bits).
    WeakKey,
    /// A signature algorithm too weak below the anchor (MD5, SHA-1).
    WeakSignatureAlgorithm,
    /// A certificate's signature does not verify with its issuer's key.
    BadSignature,
    /// A chain longer than [`MAX_INTERMEDIATES`](crate::MAX_INTERMEDIATES) allows.
    TooLong,
    /// A critical extension OpenSSL does not handle.
    UnhandledCriticalExtension,
    /// An issuer whose keyUsage forbids signing certificates.
    KeyUsage,
    /// A malformed or inconsistent extension.
    InvalidExtension,
    /// A name outside a CA's name constraints.
    NameConstraints,
    /// A policy constraint violated.
    Policy,
    /// Anything else OpenSSL reports.
    Other {
        /// OpenSSL's reason.
        message: String,
    },
}

/// Why a trust file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustFileReason {
    /// It holds no PEM certificate.
    NoCertificate,
    /// OpenSSL cannot read it.
    Unreadable {
        /// OpenSSL's message.
        message: String,
    },
    /// A certificate is not strict DER.
    NotStrictDer {
        /// The decoder's message.
        message: String,
    },
    /// A certificate's names could not be found.
    NoNames,
    /// A certificate in a folder of intermediates is not a CA.
    NotCa {
        /// Its subject.
        subject: String,
    },
    /// A certificate in a folder of roots is not self-signed.
    NotSelfSigned {
        /// Its subject.
        subject: String,
    },
}

impl fmt::Display for ChainReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChainReason::NotCa => "an issuer is not a CA",
            ChainReason::PathLength => "a path length constraint is exceeded",
            ChainReason::WeakKey => "a key is too weak (RSA needs 2048 bits or more)",
            ChainReason::WeakSignatureAlgorithm => {
                "a certificate is signed with a weak algorithm (MD5 or SHA-1)"
            }
            ChainReason::BadSignature => "a certificate's signature does not verify",
            ChainReason::TooLong => "the chain is longer than allowed",
            ChainReason::UnhandledCriticalExtension => "an unhandled critical extension",
            ChainReason::KeyUsage => "an issuer's keyUsage does not allow signing certificates",
            ChainReason::InvalidExtension => "an extension is invalid or inconsistent",
            ChainReason::NameConstraints => "a name violates a CA's name constraints",
            ChainReason::Policy => "a certificate policy constraint is violated",
            ChainReason::Other { message } => message,
        })
    }
}

impl fmt::Display for TrustFileReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustFileReason::NoCertificate => f.write_str("it holds no PEM certificate"),
            TrustFileReason::Unreadable { message } => f.write_str(message),
            TrustFileReason::NotStrictDer { message } => {
                write!(f, "a certificate is not strict DER: {message}")
            }
            TrustFileReason::NoNames => f.write_str("a certificate's names could not be found"),
            TrustFileReason::NotCa { subject } => write!(
                f,
                "\"{}\" is not a CA certificate, so it cannot be an intermediate",
                echoed(subject)
            ),
            TrustFileReason::NotSelfSigned { subject } => write!(
                f,
                "\"{}\" is not self-signed, so it cannot be a root (put it in intermediates/)",
                echoed(subject)
            ),
        }
    }
}
