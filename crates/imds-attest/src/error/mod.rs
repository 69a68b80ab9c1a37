//! The one error type of the crate, its typed reasons, and the stable kind names.
//!
//! Every variant says what was wrong, with the values involved, in the library's own terms (no
//! command-line flags: the CLI adds its advice). [`Error::kind`] gives an [`ErrorKind`], whose
//! snake_case names are the contract of every face: the CLI's JSON, the HTTP service and the
//! Python exceptions.
//!
//! The files: [`Error`] and its kind here, [`ErrorKind`] in `kinds.rs` (its table in
//! `kinds.md`), the messages in `messages.rs`, and the typed reasons by concept: `input.rs`
//! (accepted forms, IMDS JSON wrapper, base64, DER), `cms.rs` (structure, algorithms, key,
//! signed attributes), `signer.rs` (names, profile), `chain.rs` (chain, trust files),
//! `claims.rs` (claims, timestamps), `rules.rs` (claim rules) and `aia.rs` (fetched
//! intermediates); `echo.rs` bounds what a message echoes of a document's names.

mod aia;
mod chain;
mod claims;
mod cms;
mod echo;
mod input;
mod kinds;
mod messages;
mod rules;
mod signer;

use time::OffsetDateTime;

use crate::cloud::Cloud;

pub use aia::{AiaFetchReason, FetchedReason};
pub use chain::{ChainReason, TrustFileReason};
pub use claims::{ClaimsReason, TimestampReason};
pub use cms::{AlgorithmReason, KeyReason, SignedAttributesReason, StructureReason};
pub use echo::{echoed, MAX_ECHOED_CHARS};
pub use input::{Base64Reason, DerReason, EnvelopeReason, InputReason, TlvProblem};
pub use kinds::ErrorKind;
pub use rules::{RuleField, RulesReason};
pub use signer::{NameReason, ProfileReason};

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
        reason: InputReason,
    },
    /// The IMDS JSON wrapper is malformed.
    Envelope {
        /// What was wrong with it.
        reason: EnvelopeReason,
    },
    /// The IMDS JSON wrapper names an encoding other than `pkcs7`.
    UnsupportedEncoding {
        /// The `encoding` value found.
        encoding: String,
    },
    /// The base64 text (bare, in PEM or in the JSON `signature`) does not decode.
    Base64 {
        /// What was wrong.
        reason: Base64Reason,
    },
    /// The PKCS#7 bytes are not strict DER of the expected ASN.1 structure.
    Der {
        /// Which structure was being read.
        what: &'static str,
        /// What was wrong.
        reason: DerReason,
    },
    /// The ContentInfo holds something other than SignedData.
    NotSignedData {
        /// The content type found (name or dotted OID).
        content_type: String,
    },
    /// The document's structure is valid DER but not what an attested document may be.
    Structure {
        /// What rule it broke.
        reason: StructureReason,
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
    /// A digest algorithm that is not SHA-256, SHA-384 or SHA-512 (or, with an RSA signer, a
    /// sha*WithRSAEncryption OID of those).
    UnsupportedDigestAlgorithm {
        /// Name or dotted OID.
        algorithm: String,
        /// Why it was refused.
        reason: AlgorithmReason,
    },
    /// A signature algorithm other than RSA PKCS#1 v1.5 or ECDSA, or one that disagrees with the
    /// digest algorithm or the key.
    UnsupportedSignatureAlgorithm {
        /// Name or dotted OID.
        algorithm: String,
        /// Why it was refused.
        reason: AlgorithmReason,
    },
    /// The signer's public key is too weak, too costly, or of an unsupported kind.
    WeakKey {
        /// Subject of the certificate holding the key.
        subject: String,
        /// What is wrong with the key.
        reason: KeyReason,
    },
    /// The signed attributes are present but wrong.
    SignedAttributes {
        /// What was wrong.
        reason: SignedAttributesReason,
    },
    /// The signature does not verify over the content with the signer certificate's key.
    BadSignature {
        /// Subject of the signer certificate.
        signer: String,
    },
    /// The signer certificate's DNS names are not one allowed cloud's: none belongs to an
    /// allowed cloud, or they name more than one cloud.
    SignerName {
        /// The DNS names found (SAN dNSNames, or the subject CN when there is no SAN extension).
        found: Vec<String>,
        /// The clouds the names belong to, when they name more than one; otherwise the
        /// clouds that were allowed.
        allowed: Vec<Cloud>,
    },
    /// A DNS name of the signer certificate is not a plain host name.
    InvalidSignerName {
        /// The name, as written in the certificate.
        name: String,
        /// What is wrong with it.
        reason: NameReason,
    },
    /// The signer certificate is not shaped like a TLS server certificate that may sign.
    SignerProfile {
        /// Its subject.
        subject: String,
        /// What is wrong with it.
        reason: ProfileReason,
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
        /// Whether that certificate is self-signed: a root that is not among the anchors.
        self_signed: bool,
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
        /// What failed.
        reason: ChainReason,
    },
    /// The signed content is not valid claims JSON.
    Claims {
        /// What was wrong.
        reason: ClaimsReason,
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
        reason: TimestampReason,
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
    /// The document matches a deny rule of the claim rules.
    DeniedByRule {
        /// The rule's name.
        rule: String,
    },
    /// Allow rules exist and the document matches none of them.
    NoRuleMatched {
        /// The allow rule with the most matching fields (the first of those on a tie).
        nearest: String,
        /// The first of its fields that the document does not match.
        field: RuleField,
        /// The values that field accepts.
        expected: Vec<String>,
        /// The document's value (`None`: the claim is absent).
        found: Option<String>,
    },
    /// The document's nonce is not a challenge the store issued: forged, altered, issued
    /// elsewhere (or, for a store that keeps issued nonces, forgotten after it expired).
    NonceUnknown {
        /// The nonce in the document.
        nonce: String,
    },
    /// The document's nonce was issued, but has expired.
    NonceExpired {
        /// The nonce in the document.
        nonce: String,
    },
    /// The document's nonce was redeemed before.
    NonceAlreadyUsed {
        /// The nonce in the document.
        nonce: String,
    },
    /// The same document (the same signed content) was accepted before.
    DocumentAlreadyUsed {
        /// The SHA-256 of the signed content, in upper-case hex.
        content_sha256: String,
    },
    /// The store that redeems nonces or remembers documents could not answer: the document is
    /// refused (fail closed).
    StoreUnavailable {
        /// Which store (`sqlite:/var/lib/licences.db`, `redis://...`).
        store: String,
        /// Why it could not answer.
        message: String,
    },
    /// A trust file (PEM) could not be used.
    TrustFile {
        /// Where it came from.
        source: String,
        /// What was wrong.
        reason: TrustFileReason,
    },
    /// A claim rules file could not be used.
    RulesFile {
        /// Where it came from (its path, as the caller names it).
        source: String,
        /// The line at fault, from 1.
        line: usize,
        /// What was wrong.
        reason: RulesReason,
    },
    /// A missing intermediate could not be fetched from the AIA caIssuers URL its child
    /// names (the verifier was given an [`IntermediateFetcher`](crate::IntermediateFetcher)).
    IntermediateFetch {
        /// The URL (as the certificate names it).
        url: String,
        /// The issuer asked for.
        issuer: String,
        /// Why nothing usable was fetched.
        reason: AiaFetchReason,
    },
    /// A fetched intermediate was not used: it is not the issuer asked for, or the chain it
    /// completes does not pass the chain check.
    FetchedIntermediateRefused {
        /// Where it was fetched from.
        url: String,
        /// The issuer asked for.
        issuer: String,
        /// Why it was refused.
        reason: FetchedReason,
    },
    /// OpenSSL failed for a reason that is not the document's fault.
    Crypto {
        /// What was being done.
        context: &'static str,
        /// OpenSSL's error stack.
        message: String,
    },
}

impl Error {
    /// The stable, machine-readable kind of the failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InputTooLarge { .. } => ErrorKind::InputTooLarge,
            Error::UnrecognisedInput { .. } => ErrorKind::UnrecognisedInput,
            Error::Envelope { .. } => ErrorKind::Envelope,
            Error::UnsupportedEncoding { .. } => ErrorKind::UnsupportedEncoding,
            Error::Base64 { .. } => ErrorKind::Base64,
            Error::Der { .. } => ErrorKind::Der,
            Error::NotSignedData { .. } => ErrorKind::NotSignedData,
            Error::Structure { .. } => ErrorKind::Structure,
            Error::DetachedContent => ErrorKind::DetachedContent,
            Error::SignerCount { .. } => ErrorKind::SignerCount,
            Error::SignerCertificateNotFound { .. } => ErrorKind::SignerCertificateNotFound,
            Error::UnsupportedDigestAlgorithm { .. } => ErrorKind::UnsupportedDigestAlgorithm,
            Error::UnsupportedSignatureAlgorithm { .. } => ErrorKind::UnsupportedSignatureAlgorithm,
            Error::WeakKey { .. } => ErrorKind::WeakKey,
            Error::SignedAttributes { .. } => ErrorKind::SignedAttributes,
            Error::BadSignature { .. } => ErrorKind::BadSignature,
            Error::SignerName { .. } => ErrorKind::SignerName,
            Error::InvalidSignerName { .. } => ErrorKind::InvalidSignerName,
            Error::SignerProfile { .. } => ErrorKind::SignerProfile,
            Error::NoTrustAnchors { .. } => ErrorKind::NoTrustAnchors,
            Error::UntrustedIssuer { .. } => ErrorKind::UntrustedIssuer,
            Error::CertificateExpired { .. } => ErrorKind::CertificateExpired,
            Error::CertificateNotYetValid { .. } => ErrorKind::CertificateNotYetValid,
            Error::Chain { .. } => ErrorKind::Chain,
            Error::Claims { .. } => ErrorKind::Claims,
            Error::DuplicateKey { .. } => ErrorKind::DuplicateKey,
            Error::Timestamp { .. } => ErrorKind::Timestamp,
            Error::NonceMismatch { .. } => ErrorKind::NonceMismatch,
            Error::DocumentExpired { .. } => ErrorKind::DocumentExpired,
            Error::DocumentNotYetValid { .. } => ErrorKind::DocumentNotYetValid,
            Error::DocumentTooOld { .. } => ErrorKind::DocumentTooOld,
            Error::DeniedByRule { .. } => ErrorKind::DeniedByRule,
            Error::NoRuleMatched { .. } => ErrorKind::NoRuleMatched,
            Error::NonceUnknown { .. } => ErrorKind::NonceUnknown,
            Error::NonceExpired { .. } => ErrorKind::NonceExpired,
            Error::NonceAlreadyUsed { .. } => ErrorKind::NonceAlreadyUsed,
            Error::DocumentAlreadyUsed { .. } => ErrorKind::DocumentAlreadyUsed,
            Error::StoreUnavailable { .. } => ErrorKind::StoreUnavailable,
            Error::TrustFile { .. } => ErrorKind::TrustFile,
            Error::IntermediateFetch { .. } => ErrorKind::IntermediateFetch,
            Error::FetchedIntermediateRefused { .. } => ErrorKind::FetchedIntermediateRefused,
            Error::RulesFile { .. } => ErrorKind::RulesFile,
            Error::Crypto { .. } => ErrorKind::Crypto,
        }
    }

    /// [`Error::DocumentAlreadyUsed`] for a content hash, in the upper-case hex the verifier
    /// uses elsewhere: for [`Redeemer`](crate::Redeemer) implementations.
    pub fn document_already_used(content_sha256: &[u8; 32]) -> Self {
        let content_sha256 = content_sha256.iter().map(|b| format!("{b:02X}")).collect();
        Error::DocumentAlreadyUsed { content_sha256 }
    }

    pub(crate) fn der(what: &'static str, err: der::Error) -> Self {
        Error::Der {
            what,
            reason: DerReason::Decoder {
                message: err.to_string(),
            },
        }
    }

    pub(crate) fn crypto(context: &'static str, err: openssl::error::ErrorStack) -> Self {
        Error::Crypto {
            context,
            message: err.to_string(),
        }
    }

    pub(crate) fn structure(reason: StructureReason) -> Self {
        Error::Structure { reason }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table in the docs (`kinds.md`) and the book's first kinds table list every kind,
    /// with its meaning, in the order of [`ErrorKind::ALL`]: adding or renaming a kind without
    /// them fails here. (The other faces' kinds are checked by the CLI's test of every face.)
    #[test]
    fn every_kind_is_in_the_documented_tables() {
        let names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        let rows = |text: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.strip_prefix("| `"))
                .filter_map(|l| l.split_once('`'))
                .map(|(name, _)| name.to_owned())
                .collect()
        };
        assert_eq!(rows(include_str!("kinds.md")), names, "src/error/kinds.md");
        let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/src/errors.md");
        let readme = std::fs::read_to_string(readme).unwrap_or_default();
        // The first table under its heading, up to the first line that is not a table row.
        let table: String = readme
            .split("| kind | meaning |")
            .nth(1)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with('|'))
            .map(|l| format!("{l}\n"))
            .collect();
        let readme_rows = rows(&table);
        assert_eq!(
            readme_rows, names,
            "docs/src/errors.md's table of error kinds"
        );
        for kind in ErrorKind::ALL {
            assert_eq!(kind.as_str().parse::<ErrorKind>(), Ok(kind));
        }
    }
}
