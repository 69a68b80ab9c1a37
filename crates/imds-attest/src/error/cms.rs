//! Why a SignedData is not an attested document: its structure, its algorithms, the signer's
//! key and the signed attributes.

use std::fmt;

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
