//! The one error type of the crate.
//!
//! Every variant says what was wrong, with the values involved, and its message says what to do
//! about it where there is something to do. [`Error::kind`] gives a stable machine-readable name.

use std::fmt;

use time::OffsetDateTime;

use crate::cloud::Cloud;

/// Why a document, a trust file or a verification was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The input is larger than any attested document, checked before decoding.
    InputTooLarge {
        /// Its size in bytes (or a lower bound when reading stopped early).
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The input is none of the accepted forms (IMDS JSON, base64, PEM, DER).
    UnrecognisedInput {
        /// What the input looked like.
        detail: String,
    },
    /// The IMDS JSON wrapper is malformed.
    Envelope {
        /// What was wrong with it.
        detail: String,
    },
    /// The IMDS JSON wrapper names an encoding other than `pkcs7`.
    UnsupportedEncoding {
        /// The `encoding` value found.
        encoding: String,
    },
    /// The base64 text (bare, in PEM or in the JSON `signature`) does not decode.
    Base64 {
        /// The decoder's complaint.
        detail: String,
    },
    /// The PKCS#7 bytes are not strict DER of the expected ASN.1 structure.
    Der {
        /// Which structure was being read.
        what: &'static str,
        /// The decoder's complaint.
        detail: String,
    },
    /// The ContentInfo holds something other than SignedData.
    NotSignedData {
        /// The content type found (name or dotted OID).
        content_type: String,
    },
    /// The document's structure is valid DER but not what an attested document may be.
    Structure {
        /// What rule it broke.
        detail: String,
    },
    /// The SignedData has no attached content (a detached signature).
    DetachedContent,
    /// The number of SignerInfos is not exactly one.
    SignerCount {
        /// How many there were.
        count: usize,
    },
    /// No embedded certificate matches the SignerInfo's signer identifier.
    SignerCertificateNotFound {
        /// The signer identifier, readable.
        sid: String,
    },
    /// A digest algorithm that is not SHA-256, SHA-384 or SHA-512 (or a combined OID of those).
    UnsupportedDigestAlgorithm {
        /// Name or dotted OID.
        algorithm: String,
    },
    /// A signature algorithm other than RSA PKCS#1 v1.5 or ECDSA, or one that disagrees with the
    /// digest algorithm or the key.
    UnsupportedSignatureAlgorithm {
        /// Name or dotted OID, and why it was refused.
        algorithm: String,
    },
    /// The signer's public key is too weak or of an unsupported kind.
    WeakKey {
        /// Subject of the certificate holding the key.
        subject: String,
        /// The key, e.g. `RSA-1024`.
        key: String,
    },
    /// The signed attributes are present but wrong.
    SignedAttributes {
        /// What was wrong.
        detail: String,
    },
    /// The signature does not verify over the content with the signer certificate's key.
    BadSignature {
        /// Subject of the signer certificate.
        signer: String,
    },
    /// None of the signer's DNS names belongs to an allowed cloud.
    SignerName {
        /// The DNS names found (SAN dNSNames, or subject CNs when there is no SAN extension).
        found: Vec<String>,
        /// The clouds that were allowed.
        allowed: Vec<Cloud>,
    },
    /// The trust store holds no trust anchor for the signer's cloud.
    NoTrustAnchors {
        /// The cloud the signer's name belongs to.
        cloud: Cloud,
    },
    /// The chain cannot be completed to a trust anchor: an issuer is missing.
    UntrustedIssuer {
        /// Subject of the certificate whose issuer was not found.
        subject: String,
        /// The issuer it names.
        issuer: String,
        /// The cloud whose anchors were tried.
        cloud: Cloud,
    },
    /// A certificate in the chain had expired at the verification time.
    CertificateExpired {
        /// Its subject.
        subject: String,
        /// Its notAfter.
        not_after: OffsetDateTime,
        /// The verification time.
        at: OffsetDateTime,
    },
    /// A certificate in the chain was not yet valid at the verification time.
    CertificateNotYetValid {
        /// Its subject.
        subject: String,
        /// Its notBefore.
        not_before: OffsetDateTime,
        /// The verification time.
        at: OffsetDateTime,
    },
    /// The chain failed another check (signature, CA constraint, path length, weak algorithm).
    Chain {
        /// Subject of the certificate at fault.
        subject: String,
        /// Its depth (0 is the signer).
        depth: u32,
        /// OpenSSL's verify code.
        code: i32,
        /// OpenSSL's reason.
        reason: String,
    },
    /// The signed content is not valid claims JSON.
    Claims {
        /// What was wrong.
        detail: String,
    },
    /// A JSON object in the content names the same key twice.
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// A timestamp in the content is malformed or impossible.
    Timestamp {
        /// `createdOn` or `expiresOn`.
        field: &'static str,
        /// The text found.
        value: String,
        /// What was wrong.
        detail: String,
    },
    /// The document's nonce is not the one expected.
    NonceMismatch {
        /// The nonce expected.
        expected: String,
        /// The nonce in the document.
        found: String,
    },
    /// The document expired before the verification time (beyond the allowed skew).
    DocumentExpired {
        /// Its expiresOn.
        expires_on: OffsetDateTime,
        /// The verification time.
        at: OffsetDateTime,
    },
    /// The document was created after the verification time (beyond the allowed skew).
    DocumentNotYetValid {
        /// Its createdOn.
        created_on: OffsetDateTime,
        /// The verification time.
        at: OffsetDateTime,
    },
    /// The document is older than the configured maximum age.
    DocumentTooOld {
        /// Its createdOn.
        created_on: OffsetDateTime,
        /// Its age at the verification time, in seconds.
        age_seconds: i64,
        /// The maximum allowed, in seconds.
        max_age_seconds: u64,
    },
    /// A trust file (PEM) could not be used.
    TrustFile {
        /// Where it came from.
        source: String,
        /// What was wrong.
        detail: String,
    },
    /// A nonce to ask IMDS for is not 1 to 32 ASCII letters and digits.
    InvalidNonce {
        /// The nonce given.
        nonce: String,
    },
    /// Fetching from IMDS failed: unreachable, too slow, or a malformed answer.
    Fetch {
        /// What happened.
        detail: String,
    },
    /// IMDS answered with a status that is not retried (400, 404, 405...).
    ImdsStatus {
        /// The HTTP status.
        status: u16,
        /// The body, on one line.
        body: String,
    },
    /// IMDS kept returning a document for another nonce (a cached one).
    StaleDocument {
        /// The nonce asked for.
        asked: String,
        /// The nonce in the last document returned.
        found: String,
        /// Requests made.
        attempts: u32,
    },
    /// OpenSSL failed for a reason that is not the document's fault.
    Crypto {
        /// What was being done.
        context: &'static str,
        /// OpenSSL's error stack.
        detail: String,
    },
}

impl Error {
    /// A stable, machine-readable name for the variant (`"bad_signature"`, `"nonce_mismatch"`…).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InputTooLarge { .. } => "input_too_large",
            Error::UnrecognisedInput { .. } => "unrecognised_input",
            Error::Envelope { .. } => "envelope",
            Error::UnsupportedEncoding { .. } => "unsupported_encoding",
            Error::Base64 { .. } => "base64",
            Error::Der { .. } => "der",
            Error::NotSignedData { .. } => "not_signed_data",
            Error::Structure { .. } => "structure",
            Error::DetachedContent => "detached_content",
            Error::SignerCount { .. } => "signer_count",
            Error::SignerCertificateNotFound { .. } => "signer_certificate_not_found",
            Error::UnsupportedDigestAlgorithm { .. } => "unsupported_digest_algorithm",
            Error::UnsupportedSignatureAlgorithm { .. } => "unsupported_signature_algorithm",
            Error::WeakKey { .. } => "weak_key",
            Error::SignedAttributes { .. } => "signed_attributes",
            Error::BadSignature { .. } => "bad_signature",
            Error::SignerName { .. } => "signer_name",
            Error::NoTrustAnchors { .. } => "no_trust_anchors",
            Error::UntrustedIssuer { .. } => "untrusted_issuer",
            Error::CertificateExpired { .. } => "certificate_expired",
            Error::CertificateNotYetValid { .. } => "certificate_not_yet_valid",
            Error::Chain { .. } => "chain",
            Error::Claims { .. } => "claims",
            Error::DuplicateKey { .. } => "duplicate_key",
            Error::Timestamp { .. } => "timestamp",
            Error::NonceMismatch { .. } => "nonce_mismatch",
            Error::DocumentExpired { .. } => "document_expired",
            Error::DocumentNotYetValid { .. } => "document_not_yet_valid",
            Error::DocumentTooOld { .. } => "document_too_old",
            Error::TrustFile { .. } => "trust_file",
            Error::InvalidNonce { .. } => "invalid_nonce",
            Error::Fetch { .. } => "fetch",
            Error::ImdsStatus { .. } => "imds_status",
            Error::StaleDocument { .. } => "stale_document",
            Error::Crypto { .. } => "crypto",
        }
    }

    pub(crate) fn der(what: &'static str, err: der::Error) -> Self {
        Error::Der {
            what,
            detail: err.to_string(),
        }
    }

    pub(crate) fn crypto(context: &'static str, err: openssl::error::ErrorStack) -> Self {
        Error::Crypto {
            context,
            detail: err.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InputTooLarge { size, max } => write!(
                f,
                "input of {size} bytes is larger than the {max} bytes an attested document can \
                 take; is this the right file?"
            ),
            Error::UnrecognisedInput { detail } => write!(
                f,
                "input is not an attested document ({detail}); give the IMDS JSON response, \
                 its base64 signature, PEM or DER"
            ),
            Error::Envelope { detail } => write!(
                f,
                "malformed IMDS response JSON: {detail}; expected \
                 {{\"encoding\":\"pkcs7\",\"signature\":\"<base64>\"}}"
            ),
            Error::UnsupportedEncoding { encoding } => write!(
                f,
                "IMDS response has encoding {encoding:?}; only \"pkcs7\" is supported"
            ),
            Error::Base64 { detail } => write!(f, "invalid base64 in the signature: {detail}"),
            Error::Der { what, detail } => {
                write!(f, "malformed PKCS#7: {what} is not strict DER: {detail}")
            }
            Error::NotSignedData { content_type } => {
                write!(f, "PKCS#7 content type is {content_type}, not signedData")
            }
            Error::Structure { detail } => write!(f, "not an attested document: {detail}"),
            Error::DetachedContent => write!(
                f,
                "the signature is detached: an attested document carries its JSON content inside"
            ),
            Error::SignerCount { count } => write!(
                f,
                "the document has {count} SignerInfos; an attested document has exactly one"
            ),
            Error::SignerCertificateNotFound { sid } => write!(
                f,
                "no embedded certificate matches the signer identifier ({sid})"
            ),
            Error::UnsupportedDigestAlgorithm { algorithm } => write!(
                f,
                "digest algorithm {algorithm} is not accepted (only SHA-256, SHA-384, SHA-512)"
            ),
            Error::UnsupportedSignatureAlgorithm { algorithm } => {
                write!(f, "signature algorithm not accepted: {algorithm}")
            }
            Error::WeakKey { subject, key } => write!(
                f,
                "certificate \"{subject}\" has a {key} key; RSA keys need 2048 bits or more and \
                 EC keys P-256 or P-384"
            ),
            Error::SignedAttributes { detail } => write!(f, "bad signed attributes: {detail}"),
            Error::BadSignature { signer } => write!(
                f,
                "the signature does not verify with the key of \"{signer}\": the content or the \
                 signature was altered, or another key signed it"
            ),
            Error::SignerName { found, allowed } => {
                let allowed: Vec<String> = allowed
                    .iter()
                    .map(|c| format!("{} ({})", c.domain(), c))
                    .collect();
                write!(
                    f,
                    "signer names [{}] are not under any allowed cloud domain: {}",
                    found.join(", "),
                    allowed.join(", ")
                )
            }
            Error::NoTrustAnchors { cloud } => write!(
                f,
                "the trust store has no root for cloud {cloud} ({})",
                cloud.domain()
            ),
            Error::UntrustedIssuer {
                subject,
                issuer,
                cloud,
            } => write!(
                f,
                "certificate \"{subject}\" is issued by \"{issuer}\", which does not chain to a \
                 {cloud} root in the trust store"
            ),
            Error::CertificateExpired {
                subject,
                not_after,
                at,
            } => write!(
                f,
                "certificate \"{subject}\" expired at {} ({} before the verification time {})",
                rfc3339(*not_after),
                human_duration(*at - *not_after),
                rfc3339(*at)
            ),
            Error::CertificateNotYetValid {
                subject,
                not_before,
                at,
            } => write!(
                f,
                "certificate \"{subject}\" is valid only from {} ({} after the verification time \
                 {})",
                rfc3339(*not_before),
                human_duration(*not_before - *at),
                rfc3339(*at)
            ),
            Error::Chain {
                subject,
                depth,
                code,
                reason,
            } => write!(
                f,
                "certificate chain rejected at depth {depth} (\"{subject}\"): {reason} \
                 (OpenSSL code {code})"
            ),
            Error::Claims { detail } => write!(f, "invalid claims in the signed content: {detail}"),
            Error::DuplicateKey { key } => write!(
                f,
                "the signed content gives the key {key:?} twice; an ambiguous document is rejected"
            ),
            Error::Timestamp {
                field,
                value,
                detail,
            } => write!(
                f,
                "timeStamp.{field} {value:?} is invalid: {detail} \
                 (expected MM/DD/YY HH:MM:SS +HHMM)"
            ),
            Error::NonceMismatch { expected, found } => write!(
                f,
                "nonce {found:?} in the document is not the expected {expected:?}; \
                 the document may be replayed or served from IMDS's cache: request a new one"
            ),
            Error::DocumentExpired { expires_on, at } => write!(
                f,
                "document expired at {} ({} before the verification time {}); request a new one",
                rfc3339(*expires_on),
                human_duration(*at - *expires_on),
                rfc3339(*at)
            ),
            Error::DocumentNotYetValid { created_on, at } => write!(
                f,
                "document is created at {}, {} after the verification time {}; check the clocks",
                rfc3339(*created_on),
                human_duration(*created_on - *at),
                rfc3339(*at)
            ),
            Error::DocumentTooOld {
                created_on,
                age_seconds,
                max_age_seconds,
            } => write!(
                f,
                "document created at {} is {age_seconds} s old, more than the maximum age of \
                 {max_age_seconds} s; request a new one",
                rfc3339(*created_on)
            ),
            Error::TrustFile { source, detail } => {
                write!(f, "cannot use trust file {source}: {detail}")
            }
            Error::InvalidNonce { nonce } => write!(
                f,
                "nonce {nonce:?} is not 1 to 32 ASCII letters and digits, which IMDS requires"
            ),
            Error::Fetch { detail } => write!(f, "cannot fetch from IMDS: {detail}"),
            Error::ImdsStatus { status, body } => write!(f, "IMDS answered {status}: {body}"),
            Error::StaleDocument {
                asked,
                found,
                attempts,
            } => write!(
                f,
                "IMDS kept serving a cached document (nonce {found:?}) instead of one for \
                 {asked:?} after {attempts} requests; try again later"
            ),
            Error::Crypto { context, detail } => write!(f, "OpenSSL failed {context}: {detail}"),
        }
    }
}

impl std::error::Error for Error {}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

fn human_duration(d: time::Duration) -> String {
    let secs = d.whole_seconds().unsigned_abs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (hours, rem) = (rem / 3600, rem % 3600);
    let (minutes, seconds) = (rem / 60, rem % 60);
    if days > 0 {
        format!("{days}d {hours}h {minutes}m")
    } else if hours > 0 {
        format!("{hours}h {minutes}m {seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m {seconds}s")
    } else {
        format!("{seconds}s")
    }
}
