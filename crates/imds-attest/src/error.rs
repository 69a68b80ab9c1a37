//! The one error type of the crate, its typed reasons, and the stable kind names.
//!
//! Every variant says what was wrong, with the values involved, in the library's own terms (no
//! command-line flags: the CLI adds its advice). [`Error::kind`] gives an [`ErrorKind`], whose
//! snake_case names are the contract of every face: the CLI's JSON, the HTTP service and the
//! Python exceptions.

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
    /// The document's nonce was never issued by the challenge store, or was forgotten after
    /// it expired.
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

crate::error_kinds! {
    /// The stable, machine-readable name of a failure: the same snake_case names in the CLI's
    /// `--json` output (`"kind"`), the HTTP service and the Python exceptions. A name is never
    /// reused for another meaning; new kinds may be added.
    ///
    /// | kind | meaning |
    /// |---|---|
    #[doc = include_str!("kinds.md")]
    ///
    /// ```
    /// use imds_attest::ErrorKind;
    /// assert_eq!(ErrorKind::NonceMismatch.as_str(), "nonce_mismatch");
    /// assert_eq!("bad_signature".parse::<ErrorKind>(), Ok(ErrorKind::BadSignature));
    /// ```
    pub enum ErrorKind {
        /// [`Error::InputTooLarge`].
        InputTooLarge = "input_too_large",
        /// [`Error::UnrecognisedInput`].
        UnrecognisedInput = "unrecognised_input",
        /// [`Error::Envelope`].
        Envelope = "envelope",
        /// [`Error::UnsupportedEncoding`].
        UnsupportedEncoding = "unsupported_encoding",
        /// [`Error::Base64`].
        Base64 = "base64",
        /// [`Error::Der`].
        Der = "der",
        /// [`Error::NotSignedData`].
        NotSignedData = "not_signed_data",
        /// [`Error::Structure`].
        Structure = "structure",
        /// [`Error::DetachedContent`].
        DetachedContent = "detached_content",
        /// [`Error::SignerCount`].
        SignerCount = "signer_count",
        /// [`Error::SignerCertificateNotFound`].
        SignerCertificateNotFound = "signer_certificate_not_found",
        /// [`Error::UnsupportedDigestAlgorithm`].
        UnsupportedDigestAlgorithm = "unsupported_digest_algorithm",
        /// [`Error::UnsupportedSignatureAlgorithm`].
        UnsupportedSignatureAlgorithm = "unsupported_signature_algorithm",
        /// [`Error::WeakKey`].
        WeakKey = "weak_key",
        /// [`Error::SignedAttributes`].
        SignedAttributes = "signed_attributes",
        /// [`Error::BadSignature`].
        BadSignature = "bad_signature",
        /// [`Error::SignerName`].
        SignerName = "signer_name",
        /// [`Error::InvalidSignerName`].
        InvalidSignerName = "invalid_signer_name",
        /// [`Error::SignerProfile`].
        SignerProfile = "signer_profile",
        /// [`Error::NoTrustAnchors`].
        NoTrustAnchors = "no_trust_anchors",
        /// [`Error::UntrustedIssuer`].
        UntrustedIssuer = "untrusted_issuer",
        /// [`Error::CertificateExpired`].
        CertificateExpired = "certificate_expired",
        /// [`Error::CertificateNotYetValid`].
        CertificateNotYetValid = "certificate_not_yet_valid",
        /// [`Error::Chain`].
        Chain = "chain",
        /// [`Error::Claims`].
        Claims = "claims",
        /// [`Error::DuplicateKey`].
        DuplicateKey = "duplicate_key",
        /// [`Error::Timestamp`].
        Timestamp = "timestamp",
        /// [`Error::NonceMismatch`].
        NonceMismatch = "nonce_mismatch",
        /// [`Error::DocumentExpired`].
        DocumentExpired = "document_expired",
        /// [`Error::DocumentNotYetValid`].
        DocumentNotYetValid = "document_not_yet_valid",
        /// [`Error::DocumentTooOld`].
        DocumentTooOld = "document_too_old",
        /// [`Error::DeniedByRule`].
        DeniedByRule = "denied_by_rule",
        /// [`Error::NoRuleMatched`].
        NoRuleMatched = "no_rule_matched",
        /// [`Error::NonceUnknown`].
        NonceUnknown = "nonce_unknown",
        /// [`Error::NonceExpired`].
        NonceExpired = "nonce_expired",
        /// [`Error::NonceAlreadyUsed`].
        NonceAlreadyUsed = "nonce_already_used",
        /// [`Error::DocumentAlreadyUsed`].
        DocumentAlreadyUsed = "document_already_used",
        /// [`Error::StoreUnavailable`].
        StoreUnavailable = "store_unavailable",
        /// [`Error::TrustFile`].
        TrustFile = "trust_file",
        /// [`Error::RulesFile`].
        RulesFile = "rules_file",
        /// [`Error::Crypto`].
        Crypto = "crypto",
        /// A nonce to ask IMDS for is not 1 to 32 ASCII letters and digits (the `fetch` module).
        InvalidNonce = "invalid_nonce",
        /// IMDS could not be reached, was too slow, or answered something that is not a document
        /// (the `fetch` module).
        Fetch = "fetch",
        /// IMDS answered with a status that is not retried (the `fetch` module).
        ImdsStatus = "imds_status",
        /// IMDS kept serving a cached document for another nonce (the `fetch` module).
        StaleDocument = "stale_document",
        /// [`Error::IntermediateFetch`].
        IntermediateFetch = "intermediate_fetch",
        /// [`Error::FetchedIntermediateRefused`].
        FetchedIntermediateRefused = "fetched_intermediate_refused",
    }
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

/// Why the input is none of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputReason {
    /// Nothing at all.
    Empty,
    /// Only white space.
    WhiteSpace,
    /// Binary bytes that do not begin a DER SEQUENCE.
    BinaryNotDer,
    /// A PEM header line that is not `-----BEGIN <label>-----`.
    PemHeader {
        /// The line.
        line: String,
    },
    /// A PEM block of another kind than PKCS7 or CMS.
    PemLabel {
        /// Its label.
        label: String,
    },
    /// A PEM block without its END line.
    PemFooter {
        /// The line expected.
        footer: String,
    },
}

/// Why the IMDS JSON wrapper is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvelopeReason {
    /// It is not JSON (the parser's complaint).
    Syntax {
        /// serde_json's message.
        message: String,
    },
    /// A key appears twice.
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// It is JSON but not an object.
    NotObject,
    /// A key other than `encoding` and `signature`.
    UnexpectedKey {
        /// The key.
        key: String,
    },
    /// `encoding` or `signature` is missing.
    Missing {
        /// The key.
        key: &'static str,
    },
    /// `encoding` or `signature` is not a string.
    NotString {
        /// The key.
        key: &'static str,
    },
}

/// Why base64 text does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Base64Reason {
    /// The decoder refused it.
    Invalid {
        /// The decoder's message.
        message: String,
    },
    /// It decodes to no bytes.
    Empty,
}

/// Why bytes are not strict DER.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DerReason {
    /// The TLV walk that runs before any decoding refused the bytes at `offset`.
    Tlv {
        /// Where the offending tag or length begins.
        offset: usize,
        /// What is wrong there.
        problem: TlvProblem,
    },
    /// The ASN.1 decoder refused the bytes.
    Decoder {
        /// The decoder's message.
        message: String,
    },
}

/// A tag or length that strict DER forbids.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlvProblem {
    /// The input ends inside a tag or length.
    Truncated,
    /// A high tag number of more than 4 octets.
    TagTooLong,
    /// The indefinite length (BER).
    IndefiniteLength,
    /// The reserved length octet 0xFF.
    ReservedLength,
    /// A length of more than 4 octets.
    LengthTooLong,
    /// A length in more octets than needed.
    NonMinimalLength,
    /// A length that claims more bytes than remain.
    Overrun {
        /// The length claimed.
        length: usize,
        /// The bytes that remain.
        remaining: usize,
    },
    /// A value that runs past the end of its enclosing value.
    PastParent,
    /// Bytes after the one top-level value.
    Trailing {
        /// How many.
        count: usize,
    },
}

/// How a well-formed DER document differs from an attested document.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StructureReason {
    /// Constructed values nest deeper than [`MAX_DER_DEPTH`](crate::MAX_DER_DEPTH).
    TooDeep {
        /// Where.
        offset: usize,
    },
    /// A constructed value with more than [`MAX_DER_ELEMENTS`](crate::MAX_DER_ELEMENTS).
    TooManyElements {
        /// Where the first one too many begins.
        offset: usize,
    },
    /// A SignedData version other than 1 or 3.
    SignedDataVersion {
        /// The version found.
        version: String,
    },
    /// A SignerInfo version that does not fit its signer identifier (RFC 5652 5.3).
    SignerInfoVersion {
        /// The version found.
        version: String,
    },
    /// Encapsulated content of a type other than id-data.
    ContentType {
        /// The type found.
        content_type: String,
    },
    /// eContent that is not an OCTET STRING.
    ContentNotOctetString {
        /// The tag found.
        tag: String,
    },
    /// The signer's digest algorithm is not among `digestAlgorithms`.
    DigestNotListed {
        /// The signer's digest algorithm.
        algorithm: String,
    },
    /// More embedded certificates than [`MAX_EMBEDDED_CERTIFICATES`](crate::MAX_EMBEDDED_CERTIFICATES).
    TooManyCertificates {
        /// How many.
        count: usize,
    },
    /// An embedded certificate that is not an X.509 certificate.
    NotX509,
    /// More than one embedded certificate matches the signer identifier.
    AmbiguousSigner {
        /// How many match.
        count: usize,
        /// The signer identifier.
        sid: String,
    },
    /// The signer certificate has two subjectAltName extensions.
    TwoSubjectAltNames,
    /// A validity date beyond what can be represented.
    ValidityOutOfRange,
    /// The SignedData is not where ContentInfo puts it.
    Misplaced,
}

/// Why an algorithm identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlgorithmReason {
    /// Not an algorithm of the kind accepted there.
    NotAccepted,
    /// Parameters other than absent (or NULL where RFCs allow it).
    Parameters,
    /// A combined signature OID naming another hash than the digest algorithm.
    HashMismatch {
        /// The digest algorithm.
        digest: String,
    },
    /// A digest algorithm OID that names a signature algorithm of another kind than the
    /// signature algorithm.
    PairedWith {
        /// The signature algorithm.
        signature: String,
    },
    /// The signer certificate's key is not of the signature algorithm's kind.
    KeyMismatch {
        /// The kind of key the algorithm needs.
        needs: &'static str,
    },
}

/// What is wrong with a signer's key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyReason {
    /// An RSA modulus smaller than [`MIN_RSA_BITS`](crate::MIN_RSA_BITS).
    RsaTooSmall {
        /// Its size.
        bits: u32,
    },
    /// An RSA modulus larger than [`MAX_RSA_BITS`](crate::MAX_RSA_BITS).
    RsaTooLarge {
        /// Its size.
        bits: u32,
    },
    /// An RSA public exponent that is even, below 3 or above 2^32 - 1.
    RsaExponent {
        /// The exponent, in decimal.
        exponent: String,
    },
    /// An EC key on a curve other than P-256 or P-384.
    Curve {
        /// The curve's name.
        curve: String,
    },
}

/// What is wrong with signed attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignedAttributesReason {
    /// The message-digest attribute is not the digest of the content.
    DigestMismatch,
    /// An attribute holds no value or several.
    ValueCount,
    /// An attribute type appears twice.
    Duplicate,
    /// The SET OF is not in DER order.
    NotDerOrder,
    /// The content-type attribute is missing.
    ContentTypeMissing,
    /// The content-type attribute is not an OID.
    ContentTypeNotOid,
    /// The content-type attribute is not id-data.
    ContentTypeNotData {
        /// The type found.
        content_type: String,
    },
    /// The message-digest attribute is missing.
    DigestMissing,
    /// The message-digest attribute is not an OCTET STRING.
    DigestNotOctetString,
}

/// Why a DNS name of the signer is not a plain host name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameReason {
    /// A wildcard label.
    Wildcard,
    /// An empty label (two dots, or a leading or trailing dot).
    EmptyLabel,
    /// A character other than a letter, a digit, a hyphen and the dots between labels.
    Character,
    /// A label that begins or ends with a hyphen, or is longer than 63 characters.
    Label,
}

/// How the signer certificate differs from a TLS server certificate that may sign.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProfileReason {
    /// It is a CA (basicConstraints cA TRUE).
    Ca,
    /// Its keyUsage lacks digitalSignature.
    KeyUsage,
    /// Its extendedKeyUsage has neither serverAuth nor anyExtendedKeyUsage.
    ExtendedKeyUsage,
    /// No subjectAltName, and not exactly one subject common name.
    CommonNames {
        /// How many common names it has.
        count: usize,
    },
    /// An extension the profile reads does not decode.
    Extension {
        /// Which.
        name: &'static str,
    },
}

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

/// What is wrong with the signed claims JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimsReason {
    /// Not JSON (the parser's complaint).
    Syntax {
        /// serde_json's message.
        message: String,
    },
    /// JSON but not an object.
    NotObject,
    /// A required field is missing.
    Missing {
        /// The field.
        field: &'static str,
    },
    /// A known field is not a string.
    NotString {
        /// The field.
        field: &'static str,
    },
    /// `plan` is not an object.
    PlanNotObject,
    /// `timeStamp` is missing or not an object.
    NoTimeStamp,
    /// `expiresOn` is earlier than `createdOn`.
    ExpiresBeforeCreated,
}

/// Why a timestamp is malformed or impossible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampReason {
    /// Not 23 characters.
    Length,
    /// Not `MM/DD/YY HH:MM:SS +HHMM`.
    Format,
    /// No such month.
    Month,
    /// No such day in that month.
    Day,
    /// No such time of day.
    TimeOfDay,
    /// An offset out of range.
    Offset,
}

/// A claim a rule of the claim rules ([`Rules`](crate::Rules)) can name, in the order a rule's
/// fields are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RuleField {
    /// `subscription_id`: the claim `subscriptionId`.
    SubscriptionId,
    /// `vm_id`: the claim `vmId`.
    VmId,
    /// `plan_publisher`: the claim `plan.publisher`.
    PlanPublisher,
    /// `plan_product`: the claim `plan.product`.
    PlanProduct,
    /// `plan_name`: the claim `plan.name`.
    PlanName,
    /// `sku`: the claim `sku`.
    Sku,
    /// `license_type`: the claim `licenseType`.
    LicenseType,
    /// `region`: the region label of the signer's name
    /// ([`VerifiedDocument::region`](crate::VerifiedDocument::region)).
    Region,
    /// `cloud`: the signer's cloud (`public`, `usgov`, `china`, `germany`).
    Cloud,
}

impl RuleField {
    /// Every field, in the order they are compared.
    pub const ALL: [RuleField; 9] = [
        RuleField::SubscriptionId,
        RuleField::VmId,
        RuleField::PlanPublisher,
        RuleField::PlanProduct,
        RuleField::PlanName,
        RuleField::Sku,
        RuleField::LicenseType,
        RuleField::Region,
        RuleField::Cloud,
    ];

    /// The key that names it in a rules file (`subscription_id`).
    pub fn key(self) -> &'static str {
        match self {
            RuleField::SubscriptionId => "subscription_id",
            RuleField::VmId => "vm_id",
            RuleField::PlanPublisher => "plan_publisher",
            RuleField::PlanProduct => "plan_product",
            RuleField::PlanName => "plan_name",
            RuleField::Sku => "sku",
            RuleField::LicenseType => "license_type",
            RuleField::Region => "region",
            RuleField::Cloud => "cloud",
        }
    }
}

impl fmt::Display for RuleField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Why a claim rules file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RulesReason {
    /// Not TOML (the parser's complaint).
    Syntax {
        /// The parser's message.
        message: String,
    },
    /// A key the rules file does not define.
    UnknownKey {
        /// The key.
        key: String,
        /// Where: `top level`, `[verify]`, `[[deny]]` or `[[allow]]`.
        table: &'static str,
    },
    /// A value of the wrong type.
    WrongType {
        /// The key.
        key: String,
        /// What it must be.
        expected: &'static str,
        /// What it is (a TOML type name).
        found: &'static str,
    },
    /// A number out of range (negative, or too large).
    OutOfRange {
        /// The key.
        key: String,
    },
    /// A rule without `name`.
    MissingName,
    /// Two rules with the same name.
    DuplicateName {
        /// The name.
        name: String,
        /// The line of the first rule of that name.
        first_line: usize,
    },
    /// A rule that names no field, which would match every document.
    EmptyRule {
        /// Its name.
        name: String,
    },
    /// An empty list, which would match nothing.
    EmptyList {
        /// The key.
        key: String,
    },
    /// A cloud name that is none of `public`, `usgov`, `china`, `germany`.
    BadCloud {
        /// The value.
        value: String,
    },
}

impl fmt::Display for RulesReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RulesReason::Syntax { message } => write!(f, "not TOML: {message}"),
            RulesReason::UnknownKey { key, table } => write!(
                f,
                "unknown key {key:?} in {table}{}",
                match *table {
                    "top level" => "; expected [verify], [[deny]] or [[allow]]",
                    "[verify]" => "; expected clouds, skew_seconds or max_age_seconds",
                    _ =>
                        "; expected name, subscription_id, vm_id, plan_publisher, \
                          plan_product, plan_name, sku, license_type, region or cloud",
                }
            ),
            RulesReason::WrongType {
                key,
                expected,
                found,
            } => write!(f, "{key} must be {expected}, not {found}"),
            RulesReason::OutOfRange { key } => {
                write!(f, "{key} must be a number of seconds from 0 to 2^32 - 1")
            }
            RulesReason::MissingName => f.write_str("a rule needs a name"),
            RulesReason::DuplicateName { name, first_line } => write!(
                f,
                "a rule named {name:?} is already defined on line {first_line}; names must be \
                 unique"
            ),
            RulesReason::EmptyRule { name } => write!(
                f,
                "empty rule {name:?}: it names no field to match (subscription_id, vm_id, \
                 plan_publisher, plan_product, plan_name, sku, license_type, region, cloud)"
            ),
            RulesReason::EmptyList { key } => write!(
                f,
                "{key} is an empty list, which matches nothing; give at least one value"
            ),
            RulesReason::BadCloud { value } => write!(
                f,
                "unknown cloud {value:?}; expected public, usgov, china or germany"
            ),
        }
    }
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
    /// The URL cannot be read.
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
    /// This issuer's fetch failed or was refused a short while ago; not retried yet.
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
                write!(f, "host {host} is not on the AIA allow list")
            }
            AiaFetchReason::Redirect { status, location } => write!(
                f,
                "the server answered {status} (redirect to {location:?}), and redirects are \
                 never followed"
            ),
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
                "it failed recently; not tried again for {retry_in_secs} s"
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
                write!(f, "its subject is \"{subject}\", not the issuer asked for")
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

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InputTooLarge { max, .. } => write!(
                f,
                "input is larger than the limit of {max} bytes; an attested document is about \
                 3 KB: is this the right file?"
            ),
            Error::UnrecognisedInput { reason } => write!(
                f,
                "input is not an attested document ({reason}); give the IMDS JSON response, \
                 its base64 signature, PEM or DER"
            ),
            Error::Envelope { reason } => write!(
                f,
                "malformed IMDS response JSON: {reason}; expected \
                 {{\"encoding\":\"pkcs7\",\"signature\":\"<base64>\"}}"
            ),
            Error::UnsupportedEncoding { encoding } => write!(
                f,
                "IMDS response has encoding {encoding:?}; only \"pkcs7\" is supported"
            ),
            Error::Base64 { reason } => write!(f, "invalid base64 in the signature: {reason}"),
            Error::Der { what, reason } => {
                write!(f, "malformed PKCS#7: {what} is not strict DER: {reason}")
            }
            Error::NotSignedData { content_type } => {
                write!(f, "PKCS#7 content type is {content_type}, not signedData")
            }
            Error::Structure { reason } => write!(f, "not an attested document: {reason}"),
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
            Error::UnsupportedDigestAlgorithm { algorithm, reason } => match reason {
                AlgorithmReason::NotAccepted => write!(
                    f,
                    "digest algorithm {algorithm} is not accepted (only SHA-256, SHA-384, \
                     SHA-512)"
                ),
                other => write!(f, "digest algorithm {algorithm} is not accepted: {other}"),
            },
            Error::UnsupportedSignatureAlgorithm { algorithm, reason } => match reason {
                AlgorithmReason::NotAccepted => write!(
                    f,
                    "signature algorithm not accepted: {algorithm} (only RSA PKCS#1 v1.5 and \
                     ECDSA are accepted)"
                ),
                other => write!(f, "signature algorithm not accepted: {algorithm}: {other}"),
            },
            Error::WeakKey { subject, reason } => {
                write!(f, "certificate \"{subject}\" has {reason}")
            }
            Error::SignedAttributes { reason } => write!(f, "bad signed attributes: {reason}"),
            Error::BadSignature { signer } => write!(
                f,
                "the signature does not verify with the key of \"{signer}\": the content or the \
                 signature was altered, or another key signed it"
            ),
            Error::SignerName { found, allowed } => {
                let clouds: Vec<String> = allowed
                    .iter()
                    .map(|c| format!("{} ({})", c.domain(), c))
                    .collect();
                let named = Cloud::ALL
                    .iter()
                    .filter(|c| found.iter().any(|n| c.matches(n)))
                    .count();
                if named > 1 {
                    write!(
                        f,
                        "signer names [{}] belong to more than one cloud ({}): a signer may \
                         name only one",
                        found.join(", "),
                        clouds.join(", ")
                    )
                } else {
                    write!(
                        f,
                        "signer names [{}] are not under any allowed cloud domain: {}",
                        found.join(", "),
                        clouds.join(", ")
                    )
                }
            }
            Error::InvalidSignerName { name, reason } => {
                write!(f, "signer name {name:?} is not a plain host name: {reason}")
            }
            Error::SignerProfile { subject, reason } => write!(
                f,
                "signer certificate \"{subject}\" may not sign attested documents: {reason}"
            ),
            Error::NoTrustAnchors { cloud } => write!(
                f,
                "the trust store has no root for cloud {cloud} ({})",
                cloud.domain()
            ),
            Error::UntrustedIssuer {
                subject,
                issuer,
                cloud,
                self_signed: false,
            } => write!(
                f,
                "certificate \"{subject}\" is issued by \"{issuer}\", which does not chain to a \
                 {cloud} root in the trust store"
            ),
            Error::UntrustedIssuer { subject, cloud, .. } => write!(
                f,
                "certificate \"{subject}\" is self-signed and not a {cloud} root in the trust \
                 store"
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
                reason,
            } => write!(
                f,
                "certificate chain rejected at depth {depth} (\"{subject}\"): {reason}"
            ),
            Error::Claims { reason } => write!(f, "invalid claims in the signed content: {reason}"),
            Error::DuplicateKey { key } => write!(
                f,
                "the signed content gives the key {key:?} twice; an ambiguous document is rejected"
            ),
            Error::Timestamp {
                field,
                value,
                reason,
            } => write!(
                f,
                "timeStamp.{field} {value:?} is invalid: {reason} \
                 (expected MM/DD/YY HH:MM:SS +HHMM)"
            ),
            Error::NonceMismatch { expected, found } => write!(
                f,
                "nonce {found:?} in the document is not the expected {expected:?}; \
                 the document may be replayed or served from IMDS's cache: request a new one"
            ),
            Error::DocumentExpired { expires_on, at } => write!(
                f,
                "document expired at {}, {} before the verification time {}; request a new one",
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
            Error::DeniedByRule { rule } => write!(
                f,
                "the document matches deny rule {rule:?} of the claim rules; it is refused \
                 whatever the allow rules say"
            ),
            Error::NoRuleMatched {
                nearest,
                field,
                expected,
                found,
            } => {
                let expected: Vec<String> = expected.iter().map(|v| format!("{v:?}")).collect();
                let found = match found {
                    Some(value) => format!("{value:?}"),
                    None => "none".to_owned(),
                };
                write!(
                    f,
                    "no allow rule matches the document; the nearest, {nearest:?}, wants \
                     {field} {}, the document has {found}",
                    expected.join(" or ")
                )
            }
            Error::NonceUnknown { nonce } => write!(
                f,
                "nonce {nonce:?} was never issued, or has been forgotten since it expired; \
                 request a new challenge"
            ),
            Error::NonceExpired { nonce } => {
                write!(f, "nonce {nonce:?} has expired; request a new challenge")
            }
            Error::NonceAlreadyUsed { nonce } => write!(
                f,
                "nonce {nonce:?} has been used already: the document may be replayed; request \
                 a new challenge"
            ),
            Error::DocumentAlreadyUsed { content_sha256 } => write!(
                f,
                "this document (content SHA-256 {content_sha256}) has been used already: it may \
                 be replayed; fetch a new one"
            ),
            Error::StoreUnavailable { store, message } => write!(
                f,
                "the store {store} could not redeem the document: {message}; the document is \
                 refused until the store answers: try again later"
            ),
            Error::TrustFile { source, reason } => {
                write!(f, "cannot use trust file {source}: {reason}")
            }
            Error::IntermediateFetch {
                url,
                issuer,
                reason,
            } => write!(
                f,
                "cannot fetch the missing intermediate \"{issuer}\" from {url}: {reason}"
            ),
            Error::FetchedIntermediateRefused {
                url,
                issuer,
                reason,
            } => write!(
                f,
                "the certificate fetched from {url} for \"{issuer}\" is not used: {reason}"
            ),
            Error::RulesFile {
                source,
                line,
                reason,
            } => write!(f, "cannot use rules file {source}, line {line}: {reason}"),
            Error::Crypto { context, message } => {
                write!(f, "OpenSSL failed {context}: {message}")
            }
        }
    }
}

impl std::error::Error for Error {}

impl fmt::Display for InputReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputReason::Empty => f.write_str("it is empty"),
            InputReason::WhiteSpace => f.write_str("it holds only white space"),
            InputReason::BinaryNotDer => {
                f.write_str("it is binary but does not start with a DER SEQUENCE")
            }
            InputReason::PemHeader { line } => write!(f, "malformed PEM header {line:?}"),
            InputReason::PemLabel { label } => write!(f, "PEM block is {label:?}, not PKCS7"),
            InputReason::PemFooter { footer } => {
                write!(f, "PEM block has no {footer:?} line at its end")
            }
        }
    }
}

impl fmt::Display for EnvelopeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvelopeReason::Syntax { message } => f.write_str(message),
            EnvelopeReason::DuplicateKey { key } => write!(f, "key {key:?} appears twice"),
            EnvelopeReason::NotObject => f.write_str("it is not a JSON object"),
            EnvelopeReason::UnexpectedKey { key } => write!(f, "unexpected key {key:?}"),
            EnvelopeReason::Missing { key } => write!(f, "{key:?} is missing"),
            EnvelopeReason::NotString { key } => write!(f, "{key:?} is not a string"),
        }
    }
}

impl fmt::Display for Base64Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base64Reason::Invalid { message } => f.write_str(message),
            Base64Reason::Empty => f.write_str("it decodes to nothing"),
        }
    }
}

impl fmt::Display for DerReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DerReason::Tlv { offset, problem } => write!(f, "{problem} (offset {offset})"),
            DerReason::Decoder { message } => f.write_str(message),
        }
    }
}

impl fmt::Display for TlvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlvProblem::Truncated => f.write_str("the input ends inside a tag or length"),
            TlvProblem::TagTooLong => f.write_str("a tag number is absurdly long"),
            TlvProblem::IndefiniteLength => f.write_str("indefinite length (BER, not DER)"),
            TlvProblem::ReservedLength => f.write_str("reserved length octet 0xFF"),
            TlvProblem::LengthTooLong => f.write_str("a length of more than 4 octets"),
            TlvProblem::NonMinimalLength => {
                f.write_str("a length in more octets than needed (not DER)")
            }
            TlvProblem::Overrun { length, remaining } => write!(
                f,
                "a length of {length} bytes claims more than the {remaining} that remain"
            ),
            TlvProblem::PastParent => {
                f.write_str("a length runs past the end of its enclosing value")
            }
            TlvProblem::Trailing { count } => {
                write!(f, "{count} trailing bytes follow the DER value")
            }
        }
    }
}

impl fmt::Display for StructureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::limits::{MAX_DER_DEPTH, MAX_DER_ELEMENTS, MAX_EMBEDDED_CERTIFICATES};
        match self {
            StructureReason::TooDeep { offset } => write!(
                f,
                "values nest deeper than {MAX_DER_DEPTH} levels (at offset {offset})"
            ),
            StructureReason::TooManyElements { offset } => write!(
                f,
                "a constructed value holds more than {MAX_DER_ELEMENTS} elements (element at \
                 offset {offset})"
            ),
            StructureReason::SignedDataVersion { version } => {
                write!(f, "SignedData version {version}, expected 1 or 3")
            }
            StructureReason::SignerInfoVersion { version } => write!(
                f,
                "SignerInfo version {version} does not fit its signer identifier (RFC 5652 5.3)"
            ),
            StructureReason::ContentType { content_type } => write!(
                f,
                "encapsulated content type is {content_type}, expected id-data"
            ),
            StructureReason::ContentNotOctetString { tag } => {
                write!(f, "eContent is a {tag}, expected an OCTET STRING")
            }
            StructureReason::DigestNotListed { algorithm } => write!(
                f,
                "the signer's digest algorithm {algorithm} is not in the SignedData's \
                 digestAlgorithms"
            ),
            StructureReason::TooManyCertificates { count } => write!(
                f,
                "{count} embedded certificates, more than the {MAX_EMBEDDED_CERTIFICATES} \
                 accepted"
            ),
            StructureReason::NotX509 => {
                f.write_str("an embedded certificate is not an X.509 certificate")
            }
            StructureReason::AmbiguousSigner { count, sid } => write!(
                f,
                "{count} embedded certificates match the signer identifier ({sid})"
            ),
            StructureReason::TwoSubjectAltNames => {
                f.write_str("the signer certificate has two subjectAltName extensions")
            }
            StructureReason::ValidityOutOfRange => {
                f.write_str("the signer certificate's validity is out of range")
            }
            StructureReason::Misplaced => {
                f.write_str("the SignedData is not where ContentInfo puts it")
            }
        }
    }
}

impl fmt::Display for AlgorithmReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlgorithmReason::NotAccepted => f.write_str("not an accepted algorithm"),
            AlgorithmReason::Parameters => f.write_str("unexpected parameters"),
            AlgorithmReason::HashMismatch { digest } => {
                write!(f, "it does not match the digest algorithm {digest}")
            }
            AlgorithmReason::PairedWith { signature } => write!(
                f,
                "it names another signature algorithm than the SignerInfo's {signature}"
            ),
            AlgorithmReason::KeyMismatch { needs } => {
                write!(f, "the signer certificate has no {needs} key")
            }
        }
    }
}

impl fmt::Display for KeyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::limits::{MAX_RSA_BITS, MIN_RSA_BITS};
        match self {
            KeyReason::RsaTooSmall { bits } => write!(
                f,
                "an RSA-{bits} key; RSA keys need {MIN_RSA_BITS} bits or more"
            ),
            KeyReason::RsaTooLarge { bits } => write!(
                f,
                "an RSA-{bits} key; RSA keys of more than {MAX_RSA_BITS} bits are refused"
            ),
            KeyReason::RsaExponent { exponent } => write!(
                f,
                "an RSA key with public exponent {exponent}; the exponent must be odd, from 3 to \
                 2^32 - 1"
            ),
            KeyReason::Curve { curve } => {
                write!(f, "an EC {curve} key; EC keys must be P-256 or P-384")
            }
        }
    }
}

impl fmt::Display for SignedAttributesReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignedAttributesReason::DigestMismatch => {
                "the message-digest attribute is not the digest of the content"
            }
            SignedAttributesReason::ValueCount => "an attribute must hold exactly one value",
            SignedAttributesReason::Duplicate => "an attribute type appears twice",
            SignedAttributesReason::NotDerOrder => {
                "the attributes are not in DER order (a SET OF sorted by encoding)"
            }
            SignedAttributesReason::ContentTypeMissing => "the content-type attribute is missing",
            SignedAttributesReason::ContentTypeNotOid => "the content-type attribute is not an OID",
            SignedAttributesReason::ContentTypeNotData { content_type } => {
                return write!(
                    f,
                    "the content-type attribute is {content_type}, not id-data"
                )
            }
            SignedAttributesReason::DigestMissing => "the message-digest attribute is missing",
            SignedAttributesReason::DigestNotOctetString => {
                "the message-digest attribute is not an OCTET STRING"
            }
        })
    }
}

impl fmt::Display for NameReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameReason::Wildcard => "a wildcard is not accepted",
            NameReason::EmptyLabel => "it has an empty label",
            NameReason::Character => {
                "it holds a character other than letters, digits, hyphens and dots"
            }
            NameReason::Label => {
                "a label begins or ends with a hyphen or is longer than 63 characters"
            }
        })
    }
}

impl fmt::Display for ProfileReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileReason::Ca => f.write_str("it is a CA certificate"),
            ProfileReason::KeyUsage => f.write_str("its keyUsage lacks digitalSignature"),
            ProfileReason::ExtendedKeyUsage => {
                f.write_str("its extendedKeyUsage has neither serverAuth nor anyExtendedKeyUsage")
            }
            ProfileReason::CommonNames { count } => write!(
                f,
                "it has no subjectAltName and {count} common names, where one names the signer"
            ),
            ProfileReason::Extension { name } => write!(f, "its {name} extension does not decode"),
        }
    }
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

impl fmt::Display for ClaimsReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimsReason::Syntax { message } => f.write_str(message),
            ClaimsReason::NotObject => f.write_str("the content is not a JSON object"),
            ClaimsReason::Missing { field } => write!(f, "{field:?} is missing"),
            ClaimsReason::NotString { field } => write!(f, "{field:?} is not a string"),
            ClaimsReason::PlanNotObject => f.write_str("\"plan\" is not an object"),
            ClaimsReason::NoTimeStamp => f.write_str("\"timeStamp\" is missing or not an object"),
            ClaimsReason::ExpiresBeforeCreated => {
                f.write_str("timeStamp.expiresOn is earlier than createdOn")
            }
        }
    }
}

impl fmt::Display for TimestampReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimestampReason::Length => "wrong length",
            TimestampReason::Format => "wrong format",
            TimestampReason::Month => "month out of range",
            TimestampReason::Day => "no such day in that month",
            TimestampReason::TimeOfDay => "no such time of day",
            TimestampReason::Offset => "offset out of range",
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
                "\"{subject}\" is not a CA certificate, so it cannot be an intermediate"
            ),
            TrustFileReason::NotSelfSigned { subject } => write!(
                f,
                "\"{subject}\" is not self-signed, so it cannot be a root (put it in \
                 intermediates/)"
            ),
        }
    }
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// `1,427 days 3h 2m`, `3h 2m 1s`, `2m 1s`, `1s`.
fn human_duration(d: time::Duration) -> String {
    let secs = d.whole_seconds().unsigned_abs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (hours, rem) = (rem / 3600, rem % 3600);
    let (minutes, seconds) = (rem / 60, rem % 60);
    if days > 0 {
        let unit = if days == 1 { "day" } else { "days" };
        format!("{} {unit} {hours}h {minutes}m", thousands(days))
    } else if hours > 0 {
        format!("{hours}h {minutes}m {seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m {seconds}s")
    } else {
        format!("{seconds}s")
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table in the docs (`kinds.md`) and the README list every kind, with its meaning,
    /// in the order of [`ErrorKind::ALL`]: adding or renaming a kind without them fails here.
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
        assert_eq!(rows(include_str!("kinds.md")), names, "src/kinds.md");
        let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
        let readme = std::fs::read_to_string(readme).unwrap_or_default();
        // The table under its heading, up to the first line that is not a table row.
        let table: String = readme
            .split("| kind | meaning |")
            .nth(1)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with('|'))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(rows(&table), names, "README.md's table of error kinds");
        for kind in ErrorKind::ALL {
            assert_eq!(kind.as_str().parse::<ErrorKind>(), Ok(kind));
        }
    }

    #[test]
    fn durations_read_as_days_with_thousands() {
        assert_eq!(
            human_duration(time::Duration::seconds(1_427 * 86_400 + 3 * 3600 + 120)),
            "1,427 days 3h 2m"
        );
        assert_eq!(
            human_duration(time::Duration::seconds(86_400)),
            "1 day 0h 0m"
        );
        assert_eq!(human_duration(time::Duration::seconds(61)), "1m 1s");
    }
}
